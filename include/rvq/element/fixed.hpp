/// @file fixed.hpp
/// @brief Fixed-point elements `q15` (int16) and `q7` (int8): symmetric, power-of-two scales.
///
/// A value `q` with `f` fractional bits means `q * 2^-f`. Every rescale between grids is then
/// a shift-round-saturate (rvq::srs): no multiplier anywhere, as FPU-less MCUs and the SRS
/// units of DSPs want.
#pragma once
#include <cstdint>
#include "element_traits.hpp"

namespace rvq {

/// @ingroup element
/// @brief Q15: int16 codewords and int16 activations, power-of-two scale per group; int64
/// accumulators (a Q15 x Q15 product takes 30 bits, so int32 overflows for D > 1).
struct q15 {};
/// @ingroup element
/// @brief Q7: int8 codewords and int8 activations, power-of-two scale per group; int32 accumulators.
struct q7 {};

/// @ingroup element
/// @brief q15: int16 values and activations, shifts only, int64 accumulators.
template <>
struct element_traits<q15> : detail::integer_element_traits<element_id::q15, std::int16_t, std::int16_t> {
  using accumulator_type = std::int64_t;  ///< int16 x int16 over D > 1 needs more than 31 bits
};
/// @ingroup element
/// @brief q7: int8 values and activations, shifts only, int32 accumulators.
template <>
struct element_traits<q7> : detail::integer_element_traits<element_id::q7, std::int8_t, std::int8_t> {
  using accumulator_type = std::int32_t;  ///< for D up to 131071 (accumulator_for)
};

}  // namespace rvq
