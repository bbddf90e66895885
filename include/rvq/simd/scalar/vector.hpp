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
typedef float vec_t __attribute__((vector_size(lanes * sizeof(float))));
/// The same vector, readable from float storage (panels are allocated on panel_alignment).
typedef float vec_alias_t __attribute__((vector_size(lanes * sizeof(float)), may_alias));
#endif
}  // namespace detail

namespace detail {
#if defined(RVQ_SCALAR_VECTOR_EXT)
typedef std::int32_t ivec_t __attribute__((vector_size(lanes * sizeof(float))));
typedef std::int32_t ivec_alias_t __attribute__((vector_size(lanes * sizeof(float)), may_alias));

/// Lane j of `a` where lane j of the comparison result `m` is true, else lane j of `b`.
inline vec_t select(const ivec_t& m, const vec_t& a, const vec_t& b) noexcept {
  return reinterpret_cast<vec_t>((reinterpret_cast<ivec_t>(a) & m) | (reinterpret_cast<ivec_t>(b) & ~m));
}

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
