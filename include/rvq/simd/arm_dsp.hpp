/// @file arm_dsp.hpp
/// @brief Integer dot products with the 32-bit Arm DSP extension (Cortex-M4/M7/M33/M55,
/// `__ARM_FEATURE_SIMD32`): two 16-bit multiply-accumulates per instruction (SMLAD, SMLALD), the
/// way CMSIS-NN computes int8 dot products: four int8 values are loaded as one word and widened
/// to two pairs of int16 by SXTB16 (one of them rotated by 8 bits).
///
/// Used by the reference integer kernels (simd/scalar/int_kernels.hpp) when `RVQ_ARM_DSP` is 1
/// (config.hpp; default: the compiler targets the extension). Integer arithmetic in the accumulator type the
/// scalar code uses, so the results are the same bit for bit; only the instruction count drops.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../config.hpp"

namespace rvq::simd::arm_dsp {

/// True when this build has the DSP kernels.
inline constexpr bool available = RVQ_ARM_DSP != 0;

#if RVQ_ARM_DSP
namespace detail {
/// Four int8 in a word -> bytes 0 and 2 as two int16 (SXTB16).
RVQ_ALWAYS_INLINE std::uint32_t sxtb16(std::uint32_t v) noexcept {
  std::uint32_t r;
  asm("sxtb16 %0, %1" : "=r"(r) : "r"(v));
  return r;
}
/// Four int8 in a word -> bytes 1 and 3 as two int16 (SXTB16 with the rotation folded in).
RVQ_ALWAYS_INLINE std::uint32_t sxtb16_ror8(std::uint32_t v) noexcept {
  std::uint32_t r;
  asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
/// acc + a.lo * b.lo + a.hi * b.hi (signed 16-bit halves; SMLAD).
RVQ_ALWAYS_INLINE std::int32_t smlad(std::uint32_t a, std::uint32_t b, std::int32_t acc) noexcept {
  std::int32_t r;
  asm("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
/// 64-bit acc + a.lo * b.lo + a.hi * b.hi (signed 16-bit halves; SMLALD).
RVQ_ALWAYS_INLINE std::int64_t smlald(std::uint32_t a, std::uint32_t b, std::int64_t acc) noexcept {
  std::uint32_t lo = static_cast<std::uint32_t>(static_cast<std::uint64_t>(acc));
  std::uint32_t hi = static_cast<std::uint32_t>(static_cast<std::uint64_t>(acc) >> 32);
  asm("smlald %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(a), "r"(b));
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(hi) << 32) | lo);
}
RVQ_ALWAYS_INLINE std::uint32_t load32(const void* p) noexcept {
  std::uint32_t v;
  RVQ_MEMCPY(&v, p, 4);  // LDR: unaligned accesses are allowed on ARMv7-M for plain loads
  return v;
}
}  // namespace detail

/// `<x, q>` of d int8 values with an int32 accumulator (the caller's bound keeps it exact).
/// (Out of line: inlined into the search loop, its registers spill at -Os.)
[[gnu::noinline]] inline std::int32_t dot_s8(const std::int8_t* RVQ_RESTRICT x, const std::int8_t* RVQ_RESTRICT q,
                                             std::size_t d) noexcept {
  using namespace detail;
  std::int32_t acc = 0;
  const std::size_t d8 = d & ~std::size_t{7}, d4 = d & ~std::size_t{3};
  for (std::size_t t = 0; t < d8; t += 8) {
    const std::uint32_t a0 = load32(x + t), b0 = load32(q + t), a1 = load32(x + t + 4), b1 = load32(q + t + 4);
    acc = smlad(sxtb16(a0), sxtb16(b0), acc);
    acc = smlad(sxtb16_ror8(a0), sxtb16_ror8(b0), acc);
    acc = smlad(sxtb16(a1), sxtb16(b1), acc);
    acc = smlad(sxtb16_ror8(a1), sxtb16_ror8(b1), acc);
  }
  for (std::size_t t = d8; t < d4; t += 4) {
    const std::uint32_t a = load32(x + t), b = load32(q + t);
    acc = smlad(sxtb16(a), sxtb16(b), acc);
    acc = smlad(sxtb16_ror8(a), sxtb16_ror8(b), acc);
  }
  for (std::size_t t = d4; t < d; ++t) acc += static_cast<std::int32_t>(x[t]) * q[t];
  return acc;
}

/// `<x, q0>` and `<x, q1>` of d int8 values in one pass: each word of activations is loaded and
/// widened once for both codewords (13 instructions per 8 multiply-accumulates).
[[gnu::noinline]] inline void dot2_s8(const std::int8_t* RVQ_RESTRICT x, const std::int8_t* RVQ_RESTRICT q0,
                                      const std::int8_t* RVQ_RESTRICT q1, std::size_t d, std::int32_t& r0,
                                      std::int32_t& r1) noexcept {
  using namespace detail;
  std::int32_t acc0 = 0, acc1 = 0;
  const std::size_t d4 = d & ~std::size_t{3};
  for (std::size_t t = 0; t < d4; t += 4) {
    const std::uint32_t a = load32(x + t), ae = sxtb16(a), ao = sxtb16_ror8(a);
    const std::uint32_t b = load32(q0 + t);
    acc0 = smlad(ae, sxtb16(b), acc0);
    acc0 = smlad(ao, sxtb16_ror8(b), acc0);
    const std::uint32_t e = load32(q1 + t);
    acc1 = smlad(ae, sxtb16(e), acc1);
    acc1 = smlad(ao, sxtb16_ror8(e), acc1);
  }
  for (std::size_t t = d4; t < d; ++t) {
    acc0 += static_cast<std::int32_t>(x[t]) * q0[t];
    acc1 += static_cast<std::int32_t>(x[t]) * q1[t];
  }
  r0 = acc0;
  r1 = acc1;
}

/// `<x, q>` of d int16 values (bytes, little-endian, any alignment) with an int64 accumulator.
inline std::int64_t dot_s16(const unsigned char* RVQ_RESTRICT x, const unsigned char* RVQ_RESTRICT q,
                            std::size_t d) noexcept {
  using namespace detail;
  std::int64_t acc = 0;
  const std::size_t d4 = d & ~std::size_t{3};
  for (std::size_t t = 0; t < d4; t += 4) {
    acc = smlald(load32(x + 2 * t), load32(q + 2 * t), acc);
    acc = smlald(load32(x + 2 * t + 4), load32(q + 2 * t + 4), acc);
  }
  for (std::size_t t = d4; t < d; ++t) {
    std::int16_t a, b;
    RVQ_MEMCPY(&a, x + 2 * t, 2);
    RVQ_MEMCPY(&b, q + 2 * t, 2);
    acc += static_cast<std::int32_t>(a) * b;
  }
  return acc;
}
#endif

}  // namespace rvq::simd::arm_dsp
