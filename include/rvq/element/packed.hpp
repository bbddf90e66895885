/// @file packed.hpp
/// @brief Packed elements `int4` (two values per byte) and `int2` (four per byte), affine.
///
/// Values are packed little-end first: value `t` of a codeword sits in byte `t / n` at bit
/// `(t % n) * bits` (n = 8 / bits), two's complement. Searched with int8 activations.
#pragma once
#include <cstdint>
#include "element_traits.hpp"

namespace rvq {

/// @ingroup element
/// @brief 4-bit affine codewords, values -8..7.
struct int4 {};
/// @ingroup element
/// @brief 2-bit affine codewords, values -2..1.
struct int2 {};

/// @ingroup element
/// @brief int4: two values per byte, int8 activations, int32 accumulators.
template <>
struct element_traits<int4> : detail::integer_element_traits<element_id::int4, std::int8_t, std::int8_t> {
  using accumulator_type = std::int32_t;  ///< for D up to 2^21 (accumulator_for)
};
/// @ingroup element
/// @brief int2: four values per byte, int8 activations, int32 accumulators.
template <>
struct element_traits<int2> : detail::integer_element_traits<element_id::int2, std::int8_t, std::int8_t> {
  using accumulator_type = std::int32_t;  ///< for D up to 2^23 (accumulator_for)
};

}  // namespace rvq
