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
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// Lane-wise minimum (a NaN in `a` keeps `m`).
inline vec_t lane_min(const vec_t& a, const vec_t& m) noexcept { return select(a < m, a, m); }

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
#endif
}  // namespace detail

}  // namespace rvq::simd::scalar
