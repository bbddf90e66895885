/// @file storage_traits.hpp
/// @brief Storage policies: how a layer's codewords are held.
/// @defgroup storage Storage policies
/// A storage policy is a tag with a storage_traits specialization naming `name`, `id` and the
/// store template that holds codebooks for given element, metric and extents.
#pragma once
#include <cstdint>
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup storage
template <class Storage>
struct storage_traits {
  static_assert(detail::always_false<Storage>,
                "rvq: unknown storage policy. Valid storage policies: rvq::dense (<rvq/storage/dense.hpp>)");
};

/// @ingroup storage
/// Storage ids as stored in .rvq files.
enum class storage_id : std::uint32_t { dense = 1 };

/// @ingroup storage
/// Name of an id as used in files and the CLI.
constexpr const char* to_string(storage_id s) noexcept { return s == storage_id::dense ? "dense" : "unknown"; }

}  // namespace rvq
