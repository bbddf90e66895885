/// @file storage_traits.hpp
/// @brief Storage policies: how a layer's codewords are held.
/// @defgroup storage Storage policies
/// A storage policy is a tag with a storage_traits specialization naming `name`, `id` and the
/// store template that holds codebooks for given element, metric and extents.
#pragma once
#include <cstdint>
#include "../core/names.hpp"
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup storage
template <class Storage>
struct storage_traits {
  static_assert(detail::always_false<Storage>,
                "rvq: unknown storage policy. Valid storage policies: rvq::dense (<rvq/storage/dense.hpp>), "
                "rvq::pq and rvq::rpq (<rvq/storage/product.hpp>)");
};

/// @ingroup storage
/// Storage ids as stored in .rvq files.
enum class storage_id : std::uint32_t {
  dense = 1,  ///< K x D values per layer
  pq = 2,     ///< product-quantized: sub-codebooks and a stored index table
  rpq = 3     ///< reverse PQ: sub-codebooks (per layer or shared) and stored or seeded indices
};

/// @ingroup storage
/// Names of the storage ids as used in files and the CLI.
inline constexpr named<storage_id> storage_names[] = {
    {"dense", storage_id::dense}, {"pq", storage_id::pq}, {"rpq", storage_id::rpq}};

/// @ingroup storage
/// Name of an id as used in files and the CLI.
constexpr const char* to_string(storage_id s) noexcept { return name_of(storage_names, s); }

}  // namespace rvq
