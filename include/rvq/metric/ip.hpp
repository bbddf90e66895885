/// @file ip.hpp
/// @brief Maximum inner product: `argmax <r, c>`.
#pragma once
#include "metric_traits.hpp"

namespace rvq {

/// @ingroup metric
/// @brief Inner product, largest wins (score `-<r, c>`).
struct ip {};

/// @ingroup metric
/// @brief ip: score `-<r, c>`.
template <>
struct metric_traits<ip> {
  static constexpr const char* name = "ip";       ///< name in files, CLI and reports
  static constexpr metric_id id = metric_id::ip;  ///< id in .rvq files
  /// True when integer elements can search by this metric (the integer-only path).
  static constexpr bool integer_search = true;
  /// Score constant added per codeword, from ||c||^2.
  static constexpr float bias(float) noexcept { return 0.0f; }
  /// Factor of -<r, c> per codeword, from ||c||^2.
  static constexpr float scale(float) noexcept { return 1.0f; }
};

}  // namespace rvq
