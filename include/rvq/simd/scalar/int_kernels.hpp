/// @file int_kernels.hpp
/// @brief Integer-only nearest-codeword search: the reference kernels of every integer element.
///
/// Everything here is integer arithmetic: the residual lives on a fixed-point grid (int32),
/// a layer multiplies int8/int16 activations made from it by one shift-round-saturate
/// (rvq::srs), dot products accumulate in int32 or int64 (rvq::accumulator_for), scores are
/// int64 and the argmin compares integers (ties to the lowest index). Scales enter only as
/// integer multipliers and shifts precomputed when the model is built; for the power-of-two
/// elements (q7, q15) they are shifts only. No floating-point value or instruction is involved,
/// which a test checks on the disassembly of a Cortex-M build without FPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include "../../config.hpp"
#include "../../element/element_traits.hpp"
#include "../../element/srs.hpp"
#include "../arm_dsp.hpp"

namespace rvq {

/**
 * @ingroup storage
 * @brief One layer of integer codewords as the integer-only search reads it: integers only.
 *
 * Codeword `c`'s real value at `t` is `s * (q - z)`; on the residual grid it is
 * `srs((q - z) * rmul, res_shift)` (power-of-two elements: `srs(q, rmul)`; binary:
 * `q ? rmul : -rmul`). Its score against activations `a` is
 * `bias[c] - smul[c] * (<a, q_c> - zero[c] * sum(a))` (power-of-two elements: `<< smul[c]`;
 * per-dimension groups drop the zero term, which is the same for every codeword), with
 * activations `a_t = srs(r_t, act_shift)` (per-dimension groups: `srs(r_t * amul[t], act_shift)`,
 * power-of-two: `srs(r_t, act_shift + amul[t])`). With `per_layer`, `smul`, `zero` and `rmul` have
 * a single entry that stands for every codeword; `bias32` may hold the score constants as int32.
 * `rvq codegen` writes these arrays for firmware.
 */
struct int_layer {
  const void* values = nullptr;        ///< K rows of row_bytes bytes: int8_t/int16_t values, or packed bytes
  std::size_t k = 0;                   ///< codewords
  std::size_t row_bytes = 0;           ///< bytes between consecutive codewords
  const std::int64_t* bias = nullptr;  ///< K score constants (||c||^2 in score units; 0 for ip)
  const std::int32_t* smul = nullptr;  ///< K score multipliers (power-of-two elements: left shifts)
  const std::int32_t* zero = nullptr;  ///< K zero points (D when per_dim); null when all are 0
  const std::int32_t* rmul = nullptr;  ///< K (D when per_dim) codeword-to-residual multipliers or shifts
  const std::int32_t* amul = nullptr;  ///< D activation multipliers or extra shifts (per_dim only)
  std::int32_t act_shift = 0;          ///< residual grid -> activations
  std::int32_t res_shift = 0;          ///< right shift after rmul (non-power-of-two elements)
  bool per_dim = false;                ///< groups are per dimension (zero, rmul and amul have D entries)
  bool packed = false;                 ///< int4/int2 values packed (else one int8 per value)
  /// smul, zero and rmul hold one entry for all K codewords (layer or tensor groups): what
  /// `rvq codegen` writes when the K entries are equal, saving 8 bytes per codeword of flash.
  bool per_layer = false;
  /// The K score constants as int32 instead of `bias` (then null), when they all fit: what
  /// `rvq codegen` writes to save 4 bytes per codeword of flash.
  const std::int32_t* bias32 = nullptr;
};

namespace simd::scalar {

/// @brief The integer-only search for one element type (reference; also the firmware kernels).
template <class Element>
struct int_kernels {
  using traits = element_traits<Element>;                                          ///< the element's traits
  using act_t = typename traits::activation_type;                                  ///< activation type
  static constexpr bool pow2 = traits::pow2_scale;                                 ///< rescales are shifts only
  static constexpr bool binary = traits::id == element_id::binary;                 ///< Hamming search on sign bits
  static constexpr bool wide_values = sizeof(typename traits::storage_type) == 2;  ///< int16 values (q15)

  /// Bytes of the activations of a d-dimensional residual.
  static constexpr std::size_t activation_bytes(std::size_t d) noexcept {
    return binary ? (d + 7) / 8 : d * sizeof(act_t);
  }

  /// Entry of codeword c in the per-codeword constants (0 for all when they are per layer).
  static constexpr std::size_t group(const int_layer& L, std::size_t c) noexcept { return L.per_layer ? 0 : c; }

  /// Value t of codeword c.
  static RVQ_ALWAYS_INLINE std::int32_t value(const int_layer& L, std::size_t c, std::size_t t) noexcept {
    const unsigned char* row = static_cast<const unsigned char*>(L.values) + c * L.row_bytes;
    if constexpr (wide_values) {
      std::int16_t v;
      RVQ_MEMCPY(&v, row + 2 * t, 2);
      return v;
    } else if constexpr (binary) {
      return (row[t / 8] >> (t % 8)) & 1;
    } else {
      if (!L.packed) return static_cast<std::int8_t>(row[t]);
      constexpr unsigned bits = traits::bits, per = 8 / bits;
      const std::uint32_t u = (static_cast<std::uint32_t>(row[t / per]) >> ((t % per) * bits)) & ((1u << bits) - 1);
      return static_cast<std::int32_t>(u) - static_cast<std::int32_t>((u >> (bits - 1)) << bits);  // sign-extend
    }
  }

  /// Activations of residual r (d values on the grid) into `a`; returns their sum (binary: 0).
  static std::int64_t activations(const std::int32_t* RVQ_RESTRICT r, std::size_t d, const int_layer& L, rounding m,
                                  unsigned char* RVQ_RESTRICT a) noexcept {
    if constexpr (binary) {
      for (std::size_t i = 0; i < activation_bytes(d); ++i) a[i] = 0;
      for (std::size_t t = 0; t < d; ++t)
        if (r[t] >= 0) a[t / 8] = static_cast<unsigned char>(a[t / 8] | (1u << (t % 8)));
      return 0;
    } else {
      std::int64_t sum = 0;
      for (std::size_t t = 0; t < d; ++t) {
        act_t v;
        if (!L.per_dim)
          v = srs<act_t>(r[t], L.act_shift, m);
        else if constexpr (pow2)
          v = srs<act_t>(r[t], L.act_shift + L.amul[t], m);
        else
          v = srs<act_t>(static_cast<std::int64_t>(r[t]) * L.amul[t], L.act_shift, m);
        RVQ_MEMCPY(a + t * sizeof(act_t), &v, sizeof(act_t));
        sum += v;
      }
      return sum;
    }
  }

  /// `<a, q_c>` in the accumulator type Acc (int32 when accumulator_for allows, else int64).
  template <class Acc>
  static Acc dot(const unsigned char* RVQ_RESTRICT a, const int_layer& L, std::size_t c, std::size_t d) noexcept {
    Acc acc = 0;
    if constexpr (binary) {
      const unsigned char* row = static_cast<const unsigned char*>(L.values) + c * L.row_bytes;
      for (std::size_t i = 0; i < activation_bytes(d); ++i) acc += popcount8(static_cast<unsigned char>(a[i] ^ row[i]));
    } else if constexpr (wide_values) {
      const unsigned char* row = static_cast<const unsigned char*>(L.values) + c * L.row_bytes;
#if RVQ_ARM_DSP
      if constexpr (std::is_same<Acc, std::int64_t>::value) return simd::arm_dsp::dot_s16(a, row, d);
#endif
      for (std::size_t t = 0; t < d; ++t) {
        std::int16_t x, q;
        RVQ_MEMCPY(&x, a + 2 * t, 2);
        RVQ_MEMCPY(&q, row + 2 * t, 2);
        acc += static_cast<Acc>(static_cast<std::int32_t>(x) * q);
      }
    } else if (!L.packed) {
      const std::int8_t* row = static_cast<const std::int8_t*>(L.values) + c * L.row_bytes;
      const std::int8_t* x = reinterpret_cast<const std::int8_t*>(a);
#if RVQ_ARM_DSP
      if constexpr (std::is_same<Acc, std::int32_t>::value) return simd::arm_dsp::dot_s8(x, row, d);
#endif
      for (std::size_t t = 0; t < d; ++t) acc += static_cast<Acc>(static_cast<std::int32_t>(x[t]) * row[t]);
    } else {
      const std::int8_t* x = reinterpret_cast<const std::int8_t*>(a);
      for (std::size_t t = 0; t < d; ++t) acc += static_cast<Acc>(static_cast<std::int32_t>(x[t]) * value(L, c, t));
    }
    return acc;
  }

  /// Score of codeword c given its dot product and the activations' sum (lower is nearer).
  static RVQ_ALWAYS_INLINE std::int64_t score(const int_layer& L, std::size_t c, std::int64_t dot,
                                              std::int64_t asum) noexcept {
    if constexpr (binary) {
      return (void)L, (void)c, (void)asum, dot;
    } else {
      const std::size_t g = group(L, c);
      const std::int64_t dz = (L.per_dim || !L.zero) ? dot : dot - static_cast<std::int64_t>(L.zero[g]) * asum;
      const std::int64_t bias = L.bias32 ? L.bias32[c] : L.bias[c];
      if constexpr (pow2)
        return bias - static_cast<std::int64_t>(static_cast<std::uint64_t>(dz) << L.smul[g]);
      else
        return bias - static_cast<std::int64_t>(L.smul[g]) * dz;
    }
  }

#if RVQ_INT_PAIRS
  /// `<x, q0>` and `<x, q1>` of d int8 values in one pass, four values a step: for cores without
  /// a vector unit (RV32IMC, Cortex-M0/M3), where the loop overhead and the activation loads
  /// are shared by two codewords (about 4 instructions per multiply-accumulate instead of 9).
  static void dot2_s8(const std::int8_t* RVQ_RESTRICT x, const std::int8_t* RVQ_RESTRICT q0,
                      const std::int8_t* RVQ_RESTRICT q1, std::size_t d, std::int32_t& r0, std::int32_t& r1) noexcept {
    std::int32_t a0 = 0, a1 = 0;
    const std::int8_t* const end4 = x + (d & ~std::size_t{3});
    const std::int8_t* const end = x + d;
    for (; x != end4; x += 4, q0 += 4, q1 += 4) {
      const std::int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
      a0 += x0 * q0[0] + x1 * q0[1] + x2 * q0[2] + x3 * q0[3];
      a1 += x0 * q1[0] + x1 * q1[1] + x2 * q1[2] + x3 * q1[3];
    }
    for (; x != end; ++x, ++q0, ++q1) {
      a0 += static_cast<std::int32_t>(*x) * *q0;
      a1 += static_cast<std::int32_t>(*x) * *q1;
    }
    r0 = a0;
    r1 = a1;
  }
#endif

  /// Lowest score of codewords [first, last): index and score (ties to the lowest index).
  template <class Acc>
  static void argmin(const unsigned char* a, std::int64_t asum, std::size_t d, const int_layer& L, std::size_t first,
                     std::size_t last, std::uint32_t& idx, std::int64_t& best) noexcept {
    std::int64_t b = std::numeric_limits<std::int64_t>::max();
    std::uint32_t bi = static_cast<std::uint32_t>(first);
    std::size_t c = first;
#if RVQ_ARM_DSP || RVQ_INT_PAIRS
    // Two codewords per pass: the activations are loaded (and widened) once for both.
    if constexpr (!binary && !wide_values && std::is_same<Acc, std::int32_t>::value) {
      if (!L.packed) {
        const std::int8_t* x = reinterpret_cast<const std::int8_t*>(a);
        const std::int8_t* v = static_cast<const std::int8_t*>(L.values);
        for (; c < last; c += 2) {  // an odd last codeword is paired with itself
          const std::size_t c1 = c + 1 < last ? c + 1 : c;
          std::int32_t d0, d1;
#if RVQ_ARM_DSP
          simd::arm_dsp::dot2_s8(x, v + c * L.row_bytes, v + c1 * L.row_bytes, d, d0, d1);
#else
          dot2_s8(x, v + c * L.row_bytes, v + c1 * L.row_bytes, d, d0, d1);
#endif
          const std::int64_t s0 = score(L, c, d0, asum), s1 = score(L, c1, d1, asum);
          if (s0 < b) {
            b = s0;
            bi = static_cast<std::uint32_t>(c);
          }
          if (s1 < b) {
            b = s1;
            bi = static_cast<std::uint32_t>(c1);
          }
        }
      }
    }
#endif
    for (; c < last; ++c) {
      const std::int64_t s = score(L, c, dot<Acc>(a, L, c, d), asum);
      if (s < b) {
        b = s;
        bi = static_cast<std::uint32_t>(c);
      }
    }
    idx = bi;
    best = b;
  }

  /// Codeword c on the residual grid, value t.
  static RVQ_ALWAYS_INLINE std::int32_t grid_value(const int_layer& L, std::size_t c, std::size_t t,
                                                   rounding m) noexcept {
    const std::int32_t q = value(L, c, t);
    if constexpr (binary) {
      return q ? L.rmul[group(L, c)] : -L.rmul[group(L, c)];
    } else {
      const std::size_t g = L.per_dim ? t : group(L, c);
      const std::int32_t z = L.zero ? L.zero[g] : 0;
      if constexpr (pow2)
        return srs<std::int32_t>(q - z, L.rmul[g], m);
      else
        return srs<std::int32_t>(static_cast<std::int64_t>(q - z) * L.rmul[g], L.res_shift, m);
    }
  }

  /// r -= codeword c (on the grid, saturating).
  static void subtract(std::int32_t* RVQ_RESTRICT r, std::size_t d, const int_layer& L, std::size_t c,
                       rounding m) noexcept {
    for (std::size_t t = 0; t < d; ++t)
      r[t] = saturate<std::int32_t>(static_cast<std::int64_t>(r[t]) - grid_value(L, c, t, m));
  }

  /// Number of set bits of a byte (portable; compilers turn it into popcount where there is one).
  static constexpr unsigned popcount8(unsigned char v) noexcept {
    unsigned x = v;
    x = x - ((x >> 1) & 0x55u);
    x = (x & 0x33u) + ((x >> 2) & 0x33u);
    return (x + (x >> 4)) & 0x0fu;
  }
};

}  // namespace simd::scalar
}  // namespace rvq
