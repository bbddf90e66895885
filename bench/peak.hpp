// The machine's single-core fp32 FMA peak, measured: 24 independent chains of fused
// multiply-adds on the widest float vector the CPU has (enough to cover FMA latency times ports on
// current x86 and Arm cores). Benchmarks report rvq's rate as a share of this number.
#pragma once
#include <chrono>
#include <cstddef>

namespace rvq_bench {

namespace detail {
/// Floats per vector of the compile target.
#if defined(__AVX512F__)
inline constexpr std::size_t lanes = 16;
#elif defined(__AVX__)
inline constexpr std::size_t lanes = 8;
#elif defined(__SSE2__) || defined(__aarch64__) || defined(__ARM_NEON)
inline constexpr std::size_t lanes = 4;
#else
inline constexpr std::size_t lanes = 1;
#endif

/// A GNU vector of `Lanes` floats.
template <std::size_t Lanes>
struct wide_vec {
  typedef float type __attribute__((vector_size(Lanes * sizeof(float))));  ///< Lanes floats
};

/// The peak loop on vectors of `Lanes` floats, best of `repeats`: `a * x + y` contracts to one FMA
/// where the target has FMA (else it counts multiply-adds). Inlined into entry points built for
/// AVX2 + FMA and AVX-512 (the targets of rvq::dispatch) when the build has no -m flags.
template <std::size_t Lanes>
__attribute__((always_inline)) inline double wide_peak(int repeats) {
  using v = typename wide_vec<Lanes>::type;
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    constexpr int chains = 24;
    v a[chains];
    for (int i = 0; i < chains; ++i) a[i] = v{} + 0.001f * float(i);
    const v x = v{} + 0.9999f, y = v{} + 1e-5f;
    long n = 10000000;
    asm volatile("" : "+r"(n));
    const auto t0 = std::chrono::steady_clock::now();
    for (long k = 0; k < n; ++k) {
#if defined(__clang__)
#pragma clang loop unroll(full)
#else
#pragma GCC unroll 24
#endif
      for (int i = 0; i < chains; ++i) a[i] = a[i] * x + y;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    float sink = 0.0f;
    for (int i = 0; i < chains; ++i) sink += a[i][0];
    asm volatile("" : : "r"(&sink) : "memory");
    const double g = double(n) * chains * double(Lanes) / s / 1e9;
    best = g > best ? g : best;
  }
  return best;
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX512F__)
__attribute__((target("avx512f,avx2,fma"))) inline double peak_avx512(int repeats) { return wide_peak<16>(repeats); }
__attribute__((target("avx2,fma"))) inline double peak_avx2(int repeats) { return wide_peak<8>(repeats); }
#endif
}  // namespace detail

/// Floats per vector of the compile target.
inline constexpr std::size_t peak_lanes = detail::lanes;

/// Billions of fused multiply-adds per second on the calling core: the widest FMA this CPU has,
/// whatever the build's flags (a build without -m flags runs rvq::dispatch's AVX2/AVX-512 kernels).
inline double fma_peak_gflops(int repeats = 5) {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__AVX512F__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return detail::peak_avx512(repeats);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return detail::peak_avx2(repeats);
#endif
  return detail::wide_peak<detail::lanes>(repeats);
}

}  // namespace rvq_bench
