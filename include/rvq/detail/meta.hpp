/// @file meta.hpp
/// @brief Small metaprogramming and numeric helpers shared by all headers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include "../config.hpp"

namespace rvq::detail {

/// False for every T; lets a primary template's static_assert fire only when instantiated.
template <class...>
inline constexpr bool always_false = false;

/// Square root, computed the same way on every target and usable in constant expressions
/// (Newton's iteration in double, rounded once to float), so that host and firmware derive
/// identical per-codeword constants.
constexpr float portable_sqrt(float v) noexcept {
  if (!(v > 0.0f)) return 0.0f;
  double x = static_cast<double>(v);
  double g = x >= 1.0 ? x : 1.0;
  for (int i = 0; i < 200; ++i) {
    const double next = 0.5 * (g + x / g);
    if (next == g) break;
    g = next;
  }
  return static_cast<float>(g);
}

/// True when v is neither NaN nor infinite (bit test: safe under -ffast-math).
inline bool is_finite(float v) noexcept {
  std::uint32_t bits;
  RVQ_MEMCPY(&bits, &v, sizeof bits);
  return (bits & 0x7f800000u) != 0x7f800000u;
}

/// Index of the first non-finite value in [p, p + n), or n.
inline std::size_t first_non_finite(const float* p, std::size_t n) noexcept {
  // Blocks of 64 are tested branch-free (vectorizes); only a block that fails is searched.
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    std::uint32_t bad = 0;
    for (std::size_t j = 0; j < 64; ++j) {
      std::uint32_t bits;
      RVQ_MEMCPY(&bits, p + i + j, sizeof bits);
      bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (bad) break;
  }
  for (; i < n; ++i)
    if (!is_finite(p[i])) return i;
  return n;
}

/// Largest (or smallest) value of a container of sizes; 0 when empty.
template <class C>
std::size_t extreme_of(const C& v, bool largest) noexcept {
  std::size_t m = v.empty() ? 0 : *v.begin();
  for (auto x : v) m = largest ? (x > m ? x : m) : (x < m ? x : m);
  return m;
}

/// a * b without overflow, or false.
constexpr bool checked_mul(std::size_t a, std::size_t b, std::size_t& out) noexcept {
  if (a != 0 && b > static_cast<std::size_t>(-1) / a) return false;
  out = a * b;
  return true;
}

}  // namespace rvq::detail
