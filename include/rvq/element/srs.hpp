/// @file srs.hpp
/// @brief Shift-round-saturate: the one primitive behind every power-of-two rescale.
///
/// `srs<T>(v, n, mode)` computes `v / 2^n` rounded by `mode` and saturated to the range of `T`;
/// a negative `n` is a saturating left shift by `-n` (exact). Every integer path of rvq (input
/// quantization to a fixed-point grid, activations of a layer, codewords moved to the residual
/// grid, score constants) rescales through it, as the SRS units of DSPs and NN accelerators do.
/// It uses no floating point, no division and no undefined shift: it compiles to shifts,
/// adds and compares on any target.
#pragma once
#include <cstdint>
#include <limits>
#include "../core/names.hpp"

namespace rvq {

/// @ingroup element
/// @brief Rounding mode of a right shift.
enum class rounding : std::uint8_t {
  half_up,       ///< to nearest, ties toward +inf (`(v + 2^(n-1)) >> n`): the DSP/CMSIS convention
  half_to_even,  ///< to nearest, ties to the even result (unbiased)
  truncate       ///< toward -inf (a plain arithmetic shift)
};

/// Names of the rounding modes (files, reports, the CLI's --rounding).
inline constexpr named<rounding> rounding_names[] = {
    {"half_up", rounding::half_up}, {"half_to_even", rounding::half_to_even}, {"truncate", rounding::truncate}};

/// Name of a rounding mode.
constexpr const char* to_string(rounding r) noexcept { return name_of(rounding_names, r); }

namespace detail {
/// floor(v / 2^n) for 0 <= n < 64, without relying on the implementation-defined `>>` of negatives.
constexpr std::int64_t floor_shift(std::int64_t v, int n) noexcept {
  if (n == 0) return v;
  if (v >= 0) return static_cast<std::int64_t>(static_cast<std::uint64_t>(v) >> n);
  // floor(v / 2^n) = -ceil(-v / 2^n) = -((-v - 1) / 2^n) - 1 ; -v - 1 never overflows.
  const std::uint64_t m = static_cast<std::uint64_t>(-(v + 1));
  return -static_cast<std::int64_t>(m >> n) - 1;
}

/// srs of a value that fits int32 by 0 < n < 32 in 32-bit arithmetic: the same result as the
/// 64-bit path, in the instructions a 32-bit core has (residuals and activations take this path).
template <class T>
constexpr T srs32(std::int32_t v, int n, rounding mode) noexcept {
  constexpr std::int32_t lo = std::numeric_limits<T>::min() < std::numeric_limits<std::int32_t>::min()
                                  ? std::numeric_limits<std::int32_t>::min()
                                  : static_cast<std::int32_t>(std::numeric_limits<T>::min());
  constexpr std::int32_t hi = std::numeric_limits<T>::max() > std::numeric_limits<std::int32_t>::max()
                                  ? std::numeric_limits<std::int32_t>::max()
                                  : static_cast<std::int32_t>(std::numeric_limits<T>::max());
  const std::uint32_t u = static_cast<std::uint32_t>(v);
  // floor(v / 2^n) without the implementation-defined >> of negatives
  const std::int32_t q = v >= 0 ? static_cast<std::int32_t>(u >> n) : -static_cast<std::int32_t>(~u >> n) - 1;
  const std::uint32_t rem = u & ((std::uint32_t{1} << n) - 1), half = std::uint32_t{1} << (n - 1);
  std::int32_t r = q;  // |q| <= 2^30: the increment cannot overflow
  if (mode == rounding::half_up)
    r = q + (rem >= half ? 1 : 0);
  else if (mode == rounding::half_to_even)
    r = q + ((rem > half || (rem == half && (q & 1) != 0)) ? 1 : 0);
  return static_cast<T>(r > hi ? hi : r < lo ? lo : r);
}
}  // namespace detail

/**
 * @ingroup element
 * @brief Shift-round-saturate: `v / 2^n` rounded by `mode`, saturated to `[min(T), max(T)]`.
 * @tparam T the integer result type (int8_t, int16_t, int32_t, int64_t)
 * @param v  the value (any int64)
 * @param n  shift: right by n when n > 0 (rounded), left by -n when n < 0 (saturated); any int
 * @param mode rounding of the right shift
 */
template <class T>
constexpr T srs(std::int64_t v, int n, rounding mode = rounding::half_up) noexcept {
  constexpr std::int64_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  if (n > 0 && n < 32 && v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max())
    return detail::srs32<T>(static_cast<std::int32_t>(v), n, mode);
  if (n <= 0) {
    const int s = n < -63 ? 63 : -n;
    if (v == 0) return T{0};
    if (s >= 63) return static_cast<T>(v > 0 ? hi : lo);
    const std::int64_t lim = std::numeric_limits<std::int64_t>::max() >> s;  // |v| <= lim: no overflow
    if (v > lim) return static_cast<T>(hi);
    if (v < -lim) return static_cast<T>(lo);
    const std::int64_t r = static_cast<std::int64_t>(static_cast<std::uint64_t>(v) << s);
    return static_cast<T>(r > hi ? hi : r < lo ? lo : r);
  }
  if (n >= 64) return static_cast<T>(v < 0 && mode == rounding::truncate ? -1 : 0);  // |v / 2^n| < 1/2
  const std::int64_t q = detail::floor_shift(v, n);                                  // floor(v / 2^n)
  const std::uint64_t mask = (std::uint64_t{1} << n) - 1;
  const std::uint64_t rem = static_cast<std::uint64_t>(v) & mask;  // v - q * 2^n, in [0, 2^n)
  const std::uint64_t half = std::uint64_t{1} << (n - 1);
  std::int64_t r = q;
  switch (mode) {
    case rounding::half_up:
      r = q + (rem >= half ? 1 : 0);
      break;
    case rounding::half_to_even:
      r = q + ((rem > half || (rem == half && (q & 1) != 0)) ? 1 : 0);
      break;
    case rounding::truncate:
      break;
  }
  return static_cast<T>(r > hi ? hi : r < lo ? lo : r);
}

/// Saturates an int64 to T (srs with no shift).
template <class T>
constexpr T saturate(std::int64_t v) noexcept {
  return srs<T>(v, 0);
}

}  // namespace rvq
