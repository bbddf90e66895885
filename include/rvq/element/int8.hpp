/// @file int8.hpp
/// @brief The `int8` element: affine 8-bit codewords `c = scale * (q - zero_point)`.
#pragma once
#include <cstdint>
#include "element_traits.hpp"

namespace rvq {

/// @ingroup element
/// @brief int8 affine codewords (symmetric: zero point 0; asymmetric: any zero point in range),
/// any positive scale per tensor, layer, codeword or dimension. Searched with int8 activations
/// and int32 accumulators; scales enter as integer multiplier + shift (the CMSIS-NN convention).
struct int8 {};

/// @ingroup element
/// @brief int8: int8 values and activations, integer multipliers, int32 accumulators.
template <>
struct element_traits<int8> : detail::integer_element_traits<element_id::int8, std::int8_t, std::int8_t> {
  using accumulator_type = std::int32_t;  ///< for D up to 131071 (accumulator_for)
};

}  // namespace rvq
