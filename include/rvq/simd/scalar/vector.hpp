/// @file vector.hpp
/// @brief The scalar backend's native float vector (GNU vector extension) and its lane primitives:
/// the lane count, lane-wise select and minimum, and the comparison bit mask.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../../config.hpp"
#if defined(__GNUC__) && (defined(__SSE2__) || defined(__AVX__) || defined(__AVX512F__))
#include <immintrin.h>
#endif

namespace rvq::simd::scalar {

namespace detail {
// Lane count of the target's native float vector. The GNU vector extension (GCC, Clang) is
// lowered lane by lane with plain IEEE operations, so a lane computes exactly the scalar sum;
// it only spares the compiler the search for a vectorization it does not always find at -O3.
#if defined(__GNUC__) && defined(__AVX512F__)
inline constexpr std::size_t lanes = 16;
#elif defined(__GNUC__) && defined(__AVX__)
inline constexpr std::size_t lanes = 8;
#elif defined(__GNUC__) && (defined(__SSE2__) || defined(__ARM_NEON) || defined(__aarch64__))
inline constexpr std::size_t lanes = 4;
#else
inline constexpr std::size_t lanes = 1;
#endif
#if defined(__GNUC__)
#define RVQ_SCALAR_VECTOR_EXT 1
/// Float and int32 vectors of `Lanes` lanes. Wider than the compile target's vectors they still
/// compile (in pieces); inside a function built for a wider target (simd/dispatch) they are that
/// target's registers, which is how one kernel body serves every dispatch target.
template <std::size_t Lanes>
struct lane_vec {
  typedef float f __attribute__((vector_size(Lanes * sizeof(float))));  ///< float vector
  /// The same vector, readable from float storage (panels are allocated on panel_alignment).
  typedef float f_alias __attribute__((vector_size(Lanes * sizeof(float)), may_alias));
  typedef std::int32_t i __attribute__((vector_size(Lanes * sizeof(float))));  ///< int32 vector
};
typedef lane_vec<lanes>::f vec_t;
/// The same vector, readable from float storage (panels are allocated on panel_alignment).
typedef lane_vec<lanes>::f_alias vec_alias_t;
#endif
}  // namespace detail

namespace detail {
#if defined(RVQ_SCALAR_VECTOR_EXT)
typedef lane_vec<lanes>::i ivec_t;
typedef std::int32_t ivec_alias_t __attribute__((vector_size(lanes * sizeof(float)), may_alias));

// Vectors wider than the compile target's are only used inside kernels that are always inlined
// into an entry point built for a target that has them (simd/dispatch), so no such vector ever
// crosses a call and the ABI note GCC gives for them does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
/// Lane j of `a` where lane j of the comparison result `m` is true, else lane j of `b` (any width).
template <class F, class I>
RVQ_ALWAYS_INLINE F select(const I& m, const F& a, const F& b) noexcept {
  return reinterpret_cast<F>((reinterpret_cast<I>(a) & m) | (reinterpret_cast<I>(b) & ~m));
}

/// `dst` takes lane j of `a` where lane j of `m` is true (any width; nothing passed by value, so
/// vectors wider than the compile target's never meet the calling convention).
template <class F, class I>
RVQ_ALWAYS_INLINE void assign_where(F& dst, const I& m, const F& a) noexcept {
  dst = reinterpret_cast<F>((reinterpret_cast<I>(a) & m) | (reinterpret_cast<I>(dst) & ~m));
}
/// `m` becomes the lane-wise minimum of `a` and `m` (any width; a NaN in `a` keeps `m`).
template <class F>
RVQ_ALWAYS_INLINE void keep_min(F& m, const F& a) noexcept {
  assign_where(m, a < m, a);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// Bit j set where lane j of a comparison result `m` is true (all ones).
inline std::uint32_t lane_bits(ivec_t m) noexcept {
#if defined(__AVX512F__)
  return _mm512_cmplt_epi32_mask(reinterpret_cast<__m512i>(m), _mm512_setzero_si512());
#elif defined(__AVX__)
  return static_cast<std::uint32_t>(_mm256_movemask_ps(reinterpret_cast<__m256>(m)));
#elif defined(__SSE2__)
  return static_cast<std::uint32_t>(_mm_movemask_ps(reinterpret_cast<__m128>(m)));
#else
  std::uint32_t bits = 0;
  for (std::size_t j = 0; j < lanes; ++j) bits |= (static_cast<std::uint32_t>(m[j]) & 1u) << j;
  return bits;
#endif
}

#if defined(__x86_64__)
/// lane_bits() of 16 lanes, for code built for AVX-512 only (simd/dispatch's AVX-512 entry points,
/// which inline it): one mask instruction where the pieces of lane_bits_of() would take a dozen.
__attribute__((target("avx512f"))) inline std::uint32_t lane_bits_avx512(const lane_vec<16>::i& m) noexcept {
  __m512i v;
  RVQ_MEMCPY(&v, &m, sizeof v);
  return _mm512_cmplt_epi32_mask(v, _mm512_setzero_si512());
}
/// lane_bits() of 8 lanes, for code built for AVX only (simd/dispatch's AVX2 entry points).
__attribute__((target("avx"))) inline std::uint32_t lane_bits_avx(const lane_vec<8>::i& m) noexcept {
  __m256 v;
  RVQ_MEMCPY(&v, &m, sizeof v);
  return static_cast<std::uint32_t>(_mm256_movemask_ps(v));
}
#endif

/// lane_bits() of a comparison result of any width. Wider than the compile target's vectors: on
/// x86, 16 lanes need AVX-512 and 8 lanes AVX where the code runs (they are used only inside
/// simd/dispatch's entry points for those targets); elsewhere, in pieces of the compile target's width.
template <class I>
RVQ_ALWAYS_INLINE std::uint64_t lane_bits_of(const I& m) noexcept {
  constexpr std::size_t w = sizeof(I) / sizeof(std::int32_t);
  static_assert(w <= 64, "rvq: at most 64 lanes");
  if constexpr (w == lanes) {
    ivec_t v;  // the same lanes; the element type may differ in name (int, long int: arm-none-eabi)
    RVQ_MEMCPY(&v, &m, sizeof v);
    return lane_bits(v);
#if defined(__x86_64__)
  } else if constexpr (w == 16) {
    return lane_bits_avx512(m);
  } else if constexpr (w == 8) {
    return lane_bits_avx(m);
#endif
  } else if constexpr (w % lanes == 0) {
    std::uint64_t bits = 0;
    for (std::size_t j = 0; j < w / lanes; ++j) {
      ivec_t part;
      RVQ_MEMCPY(&part, reinterpret_cast<const char*>(&m) + j * sizeof(ivec_t), sizeof part);
      bits |= std::uint64_t{lane_bits(part)} << (j * lanes);
    }
    return bits;
  } else {
    std::uint64_t bits = 0;
    for (std::size_t j = 0; j < w; ++j) bits |= (static_cast<std::uint64_t>(m[j]) & 1u) << j;
    return bits;
  }
}
#endif
}  // namespace detail

}  // namespace rvq::simd::scalar
