/// @file int8_panels.hpp
/// @brief Integer dot-product kernels for 8-bit codewords (int8, q7, int4/int2 unpacked): AVX-512
/// VNNI (`vpdpbusd` on zmm), AVX-VNNI (`vpdpbusd` on ymm), AVX2 without VNNI (`vpmaddwd`) on x86,
/// and `sdot` on aarch64.
///
/// A layer's codewords are repacked into panels of 16 codewords: for every group of 4
/// dimensions, 16 x 4 bytes, so that one `vpdpbusd` adds 4 products into each of 16 codeword
/// lanes. The VNNI kernels take the activations as unsigned bytes `a + 128` and subtract the
/// per-codeword constant `128 * sum(q)` afterwards; the AVX2 kernel widens both to 16 bits and
/// multiplies signed values with `vpmaddwd` (no `vpmaddubsw`: its 16-bit sums saturate). Every
/// dot product is exact. Scores and the argmin (ties to the lowest index) are exact: int64 vector
/// operations on AVX-512 and `sdot`; the 256-bit kernels rank in float first and rescore the
/// candidates in int64 (avx256::select()). The codes are those of the scalar reference
/// (rvq::simd::scalar::int_kernels) bit for bit, on every kernel.
///
/// On x86 with GCC or clang, every x86 kernel is compiled in each build, whatever its `-m` flags,
/// with `__attribute__((target(...)))`: a backend chooses one per call (rvq::dispatch by the CPU
/// and active_isa()), or uses static_kernel, the best one the compile flags enable (rvq::scalar,
/// rvq::xsimd, rvq::highway: no dispatch). Define `RVQ_NO_INT8_PANELS` to use the reference
/// kernels only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>
#include "../config.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../core/names.hpp"
#include "../element/srs.hpp"
/// @def RVQ_INT8_X86
/// 1 when the x86 kernels are compiled in (GCC or clang on x86, unless RVQ_NO_INT8_PANELS).
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(RVQ_NO_INT8_PANELS)
#include <immintrin.h>
#define RVQ_INT8_X86 1
#define RVQ_T_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define RVQ_T_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))
#define RVQ_T_AVX2 __attribute__((target("avx2,fma")))
#else
#define RVQ_INT8_X86 0
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD) && !defined(RVQ_NO_INT8_PANELS)
#include <arm_neon.h>
#define RVQ_INT8_PANELS_SDOT 1
#endif

#if RVQ_INT8_X86 && defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own intrinsics' _mm512_undefined_* placeholders as maybe uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define RVQ_INT8_PANELS_PRAGMA 1
#endif

namespace rvq::simd::int8_panels {

/// @brief An int8 dot-product kernel (what `rvq info --cpu` reports as the int8 kernel).
enum class kernel : std::uint8_t {
  reference,    ///< none: the stores search with the reference kernels (int_kernels)
  avx2,         ///< AVX2: 16-bit products (`vpmaddwd`), 8 codewords per vector
  avx_vnni,     ///< AVX-VNNI: `vpdpbusd` on 256-bit vectors
  avx512_vnni,  ///< AVX-512 VNNI: `vpdpbusd` on 512-bit vectors
  sdot,         ///< aarch64 dot product (`sdot`)
};

/// Spellings of kernel values, as reports print them.
inline constexpr named<kernel> kernel_names[] = {{"reference", kernel::reference},
                                                 {"avx2", kernel::avx2},
                                                 {"avx-vnni", kernel::avx_vnni},
                                                 {"avx512-vnni", kernel::avx512_vnni},
                                                 {"sdot", kernel::sdot}};

/// The name of a kernel as reports print it.
constexpr const char* to_string(kernel k) noexcept { return name_of(kernel_names, k); }

/// The best kernel the compile flags enable (the backends without dispatch use it).
#if RVQ_INT8_X86 && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
inline constexpr kernel static_kernel = kernel::avx512_vnni;
#elif RVQ_INT8_X86 && defined(__AVXVNNI__) && defined(__AVX2__)
inline constexpr kernel static_kernel = kernel::avx_vnni;
#elif RVQ_INT8_X86 && defined(__AVX2__) && defined(__FMA__)
inline constexpr kernel static_kernel = kernel::avx2;
#elif defined(RVQ_INT8_PANELS_SDOT)
inline constexpr kernel static_kernel = kernel::sdot;
#else
inline constexpr kernel static_kernel = kernel::reference;
#endif

/// True when this build compiles some kernel (on x86: all of them, for a backend to choose).
inline constexpr bool available = RVQ_INT8_X86 || static_kernel != kernel::reference;

inline constexpr std::size_t width = 16;  ///< codewords per panel
/// Largest dimension kernel `k` serves: the 256-bit and NEON epilogues multiply 32-bit values.
constexpr std::size_t max_dim_of(kernel k) noexcept { return k == kernel::avx512_vnni ? 131071 : 32767; }
/// Largest dimension some compiled kernel serves (the stores pack panels up to it).
inline constexpr std::size_t max_dim = max_dim_of(RVQ_INT8_X86 ? kernel::avx512_vnni : static_kernel);
inline constexpr std::size_t max_rows = 16;  ///< rows searched together (at most)

/// Dimensions rounded up to a multiple of 4 (padding is zero in panels and activations).
constexpr std::size_t padded_dim(std::size_t d) noexcept { return (d + 3) / 4 * 4; }
/// Codewords rounded up to whole panels.
constexpr std::size_t padded_codewords(std::size_t k) noexcept { return (k + width - 1) / width * width; }
/// Bytes of scratch search() needs for n rows of dimension d: the AVX2 kernel's 16-bit
/// activations (the caller's `a + 128` bytes are not included).
constexpr std::size_t wide_bytes(std::size_t d) noexcept { return max_rows * padded_dim(d) * 2 + 32; }

namespace detail {
/// Epilogue of the 256-bit and NEON kernels: the lowest of 16 lane scores, ties to the lowest
/// codeword index.
inline void lowest_of_lanes(const std::int64_t (&s)[16], const std::int64_t (&i)[16], std::uint32_t& idx,
                            std::int64_t& score) noexcept {
  std::size_t b = 0;
  for (std::size_t j = 1; j < 16; ++j)
    if (s[j] < s[b] || (s[j] == s[b] && i[j] < i[b])) b = j;
  idx = static_cast<std::uint32_t>(i[b]);
  score = s[b];
}
/// Calls f(std::integral_constant<std::size_t, R>()) for R = m, 1 <= m <= Max <= 6: a kernel's
/// row count as a template argument.
template <std::size_t Max, class F>
void with_rows(std::size_t m, F&& f) {
  static_assert(Max >= 1 && Max <= 6, "1 to 6 rows");
  using std::integral_constant;
  if constexpr (Max >= 6)
    if (m == 6) return f(integral_constant<std::size_t, 6>());
  if constexpr (Max >= 5)
    if (m == 5) return f(integral_constant<std::size_t, 5>());
  if constexpr (Max >= 4)
    if (m == 4) return f(integral_constant<std::size_t, 4>());
  if constexpr (Max >= 3)
    if (m == 3) return f(integral_constant<std::size_t, 3>());
  if constexpr (Max >= 2)
    if (m == 2) return f(integral_constant<std::size_t, 2>());
  f(integral_constant<std::size_t, 1>());
}
}  // namespace detail
/// Bytes of a layer's panels.
constexpr std::size_t panel_bytes(std::size_t k, std::size_t d) noexcept { return padded_codewords(k) * padded_dim(d); }

/// Repacks k row-major codewords of d int8 values into panels (`out`: panel_bytes(k, d) bytes).
inline void pack(const std::int8_t* values, std::size_t k, std::size_t d, std::int8_t* out) noexcept {
  const std::size_t dp = padded_dim(d), np = padded_codewords(k) / width;
  for (std::size_t p = 0; p < np; ++p)
    for (std::size_t g = 0; g < dp / 4; ++g)
      for (std::size_t c = 0; c < width; ++c)
        for (std::size_t j = 0; j < 4; ++j) {
          const std::size_t cw = p * width + c, t = g * 4 + j;
          out[((p * (dp / 4) + g) * width + c) * 4 + j] = cw < k && t < d ? values[cw * d + t] : std::int8_t{0};
        }
}

/// Per-codeword constants in the kernels' orders (layer_tables::view()).
struct constants {
  const std::int32_t* offset;  ///< per codeword, natural order: 128 * sum(q)
  const std::int64_t* bias;    ///< per panel: 8 even then 8 odd codewords' score constants (padding: max)
  const std::int64_t* mul;     ///< same order: score multipliers (power-of-two elements: shifts)
  const std::int64_t* zero;    ///< same order: zero points, or null
  /// The 256-bit kernels' prefilter (see avx256::select()), natural order, padded to whole panels:
  const float* fbias;          ///< bias rounded to float (padding: +infinity)
  const float* fmul;           ///< the multiplier as a float, exact (2^shift for power-of-two elements; padding 0)
  const std::int32_t* zero32;  ///< zero points, or null
  double max_bias;             ///< the largest |bias| of the layer's codewords
  double max_mul;              ///< the largest multiplier (as fmul)
};

/// Arranges a per-codeword array in the kernel's order (padding `pad`): x86 kernels want each
/// panel's 8 even codewords then its 8 odd ones; the aarch64 kernel the natural order.
template <class T, class U>
void even_odd(const U* v, std::size_t k, T pad, T* out) noexcept {
  for (std::size_t p = 0; p < padded_codewords(k) / width; ++p)
    for (std::size_t j = 0; j < width; ++j) {
#if defined(RVQ_INT8_PANELS_SDOT)
      const std::size_t c = p * width + j;
#else
      const std::size_t c = p * width + (j < 8 ? 2 * j : 2 * (j - 8) + 1);
#endif
      out[p * width + j] = c < k ? static_cast<T>(v[c]) : pad;
    }
}

/**
 * @brief One layer's panels and constants in the kernels' orders: what search() reads.
 * build() takes the layer's k codewords of d int8 values (row-major) and its integer score
 * constants, those of rvq::int_layer with K entries each: `bias`, `smul` (shifts when `pow2`),
 * and `zero` (null when all are 0).
 */
struct layer_tables {
  std::vector<std::int8_t, rvq::detail::aligned_allocator<std::int8_t, 64>> panels;  ///< pack()ed codewords
  std::vector<std::int32_t> offset;                                                  ///< 128 * sum(q)
  std::vector<std::int64_t> bias;                                                    ///< constants::bias
  std::vector<std::int64_t> mul;                                                     ///< constants::mul
  std::vector<std::int64_t> zero;                                                    ///< constants::zero (empty: none)
  std::vector<float> fbias;                                                          ///< constants::fbias
  std::vector<float> fmul;                                                           ///< constants::fmul
  std::vector<std::int32_t> zero32;  ///< constants::zero32 (empty: none)
  double max_bias = 0;               ///< constants::max_bias
  double max_mul = 0;                ///< constants::max_mul

  /// Fills the tables from a layer (see the struct).
  void build(const std::int8_t* values, std::size_t k, std::size_t d, const std::int64_t* b, const std::int32_t* smul,
             const std::int32_t* z, bool pow2) {
    const std::size_t kp = padded_codewords(k);
    panels.assign(panel_bytes(k, d), 0);
    pack(values, k, d, panels.data());
    offset.assign(kp, 0);
    for (std::size_t c = 0; c < k; ++c) {
      std::int32_t sum = 0;
      for (std::size_t t = 0; t < d; ++t) sum += values[c * d + t];
      offset[c] = 128 * sum;
    }
    bias.resize(kp);
    mul.resize(kp);
    even_odd(b, k, std::numeric_limits<std::int64_t>::max(), bias.data());
    even_odd(smul, k, std::int64_t{0}, mul.data());
    zero.clear();
    zero32.clear();
    if (z) {
      zero.resize(kp);
      even_odd(z, k, std::int64_t{0}, zero.data());
      zero32.assign(z, z + k);
      zero32.resize(kp, 0);
    }
    fbias.assign(kp, std::numeric_limits<float>::infinity());
    fmul.assign(kp, 0.0f);
    max_bias = max_mul = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const double bc = static_cast<double>(b[c]);
      const double m = pow2 ? std::ldexp(1.0, smul[c]) : static_cast<double>(smul[c]);
      fbias[c] = static_cast<float>(bc);
      fmul[c] = static_cast<float>(m);  // exact: at most 2^20, or a power of two
      max_bias = bc < 0 ? (-bc > max_bias ? -bc : max_bias) : (bc > max_bias ? bc : max_bias);
      max_mul = m > max_mul ? m : max_mul;
    }
  }
  /// The kernels' view of the tables.
  constants view() const noexcept {
    return {offset.data(),
            bias.data(),
            mul.data(),
            zero.empty() ? nullptr : zero.data(),
            fbias.data(),
            fmul.data(),
            zero32.empty() ? nullptr : zero32.data(),
            max_bias,
            max_mul};
  }
  /// Bytes held.
  std::size_t bytes() const noexcept {
    return panels.size() + (offset.size() + fbias.size() + fmul.size() + zero32.size()) * 4 +
           (bias.size() + mul.size() + zero.size()) * 8;
  }
};

#if RVQ_INT8_X86
/// The AVX-512 VNNI kernel (512-bit `vpdpbusd`).
namespace avx512 {

/// Running argmin of even (`se`) and odd (`so`) codewords' scores of panel p: each lane keeps its
/// best score and that score's panel (the search's epilogue turns panels into codeword indices).
RVQ_ALWAYS_INLINE RVQ_T_AVX512 void update(__m512i se, __m512i so, std::size_t p, __m512i& best_e, __m512i& best_o,
                                           __m512i& idx_e, __m512i& idx_o) noexcept {
  const __m512i panel = _mm512_set1_epi64(static_cast<long long>(p));
  const __mmask8 me = _mm512_cmplt_epi64_mask(se, best_e), mo = _mm512_cmplt_epi64_mask(so, best_o);
  best_e = _mm512_mask_mov_epi64(best_e, me, se);
  idx_e = _mm512_mask_mov_epi64(idx_e, me, panel);
  best_o = _mm512_mask_mov_epi64(best_o, mo, so);
  idx_o = _mm512_mask_mov_epi64(idx_o, mo, panel);
}

/// Folds the scores of panel `p` (16 lane dot products `acc`) into a row's running argmin.
template <bool Pow2>
RVQ_ALWAYS_INLINE RVQ_T_AVX512 void fold(__m512i acc, std::size_t p, const constants& k, std::int64_t asum,
                                         __m512i& best_e, __m512i& best_o, __m512i& idx_e, __m512i& idx_o) noexcept {
  const __m512i d32 = _mm512_sub_epi32(acc, _mm512_loadu_si512(k.offset + p * width));
  const std::int64_t* bias = k.bias + p * width;
  const std::int64_t* mul = k.mul + p * width;
  // 64-bit lane j holds codewords 2j (low half) and 2j + 1 (high half)
  __m512i de = _mm512_srai_epi64(_mm512_slli_epi64(d32, 32), 32), dodd = _mm512_srai_epi64(d32, 32);
  if constexpr (!Pow2) {
    if (!k.zero) {  // |d| < 2^31 and 0 <= mul <= 2^20: vpmuldq takes the low halves, exactly
      const __m512i se = _mm512_sub_epi64(_mm512_loadu_si512(bias), _mm512_mul_epi32(d32, _mm512_loadu_si512(mul)));
      const __m512i so = _mm512_sub_epi64(_mm512_loadu_si512(bias + 8),
                                          _mm512_mul_epi32(_mm512_srli_epi64(d32, 32), _mm512_loadu_si512(mul + 8)));
      update(se, so, p, best_e, best_o, idx_e, idx_o);
      return;
    }
  }
  if (k.zero) {
    const __m512i a = _mm512_set1_epi64(asum);
    const std::int64_t* z = k.zero + p * width;
    de = _mm512_sub_epi64(de, _mm512_mullo_epi64(_mm512_loadu_si512(z), a));
    dodd = _mm512_sub_epi64(dodd, _mm512_mullo_epi64(_mm512_loadu_si512(z + 8), a));
  }
  __m512i se, so;
  if constexpr (Pow2) {
    se = _mm512_sub_epi64(_mm512_loadu_si512(bias), _mm512_sllv_epi64(de, _mm512_loadu_si512(mul)));
    so = _mm512_sub_epi64(_mm512_loadu_si512(bias + 8), _mm512_sllv_epi64(dodd, _mm512_loadu_si512(mul + 8)));
  } else {
    se = _mm512_sub_epi64(_mm512_loadu_si512(bias), _mm512_mullo_epi64(de, _mm512_loadu_si512(mul)));
    so = _mm512_sub_epi64(_mm512_loadu_si512(bias + 8), _mm512_mullo_epi64(dodd, _mm512_loadu_si512(mul + 8)));
  }
  update(se, so, p, best_e, best_o, idx_e, idx_o);
}

/// R rows against P panels starting at panel p0.
template <std::size_t R, std::size_t P, bool Pow2>
RVQ_ALWAYS_INLINE RVQ_T_AVX512 void block(const std::uint8_t* const* acts, const std::int64_t* asum,
                                          const std::int8_t* panels, std::size_t groups, std::size_t p0,
                                          const constants& k, __m512i (&best_e)[R], __m512i (&best_o)[R],
                                          __m512i (&idx_e)[R], __m512i (&idx_o)[R]) noexcept {
  __m512i acc[R][P];
  RVQ_UNROLL
  for (std::size_t r = 0; r < R; ++r) RVQ_UNROLL
  for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm512_setzero_si512();
  const std::size_t panel_stride = groups * width * 4;
  const std::int8_t* base = panels + p0 * panel_stride;
  for (std::size_t g = 0; g < groups; ++g) {
    __m512i w[P];
    RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) w[q] = _mm512_loadu_si512(base + q * panel_stride + g * width * 4);
    RVQ_UNROLL
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t a4;
      std::memcpy(&a4, acts[r] + 4 * g, 4);
      const __m512i a = _mm512_set1_epi32(a4);
      RVQ_UNROLL
      for (std::size_t q = 0; q < P; ++q) acc[r][q] = _mm512_dpbusd_epi32(acc[r][q], a, w[q]);
    }
  }
  RVQ_UNROLL
  for (std::size_t r = 0; r < R; ++r) RVQ_UNROLL
  for (std::size_t q = 0; q < P; ++q)
    fold<Pow2>(acc[r][q], p0 + q, k, asum[r], best_e[r], best_o[r], idx_e[r], idx_o[r]);
}

/// The 4 rows x 4 panels block with named accumulators (GCC 12 spills and copies an array of
/// 16 vector accumulators; 16 named ones stay in registers).
template <bool Pow2>
RVQ_ALWAYS_INLINE RVQ_T_AVX512 void block44(const std::uint8_t* const* acts, const std::int64_t* asum,
                                            const std::int8_t* panels, std::size_t groups, std::size_t p0,
                                            const constants& k, __m512i (&best_e)[4], __m512i (&best_o)[4],
                                            __m512i (&idx_e)[4], __m512i (&idx_o)[4]) noexcept {
  const std::size_t stride = groups * width * 4;
  const std::int8_t* b0 = panels + p0 * stride;
  const std::int8_t *b1 = b0 + stride, *b2 = b1 + stride, *b3 = b2 + stride;
  const std::uint8_t *x0 = acts[0], *x1 = acts[1], *x2 = acts[2], *x3 = acts[3];
  __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00,
          a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t o = g * width * 4;
    const __m512i w0 = _mm512_load_si512(b0 + o), w1 = _mm512_load_si512(b1 + o), w2 = _mm512_load_si512(b2 + o),
                  w3 = _mm512_load_si512(b3 + o);
    std::int32_t v;
    std::memcpy(&v, x0 + 4 * g, 4);
    __m512i a = _mm512_set1_epi32(v);
    a00 = _mm512_dpbusd_epi32(a00, a, w0);
    a01 = _mm512_dpbusd_epi32(a01, a, w1);
    a02 = _mm512_dpbusd_epi32(a02, a, w2);
    a03 = _mm512_dpbusd_epi32(a03, a, w3);
    std::memcpy(&v, x1 + 4 * g, 4);
    a = _mm512_set1_epi32(v);
    a10 = _mm512_dpbusd_epi32(a10, a, w0);
    a11 = _mm512_dpbusd_epi32(a11, a, w1);
    a12 = _mm512_dpbusd_epi32(a12, a, w2);
    a13 = _mm512_dpbusd_epi32(a13, a, w3);
    std::memcpy(&v, x2 + 4 * g, 4);
    a = _mm512_set1_epi32(v);
    a20 = _mm512_dpbusd_epi32(a20, a, w0);
    a21 = _mm512_dpbusd_epi32(a21, a, w1);
    a22 = _mm512_dpbusd_epi32(a22, a, w2);
    a23 = _mm512_dpbusd_epi32(a23, a, w3);
    std::memcpy(&v, x3 + 4 * g, 4);
    a = _mm512_set1_epi32(v);
    a30 = _mm512_dpbusd_epi32(a30, a, w0);
    a31 = _mm512_dpbusd_epi32(a31, a, w1);
    a32 = _mm512_dpbusd_epi32(a32, a, w2);
    a33 = _mm512_dpbusd_epi32(a33, a, w3);
  }
  const __m512i acc[4][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}, {a30, a31, a32, a33}};
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t q = 0; q < 4; ++q)
      fold<Pow2>(acc[r][q], p0 + q, k, asum[r], best_e[r], best_o[r], idx_e[r], idx_o[r]);
}

/// 8 rows x 2 panels with named accumulators: half the panel traffic (from L2) of 4 x 4.
template <bool Pow2>
RVQ_ALWAYS_INLINE RVQ_T_AVX512 void block82(const std::uint8_t* const* acts, const std::int64_t* asum,
                                            const std::int8_t* panels, std::size_t groups, std::size_t p0,
                                            const constants& k, __m512i (&best_e)[8], __m512i (&best_o)[8],
                                            __m512i (&idx_e)[8], __m512i (&idx_o)[8]) noexcept {
  const std::size_t stride = groups * width * 4;
  const std::int8_t* b0 = panels + p0 * stride;
  const std::int8_t* b1 = b0 + stride;
  __m512i a00 = _mm512_setzero_si512(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00,
          a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00, a70 = a00, a71 = a00;
#define RVQ_ROW2(i)                                \
  {                                                \
    std::int32_t v;                                \
    std::memcpy(&v, acts[i] + 4 * g, 4);           \
    const __m512i a = _mm512_set1_epi32(v);        \
    a##i##0 = _mm512_dpbusd_epi32(a##i##0, a, w0); \
    a##i##1 = _mm512_dpbusd_epi32(a##i##1, a, w1); \
  }
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t o = g * width * 4;
    const __m512i w0 = _mm512_load_si512(b0 + o), w1 = _mm512_load_si512(b1 + o);
    RVQ_ROW2(0) RVQ_ROW2(1) RVQ_ROW2(2) RVQ_ROW2(3) RVQ_ROW2(4) RVQ_ROW2(5) RVQ_ROW2(6) RVQ_ROW2(7)
  }
#undef RVQ_ROW2
  const __m512i acc[8][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31},
                             {a40, a41}, {a50, a51}, {a60, a61}, {a70, a71}};
  for (std::size_t r = 0; r < 8; ++r)
    for (std::size_t q = 0; q < 2; ++q)
      fold<Pow2>(acc[r][q], p0 + q, k, asum[r], best_e[r], best_o[r], idx_e[r], idx_o[r]);
}

template <std::size_t R, bool Pow2>
RVQ_T_AVX512 void search(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels,
                         std::size_t k, std::size_t d, const constants& c, std::uint32_t* idx,
                         std::int64_t* score) noexcept {
  const std::size_t groups = padded_dim(d) / 4, np = padded_codewords(k) / width;
  __m512i be[R], bo[R], ie[R], io[R];
  for (std::size_t r = 0; r < R; ++r) {
    be[r] = bo[r] = _mm512_set1_epi64(std::numeric_limits<std::int64_t>::max());
    ie[r] = io[r] = _mm512_setzero_si512();
  }
  std::size_t p = 0;
  if constexpr (R == 8) {
    for (; p + 2 <= np; p += 2) block82<Pow2>(acts, asum, panels, groups, p, c, be, bo, ie, io);
  } else {
    for (; p + 4 <= np; p += 4) {
      if constexpr (R == 4)
        block44<Pow2>(acts, asum, panels, groups, p, c, be, bo, ie, io);
      else
        block<R, 4, Pow2>(acts, asum, panels, groups, p, c, be, bo, ie, io);
    }
  }
  for (; p < np; ++p) block<R, 1, Pow2>(acts, asum, panels, groups, p, c, be, bo, ie, io);
  // lane j of the even scores is codeword 16 p + 2 j of its panel p; of the odd ones 16 p + 2 j + 1
  static_assert(width == 16, "the epilogue multiplies panels by 16 as a shift");
  const __m512i lane_e = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0),
                lane_o = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
  for (std::size_t r = 0; r < R; ++r) {  // lowest score, then lowest index
    const long long best = _mm512_reduce_min_epi64(_mm512_min_epi64(be[r], bo[r]));
    const __m512i b = _mm512_set1_epi64(best);
    const __mmask8 me = _mm512_cmpeq_epi64_mask(be[r], b), mo = _mm512_cmpeq_epi64_mask(bo[r], b);
    const __m512i none = _mm512_set1_epi64(std::numeric_limits<std::int64_t>::max());
    const __m512i ce = _mm512_add_epi64(_mm512_slli_epi64(ie[r], 4), lane_e);
    const __m512i co = _mm512_add_epi64(_mm512_slli_epi64(io[r], 4), lane_o);
    const __m512i cand = _mm512_min_epi64(_mm512_mask_mov_epi64(none, me, ce), _mm512_mask_mov_epi64(none, mo, co));
    idx[r] = static_cast<std::uint32_t>(_mm512_reduce_min_epi64(cand));
    score[r] = best;
  }
}
}  // namespace avx512

/// What the 256-bit kernels (AVX-VNNI and AVX2) share: the selection of a row's nearest codeword
/// from its dot products.
///
/// AVX2 has no 64-bit compare-and-select of its own (no `vpminsq`, no mask registers), so folding
/// every panel's int64 scores into a running argmin cost more than the dot products at D = 100.
/// Instead, the kernels store each row's 32-bit dot products for up to `chunk` codewords, and
/// select() ranks them in float first: `fbias - fmul * d`, within a bound of the exact int64
/// score, and rescores exactly only the codewords whose float score is within twice that bound of
/// the lowest. The float scores carry at most three roundings of relative size 2^-24 (bias, d,
/// the fused multiply-add), each of at most `(|bias| + mul |d|) 2^-24`; the bound used is
/// `(max_bias + max_mul max|d|) 2^-21`, so the exact argmin is always a candidate, under any
/// rounding mode. The result is the int64 argmin, ties to the lowest index, bit for bit.
namespace avx256 {
/// Codewords whose dot products a row keeps before select() (a multiple of width).
inline constexpr std::size_t chunk = 256;

/// What a row keeps of a chunk of codewords.
struct row256 {
  alignas(32) std::int32_t d[chunk];  ///< dot products, offsets and zero points applied
  alignas(32) float s[chunk];         ///< their float scores
  __m256 low;                         ///< lane minima of s
  __m256i za;                         ///< the row's sum(a), low 32 bits, in every lane
};

/// Twice the largest difference of a float score from its exact one, for a layer of dimension d
/// (|d - z sum(a)| <= 128 * 255 * dp < 2^15 dp), as a float, with 2^-20 of it to spare for
/// select()'s own roundings.
inline float slack(const constants& k, std::size_t d) noexcept {
  const double s = 2.0 * (k.max_bias + k.max_mul * 32768.0 * static_cast<double>(padded_dim(d))) * 0x1p-21;
  return static_cast<float>(s * (1.0 + 0x1p-20));
}

/// Starts a row's chunk.
RVQ_ALWAYS_INLINE RVQ_T_AVX2 void start(row256& w, std::int64_t asum) noexcept {
  w.low = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  w.za = _mm256_set1_epi32(static_cast<std::int32_t>(static_cast<std::uint32_t>(asum)));
}

/// Keeps 8 dot products `v` (natural order) of codewords c.. c + 7, at position `at` of the chunk.
RVQ_ALWAYS_INLINE RVQ_T_AVX2 void keep(__m256i v, std::size_t c, std::size_t at, const constants& k,
                                       row256& w) noexcept {
  if (k.zero32)  // d - z sum(a): exact in 32 bits (|d - z sum(a)| < 2^31)
    v = _mm256_sub_epi32(v,
                         _mm256_mullo_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k.zero32 + c)), w.za));
  _mm256_store_si256(reinterpret_cast<__m256i*>(w.d + at), v);
  const __m256 sv = _mm256_fnmadd_ps(_mm256_loadu_ps(k.fmul + c), _mm256_cvtepi32_ps(v), _mm256_loadu_ps(k.fbias + c));
  _mm256_store_ps(w.s + at, sv);
  w.low = _mm256_min_ps(w.low, sv);
}

/// Folds the n (a multiple of width) kept codewords c0.. of a row into its nearest codeword
/// (`idx`, `score`: the best so far, score max at the start; a tie keeps the earlier index).
/// `slack`: slack(k, d).
template <bool Pow2>
RVQ_ALWAYS_INLINE RVQ_T_AVX2 void select(const row256& w, std::size_t c0, std::size_t n, const constants& k,
                                         float slack, std::uint32_t& idx, std::int64_t& score) noexcept {
  __m128 m4 = _mm_min_ps(_mm256_castps256_ps128(w.low), _mm256_extractf128_ps(w.low, 1));
  m4 = _mm_min_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_min_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const float low = _mm_cvtss_f32(m4);
  // The candidates are the codewords whose float score is at most low + the exact slack. Each
  // float operation here rounds by at most 2^-23 of its result, in any rounding mode; the
  // |low| 2^-22 term and slack()'s spare 2^-20 cover them: thr is at least that limit.
  const __m256 t = _mm256_set1_ps(low + (slack + std::fabs(low) * 0x1p-22f));
  const std::int64_t* bias = k.bias;
  const std::int64_t* mul = k.mul;
  for (std::size_t j = 0; j < n; j += 16) {  // a panel a step: one branch, mostly not taken
    const auto lo = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(w.s + j), t, _CMP_LE_OQ)));
    const auto hi =
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(w.s + j + 8), t, _CMP_LE_OQ)));
    for (unsigned mask = lo | hi << 8; mask;) {
      const auto b = static_cast<std::size_t>(__builtin_ctz(mask));
      mask &= mask - 1;
      const std::size_t c = c0 + j + b, cp = c % width;
      const std::size_t at = c - cp + (cp % 2 ? 8 : 0) + cp / 2;  // the even/odd order of bias and mul
      const std::int64_t v = w.d[j + b];
      const std::int64_t sc = Pow2 ? bias[at] - v * (std::int64_t{1} << mul[at]) : bias[at] - mul[at] * v;
      if (sc < score) {
        score = sc;
        idx = static_cast<std::uint32_t>(c);
      }
    }
  }
}

/// The search of the 256-bit kernels, chunk by chunk: `panel(p, at, rows)` keeps panel p of the
/// R rows at position `at` of their chunk; select() ranks each chunk.
template <std::size_t R, bool Pow2, class Panel>
RVQ_ALWAYS_INLINE RVQ_T_AVX2 void search(const std::int64_t* asum, std::size_t k, std::size_t d, const constants& c,
                                         std::uint32_t* idx, std::int64_t* score, const Panel& panel) noexcept {
  const std::size_t np = padded_codewords(k) / width, per = chunk / width;
  const float sl = slack(c, d);
  row256 rows[R];
  for (std::size_t r = 0; r < R; ++r) {
    idx[r] = 0;
    score[r] = std::numeric_limits<std::int64_t>::max();
  }
  for (std::size_t p0 = 0; p0 < np; p0 += per) {
    const std::size_t p1 = np - p0 < per ? np : p0 + per;
    for (std::size_t r = 0; r < R; ++r) start(rows[r], asum[r]);
    for (std::size_t p = p0; p < p1; ++p) panel(p, (p - p0) * width, rows);
    for (std::size_t r = 0; r < R; ++r) select<Pow2>(rows[r], p0 * width, (p1 - p0) * width, c, sl, idx[r], score[r]);
  }
}
}  // namespace avx256

/// The AVX-VNNI kernel (256-bit `vpdpbusd`, VEX encoded: Alder Lake and later, Zen 5).
namespace avxvnni {

/// R rows (at most 6) against panel p (two 8-codeword halves), kept at position `at` of each
/// row's chunk: 2 R accumulators, named (GCC 12 copies an array of vector
/// accumulators between registers on every step and spills some), so up to 6 rows keep their
/// `vpdpbusd` chains, the 2 panel halves and the broadcast in the 16 registers.
template <std::size_t R>
RVQ_ALWAYS_INLINE RVQ_T_AVXVNNI void block256(const std::uint8_t* const* acts, const std::int8_t* panels,
                                              std::size_t groups, std::size_t p, std::size_t at, const constants& k,
                                              avx256::row256 (&rows)[R]) noexcept {
  static_assert(R >= 1 && R <= 6, "block256 keeps 2 accumulators per row in 16 registers");
  __m256i l0 = _mm256_setzero_si256(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0, l4 = l0, h4 = l0,
          l5 = l0, h5 = l0;
  const std::uint8_t* x[6];
  for (std::size_t r = 0; r < 6; ++r) x[r] = acts[r < R ? r : 0];
  const std::int8_t* b = panels + p * groups * width * 4;
#define RVQ_ROW256(i)                            \
  if constexpr (R > i) {                         \
    std::int32_t v;                              \
    std::memcpy(&v, x[i] + 4 * g, 4);            \
    const __m256i a = _mm256_set1_epi32(v);      \
    l##i = _mm256_dpbusd_avx_epi32(l##i, a, w0); \
    h##i = _mm256_dpbusd_avx_epi32(h##i, a, w1); \
  }
#define RVQ_HOLD256(i) \
  if constexpr (R > i) __asm__("" : "+x"(l##i), "+x"(h##i));
  for (std::size_t g = 0; g < groups; ++g) {
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * width * 4));
    const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * width * 4 + 32));
    RVQ_ROW256(0)
    RVQ_ROW256(1)
    RVQ_ROW256(2)
    RVQ_ROW256(3)
    RVQ_ROW256(4)
    RVQ_ROW256(5)
    // Keeps the accumulators in registers (GCC 12 otherwise spills one and copies the others).
    RVQ_HOLD256(0) RVQ_HOLD256(1) RVQ_HOLD256(2) RVQ_HOLD256(3) RVQ_HOLD256(4) RVQ_HOLD256(5)
  }
#undef RVQ_ROW256
#undef RVQ_HOLD256
  const __m256i lo[6] = {l0, l1, l2, l3, l4, l5}, hi[6] = {h0, h1, h2, h3, h4, h5};
  const __m256i o0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k.offset + p * width));
  const __m256i o1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k.offset + p * width + 8));
  for (std::size_t r = 0; r < R; ++r) {
    avx256::keep(_mm256_sub_epi32(lo[r], o0), p * width, at, k, rows[r]);
    avx256::keep(_mm256_sub_epi32(hi[r], o1), p * width + 8, at + 8, k, rows[r]);
  }
}

/// One panel of block256() for avx256::search().
template <std::size_t R>
struct panel256 {
  const std::uint8_t* const* acts;  ///< the rows' activation bytes
  const std::int8_t* panels;        ///< the layer's panels
  std::size_t groups;               ///< groups of 4 dimensions
  const constants& k;               ///< the layer's constants
  /// Keeps panel p of the rows at position `at`.
  RVQ_T_AVXVNNI void operator()(std::size_t p, std::size_t at, avx256::row256 (&rows)[R]) const noexcept {
    block256<R>(acts, panels, groups, p, at, k, rows);
  }
};

template <std::size_t R, bool Pow2>
RVQ_T_AVXVNNI void search(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels,
                          std::size_t k, std::size_t d, const constants& c, std::uint32_t* idx,
                          std::int64_t* score) noexcept {
  avx256::search<R, Pow2>(asum, k, d, c, idx, score, panel256<R>{acts, panels, padded_dim(d) / 4, c});
}
}  // namespace avxvnni

/// The AVX2 kernel for CPUs without VNNI: codewords and activations widened to 16 bits, 16
/// products and 8 sums per `vpmaddwd`, exact (|a q| <= 2^14). Activations are signed (`a`, not
/// `a + 128`), so no offset is subtracted.
namespace avx2 {

/// Signed 16-bit activations `a` from the bytes `a + 128` (dp of them, a multiple of 4).
RVQ_T_AVX2 inline void widen(const std::uint8_t* a, std::size_t dp, std::int16_t* out) noexcept {
  const __m256i off = _mm256_set1_epi16(128);
  std::size_t t = 0;
  for (; t + 16 <= dp; t += 16) {
    const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + t)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t), _mm256_sub_epi16(v, off));
  }
  for (; t < dp; ++t) out[t] = static_cast<std::int16_t>(a[t] - 128);
}

/// Keeps a row's 8 dot products of a half panel (codewords c.., at position `at`) from its two
/// accumulators: `lo` holds codewords
/// c0 c0 c1 c1 c2 c2 c3 c3 (two partial sums each), `hi` c4..c7; hadd gives c0 c1 c4 c5 | c2 c3 c6
/// c7, and the 64-bit permutation 0 2 1 3 puts them in order.
RVQ_ALWAYS_INLINE RVQ_T_AVX2 void keep(__m256i lo, __m256i hi, std::size_t c, std::size_t at, const constants& k,
                                       avx256::row256& w) noexcept {
  avx256::keep(_mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xD8), c, at, k, w);
}

/// R rows (16-bit activations `x`, `dp` apart) against half `half` of panel p (8 codewords),
/// kept at position `at` of each row's chunk: 2 R accumulators of 4 codewords x 2 partial sums.
template <std::size_t R>
RVQ_ALWAYS_INLINE RVQ_T_AVX2 void half_panel(const std::int16_t* x, std::size_t dp, const std::int8_t* panels,
                                             std::size_t p, std::size_t half, std::size_t at, const constants& k,
                                             avx256::row256 (&rows)[R]) noexcept {
  const std::size_t groups = dp / 4;
  __m256i lo[R], hi[R];
  RVQ_UNROLL
  for (std::size_t r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
  const std::int8_t* b = panels + p * groups * width * 4 + half * 32;
  for (std::size_t g = 0; g < groups; ++g) {
    // 4 codewords x 4 dimensions each, widened: lane pairs (2 dimensions) of one codeword
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + g * width * 4)));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + g * width * 4 + 16)));
    RVQ_UNROLL
    for (std::size_t r = 0; r < R; ++r) {
      long long v;
      std::memcpy(&v, x + r * dp + 4 * g, 8);
      const __m256i a = _mm256_set1_epi64x(v);  // the group's 4 activations, in every 64-bit lane
      lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(w0, a));
      hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(w1, a));
    }
  }
  RVQ_UNROLL
  for (std::size_t r = 0; r < R; ++r) keep(lo[r], hi[r], p * width + half * 8, at, k, rows[r]);
}

/// half_panel() for 4 rows with named accumulators (GCC 12 spills an array of 8 accumulators to
/// the stack, which puts a store and a load in the loop's dependency chain).
RVQ_ALWAYS_INLINE RVQ_T_AVX2 void half_panel4(const std::int16_t* x, std::size_t dp, const std::int8_t* panels,
                                              std::size_t p, std::size_t half, std::size_t at, const constants& k,
                                              avx256::row256 (&rows)[4]) noexcept {
  const std::size_t groups = dp / 4;
  const std::int8_t* b = panels + p * groups * width * 4 + half * 32;
  const std::int16_t *x0 = x, *x1 = x + dp, *x2 = x + 2 * dp, *x3 = x + 3 * dp;
  __m256i l0 = _mm256_setzero_si256(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
#define RVQ_AVX2_ROW(i)                                      \
  {                                                          \
    long long v;                                             \
    std::memcpy(&v, x##i + 4 * g, 8);                        \
    const __m256i a = _mm256_set1_epi64x(v);                 \
    l##i = _mm256_add_epi32(l##i, _mm256_madd_epi16(w0, a)); \
    h##i = _mm256_add_epi32(h##i, _mm256_madd_epi16(w1, a)); \
  }
  for (std::size_t g = 0; g < groups; ++g) {
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + g * width * 4)));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + g * width * 4 + 16)));
    RVQ_AVX2_ROW(0);
    RVQ_AVX2_ROW(1);
    RVQ_AVX2_ROW(2);
    RVQ_AVX2_ROW(3);
    // Keeps the accumulators in registers (GCC 12 otherwise spills one and copies the others).
    __asm__("" : "+x"(l0), "+x"(h0), "+x"(l1), "+x"(h1), "+x"(l2), "+x"(h2), "+x"(l3), "+x"(h3));
  }
#undef RVQ_AVX2_ROW
  const std::size_t c = p * width + half * 8;
  keep(l0, h0, c, at, k, rows[0]);
  keep(l1, h1, c, at, k, rows[1]);
  keep(l2, h2, c, at, k, rows[2]);
  keep(l3, h3, c, at, k, rows[3]);
}

/// Both halves of one panel for avx256::search().
template <std::size_t R>
struct panel16 {
  const std::int16_t* x;      ///< the rows' 16-bit activations, dp apart
  std::size_t dp;             ///< padded dimension
  const std::int8_t* panels;  ///< the layer's panels
  const constants& k;         ///< the layer's constants
  /// Keeps panel p of the rows at position `at`.
  RVQ_ALWAYS_INLINE RVQ_T_AVX2 void operator()(std::size_t p, std::size_t at,
                                               avx256::row256 (&rows)[R]) const noexcept {
    for (std::size_t half = 0; half < 2; ++half) {
      if constexpr (R == 4)
        half_panel4(x, dp, panels, p, half, at + half * 8, k, rows);
      else
        half_panel<R>(x, dp, panels, p, half, at + half * 8, k, rows);
    }
  }
};

template <std::size_t R, bool Pow2>
RVQ_T_AVX2 void search(const std::int16_t* x, std::size_t dp, const std::int64_t* asum, const std::int8_t* panels,
                       std::size_t k, const constants& c, std::uint32_t* idx, std::int64_t* score) noexcept {
  avx256::search<R, Pow2>(asum, k, dp, c, idx, score, panel16<R>{x, dp, panels, c});
}
}  // namespace avx2
#endif

#if defined(RVQ_INT8_PANELS_SDOT)
namespace sdot {
/// Running argmin of one row: 16 codeword slots as 8 pairs of int64.
struct state_neon {
  int64x2_t best[8], idx[8];
};

/// Folds codewords c0..c0+3 (dot products `acc`, exact: signed activations) into a row's argmin.
template <bool Pow2>
RVQ_ALWAYS_INLINE void fold_neon(int32x4_t acc, std::size_t c0, std::size_t slot, const constants& k, std::int64_t asum,
                                 state_neon& st) noexcept {
  int64x2_t d[2] = {vmovl_s32(vget_low_s32(acc)), vmovl_high_s32(acc)};
  for (std::size_t h = 0; h < 2; ++h) {
    const std::size_t c = c0 + 2 * h;
    if (k.zero) {  // d - z sum(a), with z and sum(a) 32-bit values
      const int32x2_t z = vmovn_s64(vld1q_s64(k.zero + c));
      d[h] = vsubq_s64(d[h], vmull_s32(z, vdup_n_s32(static_cast<std::int32_t>(asum))));
    }
    int64x2_t prod;
    if constexpr (Pow2)
      prod = vshlq_s64(d[h], vld1q_s64(k.mul + c));
    else  // |d| < 2^31 for D <= max_dim and mul <= 2^20
      prod = vmull_s32(vmovn_s64(d[h]), vmovn_s64(vld1q_s64(k.mul + c)));
    const int64x2_t sc = vsubq_s64(vld1q_s64(k.bias + c), prod);
    const std::int64_t ids[2] = {static_cast<std::int64_t>(c), static_cast<std::int64_t>(c + 1)};
    const uint64x2_t lt = vcltq_s64(sc, st.best[slot + h]);
    st.best[slot + h] = vbslq_s64(lt, sc, st.best[slot + h]);
    st.idx[slot + h] = vbslq_s64(lt, vld1q_s64(ids), st.idx[slot + h]);
  }
}

/// R rows against one panel of 16 codewords: 4 R accumulators of 4 codewords.
template <std::size_t R, bool Pow2>
RVQ_ALWAYS_INLINE void block_neon(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels,
                                  std::size_t groups, std::size_t p, const constants& k, state_neon (&st)[R]) noexcept {
  int32x4_t acc[R][4];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t q = 0; q < 4; ++q) acc[r][q] = vdupq_n_s32(0);
  const std::int8_t* b = panels + p * groups * width * 4;
  for (std::size_t g = 0; g < groups; ++g) {
    const int8x16_t w0 = vld1q_s8(b + g * 64), w1 = vld1q_s8(b + g * 64 + 16), w2 = vld1q_s8(b + g * 64 + 32),
                    w3 = vld1q_s8(b + g * 64 + 48);
    RVQ_UNROLL
    for (std::size_t r = 0; r < R; ++r) {
      std::uint32_t v;
      std::memcpy(&v, acts[r] + 4 * g, 4);
      const int8x16_t a = vreinterpretq_s8_u32(vdupq_n_u32(v ^ 0x80808080u));  // a + 128 -> a
      acc[r][0] = vdotq_s32(acc[r][0], a, w0);
      acc[r][1] = vdotq_s32(acc[r][1], a, w1);
      acc[r][2] = vdotq_s32(acc[r][2], a, w2);
      acc[r][3] = vdotq_s32(acc[r][3], a, w3);
    }
  }
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t q = 0; q < 4; ++q) fold_neon<Pow2>(acc[r][q], p * width + 4 * q, 2 * q, k, asum[r], st[r]);
}

template <std::size_t R, bool Pow2>
void search(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels, std::size_t k,
            std::size_t d, const constants& c, std::uint32_t* idx, std::int64_t* score) noexcept {
  const std::size_t groups = padded_dim(d) / 4, np = padded_codewords(k) / width;
  state_neon st[R];
  for (std::size_t r = 0; r < R; ++r)
    for (int s = 0; s < 8; ++s) {
      st[r].best[s] = vdupq_n_s64(std::numeric_limits<std::int64_t>::max());
      st[r].idx[s] = vdupq_n_s64(0);
    }
  for (std::size_t p = 0; p < np; ++p) block_neon<R, Pow2>(acts, asum, panels, groups, p, c, st);
  for (std::size_t r = 0; r < R; ++r) {  // lowest score, then lowest index
    std::int64_t s[16], i[16];
    for (int q = 0; q < 8; ++q) {
      vst1q_s64(s + 2 * q, st[r].best[q]);
      vst1q_s64(i + 2 * q, st[r].idx[q]);
    }
    detail::lowest_of_lanes(s, i, idx[r], score[r]);
  }
}
}  // namespace sdot
#endif

/// After a vector residual update that subtracted `c = srs((q - z) m, shift)` without saturation
/// and saw a lane overflow: recovers each r from its wrapped difference (r - c wraps exactly)
/// and saturates, as the reference update does.
inline void resaturate(std::int32_t* r, const std::int8_t* q, std::size_t d, std::int32_t z, std::int32_t m, int shift,
                       rounding mode) noexcept {
  for (std::size_t t = 0; t < d; ++t) {
    const std::int32_t c = srs<std::int32_t>(static_cast<std::int64_t>(q[t] - z) * m, shift, mode);
    const auto before = static_cast<std::int32_t>(static_cast<std::uint32_t>(r[t]) + static_cast<std::uint32_t>(c));
    r[t] = saturate<std::int32_t>(static_cast<std::int64_t>(before) - c);
  }
}

#if RVQ_INT8_X86
/// Vector helpers of the stores (grid conversion, activations, residual update), per target.
namespace avx512 {
/// float_to_grid() on 16 lanes, the last few under a mask.
RVQ_T_AVX512 inline std::size_t float_to_grid(const float* x, std::size_t d, float unit, std::int32_t* r) noexcept {
  std::size_t t = 0;
  if (unit > 0.0f && unit < 3.0e38f) {
    const __m512 u = _mm512_set1_ps(unit), top = _mm512_set1_ps(2147483648.0f);
    const __m512i max = _mm512_set1_epi32(2147483647);
    for (; t < d; t += 16) {
      const std::size_t n = d - t < 16 ? d - t : 16;
      const __mmask16 k = static_cast<__mmask16>((1u << n) - 1);
      const __m512 y = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + t), u);
      // vcvtps2dq rounds to nearest even (the default mode) and gives INT32_MIN out of range
      __m512i q = _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q = _mm512_mask_mov_epi32(q, _mm512_cmp_ps_mask(y, top, _CMP_GE_OQ), max);
      _mm512_mask_storeu_epi32(r + t, k, q);
    }
  }
  return t < d ? t : d;  // the masked pass ends past d
}
}  // namespace avx512

namespace avx2 {
/// A mask of the first n (< 8) 32-bit lanes, for vpmaskmovd.
RVQ_T_AVX2 inline __m256i first_lanes(std::size_t n) noexcept {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// v * u rounded to nearest int32 (vcvtps2dq), saturated.
RVQ_ALWAYS_INLINE RVQ_T_AVX2 __m256i grid(__m256 v, __m256 u) noexcept {
  const __m256 y = _mm256_mul_ps(v, u);
  const __m256i q = _mm256_cvtps_epi32(y);  // INT32_MIN out of range: the top end saturates here
  const __m256 big = _mm256_cmp_ps(y, _mm256_set1_ps(2147483648.0f), _CMP_GE_OQ);
  return _mm256_blendv_epi8(q, _mm256_set1_epi32(2147483647), _mm256_castps_si256(big));
}

/// float_to_grid() on 8 lanes, the last few under a mask (vcvtps2dq in the default rounding
/// mode: nearest, ties to even).
RVQ_T_AVX2 inline std::size_t float_to_grid(const float* x, std::size_t d, float unit, std::int32_t* r) noexcept {
  if (!(unit > 0.0f && unit < 3.0e38f)) return 0;
  const __m256 u = _mm256_set1_ps(unit);
  std::size_t t = 0;
  for (; t + 8 <= d; t += 8) _mm256_storeu_si256(reinterpret_cast<__m256i*>(r + t), grid(_mm256_loadu_ps(x + t), u));
  if (t < d) {
    const __m256i keep = first_lanes(d - t);
    _mm256_maskstore_epi32(r + t, keep, grid(_mm256_maskload_ps(x + t, keep), u));
  }
  return d;
}

/// One layer's activations of 8 residuals, not yet saturated: `floor(v / 2^shift)` (truncate)
/// or `floor((floor(v / 2^(shift-1)) + 1) / 2)`, which is `floor((v + 2^(shift-1)) / 2^shift)`
/// (half_up) with no add that can overflow, except `v + 1` at shift 1: `Guard` clamps v to
/// `2^31 - 2` first (which changes no activation). `cnt`: shift, or shift - 1 for half_up.
template <bool HalfUp, bool Guard>
RVQ_ALWAYS_INLINE RVQ_T_AVX2 __m256i activate(__m256i v, __m256i cnt) noexcept {
  if (Guard) v = _mm256_min_epi32(v, _mm256_set1_epi32(2147483646));
  v = _mm256_srav_epi32(v, cnt);  // one uop, where a shift by an xmm count takes two
  if (HalfUp) v = _mm256_srai_epi32(_mm256_add_epi32(v, _mm256_set1_epi32(1)), 1);
  return v;
}

/// activations() for one rounding: 32 values a step, saturated to int8 by the packs and stored
/// as a + 128; the sum of a is that of the bytes (vpsadbw) less 128 per byte. The last few go 8
/// a step, under a mask: the lanes past d read 0, whose activation is 0 (a byte of 128).
template <bool HalfUp, bool Guard>
RVQ_T_AVX2 void activations(const std::int32_t* r, std::size_t d, __m256i cnt, std::uint8_t* out,
                            std::int64_t& sum) noexcept {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), zero = _mm256_setzero_si256();
  // packs (in 128-bit lanes) leave the dwords of four vectors a0..a3 as a0lo a1lo a2lo a3lo a0hi
  // a1hi a2hi a3hi; this puts them back in order
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256i bytes = _mm256_setzero_si256();  // 4 sums of bytes
  __m128i tail = _mm_setzero_si128();
  std::size_t t = 0, counted = 0;
  for (; t + 32 <= d; t += 32, counted += 32) {
    const __m256i* v = reinterpret_cast<const __m256i*>(r + t);
    const __m256i a0 = activate<HalfUp, Guard>(_mm256_loadu_si256(v), cnt);
    const __m256i a1 = activate<HalfUp, Guard>(_mm256_loadu_si256(v + 1), cnt);
    const __m256i a2 = activate<HalfUp, Guard>(_mm256_loadu_si256(v + 2), cnt);
    const __m256i a3 = activate<HalfUp, Guard>(_mm256_loadu_si256(v + 3), cnt);
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a0, a1), _mm256_packs_epi32(a2, a3));
    const __m256i u = _mm256_xor_si256(_mm256_permutevar8x32_epi32(p, order), flip);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t), u);
    bytes = _mm256_add_epi64(bytes, _mm256_sad_epu8(u, zero));
  }
  for (; t < d; t += 8, counted += 8) {
    const std::size_t n = d - t < 8 ? d - t : 8;
    const __m256i v = activate<HalfUp, Guard>(n == 8 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + t))
                                                     : _mm256_maskload_epi32(r + t, first_lanes(n)),
                                              cnt);
    // bytes 0-3 of each 128-bit half
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v, v), zero);
    const __m128i b = _mm_move_epi64(_mm_xor_si128(
        _mm_unpacklo_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)), _mm256_castsi256_si128(flip)));
    tail = _mm_add_epi64(tail, _mm_sad_epu8(b, _mm_setzero_si128()));
    if (n == 8) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + t), b);
    } else {
      const long long eight = _mm_cvtsi128_si64(b);
      std::memcpy(out + t, &eight, n);
    }
  }
  alignas(32) std::int64_t s[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(s), bytes);
  sum += s[0] + s[1] + s[2] + s[3] + _mm_cvtsi128_si64(tail) - 128 * static_cast<std::int64_t>(counted);
}

/// activations() on 8 lanes (half_up and truncate, 0 < shift <= 23); returns the values done.
RVQ_T_AVX2 inline std::size_t activations(const std::int32_t* r, std::size_t d, int shift, rounding mode,
                                          std::uint8_t* out, std::int64_t& sum) noexcept {
  if (mode == rounding::half_to_even || shift <= 0 || shift > 23) return 0;
  if (mode == rounding::truncate)
    activations<false, false>(r, d, _mm256_set1_epi32(shift), out, sum);
  else if (shift > 1)
    activations<true, false>(r, d, _mm256_set1_epi32(shift - 1), out, sum);
  else
    activations<true, true>(r, d, _mm256_set1_epi32(0), out, sum);
  return d;
}

/// Values t.. t + n - 1 (n <= 8) of a codeword of d values, widened to int32; the lanes past n
/// read 0. A tail (n < 8) reads the codeword's last 8 values and shifts them down: reading past
/// t + n would pass the codeword's end, and copying the bytes out instead stalls the load that
/// follows the copy's narrow stores (no store forwarding).
RVQ_ALWAYS_INLINE RVQ_T_AVX2 __m256i load_codeword(const std::int8_t* q, std::size_t t, std::size_t n,
                                                   std::size_t d) noexcept {
  if (n == 8) return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + t)));
  if (d >= 8) {
    const __m128i last = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + d - 8));
    return _mm256_cvtepi8_epi32(_mm_srl_epi64(last, _mm_cvtsi32_si128(static_cast<int>(8 * (8 - n)))));
  }
  long long bytes = 0;
  std::memcpy(&bytes, q + t, n);
  return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
}

/// rv - srs((qv - z) m, shift), wrapping; the lanes that overflowed are set in `over`.
RVQ_ALWAYS_INLINE RVQ_T_AVX2 __m256i subtract(__m256i rv, __m256i qv, __m256i z, __m256i m, __m256i half, __m256i cnt,
                                              __m256i& over) noexcept {
  const __m256i c = _mm256_srav_epi32(_mm256_add_epi32(_mm256_mullo_epi32(_mm256_sub_epi32(qv, z), m), half), cnt);
  const __m256i diff = _mm256_sub_epi32(rv, c);
  // overflow when r and c differ in sign and the difference's sign is not r's
  over = _mm256_or_si256(over, _mm256_and_si256(_mm256_xor_si256(rv, c), _mm256_xor_si256(rv, diff)));
  return diff;
}

/// subtract_affine() on 8 lanes, the last few under a mask; returns the values done. The
/// vectors subtract without saturation and only note whether any lane overflowed; if one did
/// (residuals near int32's ends), a scalar pass recovers each r (r - c wraps exactly) and
/// saturates.
RVQ_T_AVX2 inline std::size_t subtract_affine(std::int32_t* r, const std::int8_t* q, std::size_t d, std::int32_t z,
                                              std::int32_t m, int shift, rounding mode) noexcept {
  const std::int64_t bound = 255 * static_cast<std::int64_t>(m < 0 ? -m : m) +
                             (shift > 0 && shift < 31 ? (std::int64_t{1} << (shift - 1)) : 0);
  if (mode == rounding::half_to_even || shift <= 0 || shift >= 31 || bound >= (std::int64_t{1} << 31)) return 0;
  const __m256i vz = _mm256_set1_epi32(z), vm = _mm256_set1_epi32(m);
  const __m256i half = _mm256_set1_epi32(mode == rounding::half_up ? (1 << (shift - 1)) : 0);
  const __m256i cnt = _mm256_set1_epi32(shift);
  __m256i over = _mm256_setzero_si256();
  std::size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    __m256i* rp = reinterpret_cast<__m256i*>(r + t);
    _mm256_storeu_si256(rp, subtract(_mm256_loadu_si256(rp), load_codeword(q, t, 8, d), vz, vm, half, cnt, over));
  }
  if (t < d) {  // r's last few under a mask
    const __m256i keep = first_lanes(d - t);
    _mm256_maskstore_epi32(
        r + t, keep,
        subtract(_mm256_maskload_epi32(r + t, keep), load_codeword(q, t, d - t, d), vz, vm, half, cnt, over));
  }
  if (_mm256_movemask_ps(_mm256_castsi256_ps(over))) resaturate(r, q, d, z, m, shift, mode);
  return d;
}
}  // namespace avx2
#endif

/**
 * @brief Nearest codeword of up to max_rows rows with kernel `kern` (not reference; d at most
 * max_dim_of(kern)): `acts[r]` holds padded_dim(d) activation bytes `a + 128`, `asum[r]` their
 * signed sum; scores `bias - mul * (<a, q> - zero * asum)` (`Pow2`: `<< mul`). `wide`:
 * wide_bytes(d) bytes of scratch (the AVX2 kernel's 16-bit activations).
 */
template <bool Pow2>
void search(kernel kern, const std::uint8_t* const* acts, const std::int64_t* asum, std::size_t nrows,
            const std::int8_t* panels, std::size_t k, std::size_t d, const constants& c, unsigned char* wide,
            std::uint32_t* idx, std::int64_t* score) noexcept {
  (void)kern, (void)acts, (void)asum, (void)nrows, (void)panels, (void)k, (void)d, (void)c, (void)wide, (void)idx,
      (void)score;
#if RVQ_INT8_X86
  if (kern == kernel::avx512_vnni) {
    if (nrows > 8) {
      avx512::search<8, Pow2>(acts, asum, panels, k, d, c, idx, score);
      return search<Pow2>(kern, acts + 8, asum + 8, nrows - 8, panels, k, d, c, wide, idx + 8, score + 8);
    }
    switch (nrows) {
      case 8:
        return avx512::search<8, Pow2>(acts, asum, panels, k, d, c, idx, score);
      case 7:
      case 6:
      case 5:
        avx512::search<4, Pow2>(acts, asum, panels, k, d, c, idx, score);
        return search<Pow2>(kern, acts + 4, asum + 4, nrows - 4, panels, k, d, c, wide, idx + 4, score + 4);
      case 4:
        return avx512::search<4, Pow2>(acts, asum, panels, k, d, c, idx, score);
      case 3:
        return avx512::search<3, Pow2>(acts, asum, panels, k, d, c, idx, score);
      case 2:
        return avx512::search<2, Pow2>(acts, asum, panels, k, d, c, idx, score);
      default:
        return avx512::search<1, Pow2>(acts, asum, panels, k, d, c, idx, score);
    }
  }
  if (kern == kernel::avx2) {
    const std::size_t dp = padded_dim(d);
    auto* x = reinterpret_cast<std::int16_t*>(wide + (32 - reinterpret_cast<std::uintptr_t>(wide) % 32) % 32);
    for (std::size_t r = 0; r < nrows; ++r) avx2::widen(acts[r], dp, x + r * dp);
    for (std::size_t b = 0; b < nrows; b += 4) {
      const std::size_t m = nrows - b < 4 ? nrows - b : 4;
      const std::int16_t* xb = x + b * dp;
      detail::with_rows<4>(m, [&](auto rows) {
        avx2::search<decltype(rows)::value, Pow2>(xb, dp, asum + b, panels, k, c, idx + b, score + b);
      });
    }
    return;
  }
#endif
#if RVQ_INT8_X86
  if (kern == kernel::avx_vnni) {
    // up to 6 rows a pass, in passes of 4 or more: 5 or more rows keep the 10 `vpdpbusd` chains
    // its latency (5) at 2 a cycle asks for
    for (std::size_t b = 0; b < nrows;) {
      const std::size_t left = nrows - b, m = left >= 12 ? 6 : left > 6 ? (left + 1) / 2 : left;
      detail::with_rows<6>(m, [&](auto rows) {
        avxvnni::search<decltype(rows)::value, Pow2>(acts + b, asum + b, panels, k, d, c, idx + b, score + b);
      });
      b += m;
    }
  }
#endif
#if defined(RVQ_INT8_PANELS_SDOT)
  if (kern != kernel::sdot) return;
  for (std::size_t b = 0; b < nrows; b += 4)
    detail::with_rows<4>(nrows - b < 4 ? nrows - b : 4, [&](auto rows) {
      sdot::search<decltype(rows)::value, Pow2>(acts + b, asum + b, panels, k, d, c, idx + b, score + b);
    });
#endif
}

/**
 * @brief Leading values of x * unit (a power of two, exact in float) rounded to nearest, ties to
 * even, saturated to int32, with the vectors of kernel `kern`'s target; returns how many it
 * converted (the caller does the rest the same way). `unit` must be a power of two that keeps
 * x * unit finite or saturating.
 */
inline std::size_t float_to_grid(kernel kern, const float* x, std::size_t d, float unit, std::int32_t* r) noexcept {
#if RVQ_INT8_X86
  if (kern == kernel::avx512_vnni) return avx512::float_to_grid(x, d, unit, r);
  if (kern == kernel::avx2 || kern == kernel::avx_vnni) return avx2::float_to_grid(x, d, unit, r);
#endif
  (void)kern, (void)x, (void)d, (void)unit, (void)r;
  return 0;
}

/**
 * @brief Activations of one row as the kernels want them: `srs<int8>(r_t, shift, mode) + 128`
 * for t < d, 128 up to padded_dim(d); returns the sum of the signed activations. Exactly
 * rvq::srs; vectorized (AVX2, for any x86 kernel) for half_up and truncate with
 * 0 < shift <= 23, scalar otherwise.
 */
inline std::int64_t activations(kernel kern, const std::int32_t* r, std::size_t d, int shift, rounding mode,
                                std::uint8_t* out) noexcept {
  std::size_t t = 0;
  std::int64_t sum = 0;
#if RVQ_INT8_X86
  // 256-bit vectors for every x86 kernel: a 512-bit version measured slower (vpmovsdb and
  // vpsadbw both on port 5)
  if (kern == kernel::avx512_vnni || kern == kernel::avx2 || kern == kernel::avx_vnni)
    t = avx2::activations(r, d, shift, mode, out, sum);
#endif
  (void)kern;
  for (; t < d; ++t) {
    const std::int8_t a = srs<std::int8_t>(r[t], shift, mode);
    sum += a;
    out[t] = static_cast<std::uint8_t>(a + 128);
  }
  for (t = d; t < padded_dim(d); ++t) out[t] = 128;
  return sum;
}

/**
 * @brief r_t = saturate32(r_t - srs<int32>((q_t - z) * m, shift, mode)) for t < d: the residual
 * update of an affine 8-bit codeword. Exactly the reference; vectorized (AVX2, for any x86
 * kernel) for half_up and truncate with 0 < shift < 31 when `255 * |m| + 2^(shift-1) < 2^31`
 * (products fit int32).
 */
inline void subtract_affine(kernel kern, std::int32_t* r, const std::int8_t* q, std::size_t d, std::int32_t z,
                            std::int32_t m, int shift, rounding mode) noexcept {
  std::size_t t = 0;
#if RVQ_INT8_X86
  // 256-bit vectors on every x86 kernel, as activations()
  if (kern == kernel::avx512_vnni || kern == kernel::avx2 || kern == kernel::avx_vnni)
    t = avx2::subtract_affine(r, q, d, z, m, shift, mode);
#endif
  (void)kern;
  for (; t < d; ++t)
    r[t] = saturate<std::int32_t>(static_cast<std::int64_t>(r[t]) -
                                  srs<std::int32_t>(static_cast<std::int64_t>(q[t] - z) * m, shift, mode));
}

}  // namespace rvq::simd::int8_panels

#if defined(RVQ_INT8_PANELS_PRAGMA)
#pragma GCC diagnostic pop
#undef RVQ_INT8_PANELS_PRAGMA
#endif
#if RVQ_INT8_X86
#undef RVQ_T_AVX512
#undef RVQ_T_AVXVNNI
#undef RVQ_T_AVX2
#endif
