/// @file cosine.hpp
/// @brief Cosine similarity: `argmax <r, c> / ||c||` (||r|| is the same for every candidate).
#pragma once
#include "metric_traits.hpp"

namespace rvq {

/// @ingroup metric
/// @brief Cosine similarity, largest wins. A zero codeword scores 0. Codewords keep their norm,
/// so decoding still reconstructs magnitudes: the direction picks, the codeword reconstructs.
struct cosine {};

/// @ingroup metric
/// @brief cosine: score `-<r, c> / ||c||`.
template <>
struct metric_traits<cosine> {
  static constexpr const char* name = "cos";          ///< name in files, CLI and reports
  static constexpr metric_id id = metric_id::cosine;  ///< id in .rvq files
  /// True when integer elements can search by this metric (the integer-only path).
  static constexpr bool integer_search = false;
  /// Score constant added per codeword, from ||c||^2.
  static constexpr float bias(float) noexcept { return 0.0f; }
  /// Factor of -<r, c> per codeword, from ||c||^2.
  static constexpr float scale(float norm2) noexcept {
    return norm2 > 0.0f ? 1.0f / detail::portable_sqrt(norm2) : 0.0f;
  }
};

}  // namespace rvq
