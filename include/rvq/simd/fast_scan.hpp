/// @file fast_scan.hpp
/// @brief Fast-scan kernels: 4-bit codes scored against uint8 lookup tables held in registers
/// (`pshufb` on x86 with AVX2, `tbl` on aarch64), 32 codes per block, 16-bit sums, compared with
/// a threshold. rvq::code_index uses them to find the few codes that can enter a query's top-k and
/// scores only those exactly (index_options::fast_scan).
///
/// **Layout.** Codes are stored by blocks of 32 vectors. A block holds, for each table t (a layer,
/// or the norm's 4-bit level), 16 bytes: byte j is `code(j, t) | code(j + 16, t) << 4`. The number
/// of tables is even (a zero table pads it), so that the AVX2 kernel reads two tables per 32-byte
/// load. Lookup tables are 16 bytes per table, in the same order.
///
/// **Kernels.** Every kernel computes the same 16-bit sums `sum_t lut[t][code(j, t)]` and returns
/// the same mask of the vectors whose sum is at most the threshold: the reference kernel in plain
/// C++ (any target, firmware included), AVX2 (compiled into every x86 build with GCC or clang
/// through `__attribute__((target))`, chosen at run time by rvq::dispatch), and NEON on aarch64.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../config.hpp"
#include "../core/names.hpp"
/// @def RVQ_FAST_SCAN_X86
/// 1 when the AVX2 kernel is compiled in (GCC or clang on x86, unless RVQ_NO_FAST_SCAN_SIMD).
/// @def RVQ_FAST_SCAN_NEON
/// 1 when the NEON kernel is compiled in (aarch64, unless RVQ_NO_FAST_SCAN_SIMD).
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(RVQ_NO_FAST_SCAN_SIMD)
#include <immintrin.h>
#define RVQ_FAST_SCAN_X86 1
#else
#define RVQ_FAST_SCAN_X86 0
#endif
#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(RVQ_NO_FAST_SCAN_SIMD)
#include <arm_neon.h>
#define RVQ_FAST_SCAN_NEON 1
#else
#define RVQ_FAST_SCAN_NEON 0
#endif

namespace rvq::simd::fast_scan {

/// @brief A fast-scan kernel (what `rvq info --cpu` reports).
enum class kernel : std::uint8_t {
  reference,  ///< plain C++
  avx2,       ///< AVX2: `vpshufb` over two tables of 32 codes per instruction
  neon,       ///< aarch64: `tbl` over one table of 16 codes per instruction
};

/// Spellings of kernel values, as reports print them.
inline constexpr named<kernel> kernel_names[] = {
    {"reference", kernel::reference}, {"avx2", kernel::avx2}, {"neon", kernel::neon}};

/// The name of a kernel as reports print it.
constexpr const char* to_string(kernel k) noexcept { return name_of(kernel_names, k); }

/// The best kernel the compile flags enable (the backends without dispatch use it).
#if RVQ_FAST_SCAN_X86 && defined(__AVX2__)
inline constexpr kernel static_kernel = kernel::avx2;
#elif RVQ_FAST_SCAN_NEON
inline constexpr kernel static_kernel = kernel::neon;
#else
inline constexpr kernel static_kernel = kernel::reference;
#endif

inline constexpr std::size_t block = 32;   ///< vectors per block
inline constexpr std::size_t levels = 16;  ///< entries per table (4-bit codes)
/// Most tables a block may hold: their 16-bit sums of values up to 255 cannot overflow.
inline constexpr std::size_t max_tables = 256;

/// Tables rounded up to an even count.
constexpr std::size_t padded_tables(std::size_t t) noexcept { return (t + 1) / 2 * 2; }
/// Bytes of one block of `tables` tables (padded).
constexpr std::size_t block_bytes(std::size_t tables) noexcept { return padded_tables(tables) * levels; }

/// Writes code `c` (below 16) of vector `i` for table `t` into `blocks` (tables per block:
/// `tables`, unpadded count).
inline void put(std::uint8_t* blocks, std::size_t tables, std::size_t i, std::size_t t, std::uint8_t c) noexcept {
  std::uint8_t& b = blocks[(i / block) * block_bytes(tables) + t * levels + (i % block) % 16];
  b = (i % block) < 16 ? static_cast<std::uint8_t>((b & 0xF0) | c) : static_cast<std::uint8_t>((b & 0x0F) | (c << 4));
}

/// Reads code of vector `i` for table `t` back.
inline std::uint8_t get(const std::uint8_t* blocks, std::size_t tables, std::size_t i, std::size_t t) noexcept {
  const std::uint8_t b = blocks[(i / block) * block_bytes(tables) + t * levels + (i % block) % 16];
  return (i % block) < 16 ? static_cast<std::uint8_t>(b & 0x0F) : static_cast<std::uint8_t>(b >> 4);
}

/// Reads the codes of vector `i` for tables [0, n) into `out`, as get() does one by one.
inline void get_row(const std::uint8_t* blocks, std::size_t tables, std::size_t i, std::size_t n,
                    std::uint8_t* out) noexcept {
  const std::uint8_t* b = blocks + (i / block) * block_bytes(tables) + (i % block) % 16;
  const unsigned shift = (i % block) < 16 ? 0u : 4u;
  for (std::size_t t = 0; t < n; ++t) out[t] = static_cast<std::uint8_t>((b[t * levels] >> shift) & 0x0Fu);
}

/// The reference kernel: the 16-bit sums of one block into `sums` (32 values), and the mask of
/// the vectors whose sum is at most `thr` (bit j: vector j).
inline std::uint32_t sums_reference(const std::uint8_t* blk, std::size_t tables, const std::uint8_t* lut,
                                    std::uint16_t thr, std::uint16_t* sums) noexcept {
  const std::size_t tp = padded_tables(tables);
  std::uint32_t mask = 0;
  for (std::size_t j = 0; j < block; ++j) {
    unsigned s = 0;
    for (std::size_t t = 0; t < tp; ++t) {
      const std::uint8_t b = blk[t * levels + j % 16];
      s += lut[t * levels + (j < 16 ? (b & 0x0F) : (b >> 4))];
    }
    sums[j] = static_cast<std::uint16_t>(s);
    if (s <= thr) mask |= std::uint32_t{1} << j;
  }
  return mask;
}

/// The reference kernel over blocks [0, n): the first block with some vector at most `thr`, its
/// mask in `mask`; n (mask 0) when none.
inline std::size_t find_reference(const std::uint8_t* blocks, std::size_t n, std::size_t tables,
                                  const std::uint8_t* lut, std::uint16_t thr, std::uint32_t& mask) noexcept {
  std::uint16_t sums[block];
  for (std::size_t b = 0; b < n; ++b)
    if ((mask = sums_reference(blocks + b * block_bytes(tables), tables, lut, thr, sums)) != 0) return b;
  mask = 0;
  return n;
}

#if RVQ_FAST_SCAN_X86
namespace avx2 {
/// The 16-bit sums of one block, vectors 0-15 in `lo` and 16-31 in `hi`, in order.
__attribute__((target("avx2"))) inline void sums(const std::uint8_t* blk, std::size_t pairs, const std::uint8_t* lut,
                                                 __m256i& lo, __m256i& hi) noexcept {
  const __m256i nib = _mm256_set1_epi8(0x0F), low_byte = _mm256_set1_epi16(0x00FF);
  __m256i le = _mm256_setzero_si256(), lodd = _mm256_setzero_si256();
  __m256i he = _mm256_setzero_si256(), hodd = _mm256_setzero_si256();
  for (std::size_t p = 0; p < pairs; ++p) {
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32 * p));
    const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + 32 * p));
    const __m256i rl = _mm256_shuffle_epi8(t, _mm256_and_si256(c, nib));
    const __m256i rh = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(c, 4), nib));
    le = _mm256_add_epi16(le, _mm256_and_si256(rl, low_byte));
    lodd = _mm256_add_epi16(lodd, _mm256_srli_epi16(rl, 8));
    he = _mm256_add_epi16(he, _mm256_and_si256(rh, low_byte));
    hodd = _mm256_add_epi16(hodd, _mm256_srli_epi16(rh, 8));
  }
  // The two 128-bit halves hold the even and the odd table of each pair: add them.
  const __m128i se = _mm_add_epi16(_mm256_castsi256_si128(le), _mm256_extracti128_si256(le, 1));
  const __m128i so = _mm_add_epi16(_mm256_castsi256_si128(lodd), _mm256_extracti128_si256(lodd, 1));
  const __m128i te = _mm_add_epi16(_mm256_castsi256_si128(he), _mm256_extracti128_si256(he, 1));
  const __m128i to = _mm_add_epi16(_mm256_castsi256_si128(hodd), _mm256_extracti128_si256(hodd, 1));
  lo = _mm256_set_m128i(_mm_unpackhi_epi16(se, so), _mm_unpacklo_epi16(se, so));
  hi = _mm256_set_m128i(_mm_unpackhi_epi16(te, to), _mm_unpacklo_epi16(te, to));
}

/// Mask of the 32 sums at most `thr` (bit j: vector j).
__attribute__((target("avx2"))) inline std::uint32_t at_most(__m256i lo, __m256i hi, __m256i thr) noexcept {
  const __m256i ml = _mm256_cmpeq_epi16(_mm256_min_epu16(lo, thr), lo);
  const __m256i mh = _mm256_cmpeq_epi16(_mm256_min_epu16(hi, thr), hi);
  const __m256i bytes = _mm256_permute4x64_epi64(_mm256_packs_epi16(ml, mh), 0xD8);
  return static_cast<std::uint32_t>(_mm256_movemask_epi8(bytes));
}

/// find_reference() with AVX2.
__attribute__((target("avx2"))) inline std::size_t find(const std::uint8_t* blocks, std::size_t n, std::size_t tables,
                                                        const std::uint8_t* lut, std::uint16_t thr,
                                                        std::uint32_t& mask) noexcept {
  const std::size_t pairs = padded_tables(tables) / 2, bytes = block_bytes(tables);
  const __m256i t = _mm256_set1_epi16(static_cast<short>(thr));
  for (std::size_t b = 0; b < n; ++b) {
    __m256i lo, hi;
    sums(blocks + b * bytes, pairs, lut, lo, hi);
    if ((mask = at_most(lo, hi, t)) != 0) return b;
  }
  mask = 0;
  return n;
}

/// sums_reference() with AVX2.
__attribute__((target("avx2"))) inline std::uint32_t block_sums(const std::uint8_t* blk, std::size_t tables,
                                                                const std::uint8_t* lut, std::uint16_t thr,
                                                                std::uint16_t* out) noexcept {
  __m256i lo, hi;
  sums(blk, padded_tables(tables) / 2, lut, lo, hi);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), lo);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16), hi);
  return at_most(lo, hi, _mm256_set1_epi16(static_cast<short>(thr)));
}
}  // namespace avx2
#endif

#if RVQ_FAST_SCAN_NEON
namespace neon {
/// The 16-bit sums of one block: vectors 0-7, 8-15, 16-23, 24-31 in s[0..3].
inline void sums(const std::uint8_t* blk, std::size_t tables, const std::uint8_t* lut, uint16x8_t (&s)[4]) noexcept {
  const std::size_t tp = padded_tables(tables);
  const uint8x16_t nib = vdupq_n_u8(0x0F);
  for (auto& v : s) v = vdupq_n_u16(0);
  for (std::size_t t = 0; t < tp; ++t) {
    const uint8x16_t c = vld1q_u8(blk + t * levels), tab = vld1q_u8(lut + t * levels);
    const uint8x16_t rl = vqtbl1q_u8(tab, vandq_u8(c, nib)), rh = vqtbl1q_u8(tab, vshrq_n_u8(c, 4));
    s[0] = vaddw_u8(s[0], vget_low_u8(rl));
    s[1] = vaddw_u8(s[1], vget_high_u8(rl));
    s[2] = vaddw_u8(s[2], vget_low_u8(rh));
    s[3] = vaddw_u8(s[3], vget_high_u8(rh));
  }
}

/// Mask of the 32 sums at most `thr`.
inline std::uint32_t at_most(const uint16x8_t (&s)[4], std::uint16_t thr) noexcept {
  static const std::uint16_t bits[8] = {1, 2, 4, 8, 16, 32, 64, 128};
  const uint16x8_t b = vld1q_u16(bits), t = vdupq_n_u16(thr);
  std::uint32_t mask = 0;
  for (std::size_t q = 0; q < 4; ++q)
    mask |= static_cast<std::uint32_t>(vaddvq_u16(vandq_u16(vcleq_u16(s[q], t), b))) << (8 * q);
  return mask;
}

/// find_reference() with NEON.
inline std::size_t find(const std::uint8_t* blocks, std::size_t n, std::size_t tables, const std::uint8_t* lut,
                        std::uint16_t thr, std::uint32_t& mask) noexcept {
  uint16x8_t s[4];
  for (std::size_t b = 0; b < n; ++b) {
    sums(blocks + b * block_bytes(tables), tables, lut, s);
    if ((mask = at_most(s, thr)) != 0) return b;
  }
  mask = 0;
  return n;
}

/// sums_reference() with NEON.
inline std::uint32_t block_sums(const std::uint8_t* blk, std::size_t tables, const std::uint8_t* lut, std::uint16_t thr,
                                std::uint16_t* out) noexcept {
  uint16x8_t s[4];
  sums(blk, tables, lut, s);
  for (std::size_t q = 0; q < 4; ++q) vst1q_u16(out + 8 * q, s[q]);
  return at_most(s, thr);
}
}  // namespace neon
#endif

/// True when kernel `k` is compiled into this build (the CPU may still lack it).
constexpr bool compiled(kernel k) noexcept {
  return k == kernel::reference || (k == kernel::avx2 && RVQ_FAST_SCAN_X86) ||
         (k == kernel::neon && RVQ_FAST_SCAN_NEON);
}

/**
 * @brief The first of blocks [0, n) holding a vector whose sum is at most `thr`, with kernel `k`
 * (which the CPU must run): its index, and in `mask` the vectors at most `thr` (bit j: vector j
 * of the block). Returns n and mask 0 when there is none.
 * @param k      the kernel (fast_scan_kernel() of a backend, or one the CPU runs)
 * @param blocks n blocks of `tables` tables (the layout above)
 * @param n      blocks
 * @param tables tables per block (layers, plus the norm level for l2), at most max_tables
 * @param lut    padded_tables(tables) x 16 bytes
 * @param thr    the largest sum wanted
 * @param mask   receives the block's vectors at most `thr`
 */
inline std::size_t find(kernel k, const std::uint8_t* blocks, std::size_t n, std::size_t tables,
                        const std::uint8_t* lut, std::uint16_t thr, std::uint32_t& mask) noexcept {
#if RVQ_FAST_SCAN_X86
  if (k == kernel::avx2) return avx2::find(blocks, n, tables, lut, thr, mask);
#endif
#if RVQ_FAST_SCAN_NEON
  if (k == kernel::neon) return neon::find(blocks, n, tables, lut, thr, mask);
#endif
  (void)k;
  return find_reference(blocks, n, tables, lut, thr, mask);
}

/// The 16-bit sums of one block into `out` (32 values) and their mask at most `thr`, with kernel `k`.
inline std::uint32_t block_sums(kernel k, const std::uint8_t* blk, std::size_t tables, const std::uint8_t* lut,
                                std::uint16_t thr, std::uint16_t* out) noexcept {
#if RVQ_FAST_SCAN_X86
  if (k == kernel::avx2) return avx2::block_sums(blk, tables, lut, thr, out);
#endif
#if RVQ_FAST_SCAN_NEON
  if (k == kernel::neon) return neon::block_sums(blk, tables, lut, thr, out);
#endif
  (void)k;
  return sums_reference(blk, tables, lut, thr, out);
}

}  // namespace rvq::simd::fast_scan
