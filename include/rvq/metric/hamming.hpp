/// @file hamming.hpp
/// @brief Hamming distance between sign bits: the metric of rvq::binary codewords.
#pragma once
#include "metric_traits.hpp"

namespace rvq {

/// @ingroup metric
/// @brief Hamming: the number of dimensions where the residual's sign differs from the
/// codeword's bit (XOR and popcount). Only for rvq::binary codewords.
struct hamming {};

/// @ingroup metric
/// @brief hamming: the integer search counts differing sign bits; the float constants are unused.
template <>
struct metric_traits<hamming> {
  static constexpr const char* name = "hamming";       ///< name in files, CLI and reports
  static constexpr metric_id id = metric_id::hamming;  ///< id in .rvq files
  /// True when integer elements can search by this metric (the integer-only path).
  static constexpr bool integer_search = true;
  /// Unused by the float search (binary codewords are searched by the integer path).
  static constexpr float bias(float) noexcept { return 0.0f; }
  /// Unused by the float search.
  static constexpr float scale(float) noexcept { return 1.0f; }
};

}  // namespace rvq
