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
#include <type_traits>
#include "../../config.hpp"
#include "../simd_traits.hpp"
#include "int_ops.hpp"
#include "lane_ops.hpp"
#include "vector.hpp"

// The kernel bodies below also run with vectors wider than the compile target's, always inlined
// into entry points built for targets that have them (simd/dispatch): no such vector crosses a
// call, so GCC's note that passing one would change the ABI does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace rvq {

/// @ingroup simd
/// @brief The portable reference backend (also the MCU backend).
struct scalar {};

namespace simd::scalar {

/// @brief Search over the *rows* layout (K x D row-major, as firmware keeps codebooks in flash):
/// one dot product per codeword, summed left to right. Shared by every backend.
struct rows_search {
  /// Dot product, summed left to right (the order every scalar kernel reproduces).
  static float dot(const float* RVQ_RESTRICT a, const float* RVQ_RESTRICT b, std::size_t d) noexcept {
    float s = 0.0f;
    for (std::size_t t = 0; t < d; ++t) s += a[t] * b[t];
    return s;
  }

  /// Per-codeword norms the rows search wants precomputed (none: plain search).
  static constexpr std::size_t tail_norms = 0;
  /// Writes a codeword's tail_norms values (nothing for the plain search).
  static constexpr void tail_norms_of(const float*, std::size_t, float*) noexcept {}

  /// Greedy search over a rows-layout layer: lowest `bias - scale * <r, c>`, ties to the lowest
  /// index. `tails` (tail_norms per codeword) is unused by the plain search.
  static void argmin_rows(const float* r, std::size_t d, const float* cw, std::size_t k, const float* bias,
                          const float* scale, const float* tails, std::uint32_t& best_index,
                          float& best_score) noexcept {
    (void)tails;
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

namespace detail {
/// Running argmin of R rows over W-wide panels, lane by lane: lane j of vector v keeps the first
/// strict minimum of the codewords it sees in increasing order, so the final reduction (lowest
/// score, then lowest index) picks the codeword a sequential scan picks.
template <std::size_t W, std::size_t R, std::size_t Lanes = lanes>
struct lane_argmin {
#if defined(RVQ_SCALAR_VECTOR_EXT)
  static constexpr std::size_t nv = W % Lanes == 0 ? W / Lanes : 0;
  using vec_t = typename lane_vec<Lanes>::f;
  using vec_alias_t = typename lane_vec<Lanes>::f_alias;
  using ivec_t = typename lane_vec<Lanes>::i;
  static constexpr std::size_t lanes = Lanes;
#else
  static constexpr std::size_t nv = 0;
#endif
  static constexpr std::size_t slots = nv ? nv : W;

#if defined(RVQ_SCALAR_VECTOR_EXT)
  using score_t = std::conditional_t<(nv > 0), vec_t, float>;
  using index_t = std::conditional_t<(nv > 0), ivec_t, std::int32_t>;
#else
  using score_t = float;
  using index_t = std::int32_t;
#endif
  score_t best[R][slots];
  index_t index[R][slots];

  RVQ_ALWAYS_INLINE void reset() noexcept {
    for (std::size_t i = 0; i < R; ++i)
      for (std::size_t v = 0; v < slots; ++v) {
        best[i][v] = score_t{} + std::numeric_limits<float>::infinity();
        index[i][v] = index_t{};
      }
  }

  /// Folds in the scores `bias - scale * acc` of codewords c0 .. c0 + W - 1 (bias/scale padded).
  /// Row i's W dot products are at acc + i * W.
  RVQ_ALWAYS_INLINE void update(const float* RVQ_RESTRICT acc, std::size_t nrows, const float* RVQ_RESTRICT bias,
                                const float* RVQ_RESTRICT scale, std::size_t c0) noexcept {
#if defined(RVQ_SCALAR_VECTOR_EXT)
    if constexpr (nv > 0) {
      for (std::size_t v = 0; v < nv; ++v) {
        vec_t b, s;
        RVQ_MEMCPY(&b, bias + v * lanes, sizeof b);
        RVQ_MEMCPY(&s, scale + v * lanes, sizeof s);
        ivec_t ci;
        for (std::size_t j = 0; j < lanes; ++j) ci[j] = static_cast<std::int32_t>(c0 + v * lanes + j);
        for (std::size_t i = 0; i < nrows; ++i) {
          const vec_t a = *reinterpret_cast<const vec_alias_t*>(acc + i * W + v * lanes);
          const vec_t sc = b - s * a;
          const ivec_t m = sc < best[i][v];
          assign_where(best[i][v], m, sc);
          index[i][v] = (ci & m) | (index[i][v] & ~m);
        }
      }
      return;
    }
#endif
    for (std::size_t i = 0; i < nrows; ++i)
      for (std::size_t j = 0; j < W; ++j) {
        const float sc = bias[j] - scale[j] * acc[i * W + j];
        if (sc < scalar_at(best[i][slot(j)], j)) set(i, j, sc, static_cast<std::int32_t>(c0 + j));
      }
  }

  /// Lowest score of row i (ties: lowest index).
  RVQ_ALWAYS_INLINE void result(std::size_t i, std::uint32_t& idx, float& score) const noexcept {
#if defined(RVQ_SCALAR_VECTOR_EXT)
    if constexpr (nv > 0) {
      // Lowest score over all lanes, then the lowest index among the lanes that hold it.
      vec_t m = best[i][0];
      for (std::size_t v = 1; v < nv; ++v) assign_where(m, best[i][v] < m, best[i][v]);
      float b = m[0];
      for (std::size_t j = 1; j < lanes; ++j) b = m[j] < b ? m[j] : b;
      const ivec_t none = ivec_t{} + std::numeric_limits<std::int32_t>::max();
      ivec_t c = none;
      for (std::size_t v = 0; v < nv; ++v) {
        const ivec_t here = (best[i][v] == b) & index[i][v];
        const ivec_t cand = here | (none & ~(best[i][v] == b));
        c = (cand < c) ? cand : c;
      }
      std::int32_t x = c[0];
      for (std::size_t j = 1; j < lanes; ++j) x = c[j] < x ? c[j] : x;
      idx = static_cast<std::uint32_t>(x);
      score = b;
      return;
    }
#endif
    float b = std::numeric_limits<float>::infinity();
    std::int32_t x = 0;
    bool first = true;
    for (std::size_t j = 0; j < W; ++j) {
      const float s = scalar_at(best[i][slot(j)], j);
      const std::int32_t c = index_at(index[i][slot(j)], j);
      if (first || s < b || (s == b && c < x)) {
        b = s;
        x = c;
        first = false;
      }
    }
    idx = static_cast<std::uint32_t>(x);
    score = b;
  }

 private:
  static constexpr std::size_t slot(std::size_t j) noexcept { return nv ? j / (W / slots) : j; }
  static float scalar_at(const score_t& v, std::size_t j) noexcept {
    if constexpr (nv > 0)
      return v[j % (W / slots)];
    else
      return (void)j, v;
  }
  static std::int32_t index_at(const index_t& v, std::size_t j) noexcept {
    if constexpr (nv > 0)
      return v[j % (W / slots)];
    else
      return (void)j, v;
  }
  void set(std::size_t i, std::size_t j, float s, std::int32_t c) noexcept {
    if constexpr (nv == 0) {
      best[i][j] = s;
      index[i][j] = c;
    } else {
      best[i][slot(j)][j % (W / slots)] = s;
      index[i][slot(j)][j % (W / slots)] = c;
    }
  }
};
}  // namespace detail

/**
 * @brief Search over the *panels* layout, shared by every backend. The backend's micro-kernel
 * `Dots` provides `panel_width`, `block_rows` and `dots<R, P>(rows, d, panels, acc)`: the inner
 * products of R rows with the codewords of P consecutive panels. Batches use R = block_rows,
 * P = 1; a single vector uses R = 1, P = 4 (its independent accumulators come from several
 * panels instead of several rows). This template adds the packing, the fused lane-wise argmin
 * and the score rows.
 *
 * Bias and scale arrays passed to the panel entry points are padded to a whole number of
 * panels (padding: bias +inf, scale 0), which is what pack_constants() writes.
 * @tparam Dots the backend's micro-kernel
 */
template <class Dots>
struct panel_search {
 private:
  template <class D, class = void>
  struct argmin_lanes_of : std::integral_constant<std::size_t, detail::lanes> {};
  template <class D>
  struct argmin_lanes_of<D, std::void_t<decltype(D::argmin_lanes)>>
      : std::integral_constant<std::size_t, D::argmin_lanes> {};
  /// The running argmin, in vectors of the micro-kernel's own width when it names one.
  using argmin_state = detail::lane_argmin<Dots::panel_width, Dots::block_rows, argmin_lanes_of<Dots>::value>;

 public:
  /// Codewords per panel.
  static constexpr std::size_t panel_width = Dots::panel_width;
  /// Rows (vectors) scored together against one panel (register blocking).
  static constexpr std::size_t block_rows = Dots::block_rows;
  /// Byte alignment panel storage must have (each panel row is then aligned for vector loads).
  static constexpr std::size_t panel_alignment = 64;
  /// Panels the single-row kernel scores at once.
  static constexpr std::size_t one_row_panels = 4;

  /// Codewords of a layer of k, rounded up to whole panels.
  static constexpr std::size_t padded_codewords(std::size_t k) noexcept {
    return (k + panel_width - 1) / panel_width * panel_width;
  }
  /// Floats needed to hold a layer of k codewords of dimension d as panels.
  static constexpr std::size_t panel_floats(std::size_t k, std::size_t d) noexcept { return padded_codewords(k) * d; }

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

  /// Copy k per-codeword constants, padded to padded_codewords(k) with `pad`.
  static void pack_constants(const float* src, std::size_t k, float pad, float* dst) noexcept {
    for (std::size_t c = 0; c < padded_codewords(k); ++c) dst[c] = c < k ? src[c] : pad;
  }

  /**
   * @brief Greedy search of up to block_rows rows against k codewords held as panels.
   * Reported indices are offset by `base` (the first codeword of a range of a layer).
   */
  static RVQ_ALWAYS_INLINE void argmin_panels(const float* const* rows, std::size_t nrows, std::size_t d,
                                              const float* panels, std::size_t k, const float* bias, const float* scale,
                                              std::uint32_t* best_index, float* best_score,
                                              std::size_t base = 0) noexcept {
    argmin_state st;
    st.reset();
    const std::size_t np = (k + panel_width - 1) / panel_width;
    if (nrows == 1) {
      const float* const r[1] = {rows[0]};
      std::size_t p = 0;
      alignas(64) float acc[one_row_panels][panel_width];
      for (; p + one_row_panels <= np; p += one_row_panels) {
        Dots::template dots<1, one_row_panels>(r, d, panels + p * panel_width * d, &acc[0][0]);
        for (std::size_t q = 0; q < one_row_panels; ++q)
          st.update(acc[q], 1, bias + (p + q) * panel_width, scale + (p + q) * panel_width,
                    base + (p + q) * panel_width);
      }
      for (; p < np; ++p) {
        Dots::template dots<1, 1>(r, d, panels + p * panel_width * d, &acc[0][0]);
        st.update(acc[0], 1, bias + p * panel_width, scale + p * panel_width, base + p * panel_width);
      }
    } else {
      const float* r[block_rows];
      fill_rows(rows, nrows, r);
      alignas(64) float acc[block_rows][panel_width];
      for (std::size_t p = 0; p < np; ++p) {
        Dots::template dots<block_rows, 1>(r, d, panels + p * panel_width * d, &acc[0][0]);
        st.update(&acc[0][0], nrows, bias + p * panel_width, scale + p * panel_width, base + p * panel_width);
      }
    }
    for (std::size_t i = 0; i < nrows; ++i) st.result(i, best_index[i], best_score[i]);
  }

  /// Scores of up to block_rows rows against every codeword of a panels-layout layer;
  /// row i's k scores go to out + i * out_stride.
  static RVQ_ALWAYS_INLINE void scores_panels(const float* const* rows, std::size_t nrows, std::size_t d,
                                              const float* panels, std::size_t k, const float* bias, const float* scale,
                                              float* out, std::size_t out_stride) noexcept {
    const float* r[block_rows];
    fill_rows(rows, nrows, r);
    alignas(64) float acc[block_rows][panel_width];
    for (std::size_t c0 = 0; c0 < k; c0 += panel_width) {
      Dots::template dots<block_rows, 1>(r, d, panels + c0 * d, &acc[0][0]);
      const std::size_t n = k - c0 < panel_width ? k - c0 : panel_width;
      for (std::size_t i = 0; i < nrows; ++i) {
        float* RVQ_RESTRICT o = out + i * out_stride + c0;
        if (n == panel_width) {  // a fixed trip count: vectorized
          for (std::size_t j = 0; j < panel_width; ++j) o[j] = bias[c0 + j] - scale[c0 + j] * acc[i][j];
        } else {
          for (std::size_t j = 0; j < n; ++j) o[j] = bias[c0 + j] - scale[c0 + j] * acc[i][j];
        }
      }
    }
  }

 private:
  /// Unused row slots repeat the last row, so the micro-kernel always runs full blocks.
  static RVQ_ALWAYS_INLINE void fill_rows(const float* const* rows, std::size_t nrows,
                                          const float* (&r)[block_rows]) noexcept {
    for (std::size_t i = 0; i < block_rows; ++i) r[i] = rows[i < nrows ? i : nrows - 1];
  }
};

/// Rows per register block for a backend with two vectors of `lanes` floats per row: twelve
/// where the ISA has 32 vector registers (AVX-512, AArch64), six with 16 (AVX2, SSE).
constexpr std::size_t register_rows(std::size_t lanes) noexcept {
#if defined(__AVX512F__) || defined(__aarch64__)
  return lanes > 1 ? 12 : 4;
#else
  return lanes > 1 ? 6 : 4;
#endif
}

#if defined(RVQ_SCALAR_VECTOR_EXT)
/**
 * @brief The vector micro-kernel: independent accumulators per codeword lane, each a left-to-right
 * sum over `d`. A panel of `Width` codewords is scored in chunks of two vectors of `Lanes` floats,
 * so R rows keep 2 R accumulators whatever the panel width (the dispatch backend scores one panel
 * width with every target's vector length).
 * @tparam Lanes floats per vector
 * @tparam Width codewords per panel (a multiple of 2 Lanes)
 * @tparam Rows  rows per register block
 */
template <std::size_t Lanes, std::size_t Width, std::size_t Rows>
struct vector_dots {
  static_assert(Lanes > 1 && Width % (2 * Lanes) == 0, "rvq: a panel is a whole number of vector pairs");
  static constexpr std::size_t panel_width = Width;   ///< codewords per panel
  static constexpr std::size_t block_rows = Rows;     ///< rows per block
  static constexpr std::size_t argmin_lanes = Lanes;  ///< vector width of the fused argmin

  /// acc[(i * P + q) * panel_width + j] = <r_i, codeword j of panel q>: R rows times P panels.
  template <std::size_t R, std::size_t P>
  static RVQ_ALWAYS_INLINE void dots(const float* const (&r)[R], std::size_t d, const float* RVQ_RESTRICT panel,
                                     float* RVQ_RESTRICT acc) noexcept {
    using vec_t = typename detail::lane_vec<Lanes>::f;
    const std::size_t stride = d * panel_width;  // floats between consecutive panels
    RVQ_UNROLL
    for (std::size_t h = 0; h < Width / (2 * Lanes); ++h) {
      vec_t a[R][P][2];
      RVQ_UNROLL
      for (std::size_t i = 0; i < R; ++i) RVQ_UNROLL
      for (std::size_t q = 0; q < P; ++q) a[i][q][0] = a[i][q][1] = vec_t{};
      for (std::size_t t = 0; t < d; ++t) RVQ_UNROLL
      for (std::size_t q = 0; q < P; ++q) {
        const float* p = panel + q * stride + t * panel_width + h * 2 * Lanes;
        vec_t p0, p1;
        RVQ_MEMCPY(&p0, p, sizeof p0);
        RVQ_MEMCPY(&p1, p + Lanes, sizeof p1);
        RVQ_UNROLL
        for (std::size_t i = 0; i < R; ++i) {
          const float x = r[i][t];
          a[i][q][0] += x * p0;
          a[i][q][1] += x * p1;
        }
      }
      RVQ_UNROLL
      for (std::size_t i = 0; i < R; ++i) RVQ_UNROLL
      for (std::size_t q = 0; q < P; ++q)
        RVQ_MEMCPY(acc + (i * P + q) * panel_width + h * 2 * Lanes, &a[i][q][0], 2 * sizeof(vec_t));
    }
  }
};

#endif

/// The micro-kernel of targets without vectors: independent accumulators per codeword lane, each
/// a left-to-right sum.
struct plain_dots {
  static constexpr std::size_t panel_width = 8;                ///< codewords per panel
  static constexpr std::size_t block_rows = register_rows(1);  ///< rows per block

  /// acc[(i * P + q) * panel_width + j] = <r_i, codeword j of panel q>: R rows times P panels.
  template <std::size_t R, std::size_t P>
  static RVQ_ALWAYS_INLINE void dots(const float* const (&r)[R], std::size_t d, const float* RVQ_RESTRICT panel,
                                     float* RVQ_RESTRICT acc) noexcept {
    const std::size_t stride = d * panel_width;  // floats between consecutive panels
    RVQ_UNROLL
    for (std::size_t j = 0; j < R * P * panel_width; ++j) acc[j] = 0.0f;
    for (std::size_t t = 0; t < d; ++t) RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) {
      const float* RVQ_RESTRICT p = panel + q * stride + t * panel_width;
      RVQ_UNROLL
      for (std::size_t i = 0; i < R; ++i) {
        const float x = r[i][t];
        RVQ_UNROLL
        for (std::size_t j = 0; j < panel_width; ++j) acc[(i * P + q) * panel_width + j] += x * p[j];
      }
    }
  }
};

/// The scalar micro-kernel: two native vectors per panel where the target has vectors.
#if defined(RVQ_SCALAR_VECTOR_EXT)
struct scalar_dots
    : std::conditional_t<(detail::lanes > 1),
                         vector_dots<detail::lanes, 2 * detail::lanes, register_rows(detail::lanes)>, plain_dots> {};
#else
struct scalar_dots : plain_dots {};
#endif

/// @brief Entry points of the scalar backend. Every backend provides the same names; a backend
/// that lacks an operation inherits the scalar one (lane_ops, int_ops), as xsimd and Highway do.
struct kernels : rows_search, panel_search<scalar_dots>, lane_ops, int_ops {};

}  // namespace simd::scalar

/// @ingroup simd
/// @brief scalar: the portable reference kernels.
template <>
struct simd_traits<scalar> {
  static constexpr const char* name = "scalar";  ///< name in reports
  using kernels = simd::scalar::kernels;         ///< kernel entry points
};

}  // namespace rvq

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
