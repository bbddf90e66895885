/// @file half.hpp
/// @brief 16-bit float storage elements `f16` (IEEE binary16) and `bf16` (bfloat16), f32 compute.
///
/// Conversions are plain bit manipulation (round to nearest, ties to even; NaN stays NaN;
/// overflow becomes Inf), identical on every target and usable in constant expressions.
#pragma once
#include <cstdint>
#include <cstring>
#include "../config.hpp"
#include "element_traits.hpp"

namespace rvq {

/// @ingroup element
/// @brief IEEE half-precision storage (10-bit mantissa, range +-65504), float arithmetic.
struct f16 {};
/// @ingroup element
/// @brief bfloat16 storage (8-bit mantissa, the range of float), float arithmetic.
struct bf16 {};

namespace detail {
/// Traits shared by the 16-bit float storage elements.
template <element_id Id>
struct half_element_traits {
  using storage_type = std::uint16_t;                 ///< the bits of one value
  using compute_type = float;                         ///< values are widened to float before they are multiplied
  using accumulator_type = float;                     ///< sums of products
  static constexpr const char* name = to_string(Id);  ///< name in files, CLI and reports
  static constexpr element_id id = Id;                ///< id in .rvq files
  static constexpr bool is_integer = false;           ///< searched in float
  static constexpr unsigned bits = 16;                ///< bits per value
};
}  // namespace detail

/// @ingroup element
/// @brief f16: 16-bit storage, values widened to float for the search.
template <>
struct element_traits<f16> : detail::half_element_traits<element_id::f16> {};
/// @ingroup element
/// @brief bf16: 16-bit storage, values widened to float for the search.
template <>
struct element_traits<bf16> : detail::half_element_traits<element_id::bf16> {};

namespace detail {
inline std::uint32_t float_bits(float f) noexcept {
  std::uint32_t u;
  RVQ_MEMCPY(&u, &f, 4);
  return u;
}
inline float bits_float(std::uint32_t u) noexcept {
  float f;
  RVQ_MEMCPY(&f, &u, 4);
  return f;
}
}  // namespace detail

/// @ingroup element
/// float -> IEEE binary16 bits, round to nearest even.
inline std::uint16_t float_to_f16(float f) noexcept {
  const std::uint32_t x = detail::float_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<std::uint16_t>(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (absx >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: Inf
  const int e = static_cast<int>(absx >> 23) - 127;
  if (e < -25) return static_cast<std::uint16_t>(sign);  // below half the smallest subnormal
  std::uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
  int shift;  // bits dropped from the 24-bit significand
  std::uint32_t base;
  if (e < -14) {  // subnormal half
    shift = 13 + (-14 - e);
    base = 0;
  } else {
    shift = 13;
    base = static_cast<std::uint32_t>(e + 15) << 10;
    mant &= 0x7fffffu;
  }
  std::uint32_t q = mant >> shift;
  const std::uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return static_cast<std::uint16_t>(sign | (base + q));  // a carry out of the mantissa bumps the exponent
}

/// @ingroup element
/// IEEE binary16 bits -> float (exact).
inline float f16_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return detail::bits_float(sign | 0x7f800000u | (m << 13));
  if (e != 0) return detail::bits_float(sign | ((e + 112) << 23) | (m << 13));
  if (m == 0) return detail::bits_float(sign);
  // subnormal: m * 2^-24
  int s = 0;
  std::uint32_t mm = m;
  while (!(mm & 0x400u)) {
    mm <<= 1;
    ++s;
  }
  return detail::bits_float(sign | (static_cast<std::uint32_t>(113 - s) << 23) | ((mm & 0x3ffu) << 13));
}

/// @ingroup element
/// float -> bfloat16 bits, round to nearest even (NaN stays NaN).
inline std::uint16_t float_to_bf16(float f) noexcept {
  const std::uint32_t x = detail::float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  const std::uint32_t r = x + 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>(r >> 16);
}

/// @ingroup element
/// bfloat16 bits -> float (exact).
inline float bf16_to_float(std::uint16_t b) noexcept { return detail::bits_float(static_cast<std::uint32_t>(b) << 16); }

}  // namespace rvq
