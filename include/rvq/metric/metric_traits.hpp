/// @file metric_traits.hpp
/// @brief Metric policies: what "nearest codeword" means.
/// @defgroup metric Metric policies
/// Every metric is expressed as a score to minimize, `score(r, c) = bias(c) - scale(c) * <r, c>`,
/// with `bias` and `scale` precomputed per codeword from `||c||^2` when a model is built.
/// A metric_traits specialization declares `name`, `id`, `integer_search` (integer elements may
/// search by it), `bias(norm2)` and `scale(norm2)`.
/// The residual after choosing `c` is always `r - c`, so decode is a plain sum for every metric.
#pragma once
#include <cstdint>
#include "../core/names.hpp"
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup metric
/// @brief Traits of a metric policy; the primary template rejects unknown policies.
template <class Metric>
struct metric_traits {
  static_assert(detail::always_false<Metric>,
                "rvq: unknown metric policy. Valid metrics: rvq::l2 (squared L2, <rvq/metric/l2.hpp>), "
                "rvq::ip (max inner product, <rvq/metric/ip.hpp>), rvq::cosine (<rvq/metric/cosine.hpp>), rvq::hamming "
                "(binary elements, "
                "<rvq/metric/hamming.hpp>)");
};

/// @ingroup metric
/// Metric ids as stored in .rvq files.
enum class metric_id : std::uint32_t { l2 = 1, ip = 2, cosine = 3, hamming = 4 };

/// @ingroup metric
/// Names of the metric ids as used in files and the CLI ("cosine" is an alias of "cos").
inline constexpr named<metric_id> metric_names[] = {{"l2", metric_id::l2},
                                                    {"ip", metric_id::ip},
                                                    {"cos", metric_id::cosine},
                                                    {"hamming", metric_id::hamming},
                                                    {"cosine", metric_id::cosine}};

/// @ingroup metric
/// Name of an id as used in files and the CLI.
constexpr const char* to_string(metric_id m) noexcept { return name_of(metric_names, m); }

}  // namespace rvq
