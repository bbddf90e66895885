/// @file lane_ops.hpp
/// @brief Lane operations of the scalar backend: what beam search's selection does a vector of
/// candidates at a time (group minima, ranking of lane minima, the scan under a bound, table
/// scores). Every backend inherits these unless it brings its own; results never depend on the
/// lane count, only the speed does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include "../../config.hpp"
#include "vector.hpp"

// The lane operations also run with vectors wider than the compile target's, inlined into
// functions built for targets that have them (simd/dispatch): no such vector crosses a call, so
// GCC's note that passing one would change the ABI does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace rvq::simd::scalar {

/**
 * @brief The lane operations beam search calls through the configured backend, on vectors of
 * `Lanes` floats. The candidates of one parent are split into disjoint groups, lane j of the
 * vector part (candidates `c = j mod select_lanes`, `c < k - k % select_lanes`) and the tail;
 * the group minima bound the beam-th best candidate, so only candidates under that bound are
 * ranked. The results do not depend on `Lanes`; the speed does.
 */
template <std::size_t Lanes>
struct lane_ops_of {
  static constexpr std::size_t select_lanes = Lanes;  ///< floats per vector
  /// Disjoint groups of a parent's candidates whose minima bound the selection: one per lane, and the tail.
  static constexpr std::size_t select_groups = select_lanes + 1;

  /// The minima of one parent's k scores by group (mins: select_groups values; +inf for an empty group).
  static void group_minima(const float* RVQ_RESTRICT sb, std::size_t k, float* RVQ_RESTRICT mins) noexcept {
    constexpr float inf = std::numeric_limits<float>::infinity();
    const std::size_t kv = k - k % select_lanes;
    std::size_t c = 0;
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using vec_t = typename detail::lane_vec<Lanes>::f;
    vec_t m[2] = {vec_t{} + inf, vec_t{} + inf};
    for (; c + 2 * select_lanes <= kv; c += 2 * select_lanes) RVQ_UNROLL
    for (std::size_t v = 0; v < 2; ++v) {
      vec_t a;
      RVQ_MEMCPY(&a, sb + c + v * select_lanes, sizeof a);
      detail::keep_min(m[v], a);
    }
    if (c < kv) {
      vec_t a;
      RVQ_MEMCPY(&a, sb + c, sizeof a);
      detail::keep_min(m[0], a);
      c = kv;
    }
    detail::keep_min(m[0], m[1]);
    RVQ_MEMCPY(mins, &m[0], sizeof(vec_t));
#else
    float m0 = inf;
    for (; c < kv; ++c) m0 = sb[c] < m0 ? sb[c] : m0;
    mins[0] = m0;
#endif
    float t = inf;
    for (; c < k; ++c) t = sb[c] < t ? sb[c] : t;
    mins[select_lanes] = t;
  }

  /**
   * @brief Feeds the lane-group minima of one parent (`mb`, shifted by the parent's accumulated
   * score `cum`) into the sorted list `kth` of the beam smallest (`nk` entries). The first parent
   * (`first`, list empty) fills the list without branches: lane i goes to its rank among the lanes
   * (ties: lower lane first), ranks past the list to the spare slot kth[beam]. Later parents pass
   * only the lanes under the list's last entry to `bound_by`, which inserts one value.
   */
  template <class BoundBy>
  static RVQ_ALWAYS_INLINE void bound_lanes(const float* mb, float cum, bool first, std::size_t beam, float* kth,
                                            std::size_t& nk, BoundBy&& bound_by) noexcept {
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using vec_t = typename detail::lane_vec<Lanes>::f;
    constexpr std::size_t lanes = select_lanes;
    vec_t mm;
    RVQ_MEMCPY(&mm, mb, sizeof mm);
    mm += cum;
    if (first) {
      const std::size_t n0 = lanes < beam ? lanes : beam;
      for (std::size_t i = 0; i < lanes; ++i) {
        const std::uint64_t below = detail::lane_bits_of(mm < mm[i]);
        const std::uint64_t tied = detail::lane_bits_of(mm == mm[i]) & ((std::uint64_t{1} << i) - 1u);
        const auto r = static_cast<std::size_t>(__builtin_popcountll(below) + __builtin_popcountll(tied));
        kth[r < n0 ? r : beam] = mm[i];
      }
      nk = n0;
    } else {
      const float cut = nk == beam ? kth[beam - 1] : std::numeric_limits<float>::infinity();
      for (std::uint64_t bits = detail::lane_bits_of(mm < cut); bits != 0; bits &= bits - 1)
        bound_by(mm[__builtin_ctzll(bits)]);
    }
#else
    (void)first, (void)beam, (void)kth, (void)nk;
    bound_by(cum + mb[0]);
#endif
  }

  /**
   * @brief Calls `offer(c)` for each candidate c of the vector part of one parent's k scores `sb`
   * with `cum + sb[c] <= bound`, in increasing c; `offer` may lower `bound`, which is read again
   * for each pair of vectors. Returns where the vector part ends: the caller offers the rest one
   * candidate at a time.
   */
  template <class Offer>
  static RVQ_ALWAYS_INLINE std::size_t scan_at_most(const float* sb, std::size_t k, float cum, const float& bound,
                                                    Offer&& offer) noexcept {
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using vec_t = typename detail::lane_vec<Lanes>::f;
    constexpr std::size_t lanes = select_lanes;
    const std::size_t kv = k - k % lanes, c2 = kv - kv % (2 * lanes);
    for (std::size_t c = 0; c < c2; c += 2 * lanes) {
      vec_t a0, a1;
      RVQ_MEMCPY(&a0, sb + c, sizeof a0);
      RVQ_MEMCPY(&a1, sb + c + lanes, sizeof a1);
      const std::uint64_t b0 = detail::lane_bits_of((a0 + cum) <= bound),
                          b1 = detail::lane_bits_of((a1 + cum) <= bound);
      for (std::uint64_t bits = b0; bits != 0; bits &= bits - 1)
        offer(c + static_cast<std::size_t>(__builtin_ctzll(bits)));
      for (std::uint64_t bits = b1; bits != 0; bits &= bits - 1)
        offer(c + lanes + static_cast<std::size_t>(__builtin_ctzll(bits)));
    }
    return c2;
#else
    (void)sb, (void)k, (void)cum, (void)bound, (void)offer;
    return 0;
#endif
  }

  /**
   * @brief Scores from the cross-product tables, a few vector registers of codewords at a time:
   * `out[c] = bias[c] - scale[c] * (start[c] - sum_{g<nt} t[g][c])`, subtracted in g order, and
   * the lane minima of the scores into mins[0 .. select_lanes). Returns how many leading codewords
   * it scored; the caller scores the rest the same way and keeps their minimum in the tail group.
   */
  static RVQ_ALWAYS_INLINE std::size_t table_scores(const float* start, const float* const* t, std::size_t nt,
                                                    const float* RVQ_RESTRICT bias, const float* RVQ_RESTRICT scale,
                                                    std::size_t k, float* RVQ_RESTRICT out,
                                                    float* RVQ_RESTRICT mins) noexcept {
    constexpr float inf = std::numeric_limits<float>::infinity();
    std::size_t c = 0;
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using vec_t = typename detail::lane_vec<Lanes>::f;
    constexpr std::size_t lanes = select_lanes, nv = lanes >= 8 ? 4 : 8, w = nv * lanes;
    vec_t m = vec_t{} + inf;
    for (; c + w <= k; c += w) {
      vec_t a[nv];
      RVQ_UNROLL
      for (std::size_t v = 0; v < nv; ++v) RVQ_MEMCPY(&a[v], start + c + v * lanes, sizeof(vec_t));
      for (std::size_t g = 0; g < nt; ++g) {
        RVQ_UNROLL
        for (std::size_t v = 0; v < nv; ++v) {
          vec_t r;
          RVQ_MEMCPY(&r, t[g] + c + v * lanes, sizeof r);
          a[v] -= r;
        }
      }
      RVQ_UNROLL
      for (std::size_t v = 0; v < nv; ++v) {
        vec_t bv, sv;
        RVQ_MEMCPY(&bv, bias + c + v * lanes, sizeof bv);
        RVQ_MEMCPY(&sv, scale + c + v * lanes, sizeof sv);
        a[v] = bv - sv * a[v];
        RVQ_MEMCPY(out + c + v * lanes, &a[v], sizeof(vec_t));
        detail::keep_min(m, a[v]);
      }
    }
    RVQ_MEMCPY(mins, &m, sizeof m);
#else
    (void)start, (void)t, (void)nt, (void)bias, (void)scale, (void)k, (void)out;
    mins[0] = inf;
#endif
    return c;
  }
};

#if defined(RVQ_SCALAR_VECTOR_EXT)
inline constexpr std::size_t native_select_lanes = detail::lanes;  ///< the compile target's floats per vector
#else
inline constexpr std::size_t native_select_lanes = 1;  ///< the compile target's floats per vector
#endif

/**
 * @brief The scalar backend's lane operations, at the compile target's width; every backend
 * inherits them unless it brings its own. Beam search calls a backend's own lane operations,
 * unless the backend chooses its target at run time (rvq::dispatch): then its `on_target(f)`
 * calls `f(ops)` from a function compiled for the target, with that target's lane_ops_of, and
 * its `select_groups` is the most of any target (it sizes the workspace).
 */
struct lane_ops : lane_ops_of<native_select_lanes> {};

}  // namespace rvq::simd::scalar

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
