/// @file q15_panels.hpp
/// @brief Integer dot-product kernels for 16-bit codewords (q15): AVX2 (`vpmaddwd`), AVX-VNNI and
/// AVX-512 VNNI (`vpdpwssd`) on x86.
///
/// A q15 dot product multiplies int16 activations by int16 values: each product needs 31 bits,
/// and a sum of two of them 32 (`vpmaddwd` wraps only for four values of -32768). The kernels make
/// every sum exact by splitting each activation `x` into `xh = x >> 8` (-128 to 127) and
/// `xl = x & 255` (0 to 255), so that `x q = 256 xh q + xl q`. A pair of products of `xh` sums to
/// at most 2^23 in magnitude, one of `xl` to less than 2^24, so a 32-bit lane adds 128 pairs (256
/// dimensions) of each before it is widened into int64 sums. The result, `256 <xh, q> + <xl, q>`,
/// is the int64 dot product of the scalar reference, bit for bit, for any values and any `D`.
///
/// A layer's codewords are repacked into panels of 16 codewords: for every pair of dimensions,
/// 16 x 2 int16 values (64 bytes), so that one `vpmaddwd` adds 2 products into each of 16
/// codeword lanes (8 on AVX2, which reads a panel as two vectors). The kernels return the dot
/// products; the stores score them with the reference's integer formula and keep the lowest score,
/// ties to the lowest index, so the codes are the reference's.
///
/// On x86 with GCC or clang, every kernel is compiled in each build, whatever its `-m` flags,
/// with `__attribute__((target(...)))`: rvq::dispatch chooses one per call by the CPU and
/// active_isa(); the other backends use static_kernel, the best one the compile flags enable.
/// Define `RVQ_NO_Q15_PANELS` to use the reference kernels only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>
#include "../config.hpp"
#include "../core/names.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../element/srs.hpp"
/// @def RVQ_Q15_X86
/// 1 when the x86 q15 kernels are compiled in (GCC or clang on x86, unless RVQ_NO_Q15_PANELS).
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(RVQ_NO_Q15_PANELS)
#include <immintrin.h>
#define RVQ_Q15_X86 1
#define RVQ_T_Q15_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vnni")))
#define RVQ_T_Q15_AVXVNNI __attribute__((target("avx2,avxvnni")))
#define RVQ_T_Q15_AVX2 __attribute__((target("avx2")))
#else
#define RVQ_Q15_X86 0
#endif

#if RVQ_Q15_X86 && defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own intrinsics' _mm512_undefined_* placeholders as maybe uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define RVQ_Q15_PANELS_PRAGMA 1
#endif

namespace rvq::simd::q15_panels {

/// @brief A q15 dot-product kernel (what `rvq info --cpu` reports as the q15 kernel).
enum class kernel : std::uint8_t {
  reference,    ///< none: the stores search with the reference kernels (int_kernels)
  avx2,         ///< AVX2: `vpmaddwd` on 256-bit vectors, 8 codewords per vector
  avx_vnni,     ///< AVX-VNNI: `vpdpwssd` on 256-bit vectors
  avx512_vnni,  ///< AVX-512 VNNI: `vpdpwssd` on 512-bit vectors, 16 codewords per vector
};

/// Spellings of kernel values, as reports print them.
inline constexpr named<kernel> kernel_names[] = {{"reference", kernel::reference},
                                                 {"avx2", kernel::avx2},
                                                 {"avx-vnni", kernel::avx_vnni},
                                                 {"avx512-vnni", kernel::avx512_vnni}};

/// The name of a kernel as reports print it.
constexpr const char* to_string(kernel k) noexcept { return name_of(kernel_names, k); }

/// The best kernel the compile flags enable (the backends without dispatch use it).
#if RVQ_Q15_X86 && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
inline constexpr kernel static_kernel = kernel::avx512_vnni;
#elif RVQ_Q15_X86 && defined(__AVXVNNI__) && defined(__AVX2__)
inline constexpr kernel static_kernel = kernel::avx_vnni;
#elif RVQ_Q15_X86 && defined(__AVX2__)
inline constexpr kernel static_kernel = kernel::avx2;
#else
inline constexpr kernel static_kernel = kernel::reference;
#endif

/// True when this build compiles some kernel (on x86: all of them, for a backend to choose).
inline constexpr bool available = RVQ_Q15_X86 || static_kernel != kernel::reference;

inline constexpr std::size_t width = 16;    ///< codewords per panel
inline constexpr std::size_t max_rows = 4;  ///< rows dots() takes together (at most)
/// Pairs of dimensions a 32-bit lane sums before it is widened: 128 pairs of `xl q` stay under
/// 128 x 2 x 255 x 32768 < 2^31.
inline constexpr std::size_t block_pairs = 128;

/// Dimensions rounded up to an even count (padding is zero in panels and activations).
constexpr std::size_t padded_dim(std::size_t d) noexcept { return (d + 1) / 2 * 2; }
/// Codewords rounded up to whole panels.
constexpr std::size_t padded_codewords(std::size_t k) noexcept { return (k + width - 1) / width * width; }
/// int16 values of a layer's panels.
constexpr std::size_t panel_values(std::size_t k, std::size_t d) noexcept {
  return padded_codewords(k) * padded_dim(d);
}
/// Bytes of one row's split activations (split()): `xh` then `xl`, padded_dim(d) int16 each.
constexpr std::size_t split_bytes(std::size_t d) noexcept { return 4 * padded_dim(d); }

/// Repacks k row-major codewords of d int16 values into panels (`out`: panel_values(k, d) values).
inline void pack(const std::int16_t* values, std::size_t k, std::size_t d, std::int16_t* out) noexcept {
  const std::size_t pairs = padded_dim(d) / 2, np = padded_codewords(k) / width;
  for (std::size_t p = 0; p < np; ++p)
    for (std::size_t j = 0; j < pairs; ++j)
      for (std::size_t c = 0; c < width; ++c)
        for (std::size_t h = 0; h < 2; ++h) {
          const std::size_t cw = p * width + c, t = 2 * j + h;
          out[((p * pairs + j) * width + c) * 2 + h] = cw < k && t < d ? values[cw * d + t] : std::int16_t{0};
        }
}

/**
 * @brief One layer's panels and score constants (what search() reads). A codeword's score is
 * `bias - (<x, q> << shift)`, the reference's for power-of-two elements without zero points;
 * build() takes k row-major codewords of d int16 values and the k constants.
 */
struct layer_panels {
  std::vector<std::int16_t, rvq::detail::aligned_allocator<std::int16_t, 64>> values;  ///< pack()ed codewords
  std::vector<std::int64_t, rvq::detail::aligned_allocator<std::int64_t, 64>> bias;    ///< per codeword (padding: max)
  std::vector<std::int64_t, rvq::detail::aligned_allocator<std::int64_t, 64>> shift;   ///< per codeword (padding: 0)
  std::size_t k = 0;                                                                   ///< codewords
  std::size_t d = 0;                                                                   ///< dimensions

  /// Packs a layer's codewords and constants (see the struct).
  void build(const std::int16_t* v, std::size_t codewords, std::size_t dim, const std::int64_t* b,
             const std::int64_t* sh) {
    k = codewords;
    d = dim;
    values.assign(panel_values(k, d), 0);
    pack(v, k, d, values.data());
    bias.assign(padded_codewords(k), std::numeric_limits<std::int64_t>::max());
    shift.assign(padded_codewords(k), 0);
    for (std::size_t c = 0; c < k; ++c) bias[c] = b[c], shift[c] = sh[c];
  }
  /// The values of panel p (width codewords).
  const std::int16_t* panel(std::size_t p) const noexcept { return values.data() + p * width * padded_dim(d); }
  /// Bytes held.
  std::size_t bytes() const noexcept { return values.size() * 2 + (bias.size() + shift.size()) * 8; }
};

/// Splits d int16 activations (`act`: their bytes, as the reference kernels write them) into
/// `out`: `x >> 8` then `x & 255`, padded_dim(d) values each (split_bytes(d) bytes; the padding
/// is zero).
inline void split(const unsigned char* act, std::size_t d, std::int16_t* out) noexcept {
  const std::size_t dp = padded_dim(d);
  for (std::size_t t = 0; t < d; ++t) {
    std::int16_t x;
    std::memcpy(&x, act + 2 * t, 2);
    out[t] = static_cast<std::int16_t>(x >> 8);
    out[dp + t] = static_cast<std::int16_t>(x & 255);
  }
  for (std::size_t t = d; t < dp; ++t) out[t] = out[dp + t] = 0;
}

namespace detail {
/// The two int16 values of pair j of a split row, as one int32 (what a kernel broadcasts).
RVQ_ALWAYS_INLINE std::int32_t pair(const std::int16_t* x, std::size_t j) noexcept {
  std::int32_t v;
  std::memcpy(&v, x + 2 * j, 4);
  return v;
}
/// The reference kernel: the exact dot products of panel `panel` with R split rows.
inline void dots_reference(const std::int16_t* const* xs, std::size_t m, std::size_t d, const std::int16_t* panel,
                           std::int64_t* out) noexcept {
  const std::size_t dp = padded_dim(d);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t c = 0; c < width; ++c) {
      std::int64_t s = 0;
      for (std::size_t t = 0; t < dp; ++t) {
        const std::int64_t q = panel[((t / 2) * width + c) * 2 + t % 2];
        s += (256 * static_cast<std::int64_t>(xs[i][t]) + xs[i][dp + t]) * q;
      }
      out[i * width + c] = s;
    }
}
/// The lowest of 16 lane scores (`best`), ties to the lowest codeword index (`width * bp + lane`).
inline void lowest_of_lanes(const std::int64_t* best, const std::int64_t* bp, std::uint32_t& idx,
                            std::int64_t& score) noexcept {
  std::size_t b = 0;
  for (std::size_t j = 1; j < width; ++j)
    if (best[j] < best[b] || (best[j] == best[b] && bp[j] < bp[b])) b = j;
  idx = static_cast<std::uint32_t>(static_cast<std::size_t>(bp[b]) * width + b);
  score = best[b];
}
}  // namespace detail

#if RVQ_Q15_X86
// The loops over a kernel's R rows carry `#pragma GCC unroll`: at -O2 (RelWithDebInfo builds,
// distribution packages) GCC 12 otherwise leaves them rolled and keeps the accumulators in
// memory, at half the speed of -O3.

/// The AVX-512 VNNI kernel: a panel is one vector of 16 codewords x 2 values per pair of
/// dimensions; `vpdpwssd` adds a pair of products into each 32-bit lane (wrapping, which the
/// bound above rules out).
namespace avx512 {
/// `out[i * 16 + c]` = the dot product of split row i with codeword c of the panel, for R rows.
template <std::size_t R>
RVQ_T_Q15_AVX512 void dots(const std::int16_t* const* xs, std::size_t d, const std::int16_t* panel,
                           std::int64_t* out) noexcept {
  const std::size_t dp = padded_dim(d), pairs = dp / 2;
  __m512i lo[R], hi[R];  // int64 sums of codewords 0-7 and 8-15
#pragma GCC unroll 4
  for (std::size_t i = 0; i < R; ++i) lo[i] = hi[i] = _mm512_setzero_si512();
  for (std::size_t j0 = 0; j0 < pairs; j0 += block_pairs) {
    const std::size_t j1 = pairs - j0 < block_pairs ? pairs : j0 + block_pairs;
    __m512i h[R], l[R];
#pragma GCC unroll 4
    for (std::size_t i = 0; i < R; ++i) h[i] = l[i] = _mm512_setzero_si512();
    for (std::size_t j = j0; j < j1; ++j) {
      const __m512i q = _mm512_load_si512(panel + j * 2 * width);
#pragma GCC unroll 4
      for (std::size_t i = 0; i < R; ++i) {
        h[i] = _mm512_dpwssd_epi32(h[i], _mm512_set1_epi32(detail::pair(xs[i], j)), q);
        l[i] = _mm512_dpwssd_epi32(l[i], _mm512_set1_epi32(detail::pair(xs[i] + dp, j)), q);
      }
    }
#pragma GCC unroll 4
    for (std::size_t i = 0; i < R; ++i) {  // lo += 256 h + l, in int64
      const __m512i h0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(h[i]));
      const __m512i h1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(h[i], 1));
      const __m512i l0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(l[i]));
      const __m512i l1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(l[i], 1));
      lo[i] = _mm512_add_epi64(lo[i], _mm512_add_epi64(_mm512_slli_epi64(h0, 8), l0));
      hi[i] = _mm512_add_epi64(hi[i], _mm512_add_epi64(_mm512_slli_epi64(h1, 8), l1));
    }
  }
#pragma GCC unroll 4
  for (std::size_t i = 0; i < R; ++i) {
    _mm512_storeu_si512(out + i * width, lo[i]);
    _mm512_storeu_si512(out + i * width + 8, hi[i]);
  }
}

/// The nearest codeword of R split rows: every panel's dot products, scored (`bias - (dot <<
/// shift)`) and kept per lane when strictly lower (the earlier panel on a tie).
template <std::size_t R>
RVQ_T_Q15_AVX512 void search(const std::int16_t* const* xs, const layer_panels& lp, std::uint32_t* idx,
                             std::int64_t* score) noexcept {
  alignas(64) std::int64_t dots[R * width], best[R * width], bp[R * width];
  for (std::size_t j = 0; j < R * width; ++j) best[j] = std::numeric_limits<std::int64_t>::max(), bp[j] = 0;
  for (std::size_t p = 0; p * width < lp.k; ++p) {
    avx512::dots<R>(xs, lp.d, lp.panel(p), dots);
    const __m512i vp = _mm512_set1_epi64(static_cast<long long>(p));
    for (std::size_t v = 0; v < width; v += 8) {
      const __m512i b = _mm512_load_si512(lp.bias.data() + p * width + v);
      const __m512i sh = _mm512_load_si512(lp.shift.data() + p * width + v);
#pragma GCC unroll 4
      for (std::size_t i = 0; i < R; ++i) {
        const std::size_t o = i * width + v;
        const __m512i sc = _mm512_sub_epi64(b, _mm512_sllv_epi64(_mm512_load_si512(dots + o), sh));
        const __mmask8 lower = _mm512_cmplt_epi64_mask(sc, _mm512_load_si512(best + o));
        _mm512_mask_store_epi64(best + o, lower, sc);
        _mm512_mask_store_epi64(bp + o, lower, vp);
      }
    }
  }
#pragma GCC unroll 4
  for (std::size_t i = 0; i < R; ++i) detail::lowest_of_lanes(best + i * width, bp + i * width, idx[i], score[i]);
}
}  // namespace avx512

/// The AVX2 kernel: a panel is two vectors per pair of dimensions, codewords 0-7 and 8-15.
namespace avx2 {
/// `out[c] += 256 h[c] + l[c]` in int64 for a row's 16 lane sums (`h0`, `l0`: codewords 0-7).
RVQ_T_Q15_AVX2 inline void add_wide(__m256i h0, __m256i h1, __m256i l0, __m256i l1, std::int64_t* out) noexcept {
  const __m256i hs[2] = {h0, h1}, ls[2] = {l0, l1};
  for (std::size_t v = 0; v < 2; ++v)
    for (std::size_t half = 0; half < 2; ++half) {  // 4 codewords a vector
      const __m128i h32 = half ? _mm256_extracti128_si256(hs[v], 1) : _mm256_castsi256_si128(hs[v]);
      const __m128i l32 = half ? _mm256_extracti128_si256(ls[v], 1) : _mm256_castsi256_si128(ls[v]);
      const __m256i sum =
          _mm256_add_epi64(_mm256_slli_epi64(_mm256_cvtepi32_epi64(h32), 8), _mm256_cvtepi32_epi64(l32));
      __m256i* o = reinterpret_cast<__m256i*>(out + v * 8 + half * 4);
      _mm256_storeu_si256(o, _mm256_add_epi64(_mm256_loadu_si256(o), sum));
    }
}

/// `out[i * 16 + c]` = the dot product of split row i with codeword c of the panel, for R rows.
template <std::size_t R>
RVQ_T_Q15_AVX2 void dots(const std::int16_t* const* xs, std::size_t d, const std::int16_t* panel,
                         std::int64_t* out) noexcept {
  const std::size_t dp = padded_dim(d), pairs = dp / 2;
#pragma GCC unroll 4
  for (std::size_t i = 0; i < R; ++i)
    for (std::size_t c = 0; c < width; ++c) out[i * width + c] = 0;
  for (std::size_t j0 = 0; j0 < pairs; j0 += block_pairs) {
    const std::size_t j1 = pairs - j0 < block_pairs ? pairs : j0 + block_pairs;
    __m256i h0[R], h1[R], l0[R], l1[R];
#pragma GCC unroll 4
    for (std::size_t i = 0; i < R; ++i) h0[i] = h1[i] = l0[i] = l1[i] = _mm256_setzero_si256();
    for (std::size_t j = j0; j < j1; ++j) {
      const __m256i q0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + j * 2 * width));
      const __m256i q1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + j * 2 * width + width));
#pragma GCC unroll 4
      for (std::size_t i = 0; i < R; ++i) {
        const __m256i xh = _mm256_set1_epi32(detail::pair(xs[i], j));
        const __m256i xl = _mm256_set1_epi32(detail::pair(xs[i] + dp, j));
        h0[i] = _mm256_add_epi32(h0[i], _mm256_madd_epi16(xh, q0));
        h1[i] = _mm256_add_epi32(h1[i], _mm256_madd_epi16(xh, q1));
        l0[i] = _mm256_add_epi32(l0[i], _mm256_madd_epi16(xl, q0));
        l1[i] = _mm256_add_epi32(l1[i], _mm256_madd_epi16(xl, q1));
        // GCC 12 otherwise copies the accumulators between registers on every step
        __asm__("" : "+x"(h0[i]), "+x"(h1[i]), "+x"(l0[i]), "+x"(l1[i]));
      }
    }
#pragma GCC unroll 4
    for (std::size_t i = 0; i < R; ++i) add_wide(h0[i], h1[i], l0[i], l1[i], out + i * width);
  }
}

}  // namespace avx2

/// The AVX-VNNI kernel: avx2's, with `vpdpwssd` adding each pair of products into the lanes.
namespace avxvnni {
/// `out[i * 16 + c]` = the dot product of split row i with codeword c of the panel, for R rows.
template <std::size_t R>
RVQ_T_Q15_AVXVNNI void dots(const std::int16_t* const* xs, std::size_t d, const std::int16_t* panel,
                            std::int64_t* out) noexcept {
  const std::size_t dp = padded_dim(d), pairs = dp / 2;
  for (std::size_t i = 0; i < R * width; ++i) out[i] = 0;
  for (std::size_t j0 = 0; j0 < pairs; j0 += block_pairs) {
    const std::size_t j1 = pairs - j0 < block_pairs ? pairs : j0 + block_pairs;
    __m256i h0[R], h1[R], l0[R], l1[R];
#pragma GCC unroll 4
    for (std::size_t i = 0; i < R; ++i) h0[i] = h1[i] = l0[i] = l1[i] = _mm256_setzero_si256();
    for (std::size_t j = j0; j < j1; ++j) {
      const __m256i q0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + j * 2 * width));
      const __m256i q1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + j * 2 * width + width));
#pragma GCC unroll 4
      for (std::size_t i = 0; i < R; ++i) {
        const __m256i xh = _mm256_set1_epi32(detail::pair(xs[i], j));
        const __m256i xl = _mm256_set1_epi32(detail::pair(xs[i] + dp, j));
        h0[i] = _mm256_dpwssd_avx_epi32(h0[i], xh, q0);
        h1[i] = _mm256_dpwssd_avx_epi32(h1[i], xh, q1);
        l0[i] = _mm256_dpwssd_avx_epi32(l0[i], xl, q0);
        l1[i] = _mm256_dpwssd_avx_epi32(l1[i], xl, q1);
        __asm__("" : "+x"(h0[i]), "+x"(h1[i]), "+x"(l0[i]), "+x"(l1[i]));  // see avx2::dots()
      }
    }
#pragma GCC unroll 4
    for (std::size_t i = 0; i < R; ++i) avx2::add_wide(h0[i], h1[i], l0[i], l1[i], out + i * width);
  }
}
}  // namespace avxvnni

namespace avx2 {
/// Folds the 16 dot products of panel p into a row's lane minima (`best`, and `bp`: the panel of
/// each): score `bias - (dot << shift)`, kept when strictly lower (the earlier panel on a tie).
RVQ_T_Q15_AVX2 inline void keep(const std::int64_t* dots, const std::int64_t* bias, const std::int64_t* shift,
                                std::int64_t p, std::int64_t* best, std::int64_t* bp) noexcept {
  const __m256i vp = _mm256_set1_epi64x(p);
  for (std::size_t v = 0; v < width; v += 4) {
    const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dots + v));
    const __m256i b = _mm256_load_si256(reinterpret_cast<const __m256i*>(bias + v));
    const __m256i sh = _mm256_load_si256(reinterpret_cast<const __m256i*>(shift + v));
    const __m256i sc = _mm256_sub_epi64(b, _mm256_sllv_epi64(d, sh));
    __m256i* pb = reinterpret_cast<__m256i*>(best + v);
    __m256i* pp = reinterpret_cast<__m256i*>(bp + v);
    const __m256i cur = _mm256_loadu_si256(pb);
    const __m256i lower = _mm256_cmpgt_epi64(cur, sc);
    _mm256_storeu_si256(pb, _mm256_blendv_epi8(cur, sc, lower));
    _mm256_storeu_si256(pp, _mm256_blendv_epi8(_mm256_loadu_si256(pp), vp, lower));
  }
}

/// The nearest codeword of R split rows: every panel's dot products (AVX-VNNI's when `Vnni`),
/// scored and kept.
template <std::size_t R, bool Vnni>
RVQ_T_Q15_AVX2 void search(const std::int16_t* const* xs, const layer_panels& lp, std::uint32_t* idx,
                           std::int64_t* score) noexcept {
  alignas(32) std::int64_t dots[R * width], best[R * width], bp[R * width];
  for (std::size_t j = 0; j < R * width; ++j) best[j] = std::numeric_limits<std::int64_t>::max(), bp[j] = 0;
  for (std::size_t p = 0; p * width < lp.k; ++p) {
    if constexpr (Vnni)
      avxvnni::dots<R>(xs, lp.d, lp.panel(p), dots);  // a call: its target has more than this one's
    else
      avx2::dots<R>(xs, lp.d, lp.panel(p), dots);
    for (std::size_t i = 0; i < R; ++i)
      keep(dots + i * width, lp.bias.data() + p * width, lp.shift.data() + p * width, static_cast<std::int64_t>(p),
           best + i * width, bp + i * width);
  }
  for (std::size_t i = 0; i < R; ++i) detail::lowest_of_lanes(best + i * width, bp + i * width, idx[i], score[i]);
}

/// The activations of a residual (`shift`: the layer's, 0 to 15; half_up or truncate), split
/// into `out` (split()); their sum in `sum`. False, with nothing written, for other shifts and
/// modes (the caller takes the reference path). Clamping to +-2^30 first changes nothing (the
/// result saturates anyway: 2^30 >> 15 is past int16) and keeps the rounding add from overflowing.
RVQ_T_Q15_AVX2 inline bool activations(const std::int32_t* r, std::size_t d, int shift, rounding mode,
                                       std::int16_t* out, std::int64_t& sum) noexcept {
  if (mode == rounding::half_to_even || shift < 0 || shift > 15) return false;
  const std::size_t dp = padded_dim(d);
  const __m256i lim = _mm256_set1_epi32(1 << 30), nlim = _mm256_set1_epi32(-(1 << 30));
  const __m256i half = _mm256_set1_epi32(mode == rounding::half_up && shift > 0 ? (1 << (shift - 1)) : 0);
  const __m128i cnt = _mm_cvtsi32_si128(shift);
  const __m256i lo = _mm256_set1_epi32(-32768), hi = _mm256_set1_epi32(32767), low8 = _mm256_set1_epi32(255);
  __m256i acc = _mm256_setzero_si256();
  std::size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + t));
    v = _mm256_min_epi32(_mm256_max_epi32(v, nlim), lim);
    v = _mm256_sra_epi32(_mm256_add_epi32(v, half), cnt);
    v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
    acc = _mm256_add_epi32(acc, v);  // at most 2^15 per lane a step: exact for d < 2^19
    const __m256i h = _mm256_permute4x64_epi64(_mm256_packs_epi32(_mm256_srai_epi32(v, 8), v), 0xd8);
    const __m256i l = _mm256_permute4x64_epi64(_mm256_packs_epi32(_mm256_and_si256(v, low8), v), 0xd8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + t), _mm256_castsi256_si128(h));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + dp + t), _mm256_castsi256_si128(l));
  }
  alignas(32) std::int32_t s[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(s), acc);
  std::int64_t total = 0;
  for (const std::int32_t v : s) total += v;
  for (; t < d; ++t) {
    const std::int16_t v = srs<std::int16_t>(r[t], shift, mode);
    total += v;
    out[t] = static_cast<std::int16_t>(v >> 8);
    out[dp + t] = static_cast<std::int16_t>(v & 255);
  }
  for (; t < dp; ++t) out[t] = out[dp + t] = 0;
  sum = total;
  return true;
}

/// r -= the codeword q on the residual grid, `srs(q, s, mode)` saturated to int32, for shifts
/// `s` from -15 (exact left shifts: |q| 2^15 < 2^31) to 16 (half_up or truncate); false, with
/// nothing changed, otherwise (the caller takes the reference path).
RVQ_T_Q15_AVX2 inline bool subtract(std::int32_t* r, const unsigned char* q, std::size_t d, int s,
                                    rounding mode) noexcept {
  if (s < -15 || s > 16 || (s > 0 && mode == rounding::half_to_even)) return false;
  const __m128i left = _mm_cvtsi32_si128(s < 0 ? -s : 0), right = _mm_cvtsi32_si128(s > 0 ? s : 0);
  const __m256i half = _mm256_set1_epi32(s > 0 && mode == rounding::half_up ? (1 << (s - 1)) : 0);
  const __m256i big = _mm256_set1_epi32(2147483647);
  std::size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    const __m256i qv = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 2 * t)));
    const __m256i c = _mm256_sra_epi32(_mm256_add_epi32(_mm256_sll_epi32(qv, left), half), right);
    const __m256i rv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + t));
    const __m256i diff = _mm256_sub_epi32(rv, c);
    // overflow when r and c differ in sign and the difference's sign is not r's: saturate to r's side
    const __m256i over = _mm256_srai_epi32(_mm256_and_si256(_mm256_xor_si256(rv, c), _mm256_xor_si256(rv, diff)), 31);
    const __m256i sat = _mm256_xor_si256(_mm256_srai_epi32(rv, 31), big);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(r + t), _mm256_blendv_epi8(diff, sat, over));
  }
  for (; t < d; ++t) {
    std::int16_t v;
    std::memcpy(&v, q + 2 * t, 2);
    r[t] = saturate<std::int32_t>(static_cast<std::int64_t>(r[t]) - srs<std::int32_t>(v, s, mode));
  }
  return true;
}
}  // namespace avx2
#endif

/// The rows kernel `k` takes together (at most max_rows): AVX-512 has registers for 4, the
/// 256-bit kernels for 2.
constexpr std::size_t rows_of(kernel k) noexcept {
  return k == kernel::avx512_vnni ? 4 : k == kernel::reference ? 1 : 2;
}

/**
 * @brief The exact int64 dot products of m <= rows_of(k) split rows (split(), `d` dimensions)
 * with the 16 codewords of panel `panel` (layer_panels::panel()): `out[i * 16 + c]`. Codewords
 * beyond the layer's (the last panel's padding) give 0. The kernel must be one this CPU runs.
 */
inline void dots(kernel k, const std::int16_t* const* xs, std::size_t m, std::size_t d, const std::int16_t* panel,
                 std::int64_t* out) noexcept {
#if RVQ_Q15_X86
  if (k == kernel::avx512_vnni) {
    switch (m) {
      case 4:
        return avx512::dots<4>(xs, d, panel, out);
      case 3:
        return avx512::dots<3>(xs, d, panel, out);
      case 2:
        return avx512::dots<2>(xs, d, panel, out);
      default:
        return avx512::dots<1>(xs, d, panel, out);
    }
  }
  if (k == kernel::avx2 || k == kernel::avx_vnni) {
    const bool vnni = k == kernel::avx_vnni;
    if (m == 2) return vnni ? avxvnni::dots<2>(xs, d, panel, out) : avx2::dots<2>(xs, d, panel, out);
    for (std::size_t i = 0; i < m; ++i)
      vnni ? avxvnni::dots<1>(xs + i, d, panel, out + i * width) : avx2::dots<1>(xs + i, d, panel, out + i * width);
    return;
  }
#endif
  (void)k;
  detail::dots_reference(xs, m, d, panel, out);
}

/**
 * @brief The nearest codeword of layer `lp` to each of m <= rows_of(k) split rows (split()):
 * `idx[i]` and its score `score[i]` (layer_panels: `bias - (<x, q> << shift)`), the lowest score,
 * ties to the lowest index. The kernel must be one this CPU runs, not the reference.
 */
inline void search(kernel k, const std::int16_t* const* xs, std::size_t m, const layer_panels& lp, std::uint32_t* idx,
                   std::int64_t* score) noexcept {
#if RVQ_Q15_X86
  if (k == kernel::avx512_vnni) {
    switch (m) {
      case 4:
        return avx512::search<4>(xs, lp, idx, score);
      case 3:
        return avx512::search<3>(xs, lp, idx, score);
      case 2:
        return avx512::search<2>(xs, lp, idx, score);
      default:
        return avx512::search<1>(xs, lp, idx, score);
    }
  }
  const bool vnni = k == kernel::avx_vnni;
  if (m == 2) return vnni ? avx2::search<2, true>(xs, lp, idx, score) : avx2::search<2, false>(xs, lp, idx, score);
  for (std::size_t i = 0; i < m; ++i)
    vnni ? avx2::search<1, true>(xs + i, lp, idx + i, score + i)
         : avx2::search<1, false>(xs + i, lp, idx + i, score + i);
#else
  (void)k, (void)xs, (void)m, (void)lp, (void)idx, (void)score;
#endif
}

/// Activations of a residual split for the kernels (avx2::activations(), which every kernel's
/// CPU runs); false when the layer's shift or mode needs the reference.
inline bool activations(kernel k, const std::int32_t* r, std::size_t d, int shift, rounding mode, std::int16_t* out,
                        std::int64_t& sum) noexcept {
#if RVQ_Q15_X86
  if (k != kernel::reference) return avx2::activations(r, d, shift, mode, out, sum);
#endif
  (void)k, (void)r, (void)d, (void)shift, (void)mode, (void)out, (void)sum;
  return false;
}

/// r -= a q15 codeword on the grid (avx2::subtract(); `q`: its d int16 values' bytes); false when
/// the shift or mode needs the reference.
inline bool subtract(kernel k, std::int32_t* r, const unsigned char* q, std::size_t d, int s, rounding mode) noexcept {
#if RVQ_Q15_X86
  if (k != kernel::reference) return avx2::subtract(r, q, d, s, mode);
#endif
  (void)k, (void)r, (void)q, (void)d, (void)s, (void)mode;
  return false;
}

}  // namespace rvq::simd::q15_panels

#if defined(RVQ_Q15_PANELS_PRAGMA)
#pragma GCC diagnostic pop
#undef RVQ_Q15_PANELS_PRAGMA
#endif
