/// @file int8_panels.hpp
/// @brief Integer dot-product kernels for 8-bit codewords (int8, q7, int4/int2 unpacked) on CPUs
/// with dot-product instructions: AVX-512 VNNI (`vpdpbusd`) on x86.
///
/// A layer's codewords are repacked into panels of 16 codewords: for every group of 4
/// dimensions, 16 x 4 bytes, so that one `vpdpbusd` adds 4 products into each of 16 codeword
/// lanes. Activations enter as unsigned bytes `a + 128`; the per-codeword constant
/// `128 * sum(q)` is subtracted afterwards, so the dot products are exact. Scores and the argmin
/// (ties to the lowest index) are int64 vector operations: the codes are those of the scalar
/// reference (rvq::simd::scalar::int_kernels) bit for bit. Without these instructions,
/// `available` is false and the stores use the reference kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include "../config.hpp"
#include "../element/srs.hpp"
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && !defined(RVQ_NO_INT8_PANELS)
#include <immintrin.h>
#define RVQ_INT8_PANELS_AVX512 1
#elif defined(__AVXVNNI__) && defined(__AVX2__) && !defined(RVQ_NO_INT8_PANELS)
#include <immintrin.h>
#define RVQ_INT8_PANELS_AVXVNNI 1
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD) && !defined(RVQ_NO_INT8_PANELS)
#include <arm_neon.h>
#define RVQ_INT8_PANELS_SDOT 1
#endif

#if defined(RVQ_INT8_PANELS_AVX512) && defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own intrinsics' _mm512_undefined_* placeholders as maybe uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define RVQ_INT8_PANELS_PRAGMA 1
#endif

namespace rvq::simd::int8_panels {

/// True when this build has a dot-product kernel for 8-bit codewords: AVX-512 VNNI, AVX-VNNI on
/// x86 CPUs without AVX-512, or `sdot` on aarch64 (the latter two for D < 32768, see max_dim).
#if defined(RVQ_INT8_PANELS_AVX512) || defined(RVQ_INT8_PANELS_AVXVNNI) || defined(RVQ_INT8_PANELS_SDOT)
inline constexpr bool available = true;
#else
inline constexpr bool available = false;
#endif

inline constexpr std::size_t width = 16;  ///< codewords per panel
/// Largest dimension the kernel serves (the AVX-VNNI epilogue multiplies 32-bit values).
#if defined(RVQ_INT8_PANELS_AVX512)
inline constexpr std::size_t max_dim = 131071;
#else
inline constexpr std::size_t max_dim = 32767;
#endif
inline constexpr std::size_t max_rows = 8;  ///< rows searched together

/// Dimensions rounded up to a multiple of 4 (padding is zero in panels and activations).
constexpr std::size_t padded_dim(std::size_t d) noexcept { return (d + 3) / 4 * 4; }
/// Codewords rounded up to whole panels.
constexpr std::size_t padded_codewords(std::size_t k) noexcept { return (k + width - 1) / width * width; }

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

/// Per-codeword constants in the kernel's order (see make_constants()).
struct constants {
  const std::int32_t* offset;  ///< per codeword, natural order: 128 * sum(q)
  const std::int64_t* bias;    ///< per panel: 8 even then 8 odd codewords' score constants (padding: max)
  const std::int64_t* mul;     ///< same order: score multipliers (power-of-two elements: shifts)
  const std::int64_t* zero;    ///< same order: zero points, or null
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

#if defined(RVQ_INT8_PANELS_AVX512)
namespace detail {

/// Running argmin of even (`se`) and odd (`so`) codewords' scores of panel p.
RVQ_ALWAYS_INLINE void update(__m512i se, __m512i so, std::size_t p, __m512i& best_e, __m512i& best_o, __m512i& idx_e,
                              __m512i& idx_o) noexcept {
  const __m512i base = _mm512_set1_epi64(static_cast<long long>(p * width));
  const __m512i ie = _mm512_add_epi64(base, _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0));
  const __m512i io = _mm512_add_epi64(base, _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1));
  const __mmask8 me = _mm512_cmplt_epi64_mask(se, best_e), mo = _mm512_cmplt_epi64_mask(so, best_o);
  best_e = _mm512_mask_mov_epi64(best_e, me, se);
  idx_e = _mm512_mask_mov_epi64(idx_e, me, ie);
  best_o = _mm512_mask_mov_epi64(best_o, mo, so);
  idx_o = _mm512_mask_mov_epi64(idx_o, mo, io);
}

/// Folds the scores of panel `p` (16 lane dot products `acc`) into a row's running argmin.
template <bool Pow2>
RVQ_ALWAYS_INLINE void fold(__m512i acc, std::size_t p, const constants& k, std::int64_t asum, __m512i& best_e,
                            __m512i& best_o, __m512i& idx_e, __m512i& idx_o) noexcept {
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
RVQ_ALWAYS_INLINE void block(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels,
                             std::size_t groups, std::size_t p0, const constants& k, __m512i (&best_e)[R],
                             __m512i (&best_o)[R], __m512i (&idx_e)[R], __m512i (&idx_o)[R]) noexcept {
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
RVQ_ALWAYS_INLINE void block44(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels,
                               std::size_t groups, std::size_t p0, const constants& k, __m512i (&best_e)[4],
                               __m512i (&best_o)[4], __m512i (&idx_e)[4], __m512i (&idx_o)[4]) noexcept {
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
RVQ_ALWAYS_INLINE void block82(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels,
                               std::size_t groups, std::size_t p0, const constants& k, __m512i (&best_e)[8],
                               __m512i (&best_o)[8], __m512i (&idx_e)[8], __m512i (&idx_o)[8]) noexcept {
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
void search(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels, std::size_t k,
            std::size_t d, const constants& c, std::uint32_t* idx, std::int64_t* score) noexcept {
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
  for (std::size_t r = 0; r < R; ++r) {  // lowest score, then lowest index
    const long long best = _mm512_reduce_min_epi64(_mm512_min_epi64(be[r], bo[r]));
    const __m512i b = _mm512_set1_epi64(best);
    const __mmask8 me = _mm512_cmpeq_epi64_mask(be[r], b), mo = _mm512_cmpeq_epi64_mask(bo[r], b);
    const __m512i none = _mm512_set1_epi64(std::numeric_limits<std::int64_t>::max());
    const __m512i cand =
        _mm512_min_epi64(_mm512_mask_mov_epi64(none, me, ie[r]), _mm512_mask_mov_epi64(none, mo, io[r]));
    idx[r] = static_cast<std::uint32_t>(_mm512_reduce_min_epi64(cand));
    score[r] = best;
  }
}
}  // namespace detail
#endif

#if defined(RVQ_INT8_PANELS_AVXVNNI)
namespace detail {
/// Running argmin state of one row: four streams of 4 codewords (even/odd of each half panel).
struct state256 {
  __m256i best[4], idx[4];
};

/// Sign-extends the low 32 bits of each 64-bit lane (AVX2 has no 64-bit arithmetic shift).
RVQ_ALWAYS_INLINE __m256i sext_low32(__m256i x) noexcept {
  const __m256i lo = _mm256_and_si256(x, _mm256_set1_epi64x(0xffffffffLL)), sign = _mm256_set1_epi64x(0x80000000LL);
  return _mm256_sub_epi64(_mm256_xor_si256(lo, sign), sign);
}

/// Folds 8 codewords (half `half` of panel p; 32-bit dot products `acc`) into a row's argmin.
/// Every intermediate fits 32 bits for D <= max_dim, so vpmuldq (low halves, signed) is exact.
template <bool Pow2>
RVQ_ALWAYS_INLINE void fold256(__m256i acc, std::size_t p, std::size_t half, const constants& k, std::int64_t asum,
                               state256& st) noexcept {
  const std::size_t c0 = p * width + half * 8;
  const __m256i d32 = _mm256_sub_epi32(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k.offset + c0)));
  // 64-bit lane j: codeword 2j in the low half, 2j + 1 in the high half
  __m256i de = d32, dodd = _mm256_srli_epi64(d32, 32);
  const std::int64_t* bias = k.bias + p * width + half * 4;  // even codewords; odd ones 8 further
  const std::int64_t* mul = k.mul + p * width + half * 4;
  if (k.zero) {  // d - z sum(a): the low 32 bits of each lane are exact
    const __m256i a = _mm256_set1_epi64x(asum);
    const std::int64_t* z = k.zero + p * width + half * 4;
    de = _mm256_sub_epi32(de, _mm256_mul_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(z)), a));
    dodd = _mm256_sub_epi32(dodd, _mm256_mul_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(z + 8)), a));
  }
  const __m256i be = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias));
  const __m256i bo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8));
  const __m256i me_ = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mul));
  const __m256i mo_ = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mul + 8));
  __m256i se, so;
  if constexpr (Pow2) {
    se = _mm256_sub_epi64(be, _mm256_sllv_epi64(sext_low32(de), me_));
    so = _mm256_sub_epi64(bo, _mm256_sllv_epi64(sext_low32(dodd), mo_));
  } else {
    se = _mm256_sub_epi64(be, _mm256_mul_epi32(de, me_));
    so = _mm256_sub_epi64(bo, _mm256_mul_epi32(dodd, mo_));
  }
  const __m256i base = _mm256_set1_epi64x(static_cast<long long>(c0));
  const __m256i ie = _mm256_add_epi64(base, _mm256_set_epi64x(6, 4, 2, 0));
  const __m256i io = _mm256_add_epi64(base, _mm256_set_epi64x(7, 5, 3, 1));
  const std::size_t e = half * 2, o = half * 2 + 1;
  const __m256i lt_e = _mm256_cmpgt_epi64(st.best[e], se), lt_o = _mm256_cmpgt_epi64(st.best[o], so);
  st.best[e] = _mm256_blendv_epi8(st.best[e], se, lt_e);
  st.idx[e] = _mm256_blendv_epi8(st.idx[e], ie, lt_e);
  st.best[o] = _mm256_blendv_epi8(st.best[o], so, lt_o);
  st.idx[o] = _mm256_blendv_epi8(st.idx[o], io, lt_o);
}

/// R rows against one panel (two 8-codeword halves): 2 R accumulators.
template <std::size_t R, bool Pow2>
RVQ_ALWAYS_INLINE void block256(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels,
                                std::size_t groups, std::size_t p, const constants& k, state256 (&st)[R]) noexcept {
  __m256i lo[R], hi[R];
  for (std::size_t r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
  const std::int8_t* b = panels + p * groups * width * 4;
  for (std::size_t g = 0; g < groups; ++g) {
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * width * 4));
    const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + g * width * 4 + 32));
    RVQ_UNROLL
    for (std::size_t r = 0; r < R; ++r) {
      std::int32_t v;
      std::memcpy(&v, acts[r] + 4 * g, 4);
      const __m256i a = _mm256_set1_epi32(v);
      lo[r] = _mm256_dpbusd_avx_epi32(lo[r], a, w0);
      hi[r] = _mm256_dpbusd_avx_epi32(hi[r], a, w1);
    }
  }
  for (std::size_t r = 0; r < R; ++r) {
    fold256<Pow2>(lo[r], p, 0, k, asum[r], st[r]);
    fold256<Pow2>(hi[r], p, 1, k, asum[r], st[r]);
  }
}

template <std::size_t R, bool Pow2>
void search(const std::uint8_t* const* acts, const std::int64_t* asum, const std::int8_t* panels, std::size_t k,
            std::size_t d, const constants& c, std::uint32_t* idx, std::int64_t* score) noexcept {
  const std::size_t groups = padded_dim(d) / 4, np = padded_codewords(k) / width;
  state256 st[R];
  for (std::size_t r = 0; r < R; ++r)
    for (int s = 0; s < 4; ++s) {
      st[r].best[s] = _mm256_set1_epi64x(std::numeric_limits<std::int64_t>::max());
      st[r].idx[s] = _mm256_setzero_si256();
    }
  for (std::size_t p = 0; p < np; ++p) block256<R, Pow2>(acts, asum, panels, groups, p, c, st);
  for (std::size_t r = 0; r < R; ++r) {  // lowest score, then lowest index
    alignas(32) std::int64_t s[16], i[16];
    for (int q = 0; q < 4; ++q) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(s + 4 * q), st[r].best[q]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(i + 4 * q), st[r].idx[q]);
    }
    lowest_of_lanes(s, i, idx[r], score[r]);
  }
}
}  // namespace detail
#endif

#if defined(RVQ_INT8_PANELS_SDOT)
namespace detail {
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
    lowest_of_lanes(s, i, idx[r], score[r]);
  }
}
}  // namespace detail
#endif

/**
 * @brief Nearest codeword of up to max_rows rows: `acts[r]` holds padded_dim(d) activation
 * bytes `a + 128`, `asum[r]` their signed sum; scores `bias - mul * (<a, q> - zero * asum)`
 * (`Pow2`: `<< mul`). Only when `available`.
 */
template <bool Pow2>
void search(const std::uint8_t* const* acts, const std::int64_t* asum, std::size_t nrows, const std::int8_t* panels,
            std::size_t k, std::size_t d, const constants& c, std::uint32_t* idx, std::int64_t* score) noexcept {
#if defined(RVQ_INT8_PANELS_AVX512)
  switch (nrows) {
    case 8:
      return detail::search<8, Pow2>(acts, asum, panels, k, d, c, idx, score);
    case 7:
    case 6:
    case 5:
      detail::search<4, Pow2>(acts, asum, panels, k, d, c, idx, score);
      return search<Pow2>(acts + 4, asum + 4, nrows - 4, panels, k, d, c, idx + 4, score + 4);
    case 4:
      return detail::search<4, Pow2>(acts, asum, panels, k, d, c, idx, score);
    case 3:
      return detail::search<3, Pow2>(acts, asum, panels, k, d, c, idx, score);
    case 2:
      return detail::search<2, Pow2>(acts, asum, panels, k, d, c, idx, score);
    default:
      return detail::search<1, Pow2>(acts, asum, panels, k, d, c, idx, score);
  }
#elif defined(RVQ_INT8_PANELS_AVXVNNI) || defined(RVQ_INT8_PANELS_SDOT)
  for (std::size_t b = 0; b < nrows; b += 4) {
    const std::size_t m = nrows - b < 4 ? nrows - b : 4;
    switch (m) {
      case 4:
        detail::search<4, Pow2>(acts + b, asum + b, panels, k, d, c, idx + b, score + b);
        break;
      case 3:
        detail::search<3, Pow2>(acts + b, asum + b, panels, k, d, c, idx + b, score + b);
        break;
      case 2:
        detail::search<2, Pow2>(acts + b, asum + b, panels, k, d, c, idx + b, score + b);
        break;
      default:
        detail::search<1, Pow2>(acts + b, asum + b, panels, k, d, c, idx + b, score + b);
    }
  }
#else
  (void)acts, (void)asum, (void)nrows, (void)panels, (void)k, (void)d, (void)c, (void)idx, (void)score;
#endif
}

/**
 * @brief Leading values of x * unit (a power of two, exact in float) rounded to nearest, ties to
 * even, saturated to int32, as 16-wide vectors; returns how many it converted (the caller does the
 * rest the same way). `unit` must be a power of two that keeps x * unit finite or saturating.
 */
inline std::size_t float_to_grid(const float* x, std::size_t d, float unit, std::int32_t* r) noexcept {
  std::size_t t = 0;
#if defined(RVQ_INT8_PANELS_AVX512)
  if (unit > 0.0f && unit < 3.0e38f) {
    const __m512 u = _mm512_set1_ps(unit), top = _mm512_set1_ps(2147483648.0f);
    const __m512i max = _mm512_set1_epi32(2147483647);
    for (; t + 16 <= d; t += 16) {
      const __m512 y = _mm512_mul_ps(_mm512_loadu_ps(x + t), u);
      // vcvtps2dq rounds to nearest even (the default mode) and gives INT32_MIN out of range
      __m512i q = _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q = _mm512_mask_mov_epi32(q, _mm512_cmp_ps_mask(y, top, _CMP_GE_OQ), max);
      _mm512_storeu_si512(r + t, q);
    }
  }
#else
  (void)x, (void)d, (void)unit, (void)r;
#endif
  return t;
}

/**
 * @brief Activations of one row as the kernel wants them: `srs<int8>(r_t, shift, mode) + 128`
 * for t < d, 128 up to padded_dim(d); returns the sum of the signed activations. Exactly
 * rvq::srs; vectorized for half_up and truncate with 0 < shift <= 23, scalar otherwise.
 */
inline std::int64_t activations(const std::int32_t* r, std::size_t d, int shift, rounding mode,
                                std::uint8_t* out) noexcept {
  std::size_t t = 0;
  std::int64_t sum = 0;
#if defined(RVQ_INT8_PANELS_AVX512)
  if (mode != rounding::half_to_even && shift > 0 && shift <= 23) {
    // Clamping to +-2^30 first changes nothing (the result saturates anyway) and keeps the
    // rounding add from overflowing.
    const __m512i lim = _mm512_set1_epi32(1 << 30), nlim = _mm512_set1_epi32(-(1 << 30));
    const __m512i half = _mm512_set1_epi32(mode == rounding::half_up ? (1 << (shift - 1)) : 0);
    const __m128i cnt = _mm_cvtsi32_si128(shift);
    const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
    __m512i acc = _mm512_setzero_si512();
    for (; t < d; t += 16) {
      const std::size_t n = d - t < 16 ? d - t : 16;
      const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
      __m512i v = _mm512_maskz_loadu_epi32(m, r + t);
      v = _mm512_min_epi32(_mm512_max_epi32(v, nlim), lim);
      v = _mm512_sra_epi32(_mm512_add_epi32(v, half), cnt);
      v = _mm512_maskz_mov_epi32(m, _mm512_min_epi32(_mm512_max_epi32(v, lo), hi));
      acc = _mm512_add_epi32(acc, v);
      const __m128i b = _mm_xor_si128(_mm512_cvtepi32_epi8(v), _mm_set1_epi8(static_cast<char>(0x80)));
      _mm_mask_storeu_epi8(out + t, m, b);
    }
    sum = _mm512_reduce_add_epi32(acc);
  }
#endif
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
 * update of an affine 8-bit codeword. Exactly the reference; vectorized for half_up and truncate
 * with 0 < shift < 31 when `255 * |m| + 2^(shift-1) < 2^31` (products fit int32).
 */
inline void subtract_affine(std::int32_t* r, const std::int8_t* q, std::size_t d, std::int32_t z, std::int32_t m,
                            int shift, rounding mode) noexcept {
  std::size_t t = 0;
#if defined(RVQ_INT8_PANELS_AVX512)
  const std::int64_t bound = 255 * static_cast<std::int64_t>(m < 0 ? -m : m) +
                             (shift > 0 && shift < 31 ? (std::int64_t{1} << (shift - 1)) : 0);
  if (mode != rounding::half_to_even && shift > 0 && shift < 31 && bound < (std::int64_t{1} << 31)) {
    const __m512i vz = _mm512_set1_epi32(z), vm = _mm512_set1_epi32(m);
    const __m512i half = _mm512_set1_epi32(mode == rounding::half_up ? (1 << (shift - 1)) : 0);
    const __m128i cnt = _mm_cvtsi32_si128(shift);
    for (; t + 16 <= d; t += 16) {
      const __m512i qv = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + t)));
      const __m512i c = _mm512_sra_epi32(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_sub_epi32(qv, vz), vm), half), cnt);
      const __m512i rv = _mm512_loadu_si512(r + t);
      const __m512i lo = _mm512_sub_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(rv)),
                                          _mm512_cvtepi32_epi64(_mm512_castsi512_si256(c)));
      const __m512i hi = _mm512_sub_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(rv, 1)),
                                          _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(c, 1)));
      const __m512i res =
          _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtsepi64_epi32(lo)), _mm512_cvtsepi64_epi32(hi), 1);
      _mm512_storeu_si512(r + t, res);
    }
  }
#endif
  for (; t < d; ++t)
    r[t] = saturate<std::int32_t>(static_cast<std::int64_t>(r[t]) -
                                  srs<std::int32_t>(static_cast<std::int64_t>(q[t] - z) * m, shift, mode));
}

}  // namespace rvq::simd::int8_panels

#if defined(RVQ_INT8_PANELS_PRAGMA)
#pragma GCC diagnostic pop
#undef RVQ_INT8_PANELS_PRAGMA
#endif
