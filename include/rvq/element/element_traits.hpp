/// @file element_traits.hpp
/// @brief Element policies: how codeword values are stored, multiplied and accumulated.
/// @defgroup element Element policies
/// An element policy is a tag type with an element_traits specialization that declares
/// `storage_type`, `compute_type`, `accumulator_type`, `name` and `id` (the id is stored in .rvq files).
#pragma once
#include <cstdint>
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup element
/// @brief Traits of an element policy; the primary template rejects unknown policies.
template <class Element>
struct element_traits {
  static_assert(detail::always_false<Element>,
                "rvq: unknown element policy. Valid element policies: rvq::f32 (include <rvq/element/f32.hpp>)");
};

/// @ingroup element
/// Element ids as stored in .rvq files.
enum class element_id : std::uint32_t { f32 = 1 };

/// @ingroup element
/// Name of an id as used in files and the CLI.
constexpr const char* to_string(element_id e) noexcept { return e == element_id::f32 ? "f32" : "unknown"; }

}  // namespace rvq
