/// @file l2.hpp
/// @brief Squared Euclidean distance: `argmin ||r - c||^2 = argmin (||c||^2 - 2 <r, c>)`.
#pragma once
#include "metric_traits.hpp"

namespace rvq {

/// @ingroup metric
/// @brief Squared L2 ("comparable" distance: no square root is ever taken for the argmin).
struct l2 {};

/// @ingroup metric
/// @brief l2: score `||c||^2 - 2 <r, c>`.
template <>
struct metric_traits<l2> {
  static constexpr const char* name = "l2";       ///< name in files, CLI and reports
  static constexpr metric_id id = metric_id::l2;  ///< id in .rvq files
  /// True when integer elements can search by this metric (the integer-only path).
  static constexpr bool integer_search = true;
  /// Score constant added per codeword, from ||c||^2.
  static constexpr float bias(float norm2) noexcept { return norm2; }
  /// Factor of -<r, c> per codeword, from ||c||^2.
  static constexpr float scale(float) noexcept { return 2.0f; }
};

}  // namespace rvq
