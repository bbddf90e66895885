/// @file dense.hpp
/// @brief The `dense` storage: every codeword held as D values.
///
/// Dynamic extents own their codebooks (row-major, for decode and files) and a panel copy in the
/// layout the SIMD backend's kernels want (for search). Static extents keep a pointer to the
/// caller's codebook array, which may be `constexpr` and live in flash, plus the per-codeword
/// score constants; a `constexpr` quantizer puts those in flash too.
#pragma once
#include <array>
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <limits>
#include "../config.hpp"
#include "../core/extents.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/meta.hpp"
#include "../detail/rows.hpp"
#include "../element/element_traits.hpp"
#include "../metric/metric_traits.hpp"
#include "../simd/simd_traits.hpp"
#include "shape.hpp"
#include "storage_traits.hpp"
#if !RVQ_NO_HEAP
#include <vector>
#endif

namespace rvq {

/// @ingroup storage
/// @brief Plain codewords: `K x D` values per layer.
struct dense {};

namespace detail {
/// Float codewords: specialized for rvq::extents<L, K, D> (static) and rvq::dynamic_extents.
template <class Metric, class Kernels, class Extents>
class dense_store {
  static_assert(always_false<Extents>,
                "rvq: the dense storage takes rvq::extents<L, K, D> or rvq::dynamic_extents; rvq::product_extents "
                "go with the rvq::pq and rvq::rpq storages");
};
/// Integer codewords: specialized for rvq::extents<L, K, D> (static) and rvq::dynamic_extents.
template <class Element, class Metric, class Kernels, class Extents>
class int_store {
  static_assert(always_false<Extents>,
                "rvq: the dense storage takes rvq::extents<L, K, D> or rvq::dynamic_extents; rvq::product_extents "
                "go with the rvq::pq and rvq::rpq storages");
};

/// The dense store of an element: float codewords (rvq::f32) or integer ones searched
/// integer-only (rvq::int8, rvq::q15, rvq::q7, rvq::int4, rvq::int2, rvq::binary).
template <class Element, class Metric, class Simd, class Extents>
struct dense_store_for {
  static_assert(element_traits<Element>::is_integer || element_traits<Element>::id == element_id::f32,
                "rvq::quantizer: valid elements: rvq::f32 and the integer elements rvq::int8, rvq::q15, rvq::q7, "
                "rvq::int4, rvq::int2, rvq::binary. rvq::f16/rvq::bf16 are storage formats: load such models into "
                "an f32 quantizer (their values are widened to float)");
  static_assert(!element_traits<Element>::is_integer || metric_traits<Metric>::integer_search,
                "rvq::quantizer: integer elements support the metrics rvq::l2 and rvq::ip (rvq::binary: rvq::hamming)");
  using kernels = typename simd_traits<Simd>::kernels;
  using type = std::conditional_t<element_traits<Element>::is_integer, int_store<Element, Metric, kernels, Extents>,
                                  dense_store<Metric, kernels, Extents>>;
};
}  // namespace detail

/// @ingroup storage
/// @brief dense: K x D values per layer.
template <>
struct storage_traits<dense> {
  static constexpr const char* name = "dense";         ///< name in files, CLI and reports
  static constexpr storage_id id = storage_id::dense;  ///< id in .rvq files
  /// The store of an element, metric, SIMD backend and extents (integer elements: integer tables).
  template <class Element, class Metric, class Simd, class Extents>
  using store = typename detail::dense_store_for<Element, Metric, Simd, Extents>::type;
};

namespace detail {

/// ||c||^2 summed left to right (the same on every target and in constant expressions).
constexpr float norm2(const float* c, std::size_t d) noexcept {
  float s = 0.0f;
  for (std::size_t t = 0; t < d; ++t) s += c[t] * c[t];
  return s;
}

/// Codewords are finite: the first NaN/Inf is named by its element index.
inline status check_finite(const float* v, std::size_t n) noexcept {
  const std::size_t bad = first_non_finite(v, n);
  if (bad != n) return {errc::non_finite, msg::codebook_non_finite, bad, "element"};
  return {};
}

/**
 * @brief What a dense store does the same way for static and dynamic extents, written once over
 * the store's shape accessors (`dim()`, `codewords(l)`, `first_codeword(l)`, `total_codewords()`:
 * constants when the extents are static) and its storage (`data()`, `bias(l)`, `scale(l)`,
 * `tails(l)`). The static and dynamic classes supply only those and their search layouts.
 */
template <class Derived, class Metric, class Kernels>
class dense_codewords {
 public:
  /// Codeword c of layer l (row-major, D floats).
  constexpr const float* codeword(std::size_t l, std::size_t c) const noexcept {
    return self().data() + (self().first_codeword(l) + c) * self().dim();
  }
  /// The codewords are finite (a view's may have changed since it was built).
  status validate() const noexcept { return check_finite(self().data(), self().total_codewords() * self().dim()); }
  /// Codeword c of layer l into out, subtracted from r, added to out; its cache lines requested.
  constexpr void expand(std::size_t l, std::size_t c, float* out) const noexcept {
    copy_row(codeword(l, c), out, self().dim());
  }
  void subtract_codeword(std::size_t l, std::size_t c, float* r) const noexcept {
    subtract_row(r, codeword(l, c), self().dim());
  }
  void add_codeword(std::size_t l, std::size_t c, float* out) const noexcept {
    add_row(out, codeword(l, c), self().dim());
  }
  void prefetch_codeword(std::size_t l, std::size_t c) const noexcept { prefetch_row(codeword(l, c), self().dim()); }
  /// Nearest codeword of layer l to each row (the store's argmin_range over all of the layer).
  void argmin(std::size_t l, const float* const* rows, std::size_t nrows, std::uint32_t* idx,
              float* score) const noexcept {
    self().argmin_range(l, 0, self().codewords(l), rows, nrows, idx, score);
  }
  /// Multiply-adds and lookups of a layer's greedy search; scratch beyond the residual.
  constexpr std::size_t layer_macs(std::size_t l) const noexcept { return self().codewords(l) * self().dim(); }
  static constexpr std::size_t layer_lookups(std::size_t) noexcept { return 0; }
  static constexpr std::size_t scratch_bytes() noexcept { return 0; }

 protected:
  /// Score constants of n codewords at cw (`bias - scale <r, c>` is the score), and the tail
  /// norms the pruning kernels (rvq::scalar_pruned) bound with; constexpr for flash models.
  static constexpr void score_constants(const float* cw, std::size_t n, std::size_t d, float* bias, float* scale,
                                        float* tails) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      const float n2 = norm2(cw + i * d, d);
      bias[i] = metric_traits<Metric>::bias(n2);
      scale[i] = metric_traits<Metric>::scale(n2);
      Kernels::tail_norms_of(cw + i * d, d, tails + i * Kernels::tail_norms);
    }
  }
  /// The rows kernel over codewords [first, last) of layer l, read in place.
  void rows_argmin(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t nrows,
                   std::uint32_t* idx, float* score) const noexcept {
    const Derived& s = self();
    for (std::size_t i = 0; i < nrows; ++i) {
      Kernels::argmin_rows(rows[i], s.dim(), codeword(l, first), last - first, s.bias(l) + first, s.scale(l) + first,
                           s.tails(l) + first * Kernels::tail_norms, idx[i], score[i]);
      idx[i] += static_cast<std::uint32_t>(first);
    }
  }
  /// The rows kernel's scores `bias[c] - scale[c] <r_i, c>` of every codeword of layer l.
  void rows_scores(std::size_t l, const float* const* rows, std::size_t nrows, const float* bias, const float* scale,
                   float* out, std::size_t stride) const noexcept {
    const Derived& s = self();
    for (std::size_t i = 0; i < nrows; ++i)
      Kernels::scores_rows(rows[i], s.dim(), codeword(l, 0), s.codewords(l), bias, scale, out + i * stride);
  }

 private:
  constexpr const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

/// Static extents: codewords stay where the caller keeps them (flash); constants are computed
/// at construction, at compile time for a constexpr quantizer.
template <class Metric, class Kernels, std::size_t L, std::size_t K, std::size_t D>
class dense_store<Metric, Kernels, extents<L, K, D>>
    : public static_shape<L, K, D>,
      public dense_codewords<dense_store<Metric, Kernels, extents<L, K, D>>, Metric, Kernels> {
  using algo = dense_codewords<dense_store, Metric, Kernels>;

 public:
  static constexpr std::size_t block_rows = 1;

  constexpr dense_store() noexcept = default;
  /// Views `L*K*D` row-major codewords (layer, codeword, dim) kept by the caller (see the pointer overload).
  constexpr explicit dense_store(const std::array<float, L * K * D>& codewords) noexcept
      : dense_store(codewords.data()) {}
  /// Views `L*K*D` row-major codewords kept by the caller (a `constexpr` array stays in flash).
  constexpr explicit dense_store(const float* codewords) noexcept : cw_(codewords) {
    algo::score_constants(codewords, L * K, D, bias_.data(), scale_.data(), tails_.data());
  }

  constexpr std::size_t layers() const noexcept { return cw_ ? L : 0; }
  constexpr const float* data() const noexcept { return cw_; }
  constexpr const float* bias(std::size_t l) const noexcept { return bias_.data() + l * K; }
  constexpr const float* scale(std::size_t l) const noexcept { return scale_.data() + l * K; }
  constexpr const float* tails(std::size_t l) const noexcept { return tails_.data() + l * K * Kernels::tail_norms; }

  /// Codewords [first, last) of layer l only (the per-core share of a cluster split).
  void argmin_range(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t nrows,
                    std::uint32_t* idx, float* score) const noexcept {
    algo::rows_argmin(l, first, last, rows, nrows, idx, score);
  }
  /// Codeword ranges handed to argmin_range may start anywhere.
  static constexpr std::size_t range_granule() noexcept { return 1; }
  /// Static models keep no cross-product tables (they would not fit a firmware's memory).
  static constexpr bool has_cross() noexcept { return false; }
  void scores(std::size_t l, const float* const* rows, std::size_t nrows, float* out,
              std::size_t stride) const noexcept {
    algo::rows_scores(l, rows, nrows, bias(l), scale(l), out, stride);
  }

  /// Bytes of codewords (flash) and of per-codeword constants.
  static constexpr std::size_t codebook_bytes() noexcept { return L * K * D * sizeof(float); }
  static constexpr std::size_t aux_bytes() noexcept { return (2 + Kernels::tail_norms) * L * K * sizeof(float); }
  /// Multiply-adds and lookups of a layer's greedy search, as constants.
  static constexpr std::size_t static_layer_macs() noexcept { return K * D; }
  static constexpr std::size_t static_layer_lookups() noexcept { return 0; }

 private:
  const float* cw_ = nullptr;
  std::array<float, L * K> bias_{};
  std::array<float, L * K> scale_{};
  std::array<float, L * K * Kernels::tail_norms> tails_{};  // for pruning kernels (rvq::scalar_pruned)
};

#if !RVQ_NO_HEAP
/// Dynamic extents: owning (or viewing a mapped file), K may differ per layer; a panel copy in
/// the backend's layout for search, and the beam-search cross-product tables.
template <class Metric, class Kernels>
class dense_store<Metric, Kernels, dynamic_extents>
    : public dynamic_shape, public dense_codewords<dense_store<Metric, Kernels, dynamic_extents>, Metric, Kernels> {
  using algo = dense_codewords<dense_store, Metric, Kernels>;
  friend algo;

 public:
  using algo::argmin;
  using algo::codeword;
  static constexpr std::size_t block_rows = Kernels::block_rows;
  dense_store() = default;

  /// Copies `sum(k) * dim` row-major floats (layer after layer); checks shapes and finiteness.
  static status build(span<const float> codewords, span<const std::size_t> k, std::size_t dim, dense_store& out) {
    RVQ_TRY(check(codewords, k, dim));
    dense_store s;
    s.cw_.assign(codewords.begin(), codewords.end());
    s.init(k, dim);
    // The search copy: every layer repacked into the kernels' panels.
    s.panel_off_.resize(k.size() + 1);
    s.panel_off_[0] = 0;
    for (std::size_t l = 0; l < k.size(); ++l) s.panel_off_[l + 1] = s.panel_off_[l] + Kernels::panel_floats(k[l], dim);
    s.panels_.assign(s.panel_off_.back(), 0.0f);
    for (std::size_t l = 0; l < k.size(); ++l)
      Kernels::pack_panels(s.codeword(l, 0), k[l], dim, s.panels_.data() + s.panel_off_[l]);
    s.build_cross(default_cross_limit);
    out = std::move(s);
    return {};
  }

  /**
   * @brief Views `sum(k) * dim` row-major floats kept by the caller (a memory-mapped model file):
   * the codewords are not copied and no search copy is made; the search repacks them tile by tile
   * on the stack (see for_each_tile()), and no cross-product tables are built. Only the
   * per-codeword constants are computed. Checks as build(). The caller keeps `codewords` alive
   * and unchanged while the store (or a copy of it) is used.
   */
  static status build_view(span<const float> codewords, span<const std::size_t> k, std::size_t dim, dense_store& out) {
    RVQ_TRY(check(codewords, k, dim));
    dense_store s;
    s.view_ = codewords.data();
    s.init(k, dim);
    s.panel_off_.assign(k.size() + 1, 0);
    out = std::move(s);
    return {};
  }
  /// True when the store views codewords it does not own (build_view()).
  bool is_view() const noexcept { return view_ != nullptr; }
  /// True when argmin_tile() shares work between the rows of a tile (a view repacks each tile once).
  bool shares_tiles() const noexcept { return is_view(); }

  const float* data() const noexcept { return view_ ? view_ : cw_.data(); }
  /// Score constants of layer l (scores are `bias[c] - scale[c] * <r, c>`), padded to whole panels.
  const float* bias(std::size_t l) const noexcept { return bias_.data() + pfirst_[l]; }
  const float* scale(std::size_t l) const noexcept { return scale_.data() + pfirst_[l]; }
  /// Tail norms of layer l's codewords (the pruning kernels' bounds).
  const float* tails(std::size_t l) const noexcept { return tails_.data() + first_[l] * Kernels::tail_norms; }

  /// Codewords [first, last) of layer l only; first must be a multiple of range_granule().
  void argmin_range(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t nrows,
                    std::uint32_t* idx, float* score) const noexcept {
    if (view_) {
      view_argmin(l, first, last, rows, nrows, idx, score);
      return;
    }
    Kernels::argmin_panels(rows, nrows, dim_, panels_.data() + panel_off_[l] + first * dim_, last - first,
                           bias_.data() + pfirst_[l] + first, scale_.data() + pfirst_[l] + first, idx, score, first);
  }
  /// Codeword ranges handed to argmin_range start at multiples of this (a panel).
  static constexpr std::size_t range_granule() noexcept { return Kernels::panel_width; }
  /// argmin() of any number of rows (block_rows at a time); a view repacks each tile of its
  /// codewords once for all of them.
  void argmin_tile(std::size_t l, const float* const* rows, std::size_t nrows, std::uint32_t* idx,
                   float* score) const noexcept {
    constexpr std::size_t br = Kernels::block_rows;
    if (!view_ || view_tile_codewords() == 0) {
      for (std::size_t b = 0; b < nrows; b += br)
        argmin(l, rows + b, nrows - b < br ? nrows - b : br, idx + b, score + b);
      return;
    }
    const float* bias = bias_.data() + pfirst_[l];
    const float* scale = scale_.data() + pfirst_[l];
    std::uint32_t ti[br];
    float ts[br];
    for_each_tile(l, 0, k_[l], [&](const float* panels, std::size_t c0, std::size_t n) {
      for (std::size_t b = 0; b < nrows; b += br) {
        const std::size_t m = nrows - b < br ? nrows - b : br;
        Kernels::argmin_panels(rows + b, m, dim_, panels, n, bias + c0, scale + c0, ti, ts, c0);
        for (std::size_t i = 0; i < m; ++i)
          if (c0 == 0 || ts[i] < score[b + i]) score[b + i] = ts[i], idx[b + i] = ti[i];  // ties: the earlier tile
      }
    });
  }

  /// Inner products `<r_i, c>` of up to block_rows rows with every codeword of layer l; row i's
  /// k values go to out + i * stride.
  void dots(std::size_t l, const float* const* rows, std::size_t nrows, float* out, std::size_t stride) const noexcept {
    // bias 0 and scale -1 turn the score `bias - scale * acc` into `acc`, exactly.
    if (view_) {
      view_scores(l, rows, nrows, zeros_.data(), neg_ones_.data(), out, stride);
      return;
    }
    Kernels::scores_panels(rows, nrows, dim_, panels_.data() + panel_off_[l], k_[l], zeros_.data(), neg_ones_.data(),
                           out, stride);
  }

  /// Default limit on the bytes of the codebook cross-product tables (see build_cross()).
  static constexpr std::size_t default_cross_limit = std::size_t{128} << 20;
  /**
   * @brief Tables `<C_j[a], C_l[b]>` for every pair of layers j < l, which let beam search assemble
   * `<r, c>` for a partial code from `<x, c>` with one lookup per earlier layer instead of `D`
   * multiply-adds. Built when they take at most `max_bytes` (else dropped); returns whether built.
   */
  bool build_cross(std::size_t max_bytes) {
    cross_.clear();
    cross_off_.assign(k_.size() * k_.size(), 0);
    std::size_t total = 0;
    for (std::size_t l = 0; l < k_.size(); ++l)
      for (std::size_t j = 0; j < l; ++j) {
        cross_off_[j * k_.size() + l] = total;
        total += k_[j] * k_[l];
      }
    if (k_.size() < 2 || total > max_bytes / sizeof(float)) {
      cross_off_.clear();
      return false;
    }
    cross_.assign(total, 0.0f);
    constexpr std::size_t br = Kernels::block_rows;
    for (std::size_t l = 1; l < k_.size(); ++l)
      for (std::size_t j = 0; j < l; ++j) {
        float* t = cross_.data() + cross_off_[j * k_.size() + l];
        for (std::size_t a = 0; a < k_[j]; a += br) {
          const std::size_t n = k_[j] - a < br ? k_[j] - a : br;
          const float* rows[br];
          for (std::size_t i = 0; i < n; ++i) rows[i] = codeword(j, a + i);
          dots(l, rows, n, t + a * k_[l], k_[l]);
        }
      }
    return true;
  }
  /// True when the cross-product tables exist.
  bool has_cross() const noexcept { return !cross_off_.empty(); }
  /// Row a of the table of layers j < l: `<C_j[a], C_l[b]>` for b < K_l.
  const float* cross(std::size_t j, std::size_t l, std::size_t a) const noexcept {
    return cross_.data() + cross_off_[j * k_.size() + l] + a * k_[l];
  }
  void scores(std::size_t l, const float* const* rows, std::size_t nrows, float* out,
              std::size_t stride) const noexcept {
    if (view_) {
      view_scores(l, rows, nrows, bias_.data() + pfirst_[l], scale_.data() + pfirst_[l], out, stride);
      return;
    }
    Kernels::scores_panels(rows, nrows, dim_, panels_.data() + panel_off_[l], k_[l], bias_.data() + pfirst_[l],
                           scale_.data() + pfirst_[l], out, stride);
  }

  /// Bytes of the codewords (a view's too, though it does not own them).
  std::size_t codebook_bytes() const noexcept { return total_codewords() * dim_ * sizeof(float); }
  /// Per-codeword constants, the search copy in panel layout and the beam-search cross tables.
  std::size_t aux_bytes() const noexcept {
    return (bias_.size() + scale_.size() + tails_.size() + panels_.size() + cross_.size()) * sizeof(float);
  }

 private:
  /// Shape, layer offsets and per-codeword constants of the codewords at data(): padded per layer
  /// to whole panels, padding scoring +inf (bias +inf, scale 0) so it is never chosen.
  void init(span<const std::size_t> k, std::size_t dim) {
    set_shape(k, dim);
    pfirst_.assign(k.size() + 1, 0);
    for (std::size_t l = 0; l < k.size(); ++l) pfirst_[l + 1] = pfirst_[l] + Kernels::padded_codewords(k[l]);
    const std::size_t total = first_.back();
    std::vector<float> bias(total), scale(total);
    tails_.resize(total * Kernels::tail_norms);
    algo::score_constants(data(), total, dim, bias.data(), scale.data(), tails_.data());
    bias_.assign(pfirst_.back(), 0.0f);
    scale_.assign(pfirst_.back(), 0.0f);
    for (std::size_t l = 0; l < k.size(); ++l) {
      Kernels::pack_constants(bias.data() + first_[l], k[l], std::numeric_limits<float>::infinity(),
                              bias_.data() + pfirst_[l]);
      Kernels::pack_constants(scale.data() + first_[l], k[l], 0.0f, scale_.data() + pfirst_[l]);
    }
    const std::size_t kpad = Kernels::padded_codewords(max_codewords());
    zeros_.assign(kpad, 0.0f);
    neg_ones_.assign(kpad, -1.0f);
  }

  /// Shapes and values build() and build_view() accept.
  static status check(span<const float> codewords, span<const std::size_t> k, std::size_t dim) {
    if (k.empty()) return {errc::empty_input, "a model needs at least one layer"};
    if (dim == 0) return {errc::dimension_mismatch, "the codeword dimension must be positive"};
    std::size_t total = 0;
    for (std::size_t l = 0; l < k.size(); ++l) {
      if (k[l] == 0) return {errc::invalid_argument, "a layer has zero codewords", l, "layer"};
      if (k[l] > 65536) return {errc::too_many_codewords, "a layer has more than 65536 codewords", l, "layer"};
      total += k[l];
    }
    std::size_t floats = 0;
    if (!checked_mul(total, dim, floats)) return {errc::invalid_argument, "codebook size overflows"};
    if (codewords.size() != floats)
      return {errc::dimension_mismatch, "codebook array size differs from the sum over layers of K x D"};
    const std::size_t bad = first_non_finite(codewords.data(), floats);
    if (bad != floats) return {errc::non_finite, msg::codebook_non_finite, bad, "element"};
    return {};
  }

  /// Floats of the stack tile a view repacks its codewords into, a few panels at a time (128 KiB).
  static constexpr std::size_t view_tile_floats = 32768;
  /// Codewords per tile (a multiple of the panel width; 0 when one panel does not fit).
  std::size_t view_tile_codewords() const noexcept {
    return view_tile_floats / (dim_ * Kernels::panel_width) * Kernels::panel_width;
  }
  /// Calls f(panels, c0, n) for codewords [first, last) of layer l, repacked tile by tile into panels
  /// on the stack: the panel kernels then run on a view at nearly their usual speed (the repacking
  /// is shared by the rows of a block), with the same sums, so the same scores.
  template <class F>
  void for_each_tile(std::size_t l, std::size_t first, std::size_t last, F&& f) const noexcept {
    alignas(Kernels::panel_alignment) float tile[view_tile_floats];
    const std::size_t per = view_tile_codewords();
    for (std::size_t c0 = first; c0 < last; c0 += per) {
      const std::size_t n = last - c0 < per ? last - c0 : per;
      Kernels::pack_panels(codeword(l, c0), n, dim_, tile);
      f(static_cast<const float*>(tile), c0, n);
    }
  }
  void view_argmin(std::size_t l, std::size_t first, std::size_t last, const float* const* rows, std::size_t nrows,
                   std::uint32_t* idx, float* score) const noexcept {
    if (view_tile_codewords() == 0) {  // D too large for a tile: the rows kernel, in place
      algo::rows_argmin(l, first, last, rows, nrows, idx, score);
      return;
    }
    const float* bias = this->bias(l);
    const float* scale = this->scale(l);
    std::uint32_t ti[Kernels::block_rows];
    float ts[Kernels::block_rows];
    for_each_tile(l, first, last, [&](const float* panels, std::size_t c0, std::size_t n) {
      Kernels::argmin_panels(rows, nrows, dim_, panels, n, bias + c0, scale + c0, ti, ts, c0);
      for (std::size_t i = 0; i < nrows; ++i)
        if (c0 == first || ts[i] < score[i]) score[i] = ts[i], idx[i] = ti[i];  // ties: the earlier tile
    });
  }
  void view_scores(std::size_t l, const float* const* rows, std::size_t nrows, const float* bias, const float* scale,
                   float* out, std::size_t stride) const noexcept {
    if (view_tile_codewords() == 0) {
      algo::rows_scores(l, rows, nrows, bias, scale, out, stride);
      return;
    }
    for_each_tile(l, 0, k_[l], [&](const float* panels, std::size_t c0, std::size_t n) {
      Kernels::scores_panels(rows, nrows, dim_, panels, n, bias + c0, scale + c0, out + c0, stride);
    });
  }

  const float* view_ = nullptr;  // build_view(): the caller's codewords; else cw_ holds them
  std::vector<std::size_t> pfirst_, panel_off_;
  std::vector<float> cw_, bias_, scale_, tails_, zeros_, neg_ones_, cross_;
  std::vector<std::size_t> cross_off_;
  std::vector<float, aligned_allocator<float, Kernels::panel_alignment>> panels_;
};
#endif

}  // namespace detail
}  // namespace rvq
#include "dense_int.hpp"
