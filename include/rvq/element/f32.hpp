/// @file f32.hpp
/// @brief The `f32` element: IEEE-754 single precision storage and arithmetic.
#pragma once
#include "element_traits.hpp"

namespace rvq {

/// @ingroup element
/// @brief 32-bit float codewords, float accumulation.
struct f32 {};

template <>
struct element_traits<f32> {
  using storage_type = float;
  using compute_type = float;
  using accumulator_type = float;
  static constexpr const char* name = "f32";
  static constexpr element_id id = element_id::f32;
};

}  // namespace rvq
