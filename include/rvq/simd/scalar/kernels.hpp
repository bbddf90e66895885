/// @file kernels.hpp
/// @brief The scalar backend: portable reference kernels for nearest-codeword search.
///
/// Two codeword layouts are served. *Rows* (K x D row-major) is what firmware keeps in flash.
/// *Panels* repack a layer into `ceil(K / panel_width)` blocks of `D x panel_width` floats so
/// that the innermost loop runs across codewords with independent accumulators: compilers
/// vectorize it without reassociating any sum, which keeps every dot product the same
/// left-to-right sum over `d` as the rows kernel. Both layouts therefore give bit-identical
/// scores and codes. The argmin is fused: no K-wide distance row is materialized for greedy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include "../../config.hpp"
#include "../simd_traits.hpp"

namespace rvq {

/// @ingroup simd
/// @brief The portable reference backend (also the MCU backend).
struct scalar {};

namespace simd::scalar {

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

/// @brief Search over the *rows* layout (K x D row-major, as firmware keeps codebooks in flash):
/// one dot product per codeword, summed left to right. Shared by every backend.
struct rows_search {
  /// Dot product, summed left to right (the order every scalar kernel reproduces).
  static float dot(const float* RVQ_RESTRICT a, const float* RVQ_RESTRICT b, std::size_t d) noexcept {
    float s = 0.0f;
    for (std::size_t t = 0; t < d; ++t) s += a[t] * b[t];
    return s;
  }

  /// Greedy search over a rows-layout layer: lowest `bias - scale * <r, c>`, ties to the lowest index.
  static void argmin_rows(const float* r, std::size_t d, const float* cw, std::size_t k, const float* bias,
                          const float* scale, std::uint32_t& best_index, float& best_score) noexcept {
    float best = std::numeric_limits<float>::infinity();
    std::uint32_t idx = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const float s = bias[c] - scale[c] * dot(r, cw + c * d, d);
      if (s < best) {
        best = s;
        idx = static_cast<std::uint32_t>(c);
      }
    }
    best_index = idx;
    best_score = best;
  }

  /// Scores of one row against every codeword of a rows-layout layer.
  static void scores_rows(const float* r, std::size_t d, const float* cw, std::size_t k, const float* bias,
                          const float* scale, float* out) noexcept {
    for (std::size_t c = 0; c < k; ++c) out[c] = bias[c] - scale[c] * dot(r, cw + c * d, d);
  }
};

/**
 * @brief Search over the *panels* layout, shared by every backend: `Dots::panel_dots(rows, d,
 * panel, acc)` computes `acc[i][j] = <r_i, codeword j of the panel>` for `R` rows and the `W`
 * codewords of a panel; this template adds the packing, the fused argmin and the score rows.
 * @tparam Dots the backend's micro-kernel, @tparam W panel width, @tparam R rows per block
 */
template <class Dots, std::size_t W, std::size_t R>
struct panel_search {
  /// Codewords per panel.
  static constexpr std::size_t panel_width = W;
  /// Rows (vectors) scored together against one panel (register blocking).
  static constexpr std::size_t block_rows = R;
  /// Byte alignment panel storage must have (each panel row is then aligned for vector loads).
  static constexpr std::size_t panel_alignment = 64;

  /// Floats needed to hold a layer of k codewords of dimension d as panels.
  static constexpr std::size_t panel_floats(std::size_t k, std::size_t d) noexcept {
    return (k + panel_width - 1) / panel_width * panel_width * d;
  }

  /// Repack k row-major codewords of dimension d into panels (padding lanes are zero).
  static void pack_panels(const float* RVQ_RESTRICT cw, std::size_t k, std::size_t d,
                          float* RVQ_RESTRICT dst) noexcept {
    const std::size_t panels = (k + panel_width - 1) / panel_width;
    for (std::size_t p = 0; p < panels; ++p)
      for (std::size_t t = 0; t < d; ++t)
        for (std::size_t j = 0; j < panel_width; ++j) {
          const std::size_t c = p * panel_width + j;
          dst[(p * d + t) * panel_width + j] = c < k ? cw[c * d + t] : 0.0f;
        }
  }

  /// Greedy search of up to block_rows rows against a panels-layout layer.
  static void argmin_panels(const float* const* rows, std::size_t nrows, std::size_t d, const float* panels,
                            std::size_t k, const float* bias, const float* scale, std::uint32_t* best_index,
                            float* best_score) noexcept {
    const float* r[block_rows];
    fill_rows(rows, nrows, r);
    float best[block_rows];
    std::uint32_t idx[block_rows];
    for (std::size_t i = 0; i < block_rows; ++i) {
      best[i] = std::numeric_limits<float>::infinity();
      idx[i] = 0;
    }
    alignas(64) float acc[block_rows][panel_width];
    for (std::size_t c0 = 0; c0 < k; c0 += panel_width) {
      Dots::panel_dots(r, d, panels + c0 * d, acc);
      const std::size_t n = k - c0 < panel_width ? k - c0 : panel_width;
      for (std::size_t i = 0; i < nrows; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          const float s = bias[c0 + j] - scale[c0 + j] * acc[i][j];
          if (s < best[i]) {
            best[i] = s;
            idx[i] = static_cast<std::uint32_t>(c0 + j);
          }
        }
    }
    for (std::size_t i = 0; i < nrows; ++i) {
      best_index[i] = idx[i];
      best_score[i] = best[i];
    }
  }

  /// Scores of up to block_rows rows against every codeword of a panels-layout layer;
  /// row i's k scores go to out + i * out_stride.
  static void scores_panels(const float* const* rows, std::size_t nrows, std::size_t d, const float* panels,
                            std::size_t k, const float* bias, const float* scale, float* out,
                            std::size_t out_stride) noexcept {
    const float* r[block_rows];
    fill_rows(rows, nrows, r);
    alignas(64) float acc[block_rows][panel_width];
    for (std::size_t c0 = 0; c0 < k; c0 += panel_width) {
      Dots::panel_dots(r, d, panels + c0 * d, acc);
      const std::size_t n = k - c0 < panel_width ? k - c0 : panel_width;
      for (std::size_t i = 0; i < nrows; ++i)
        for (std::size_t j = 0; j < n; ++j) out[i * out_stride + c0 + j] = bias[c0 + j] - scale[c0 + j] * acc[i][j];
    }
  }

 private:
  /// Unused row slots repeat the last row, so the micro-kernel always runs full blocks.
  static void fill_rows(const float* const* rows, std::size_t nrows, const float* (&r)[block_rows]) noexcept {
    for (std::size_t i = 0; i < block_rows; ++i) r[i] = rows[i < nrows ? i : nrows - 1];
  }
};

/// The scalar micro-kernel: independent accumulators per codeword lane, each a left-to-right sum.
struct scalar_dots {
  static constexpr std::size_t panel_width = detail::lanes > 1 ? 2 * detail::lanes : 8;  ///< two native vectors
  static constexpr std::size_t block_rows = 4;                                           ///< rows per block

  /// acc[i][j] = <r_i, codeword j of the panel>, each summed left to right over d.
  static RVQ_ALWAYS_INLINE void panel_dots(const float* const (&r)[block_rows], std::size_t d,
                                           const float* RVQ_RESTRICT panel,
                                           float (&acc)[block_rows][panel_width]) noexcept {
#if defined(RVQ_SCALAR_VECTOR_EXT)
    using detail::vec_t;
    constexpr std::size_t nv = panel_width / detail::lanes;
    vec_t a[block_rows][nv];
    for (std::size_t i = 0; i < block_rows; ++i)
      for (std::size_t v = 0; v < nv; ++v) a[i][v] = vec_t{};
    for (std::size_t t = 0; t < d; ++t) {
      const auto* p = reinterpret_cast<const detail::vec_alias_t*>(panel + t * panel_width);
      for (std::size_t i = 0; i < block_rows; ++i) {
        const float x = r[i][t];
        for (std::size_t v = 0; v < nv; ++v) a[i][v] += x * p[v];
      }
    }
    for (std::size_t i = 0; i < block_rows; ++i)
      for (std::size_t v = 0; v < nv; ++v)
        for (std::size_t j = 0; j < detail::lanes; ++j) acc[i][v * detail::lanes + j] = a[i][v][j];
#else
    for (std::size_t i = 0; i < block_rows; ++i)
      for (std::size_t j = 0; j < panel_width; ++j) acc[i][j] = 0.0f;
    for (std::size_t t = 0; t < d; ++t) {
      const float* RVQ_RESTRICT p = panel + t * panel_width;
      for (std::size_t i = 0; i < block_rows; ++i) {
        const float x = r[i][t];
        for (std::size_t j = 0; j < panel_width; ++j) acc[i][j] += x * p[j];
      }
    }
#endif
  }
};

/// @brief Entry points of the scalar backend. Every backend provides the same names.
struct kernels : rows_search, panel_search<scalar_dots, scalar_dots::panel_width, scalar_dots::block_rows> {};

}  // namespace simd::scalar

/// @ingroup simd
/// @brief scalar: the portable reference kernels.
template <>
struct simd_traits<scalar> {
  static constexpr const char* name = "scalar";  ///< name in reports
  using kernels = simd::scalar::kernels;         ///< kernel entry points
};

}  // namespace rvq
