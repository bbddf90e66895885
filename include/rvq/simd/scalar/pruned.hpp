/// @file pruned.hpp
/// @brief The `scalar_pruned` backend: the scalar reference with exact pruning of the rows search
/// (firmware, static extents), for cores where every multiply-add costs a cycle.
///
/// The dot product `<r, c>` of each codeword is summed left to right, as in the plain search; at
/// three checkpoints (a quarter, half and three quarters of `D`) Cauchy-Schwarz bounds what the
/// rest can add, `<r_tail, c_tail> <= ||r_tail|| ||c_tail||`, so the score cannot fall below
/// `bias - scale * (partial + ||r_tail|| ||c_tail||)`. When that bound, less a rounding margin,
/// is already above the best score so far, the codeword is skipped. Scores that are computed
/// are the plain search's to the bit, and a skipped codeword provably scores above the best, so
/// the codes are the plain search's (tested); only the work differs. The codeword tail norms
/// are computed when the model is built (constexpr for flash-resident models) and counted in the
/// footprint: four floats per codeword. Dynamic extents search panels and do not prune.
#pragma once
#include "../../detail/meta.hpp"
#include "kernels.hpp"

namespace rvq {

/// @ingroup simd
/// @brief Scalar kernels with exact partial-distance pruning of the rows (firmware) search.
struct scalar_pruned {};

namespace simd::scalar {

/// Rows search with Cauchy-Schwarz pruning at three checkpoints; codes equal rows_search's.
struct pruned_rows_search : rows_search {
  /// Per codeword: ||c|| and the norms of its last 3/4, 1/2 and 1/4.
  static constexpr std::size_t tail_norms = 4;

  /// Dimension where checkpoint q (1..3) falls.
  static constexpr std::size_t checkpoint(std::size_t d, std::size_t q) noexcept { return d * q / 4; }

  /// Norms of c from each checkpoint to the end (checkpoint 0: the whole vector).
  static constexpr void tail_norms_of(const float* c, std::size_t d, float* out) noexcept {
    for (std::size_t q = 0; q < tail_norms; ++q) {
      float s = 0.0f;
      for (std::size_t t = checkpoint(d, q); t < d; ++t) s += c[t] * c[t];
      out[q] = rvq::detail::portable_sqrt(s);
    }
  }

  /// Square root at run time: the FPU's instruction where there is one (correctly rounded; the
  /// margin absorbs its half ulp), else the portable iteration.
  static float runtime_sqrt(float v) noexcept {
#if defined(__GNUC__)
    return v > 0.0f ? __builtin_sqrtf(v) : 0.0f;
#else
    return rvq::detail::portable_sqrt(v);
#endif
  }

  /// Greedy search of a rows-layout layer, skipping codewords that provably cannot win.
  static void argmin_rows(const float* r, std::size_t d, const float* cw, std::size_t k, const float* bias,
                          const float* scale, const float* tails, std::uint32_t& best_index,
                          float& best_score) noexcept {
    if (d < 16) return rows_search::argmin_rows(r, d, cw, k, bias, scale, tails, best_index, best_score);
    float rt[tail_norms];
    for (std::size_t q = 0; q < tail_norms; ++q) {
      float s = 0.0f;
      for (std::size_t t = checkpoint(d, q); t < d; ++t) s += r[t] * r[t];
      rt[q] = runtime_sqrt(s);
    }
    // Float sums of d products differ from exact ones by at most about d * eps * ||r|| ||c||;
    // four times that keeps every skip safe.
    const float margin_rel = 4.0f * static_cast<float>(d) * std::numeric_limits<float>::epsilon();
    float best = std::numeric_limits<float>::infinity();
    std::uint32_t idx = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const float* v = cw + c * d;
      const float* ct = tails + c * tail_norms;
      const float margin = margin_rel * scale[c] * rt[0] * ct[0] + margin_rel * (bias[c] < 0 ? -bias[c] : bias[c]);
      float s = 0.0f;
      std::size_t t = 0;
      bool skip = false;
      for (std::size_t q = 1; q < tail_norms; ++q) {
        const std::size_t end = checkpoint(d, q);
        for (; t < end; ++t) s += r[t] * v[t];
        const float bound = bias[c] - scale[c] * (s + rt[q] * ct[q]);
        if (bound - margin > best) {
          skip = true;
          break;
        }
      }
      if (skip) continue;
      for (; t < d; ++t) s += r[t] * v[t];
      const float score = bias[c] - scale[c] * s;
      if (score < best) {
        best = score;
        idx = static_cast<std::uint32_t>(c);
      }
    }
    best_index = idx;
    best_score = best;
  }
};

/// Entry points of the pruned backend: the pruned rows search, the scalar panel search.
struct pruned_kernels : pruned_rows_search, panel_search<scalar_dots>, lane_ops, int_ops {};

}  // namespace simd::scalar

/// @ingroup simd
/// @brief scalar_pruned: the scalar reference, pruning the firmware (rows) search exactly.
template <>
struct simd_traits<scalar_pruned> {
  static constexpr const char* name = "scalar_pruned";  ///< name in reports
  using kernels = simd::scalar::pruned_kernels;         ///< kernel entry points
};

}  // namespace rvq
