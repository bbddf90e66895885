// The machine's single-core fp32 FMA peak, measured: 24 independent chains of fused
// multiply-adds on the widest native float vector (enough to cover FMA latency times ports on
// current x86 and Arm cores). Benchmarks report rvq's rate as a share of this number.
#pragma once
#include <chrono>
#include <cstddef>
#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace rvq_bench {

namespace detail {
#if defined(__AVX512F__)
using pvec = __m512;
inline constexpr std::size_t lanes = 16;
inline pvec pset(float v) { return _mm512_set1_ps(v); }
inline pvec pfma(pvec a, pvec b, pvec c) { return _mm512_fmadd_ps(a, b, c); }
inline float pfirst(pvec a) { return _mm512_cvtss_f32(a); }
#elif defined(__FMA__)
using pvec = __m256;
inline constexpr std::size_t lanes = 8;
inline pvec pset(float v) { return _mm256_set1_ps(v); }
inline pvec pfma(pvec a, pvec b, pvec c) { return _mm256_fmadd_ps(a, b, c); }
inline float pfirst(pvec a) { return _mm256_cvtss_f32(a); }
#elif defined(__aarch64__)
using pvec = float32x4_t;
inline constexpr std::size_t lanes = 4;
inline pvec pset(float v) { return vdupq_n_f32(v); }
inline pvec pfma(pvec a, pvec b, pvec c) { return vfmaq_f32(c, a, b); }
inline float pfirst(pvec a) { return vgetq_lane_f32(a, 0); }
#else
using pvec = float;  // no FMA unit known to the compiler: count multiply-adds
inline constexpr std::size_t lanes = 1;
inline pvec pset(float v) { return v; }
inline pvec pfma(pvec a, pvec b, pvec c) { return a * b + c; }
inline float pfirst(pvec a) { return a; }
#endif
}  // namespace detail

/// Floats per vector of the peak measurement.
inline constexpr std::size_t peak_lanes = detail::lanes;

/// Billions of fused multiply-adds per second on the calling core (best of `repeats`).
inline double fma_peak_gflops(int repeats = 5) {
  using namespace detail;
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    constexpr int chains = 24;
    pvec a[chains];
    for (int i = 0; i < chains; ++i) a[i] = pset(0.001f * float(i));
    const pvec x = pset(0.9999f), y = pset(1e-5f);
    long n = 10000000;
    asm volatile("" : "+r"(n));
    const auto t0 = std::chrono::steady_clock::now();
    for (long k = 0; k < n; ++k) {
#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 24
#endif
      for (int i = 0; i < chains; ++i) a[i] = pfma(a[i], x, y);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    float sink = 0.0f;
    for (int i = 0; i < chains; ++i) sink += pfirst(a[i]);
    asm volatile("" : : "r"(&sink) : "memory");
    const double g = double(n) * chains * double(peak_lanes) / s / 1e9;
    best = g > best ? g : best;
  }
  return best;
}

}  // namespace rvq_bench
