/// @file f32.hpp
/// @brief The `f32` element: IEEE-754 single precision storage and arithmetic.
#pragma once
#include "element_traits.hpp"

namespace rvq {

/// @ingroup element
/// @brief 32-bit float codewords, float accumulation.
struct f32 {};

/// @ingroup element
/// @brief f32 stores, multiplies and accumulates in float.
template <>
struct element_traits<f32> {
  using storage_type = float;                        ///< codeword values in memory
  using compute_type = float;                        ///< values multiplied
  using accumulator_type = float;                    ///< sums of products
  static constexpr const char* name = "f32";         ///< name in files, CLI and reports
  static constexpr element_id id = element_id::f32;  ///< id in .rvq files
  static constexpr bool is_integer = false;          ///< searched in float
  static constexpr unsigned bits = 32;               ///< bits per value
};

}  // namespace rvq
