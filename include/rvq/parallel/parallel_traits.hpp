/// @file parallel_traits.hpp
/// @brief Parallel policies: how the rows of a batch are spread over cores.
/// @defgroup parallel Parallel policies
/// A parallel_traits specialization provides `name` and `for_each(n, f)`, which calls `f(i)`
/// for every i in [0, n) (in any order, possibly concurrently) and returns when all are done.
/// Results never depend on the strategy: each call writes only its own rows.
#pragma once
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup parallel
template <class Parallel>
struct parallel_traits {
  static_assert(
      detail::always_false<Parallel>,
      "rvq: unknown parallel policy. Valid parallel policies: rvq::sequential (<rvq/parallel/sequential.hpp>)");
};

}  // namespace rvq
