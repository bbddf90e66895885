/// @file dense_int.hpp
/// @brief The `dense` storage for integer elements: codewords as integers, searched integer-only.
///
/// Static extents view a table of rvq::int_layer (arrays `rvq codegen` writes, in flash) and
/// compute nothing at construction. Dynamic extents own their tables, built from
/// rvq::quantized_codebooks by build_int_tables() (on the host, once: the only place scales are
/// turned into integer multipliers and shifts).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include "../config.hpp"
#include "../core/extents.hpp"
#include "../core/status.hpp"
#include "../element/element_traits.hpp"
#include "../element/srs.hpp"
#include "../metric/metric_traits.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../simd/int8_panels.hpp"
#include "../simd/q15_panels.hpp"
#include "../simd/scalar/int_kernels.hpp"
#include "dense.hpp"
#if RVQ_HOSTED && !RVQ_NO_HEAP
#include <cmath>
#include <vector>
#include "../element/quantized.hpp"
#endif

namespace rvq {
namespace detail {

/// Dot products of every codeword against one row's activations: int32 when the compile-time
/// (or run-time) bound allows, else int64.
template <class Element, std::size_t D>
struct int_acc {
  using type = accumulator_for_t<Element, D>;
};

/// The reference search of a store, row by row (each row's activations in `scratch`).
template <class Store>
void search_each(const Store& s, std::size_t l, std::int32_t* const* rows, std::size_t n, unsigned char* scratch,
                 std::uint32_t* idx) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t score = 0;
    s.search(l, rows[i], scratch, 0, s.codewords(l), idx[i], score);
  }
}

/**
 * @brief The integer search, the same for static and dynamic extents, written once over the
 * store's `dim()` (a constant when the extents are static), `layer(l)`, `codewords(l)` and
 * `mode()`. The static class supplies a pointer to int_layer entries in flash; the dynamic one
 * owns the tables and adds the int8 dot-product panels.
 */
template <class Derived, class Element, class Kernels>
class int_search {
  using kern = typename Kernels::template int_kernels<Element>;

 public:
  /// Bytes of one row's activations.
  constexpr std::size_t activation_bytes() const noexcept { return kern::activation_bytes(self().dim()); }
  static constexpr std::size_t range_granule() noexcept { return 1; }
  /// Nearest codeword of layer l among [first, last) to residual r (activations written to act).
  void search(std::size_t l, const std::int32_t* r, unsigned char* act, std::size_t first, std::size_t last,
              std::uint32_t& idx, std::int64_t& score) const noexcept {
    argmin_range(l, act, activations(l, r, act), first, last, idx, score);
  }
  /// Activations of residual r for layer l into act (activation_bytes()); returns their sum.
  std::int64_t activations(std::size_t l, const std::int32_t* r, unsigned char* act) const noexcept {
    return kern::activations(r, self().dim(), self().layer(l), self().mode(), act);
  }
  /// Nearest codeword of layer l among [first, last) given the activations and their sum: int32
  /// sums when the bound on D allows (decided at compile time for static extents), else int64.
  void argmin_range(std::size_t l, const unsigned char* act, std::int64_t asum, std::size_t first, std::size_t last,
                    std::uint32_t& idx, std::int64_t& score) const noexcept {
    const std::size_t d = self().dim();
    if (element_traits<Element>::fits_int32(d))
      kern::template argmin<std::int32_t>(act, asum, d, self().layer(l), first, last, idx, score);
    else
      kern::template argmin<std::int64_t>(act, asum, d, self().layer(l), first, last, idx, score);
  }
  /// The reference search, row by row (each row's activations in `scratch`).
  void search_rows(std::size_t l, std::int32_t* const* rows, std::size_t n, unsigned char* scratch,
                   std::uint32_t* idx) const noexcept {
    search_each(self(), l, rows, n, scratch, idx);
  }
  /// Value t of codeword c of layer l on the residual's grid.
  std::int32_t grid_value(std::size_t l, std::size_t c, std::size_t t) const noexcept {
    return kern::grid_value(self().layer(l), c, t, self().mode());
  }
  /// Multiply-adds and lookups of a layer's search.
  constexpr std::size_t layer_macs(std::size_t l) const noexcept { return self().codewords(l) * self().dim(); }
  static constexpr std::size_t layer_lookups(std::size_t) noexcept { return 0; }

 protected:
  /// r -= codeword c of layer l, on the residual's grid (the reference kernel).
  void subtract_reference(std::size_t l, std::size_t c, std::int32_t* r) const noexcept {
    kern::subtract(r, self().dim(), self().layer(l), c, self().mode());
  }

 private:
  constexpr const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

/// Static extents: a view of L int_layer entries (flash); nothing computed at construction.
template <class Element, class Metric, class Kernels, std::size_t L, std::size_t K, std::size_t D>
class int_store<Element, Metric, Kernels, extents<L, K, D>>
    : public int_search<int_store<Element, Metric, Kernels, extents<L, K, D>>, Element, Kernels> {
  using algo = int_search<int_store, Element, Kernels>;

 public:
  static constexpr std::size_t block_rows = 1;
  /// Rows a batch encode moves through the layers together.
  static constexpr std::size_t tile_rows = 1;
  constexpr int_store() noexcept = default;
  /// Views `layers[0..L)` and the residual grid (`input_frac` fractional bits) they were built for.
  constexpr int_store(const int_layer* layers, int input_frac, rounding mode) noexcept
      : layers_(layers), input_frac_(input_frac), mode_(mode) {}

  constexpr std::size_t layers() const noexcept { return layers_ ? L : 0; }
  constexpr std::size_t dim() const noexcept { return D; }
  constexpr std::size_t codewords(std::size_t l) const noexcept { return layers_[l].k; }
  constexpr std::size_t max_codewords() const noexcept { return K; }
  constexpr std::size_t min_codewords() const noexcept {
    std::size_t m = K;
    for (std::size_t l = 0; l < layers(); ++l) m = layers_[l].k < m ? layers_[l].k : m;
    return m;
  }
  constexpr int input_frac() const noexcept { return input_frac_; }
  constexpr rounding mode() const noexcept { return mode_; }
  constexpr const int_layer& layer(std::size_t l) const noexcept { return layers_[l]; }
  /// r -= codeword c of layer l, on the residual's grid.
  void subtract(std::size_t l, std::size_t c, std::int32_t* r) const noexcept { algo::subtract_reference(l, c, r); }
  /// Bytes of scratch search_block() needs.
  static constexpr std::size_t block_bytes(std::size_t d) noexcept { return 2 * d + 16; }
  /// Nearest codewords of layer l for n rows (one at a time here).
  void search_block(std::size_t l, std::int32_t* const* rows, std::size_t n, unsigned char* scratch,
                    std::uint32_t* idx) const noexcept {
    algo::search_rows(l, rows, n, scratch, idx);
  }
  /// out += codeword c of layer l as the encoder applies it: its grid values times 2^-input_frac.
  void add_codeword(std::size_t l, std::size_t c, float* out) const noexcept {
    float unit = 1.0f;
    for (int e = input_frac_; e > 0; --e) unit *= 0.5f;
    for (int e = input_frac_; e < 0; ++e) unit *= 2.0f;
    for (std::size_t t = 0; t < D; ++t) out[t] += static_cast<float>(algo::grid_value(l, c, t)) * unit;
  }
  /// Every layer's K is 1 to the extents' K.
  constexpr status validate() const noexcept {
    for (std::size_t l = 0; l < layers(); ++l)
      if (codewords(l) == 0 || codewords(l) > K) return {errc::invalid_argument, msg::bad_layer_k, l, "layer"};
    return {};
  }
  /// Scratch beyond the residual (activations), multiply-adds and lookups of a layer's search.
  static constexpr std::size_t scratch_bytes() noexcept { return block_bytes(D); }
  /// Bytes of codeword values and of the per-codeword/per-dimension integer constants.
  constexpr std::size_t codebook_bytes() const noexcept {
    std::size_t b = 0;
    for (std::size_t l = 0; l < layers(); ++l) b += layers_[l].k * layers_[l].row_bytes;
    return b;
  }
  constexpr std::size_t aux_bytes() const noexcept {
    std::size_t b = 0;
    for (std::size_t l = 0; l < layers(); ++l) b += aux_bytes_of(layers_[l], D);
    return b;
  }
  static constexpr std::size_t aux_bytes_of(const int_layer& x, std::size_t d) noexcept {
    const std::size_t per = x.per_dim ? d : x.per_layer ? 1 : x.k, per_codeword = x.per_layer ? 1 : x.k;
    return (x.bias ? 8 * x.k : 0) + (x.bias32 ? 4 * x.k : 0) + (x.smul ? 4 * per_codeword : 0) +
           (x.zero ? 4 * per : 0) + (x.rmul ? 4 * per : 0) + (x.amul ? 4 * d : 0) + sizeof(int_layer);
  }

 private:
  const int_layer* layers_ = nullptr;
  int input_frac_ = 0;
  rounding mode_ = rounding::half_up;
};

#if RVQ_HOSTED && !RVQ_NO_HEAP
/// @brief Owning integer tables of one model: what int_layer views point into.
struct int_tables {
  struct layer_data {
    std::vector<unsigned char> values;
    std::vector<std::int64_t> bias;
    std::vector<std::int32_t> smul, zero, rmul, amul;
    int_layer view;  // pointers into the vectors above (set by link_one())
    /// Points the view at this layer's vectors.
    void link_one() noexcept {
      view.values = values.data();
      view.bias = bias.empty() ? nullptr : bias.data();
      view.smul = smul.empty() ? nullptr : smul.data();
      view.zero = zero.empty() ? nullptr : zero.data();
      view.rmul = rmul.empty() ? nullptr : rmul.data();
      view.amul = amul.empty() ? nullptr : amul.data();
    }
  };
  std::vector<layer_data> layers;
  int input_frac = 0;
  rounding mode = rounding::half_up;
  element_id element = element_id::int8;
  std::size_t dim = 0;

  /// Points every view at its vectors (after construction or a copy).
  void link() noexcept {
    for (auto& x : layers) x.link_one();
  }
  int_tables() = default;
  int_tables(const int_tables& o)
      : layers(o.layers), input_frac(o.input_frac), mode(o.mode), element(o.element), dim(o.dim) {
    link();
  }
  int_tables& operator=(const int_tables& o) {
    if (this != &o) {
      layers = o.layers;
      input_frac = o.input_frac;
      mode = o.mode;
      element = o.element;
      dim = o.dim;
      link();
    }
    return *this;
  }
  int_tables(int_tables&&) noexcept = default;  // vectors keep their buffers: views stay valid
  int_tables& operator=(int_tables&&) noexcept = default;
};

namespace int_build {
/// Exponent f of a power-of-two scale 2^-f.
inline int pow2_frac(float s) noexcept { return -std::ilogb(s); }
/// floor(log2(v)) for v > 0.
inline int floor_log2(double v) noexcept { return std::ilogb(v); }

template <class Element>
status fill_layer(const quantized_codebooks& q, metric_id metric, std::size_t l, int_tables::layer_data& x) {
  using kern = simd::scalar::int_kernels<Element>;
  using traits = element_traits<Element>;
  const std::size_t d = q.dim, kl = q.k[l], first = q.first_codeword(l);
  const int fr = q.input_frac, as = q.act_shift[l];
  const bool per_dim = q.group == granularity::dim;
  const std::size_t per = per_dim ? d : kl;
  int_layer& v = x.view;
  v.k = kl;
  v.per_dim = per_dim;
  v.packed = false;
  v.act_shift = as;
  // Values: int16 (q15), packed bits (binary) or one int8 per value (int4/int2 unpacked for speed).
  v.row_bytes = kern::binary ? (d + 7) / 8 : d * sizeof(typename traits::storage_type);
  x.values.assign(kl * v.row_bytes, 0);
  for (std::size_t c = 0; c < kl; ++c) {
    unsigned char* row = x.values.data() + c * v.row_bytes;
    for (std::size_t t = 0; t < d; ++t) {
      const std::int32_t val = q.values[(first + c) * d + t];
      if (kern::binary) {
        if (val) row[t / 8] = static_cast<unsigned char>(row[t / 8] | (1u << (t % 8)));
      } else if (kern::wide_values) {
        const std::int16_t s = static_cast<std::int16_t>(val);
        std::memcpy(row + 2 * t, &s, 2);
      } else {
        row[t] = static_cast<unsigned char>(static_cast<std::int8_t>(val));
      }
    }
  }
  auto scale_of = [&](std::size_t i) { return q.scales[q.group_of(l, first + (per_dim ? 0 : i), per_dim ? i : 0)]; };
  auto zero_of = [&](std::size_t i) { return q.zeros[q.group_of(l, first + (per_dim ? 0 : i), per_dim ? i : 0)]; };
  x.rmul.assign(per, 0);
  bool any_zero = false;
  for (std::size_t i = 0; i < per; ++i) any_zero = any_zero || zero_of(i) != 0;
  if (any_zero) {
    x.zero.assign(per, 0);
    for (std::size_t i = 0; i < per; ++i) x.zero[i] = zero_of(i);
  }
  double smax = 0.0;
  int fmin = std::numeric_limits<int>::max(), fmax = std::numeric_limits<int>::min();
  for (std::size_t i = 0; i < per; ++i) {
    smax = std::max(smax, static_cast<double>(scale_of(i)));
    if (traits::pow2_scale) {
      fmin = std::min(fmin, pow2_frac(scale_of(i)));
      fmax = std::max(fmax, pow2_frac(scale_of(i)));
    }
  }
  const double grid = std::ldexp(1.0, fr);
  if (kern::binary) {
    for (std::size_t c = 0; c < kl; ++c) {
      const double g = std::nearbyint(scale_of(c) * grid);
      if (!(g < 2147483647.0))
        return {errc::invalid_argument, "a binary scale exceeds the integer residual grid", l, "layer"};
      x.rmul[c] = static_cast<std::int32_t>(g);
    }
  } else if (traits::pow2_scale) {
    for (std::size_t i = 0; i < per; ++i) x.rmul[i] = pow2_frac(scale_of(i)) - fr;
  } else {
    v.res_shift = 22 - floor_log2(smax * grid);
    for (std::size_t i = 0; i < per; ++i)
      x.rmul[i] =
          static_cast<std::int32_t>(std::llround(std::ldexp(static_cast<double>(scale_of(i)) * grid, v.res_shift)));
  }
  if (per_dim) {
    x.amul.assign(d, 0);
    for (std::size_t t = 0; t < d; ++t)
      x.amul[t] = traits::pow2_scale ? pow2_frac(scale_of(t)) - fmin
                                     : static_cast<std::int32_t>(std::llround(scale_of(t) / smax * 32768.0));
  }
  x.link_one();
  // Norms of the codewords exactly as subtract() applies them.
  std::vector<double> norm(kl, 0.0);
  std::vector<std::int64_t> inorm(kl, 0);
  bool exact = true;
  for (std::size_t c = 0; c < kl; ++c) {
    long double n = 0;
    for (std::size_t t = 0; t < d; ++t) {
      const std::int64_t g = kern::grid_value(v, c, t, q.mode);
      n += static_cast<long double>(g) * static_cast<long double>(g);
    }
    norm[c] = static_cast<double>(n);
    if (n < 4.0e18L)
      inorm[c] = static_cast<std::int64_t>(n);
    else
      exact = false;
  }
  x.bias.assign(kl, 0);
  x.smul.assign(kl, 0);
  if (kern::binary) return {};
  const bool l2 = metric == metric_id::l2;
  const double amax = static_cast<double>(std::numeric_limits<typename traits::activation_type>::max()) + 1.0;
  const double qmax = static_cast<double>(traits::qmax - traits::qmin);
  double max_dz = static_cast<double>(d) * amax * qmax;  // |<a, q> - z sum(a)| bound
  if (traits::pow2_scale) {
    const int fref = per_dim ? fmin : fmax;
    if (!exact && l2) return {errc::invalid_argument, "codeword norms exceed the integer score range", l, "layer"};
    for (std::size_t c = 0; c < kl; ++c) {
      x.smul[c] = per_dim ? 0 : fmax - pow2_frac(scale_of(c));
      if (l2) x.bias[c] = srs<std::int64_t>(inorm[c], fr + as + 1 - fref, q.mode);
      if (std::ldexp(max_dz, x.smul[c]) > 4.0e18)
        return {errc::invalid_argument, "power-of-two scales of a layer span too many octaves for int64 scores", l,
                "layer"};
    }
  } else {
    // Score unit: the largest multiplier is 2^20 (relative precision 1e-6).
    const double ua = std::ldexp(1.0, as - fr) * (per_dim ? smax / 32768.0 : 1.0);
    const double us = 2.0 * ua * (per_dim ? 1.0 : smax) / 1048576.0;  // per_dim: ua already holds max s
    for (std::size_t c = 0; c < kl; ++c) {
      x.smul[c] = per_dim ? 1048576 : static_cast<std::int32_t>(std::llround(scale_of(c) / smax * 1048576.0));
      const double b = l2 ? norm[c] / (grid * grid) / us : 0.0;
      if (!(b < 4.0e18)) return {errc::invalid_argument, "codeword norms exceed the integer score range", l, "layer"};
      x.bias[c] = static_cast<std::int64_t>(std::llround(b));
    }
    if (max_dz * 1048576.0 > 4.0e18)
      return {errc::invalid_argument, "dot products exceed the integer score range", l, "layer"};
  }
  return {};
}
}  // namespace int_build

/**
 * @brief The integer tables of a quantized model for the integer-only search.
 * Errors: invalid_argument (parameters whose integer forms would overflow the search's
 * arithmetic), unsupported (metric other than l2/ip for integer elements, or not hamming for binary).
 */
template <class Element>
status build_int_tables(const quantized_codebooks& q, metric_id metric, int_tables& out) {
  RVQ_TRY(q.validate());
  if (q.element != element_traits<Element>::id)
    return {errc::invalid_argument, "the codebooks' element differs from the quantizer's"};
  const bool binary = q.element == element_id::binary;
  if (binary && metric != metric_id::hamming)
    return {errc::unsupported, "binary codewords are searched with the hamming metric"};
  if (!binary && metric != metric_id::l2 && metric != metric_id::ip)
    return {errc::unsupported, "integer elements support the l2 and ip metrics"};
  int_tables t;
  t.input_frac = q.input_frac;
  t.mode = q.mode;
  t.element = q.element;
  t.dim = q.dim;
  t.layers.resize(q.k.size());
  for (std::size_t l = 0; l < q.k.size(); ++l) RVQ_TRY(int_build::fill_layer<Element>(q, metric, l, t.layers[l]));
  t.link();
  out = std::move(t);
  return {};
}

/// Dynamic extents: owns its integer tables and the dequantized codewords (for decode).
template <class Element, class Metric, class Kernels>
class int_store<Element, Metric, Kernels, dynamic_extents>
    : public int_search<int_store<Element, Metric, Kernels, dynamic_extents>, Element, Kernels> {
  using kern = typename Kernels::template int_kernels<Element>;
  using algo = int_search<int_store, Element, Kernels>;

 public:
  using algo::search_rows;
  /// The backend's int8 dot-product kernels (VNNI, AVX2, sdot) serve 8-bit codewords when the build has
  /// them (the backend's int8_kernel() chooses one per call).
  static constexpr bool use_panels = Kernels::use_int8_panels && !kern::binary && !kern::wide_values;
  /// The backend's q15 dot-product kernels (AVX2, AVX-VNNI, AVX-512 VNNI) serve 16-bit codewords
  /// when the build has them (the backend's q15_kernel() chooses one per call).
  static constexpr bool use_q15 = Kernels::use_q15_panels && kern::wide_values && element_traits<Element>::pow2_scale;

 public:
  static constexpr std::size_t block_rows = 1;
  /// Rows a batch encode moves through the layers together (a layer's panels stay in cache).
  static constexpr std::size_t tile_rows = 64;
  int_store() = default;

  /// Builds the tables of `q` (see build_int_tables()).
  static status build(const quantized_codebooks& q, int_store& out) {
    int_store s;
    RVQ_TRY(build_int_tables<Element>(q, metric_traits<Metric>::id, s.tables_));
    s.cw_ = q.dequantize();
    s.k_ = q.k;
    s.first_.assign(q.k.size() + 1, 0);
    for (std::size_t l = 0; l < q.k.size(); ++l) s.first_[l + 1] = s.first_[l] + q.k[l];
    s.model_ = q;
    if constexpr (use_panels)
      if (element_traits<Element>::fits_int32(q.dim) && q.dim <= simd::int8_panels::max_dim)
        s.build_panels();  // else the reference kernels (int64 accumulators)
    if constexpr (use_q15) s.build_q15();
    out = std::move(s);
    return {};
  }

  std::size_t layers() const noexcept { return k_.size(); }
  std::size_t dim() const noexcept { return tables_.dim; }
  std::size_t codewords(std::size_t l) const noexcept { return k_[l]; }
  std::size_t max_codewords() const noexcept { return extreme_of(k_, true); }
  std::size_t min_codewords() const noexcept { return extreme_of(k_, false); }
  int input_frac() const noexcept { return tables_.input_frac; }
  rounding mode() const noexcept { return tables_.mode; }
  const int_layer& layer(std::size_t l) const noexcept { return tables_.layers[l].view; }
  /// The dequantized codeword c of layer l (what decode sums).
  const float* codeword(std::size_t l, std::size_t c) const noexcept { return cw_.data() + (first_[l] + c) * dim(); }
  const float* data() const noexcept { return cw_.data(); }
  std::size_t total_codewords() const noexcept { return first_.empty() ? 0 : first_.back(); }
  /// The quantized model the tables were built from.
  const quantized_codebooks& model() const noexcept { return model_; }
  /// The integer tables the search reads (what `rvq codegen` writes for firmware).
  const int_tables& tables() const noexcept { return tables_; }

  /// r -= codeword c of layer l, on the residual's grid (the int8 vector path where it applies).
  void subtract(std::size_t l, std::size_t c, std::int32_t* r) const noexcept {
    const int_layer& x = layer(l);
    if constexpr (use_panels) {
      if (!x.per_dim) {
        const auto which = Kernels::int8_kernel();
        const std::int8_t* q = static_cast<const std::int8_t*>(x.values) + c * x.row_bytes;
        if constexpr (element_traits<Element>::pow2_scale) {
          const int s = x.rmul[c];
          if (s <= 0 && s >= -22) {  // q << -s, as (q * 2^(1-s)) >> 1 on the vector path (exact)
            simd::int8_panels::subtract_affine(which, r, q, dim(), 0, std::int32_t{1} << (1 - s), 1, mode());
            return;
          }
        } else {
          simd::int8_panels::subtract_affine(which, r, q, dim(), x.zero ? x.zero[c] : 0, x.rmul[c], x.res_shift,
                                             mode());
          return;
        }
      }
    }
    if constexpr (use_q15) {
      const simd::q15_panels::kernel which = Kernels::q15_kernel();
      if (!x.per_dim && !x.zero &&
          simd::q15_panels::subtract(which, r, static_cast<const unsigned char*>(x.values) + c * x.row_bytes, dim(),
                                     x.rmul[kern::group(x, c)], mode()))
        return;
    }
    algo::subtract_reference(l, c, r);
  }

  /// Bytes of scratch search_block() needs: the activation bytes of max_rows rows and the
  /// kernels' own scratch, or the reference search's.
  static constexpr std::size_t block_bytes(std::size_t d) noexcept {
    namespace ip = simd::int8_panels;
    const std::size_t a = ip::max_rows * ip::padded_dim(d) + ip::wide_bytes(d), b = 2 * d;
    const std::size_t q = q15_split_offset(d) + 63 + simd::q15_panels::max_rows * simd::q15_panels::split_bytes(d);
    const std::size_t ab = a > b ? a : b;
    return ((ab > q ? ab : q) + 15) / 16 * 16 + 16;  // a multiple of 16: each worker's share stays aligned
  }
  /// Nearest codewords of layer l for n rows: the backend's int8 dot-product kernel, max_rows
  /// rows at a time, when it has one; else the reference search row by row (the same codes).
  void search_block(std::size_t l, std::int32_t* const* rows, std::size_t n, unsigned char* scratch,
                    std::uint32_t* idx) const noexcept {
    if constexpr (use_panels) {
      namespace ip = simd::int8_panels;
      const ip::kernel which = Kernels::int8_kernel();
      const std::size_t d = dim(), dp = ip::padded_dim(d);
      if (panels_.empty() || which == ip::kernel::reference || d > ip::max_dim_of(which))
        return search_rows(l, rows, n, scratch, idx);
      const int_layer& x = layer(l);
      const ip::constants c = panels_[l].view();
      unsigned char* wide = scratch + ip::max_rows * dp;
      for (std::size_t b = 0; b < n; b += ip::max_rows) {
        const std::size_t m = n - b < ip::max_rows ? n - b : ip::max_rows;
        const std::uint8_t* acts[ip::max_rows];
        std::int64_t asum[ip::max_rows], score[ip::max_rows];
        for (std::size_t i = 0; i < m; ++i) {
          std::uint8_t* a = scratch + i * dp;
          acts[i] = a;
          asum[i] = x.per_dim ? dim_activations(x, rows[b + i], a)
                              : ip::activations(which, rows[b + i], d, x.act_shift, mode(), a);
        }
        ip::search<element_traits<Element>::pow2_scale>(which, acts, asum, m, panels_[l].panels.data(), x.k, d, c, wide,
                                                        idx + b, score);
      }
    } else if constexpr (use_q15) {
      const simd::q15_panels::kernel which = Kernels::q15_kernel();
      if (q15_.empty() || q15_[l].values.empty() || which == simd::q15_panels::kernel::reference)
        return search_rows(l, rows, n, scratch, idx);
      search_q15(which, l, rows, n, scratch, idx);
    } else {
      search_rows(l, rows, n, scratch, idx);
    }
  }

  /// The dequantized codeword c of layer l into out, added to out.
  void expand(std::size_t l, std::size_t c, float* out) const noexcept { copy_row(codeword(l, c), out, dim()); }
  void add_codeword(std::size_t l, std::size_t c, float* out) const noexcept { add_row(out, codeword(l, c), dim()); }
  /// Every layer's K is positive (build() checked the rest).
  status validate() const noexcept {
    for (std::size_t l = 0; l < layers(); ++l)
      if (codewords(l) == 0) return {errc::invalid_argument, msg::bad_layer_k, l, "layer"};
    return {};
  }
  /// Scratch beyond the residual (activations), multiply-adds and lookups of a layer's search.
  std::size_t scratch_bytes() const noexcept { return block_bytes(dim()); }

  /// Bytes of codeword values as stored (packed for int4/int2/binary) and of the integer constants.
  std::size_t codebook_bytes() const noexcept { return model_.value_bytes(); }
  /// Everything else this store holds: scales, integer constants, the search copies (unpacked
  /// values, panels) and, on the host only, the model it was built from (for save and codegen)
  /// and its dequantized codewords (for decode).
  std::size_t aux_bytes() const noexcept {
    std::size_t b = model_.param_bytes() + model_.values.size() * sizeof(std::int32_t) + cw_.size() * sizeof(float);
    for (const auto& x : tables_.layers)
      b += x.bias.size() * 8 + (x.smul.size() + x.zero.size() + x.rmul.size() + x.amul.size()) * 4 +
           (x.values.size() > model_.row_bytes() * x.view.k ? x.values.size() : 0);  // unpacked search copy
    for (const auto& p : panels_) b += p.bytes();
    for (const auto& p : q15_) b += p.bytes();
    return b;
  }

 private:
  /// Per-dimension activations (+128, padded) of one row; returns their signed sum.
  std::int64_t dim_activations(const int_layer& x, const std::int32_t* r, std::uint8_t* a) const noexcept {
    std::int64_t sum = 0;
    for (std::size_t t = 0; t < dim(); ++t) {
      std::int8_t v;
      if constexpr (element_traits<Element>::pow2_scale)
        v = srs<std::int8_t>(r[t], x.act_shift + x.amul[t], mode());
      else
        v = srs<std::int8_t>(static_cast<std::int64_t>(r[t]) * x.amul[t], x.act_shift, mode());
      sum += v;
      a[t] = static_cast<std::uint8_t>(v + 128);
    }
    for (std::size_t t = dim(); t < simd::int8_panels::padded_dim(dim()); ++t) a[t] = 128;
    return sum;
  }

  void build_panels() {
    panels_.resize(layers());
    for (std::size_t l = 0; l < layers(); ++l) {
      const int_layer& x = layer(l);
      panels_[l].build(static_cast<const std::int8_t*>(x.values), x.k, dim(), x.bias, x.smul,
                       x.zero && !x.per_dim ? x.zero : nullptr, element_traits<Element>::pow2_scale);
    }
  }

  /// Offset in search_block()'s scratch of the q15 kernels' split rows, after one row's
  /// activations and before up to 63 bytes that align them.
  static constexpr std::size_t q15_split_offset(std::size_t d) noexcept { return 2 * d; }

  /// Packs each layer's 16-bit codewords and score constants into the q15 kernels' panels; a
  /// layer with zero points (which the kernels do not apply) keeps none and searches with the
  /// reference.
  void build_q15() {
    q15_.resize(layers());
    std::vector<std::int16_t> v;
    std::vector<std::int64_t> bias, shift;
    for (std::size_t l = 0; l < layers(); ++l) {
      const int_layer& x = layer(l);
      if (x.zero && !x.per_dim) continue;
      v.resize(x.k * dim());
      bias.resize(x.k);
      shift.resize(x.k);
      for (std::size_t c = 0; c < x.k; ++c) {
        for (std::size_t t = 0; t < dim(); ++t) v[c * dim() + t] = static_cast<std::int16_t>(kern::value(x, c, t));
        bias[c] = x.bias32 ? x.bias32[c] : x.bias[c];
        shift[c] = x.smul[kern::group(x, c)];
      }
      q15_[l].build(v.data(), x.k, dim(), bias.data(), shift.data());
    }
  }

  /// search_block() on a q15 kernel: up to rows_of(which) rows' activations, split for the
  /// kernel (vectorized where the layer's shift and mode allow, else the reference's); then
  /// their nearest codewords (q15_panels::search(): exact, ties to the lowest index).
  void search_q15(simd::q15_panels::kernel which, std::size_t l, std::int32_t* const* rows, std::size_t n,
                  unsigned char* scratch, std::uint32_t* idx) const noexcept {
    namespace qp = simd::q15_panels;
    const int_layer& x = layer(l);
    const std::size_t d = dim(), rb = qp::rows_of(which), stride = qp::split_bytes(d) / 2;
    unsigned char* base = scratch + q15_split_offset(d);  // then aligned to 64 (block_bytes() has the room)
    base += (64 - reinterpret_cast<std::uintptr_t>(base) % 64) % 64;
    auto* split = reinterpret_cast<std::int16_t*>(base);
    const std::int16_t* xs[qp::max_rows];
    std::int64_t asum, score[qp::max_rows];  // the scores need no activation sum (no zero points here)
    for (std::size_t b = 0; b < n; b += rb) {
      const std::size_t m = n - b < rb ? n - b : rb;
      for (std::size_t i = 0; i < m; ++i) {
        std::int16_t* out = split + i * stride;
        xs[i] = out;
        if (x.per_dim || !qp::activations(which, rows[b + i], d, x.act_shift, mode(), out, asum)) {
          asum = kern::activations(rows[b + i], d, x, mode(), scratch);
          qp::split(scratch, d, out);
        }
      }
      qp::search(which, xs, m, q15_[l], idx + b, score);
    }
  }

  int_tables tables_;
  quantized_codebooks model_;
  std::vector<float> cw_;
  std::vector<std::size_t> k_, first_;
  std::vector<simd::int8_panels::layer_tables> panels_;
  std::vector<simd::q15_panels::layer_panels> q15_;
};
#endif

}  // namespace detail
}  // namespace rvq
