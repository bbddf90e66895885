/// @file projection.hpp
/// @brief Linear projections `y = W x + b` with dense or RPQ weights (rvq::linear_map), and
/// embedding tables of dense or RPQ rows (rvq::embedding_table).
///
/// A projection maps a latent vector to a quantizer's codebook dimension and back (DAC: 1024 ->
/// 8 -> 1024 around each codebook). Its weight matrix is `out x in`, row-major: row `o` holds the
/// weights of output `o`, the layout of PyTorch's `Linear.weight` and of a kernel-size-1
/// `Conv1d.weight` with its last dimension dropped. An RPQ weight matrix is a one-layer
/// rvq::product_codebooks whose `K = out` codewords of dimension `in` are the rows; the
/// matrix-vector product expands a stack tile of rows at a time and never the whole matrix.
#pragma once
#include "../config.hpp"
#if !RVQ_NO_HEAP
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../detail/meta.hpp"
#include "product_codebooks.hpp"

namespace rvq {

/// @ingroup storage
/// @brief A linear map `y = W x + b` from `in` to `out` dimensions, W dense (f32) or RPQ.
struct linear_map {
  std::size_t in = 0;             ///< input dimension
  std::size_t out = 0;            ///< output dimension
  bool product = false;           ///< W is `weights_rpq` (else `weights`)
  std::vector<float> weights;     ///< dense W: out x in, row-major
  product_codebooks weights_rpq;  ///< RPQ W: one layer, K = out rows of dimension in
  std::vector<float> bias;        ///< b: empty (none) or out values

  /// Rows of W expanded per tile of the RPQ product (a stack buffer of this many floats).
  static constexpr std::size_t tile_floats = product_max_dim;

  /// A dense map from `w` (out x in, row-major) and an optional bias of `out` values.
  static result<linear_map> dense(span<const float> w, std::size_t out, std::size_t in, span<const float> b = {}) {
    linear_map m;
    m.in = in;
    m.out = out;
    m.weights.assign(w.begin(), w.end());
    m.bias.assign(b.begin(), b.end());
    RVQ_TRY(m.validate());
    return m;
  }

  /// An RPQ map from one-layer product codebooks (rows of W) and an optional bias.
  static result<linear_map> from_product(product_codebooks pc, span<const float> b = {}) {
    linear_map m;
    m.product = true;
    m.in = pc.dim;
    m.out = pc.k.empty() ? 0 : pc.k[0];
    m.weights_rpq = std::move(pc);
    m.bias.assign(b.begin(), b.end());
    RVQ_TRY(m.validate());
    return m;
  }

  /// Checks shapes and values; the message names the first problem.
  status validate() const {
    if (in == 0 || out == 0) return {errc::empty_input, "a projection needs at least one input and one output"};
    if (in > product_max_dim || out > product_max_dim)
      return {errc::dimension_mismatch, "projection dimensions must be between 1 and 16384"};
    if (product) {
      if (!weights.empty()) return {errc::invalid_argument, "an RPQ projection holds no dense weights"};
      RVQ_TRY(weights_rpq.validate());
      if (weights_rpq.layers() != 1 || weights_rpq.k[0] != out || weights_rpq.dim != in)
        return {errc::dimension_mismatch, "RPQ projection weights must be one layer of `out` rows of dimension `in`"};
    } else {
      if (weights.size() != in * out) return {errc::dimension_mismatch, "projection weights are not out x in values"};
      const std::size_t bad = detail::first_non_finite(weights.data(), weights.size());
      if (bad != weights.size()) return {errc::non_finite, "projection weights contain NaN or Inf", bad, "value"};
    }
    if (!bias.empty() && bias.size() != out)
      return {errc::dimension_mismatch, "a projection bias has one value per output"};
    const std::size_t bad = detail::first_non_finite(bias.data(), bias.size());
    if (bad != bias.size()) return {errc::non_finite, "projection bias contains NaN or Inf", bad, "value"};
    return {};
  }

  /// Bytes the map stores: weights (dense floats, or sub-codebooks and indices) and bias.
  std::size_t stored_bytes() const noexcept {
    return (product ? weights_rpq.stored_bytes() : 4 * weights.size()) + 4 * bias.size();
  }
  /// Multiply-accumulates per vector.
  std::size_t macs() const noexcept { return in * out; }
  /// Stack bytes apply() uses (the RPQ row tile; 0 for dense weights).
  std::size_t scratch_bytes() const noexcept { return product ? 4 * tile_floats : 0; }

  /// Row `o` of W (in values) into `row`.
  void row(std::size_t o, float* row_out) const noexcept {
    if (product) {
      weights_rpq.expand(0, o, row_out);
    } else {
      for (std::size_t t = 0; t < in; ++t) row_out[t] = weights[o * in + t];
    }
  }

  /**
   * @brief `y_i = W x_i + b` for every row i (x: N x in, y: N x out, any strides; the caller
   * checked the shapes and that y does not overlap x). RPQ weights are expanded a stack tile of
   * rows at a time, each tile applied to every row of x. Complexity: `N in out` multiply-adds.
   */
  void apply(matrix_view<const float> x, matrix_view<float> y) const noexcept {
    if (!product) {
      for (std::size_t i = 0; i < x.rows(); ++i) apply_rows(weights.data(), 0, out, x.row(i), y.row(i));
      return;
    }
    float tile[tile_floats];
    const std::size_t rows = tile_floats / in;
    for (std::size_t o0 = 0; o0 < out; o0 += rows) {
      const std::size_t o1 = o0 + rows < out ? o0 + rows : out;
      for (std::size_t o = o0; o < o1; ++o) weights_rpq.expand(0, o, tile + (o - o0) * in);
      for (std::size_t i = 0; i < x.rows(); ++i) apply_rows(tile, o0, o1, x.row(i), y.row(i));
    }
  }

 private:
  /// y[o] = <w_o, x> + b[o] for o in [o0, o1); w holds rows o0.. (w_o at w + (o - o0) in).
  void apply_rows(const float* w, std::size_t o0, std::size_t o1, const float* x, float* y) const noexcept {
    for (std::size_t o = o0; o < o1; ++o) {
      const float* wo = w + (o - o0) * in;
      float acc[4] = {0, 0, 0, 0};
      std::size_t t = 0;
      for (; t + 4 <= in; t += 4)
        for (std::size_t j = 0; j < 4; ++j) acc[j] += wo[t + j] * x[t + j];
      for (; t < in; ++t) acc[0] += wo[t] * x[t];
      y[o] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + (bias.empty() ? 0.0f : bias[o]);
    }
  }
};

/// @ingroup storage
/// @brief A table of `rows` vectors of dimension `dim`, dense or RPQ; a lookup expands only the
/// row it reads (an RPQ embedding table stores sub-codebooks and indices, never the rows).
struct embedding_table {
  std::size_t rows = 0;        ///< number of rows
  std::size_t dim = 0;         ///< values per row
  bool product = false;        ///< rows held in `rows_rpq` (else `values`)
  std::vector<float> values;   ///< dense: rows x dim, row-major
  product_codebooks rows_rpq;  ///< RPQ: one layer of `rows` codewords of dimension `dim`

  /// A dense table of `n` rows of dimension `d` from `v` (n x d, row-major).
  static result<embedding_table> dense(span<const float> v, std::size_t n, std::size_t d) {
    embedding_table e;
    e.rows = n;
    e.dim = d;
    e.values.assign(v.begin(), v.end());
    RVQ_TRY(e.validate());
    return e;
  }
  /// An RPQ table from one-layer product codebooks.
  static result<embedding_table> from_product(product_codebooks pc) {
    embedding_table e;
    e.product = true;
    e.rows = pc.k.empty() ? 0 : pc.k[0];
    e.dim = pc.dim;
    e.rows_rpq = std::move(pc);
    RVQ_TRY(e.validate());
    return e;
  }
  /// Checks shapes and values.
  status validate() const {
    if (rows == 0 || dim == 0) return {errc::empty_input, "an embedding table needs rows of at least one value"};
    if (product) {
      RVQ_TRY(rows_rpq.validate());
      if (rows_rpq.layers() != 1 || rows_rpq.k[0] != rows || rows_rpq.dim != dim)
        return {errc::dimension_mismatch, "RPQ table rows must be one layer of `rows` codewords of dimension `dim`"};
      return {};
    }
    if (values.size() != rows * dim) return {errc::dimension_mismatch, "table values are not rows x dim"};
    const std::size_t bad = detail::first_non_finite(values.data(), values.size());
    if (bad != values.size()) return {errc::non_finite, "table values contain NaN or Inf", bad, "value"};
    return {};
  }
  /// Bytes the table stores.
  std::size_t stored_bytes() const noexcept { return product ? rows_rpq.stored_bytes() : 4 * values.size(); }

  /// Row `i` (dim values) into `out`; out_of_range for i >= rows, out untouched.
  status lookup(std::size_t i, span<float> out) const noexcept {
    if (i >= rows) return {errc::code_out_of_range, "embedding row out of range", i, "row"};
    if (out.size() < dim) return {errc::dimension_mismatch, "output shorter than a row"};
    if (product) {
      rows_rpq.expand(0, i, out.data());
    } else {
      for (std::size_t t = 0; t < dim; ++t) out[t] = values[i * dim + t];
    }
    return {};
  }
};

}  // namespace rvq
#endif
