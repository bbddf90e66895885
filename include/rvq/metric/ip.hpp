/// @file ip.hpp
/// @brief Maximum inner product: `argmax <r, c>`.
#pragma once
#include "metric_traits.hpp"

namespace rvq {

/// @ingroup metric
/// @brief Inner product, largest wins (score `-<r, c>`).
struct ip {};

template <>
struct metric_traits<ip> {
  static constexpr const char* name = "ip";
  static constexpr metric_id id = metric_id::ip;
  static constexpr float bias(float) noexcept { return 0.0f; }
  static constexpr float scale(float) noexcept { return 1.0f; }
};

}  // namespace rvq
