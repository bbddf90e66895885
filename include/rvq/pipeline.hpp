/// @file pipeline.hpp
/// @brief rvq::pipeline: residual quantization of a latent through stages of
/// projection-in, quantizer, projection-out (DAC's 1024 -> 8 -> 1024 per codebook).
#pragma once
#include "config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>
#include "quantizer.hpp"
#include "storage/projection.hpp"

namespace rvq {

/// @brief One stage of a pipeline: an optional projection into the stage's codebook dimension,
/// a quantizer of one or more layers, an optional projection back to the latent dimension.
template <class Config>
struct pipeline_stage {
  std::optional<linear_map> in;   ///< latent -> codebook dimension (none: the latent itself)
  quantizer<Config> q;            ///< the stage's layers
  std::optional<linear_map> out;  ///< codebook -> latent dimension (none: the codeword itself)
};

/**
 * @brief Residual quantization of a latent of dimension dim() through stages.
 *
 * Stage s sees the running residual `r` (latent space, `r = x` before stage 0): it projects it,
 * `z = W_in r + b_in` (or `z = r`), encodes `z` with its quantizer (greedy, or beam search within
 * the stage), decodes `z_hat`, and the residual becomes `r - (W_out z_hat + b_out)`. Codes are
 * the stages' codes side by side (layers() in all). One stage with a quantizer of L layers is
 * "projection-in, RVQ, projection-out"; DAC is L stages of one layer each, cosine metric.
 *
 * Decoding sums the stages' projected reconstructions; the contribution of layer l of a stage is
 * `W_out c` plus `b_out` on the stage's first layer (expand_codeword()), so decoding the first n
 * layers is the sum of the first n contributions.
 *
 * The interface follows rvq::quantizer's (encode_batch, decode_batch, layers(), codewords(),
 * workspace_for(), memory_footprint()), so code written for a quantizer takes a pipeline.
 * @tparam Config the stages' quantizer config (every stage shares it; dynamic extents).
 */
template <class Config = default_config>
class pipeline {
 public:
  using quantizer_type = quantizer<Config>;                                  ///< a stage's quantizer
  using stage_type = pipeline_stage<Config>;                                 ///< a stage
  using metric_traits_type = typename quantizer_type::metric_traits_type;    ///< traits of the metric
  using element_traits_type = typename quantizer_type::element_traits_type;  ///< traits of the element
  /// Rows encoded per block: the projections and each stage's encode run on blocks of rows.
  static constexpr std::size_t block_rows = 256;

  /// An empty pipeline.
  pipeline() = default;

  /// A pipeline over latents of dimension `dim`; checks that every stage's shapes chain.
  static result<pipeline> make(std::size_t dim, std::vector<stage_type> stages) {
    pipeline p;
    p.dim_ = dim;
    p.stages_ = std::move(stages);
    RVQ_TRY(p.validate());
    p.index_layers();
    return p;
  }

  /// Checks every stage: projections valid and of matching shapes, quantizers non-empty.
  status validate() const {
    if (dim_ == 0) return {errc::empty_input, "a pipeline needs a latent dimension"};
    if (stages_.empty()) return {errc::empty_input, "a pipeline needs at least one stage"};
    std::size_t layers = 0;
    for (const stage_type& st : stages_) layers += st.q.layers();
    if (layers > max_layers)  // the limit of one model holds for the layers of all stages
      return {errc::invalid_argument, "a pipeline holds at most 4096 layers in all its stages", layers, "layers"};
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      const stage_type& st = stages_[s];
      if (st.q.layers() == 0) return {errc::empty_input, "a pipeline stage has no codebooks", s, "stage"};
      const std::size_t d = st.q.dim();
      if (st.in) {
        const status v = st.in->validate();
        if (!v) return {v.code(), v.message(), s, "stage"};
        if (st.in->in != dim_ || st.in->out != d)
          return {errc::dimension_mismatch,
                  "a stage's input projection does not map the latent to its codebook dimension", s, "stage"};
      }
      if (st.out) {
        const status v = st.out->validate();
        if (!v) return {v.code(), v.message(), s, "stage"};
        if (st.out->in != d || st.out->out != dim_)
          return {errc::dimension_mismatch,
                  "a stage's output projection does not map its codebook dimension to the latent", s, "stage"};
      }
      if ((!st.in || !st.out) && d != dim_)
        return {errc::dimension_mismatch,
                "a stage without a projection must have the latent dimension as its codebook dimension", s, "stage"};
    }
    return {};
  }

  std::size_t dim() const noexcept { return dim_; }                             ///< latent dimension
  std::size_t stages() const noexcept { return stages_.size(); }                ///< number of stages
  const stage_type& stage(std::size_t s) const noexcept { return stages_[s]; }  ///< stage s
  std::size_t layers() const noexcept { return layer_stage_.size(); }           ///< codes per vector
  /// K of layer l (counting the layers of every stage in order).
  std::size_t codewords(std::size_t l) const noexcept {
    return stages_[layer_stage_[l]].q.codewords(l - first_layer_[layer_stage_[l]]);
  }
  /// Largest K.
  std::size_t max_codewords() const noexcept {
    std::size_t k = 0;
    for (const auto& st : stages_) k = std::max(k, st.q.max_codewords());
    return k;
  }
  /// Smallest K (the largest beam width).
  std::size_t min_codewords() const noexcept {
    std::size_t k = stages_.empty() ? 0 : stages_[0].q.min_codewords();
    for (const auto& st : stages_) k = std::min(k, st.q.min_codewords());
    return k;
  }
  /// Bits of one vector's codes.
  std::size_t bits_per_vector() const noexcept {
    std::size_t b = 0;
    for (const auto& st : stages_) b += st.q.bits_per_vector();
    return b;
  }
  /// Largest codebook dimension of a stage.
  std::size_t max_stage_dim() const noexcept {
    std::size_t d = 0;
    for (const auto& st : stages_) d = std::max(d, st.q.dim());
    return d;
  }

  /// Scratch of encode_batch(): the block buffers plus, for each worker of the policy, the largest
  /// stage workspace.
  workspace_size workspace_for(std::size_t beam) const noexcept {
    workspace_size w{};
    const std::size_t conc = quantizer_type::parallel_traits_type::concurrency();
    for (const auto& st : stages_) {
      const workspace_size s = st.q.workspace_for(beam);
      w.floats = std::max(w.floats, s.floats * conc);
      w.indices = std::max(w.indices, s.indices * conc);
      w.ints = std::max(w.ints, s.ints * conc);
      w.bytes = std::max(w.bytes, s.bytes * conc);
    }
    w.floats += block_floats();
    return w;
  }

  /// Scratch of encode_batch() with a caller's workspace: workspace_for(), which already counts
  /// the policy's workers (the same name as rvq::quantizer's).
  workspace_size batch_workspace_for(std::size_t beam) const noexcept { return workspace_for(beam); }
  /// batch_workspace_for() of an encode with options `opt`.
  workspace_size batch_workspace_for(const encode_options& opt) const noexcept { return workspace_for(opt.beam); }

  /// Memory and arithmetic: codebooks and projections stored, scratch of encode_batch(), and the
  /// multiply-accumulates per vector of the stages' searches plus both projections of every stage.
  footprint_info memory_footprint(std::size_t beam = 1) const noexcept {
    footprint_info f{};
    for (const auto& st : stages_) {
      const footprint_info s = st.q.memory_footprint(beam);
      f.codebook_bytes +=
          s.codebook_bytes + (st.in ? st.in->stored_bytes() : 0) + (st.out ? st.out->stored_bytes() : 0);
      f.constant_bytes += s.constant_bytes;
      f.macs_per_vector += s.macs_per_vector + (st.in ? st.in->macs() : 0) + (st.out ? st.out->macs() : 0);
      f.lookups_per_vector += s.lookups_per_vector;
    }
    f.flash_bytes = f.codebook_bytes + f.constant_bytes;
    const workspace_size w = workspace_for(beam);
    f.scratch_bytes = 4 * (w.floats + w.indices + w.ints) + w.bytes;
    return f;
  }

  /**
   * @brief Encode the rows of `x` (N x dim()) into `codes` (N x layers()), block_rows rows at a
   * time, stage after stage. Validates every row first; nothing is written on bad input.
   * @param x input rows, N x dim().
   * @param codes output, N x layers(); a stage's codes follow the previous stage's.
   * @param opt beam width (per stage) and the other quantizer::encode_batch options.
   * @param ws at least workspace_for(opt.beam); nothing is allocated.
   * @return as quantizer::encode_batch (a beam wider than a stage's smallest K is invalid).
   */
  template <class Code>
  status encode_batch(matrix_view<const float> x, matrix_view<Code> codes, const encode_options& opt,
                      workspace_view ws) const noexcept {
    RVQ_TRY(check_batch(x, codes.rows(), codes.cols(), codes.valid()));
    if (opt.beam == 0 || opt.beam > min_codewords()) return {errc::invalid_argument, msg::bad_beam};
    if (opt.icm_rounds)
      return {errc::unsupported, "ICM refinement works on single models; a pipeline's stages encode by beam search"};
    if (!ws.holds(workspace_for(opt.beam), 1))
      return {errc::invalid_argument, "workspace smaller than workspace_for()"};
    const std::size_t dm = max_stage_dim(), bf = block_floats();
    float* r = ws.floats.data();       // residual, block x dim
    float* z = r + block_rows * dim_;  // projected residual, block x dm
    float* zh = z + block_rows * dm;   // stage reconstruction, block x dm
    float* p = zh + block_rows * dm;   // projected reconstruction, block x dim
    const workspace_view stage_ws{ws.floats.subspan(bf, ws.floats.size() - bf), ws.indices, ws.ints, ws.bytes};
    for (std::size_t i0 = 0; i0 < x.rows(); i0 += block_rows) {
      const std::size_t n = std::min(block_rows, x.rows() - i0);
      for (std::size_t i = 0; i < n; ++i) std::copy(x.row(i0 + i), x.row(i0 + i) + dim_, r + i * dim_);
      const matrix_view<float> rv(r, n, dim_);
      for (std::size_t s = 0; s < stages_.size(); ++s) {
        const stage_type& st = stages_[s];
        const std::size_t d = st.q.dim(), nl = st.q.layers();
        matrix_view<float> zv = st.in ? matrix_view<float>(z, n, d) : rv;
        if (st.in) {
          st.in->apply(rv, zv);
          RVQ_TRY(check_finite(zv, i0, msg::projection_overflow));
        } else if (s > 0) {
          RVQ_TRY(check_finite(zv, i0, msg::residual_overflow));
        }
        const matrix_view<Code> cv(codes.row(i0) + first_layer_[s], n, nl, codes.stride());
        status e = st.q.encode_batch(matrix_view<const float>(zv), cv, opt, stage_ws);
        if (!e)
          return e.where_unit() && std::strcmp(e.where_unit(), "row") == 0
                     ? status{e.code(), e.message(), i0 + e.where(), "row"}
                     : e;
        const matrix_view<float> zhv(zh, n, d);
        e = st.q.decode_batch(matrix_view<const Code>(cv), zhv);
        if (!e) return e;
        const float* sub = zh;
        if (st.out) {
          st.out->apply(matrix_view<const float>(zhv), matrix_view<float>(p, n, dim_));
          sub = p;
        }
        for (std::size_t i = 0; i < n * dim_; ++i) r[i] -= sub[i];
      }
    }
    return {};
  }

  /// encode_batch() with a workspace allocated for this call.
  template <class Code>
  status encode_batch(matrix_view<const float> x, matrix_view<Code> codes, const encode_options& opt = {}) const {
    if (stages_.empty()) return {errc::empty_input, msg::no_stages};
    if (opt.beam == 0 || opt.beam > min_codewords()) return {errc::invalid_argument, msg::bad_beam};
    workspace w(workspace_for(opt.beam));
    return encode_batch(x, codes, opt, w.view());
  }

  /// Encode one vector (dim() values) into layers() codes.
  template <class Code>
  status encode(span<const float> x, span<Code> codes, const encode_options& opt = {}) const {
    if (x.size() != dim_) return {errc::dimension_mismatch, "input length differs from the latent dimension"};
    if (codes.size() != layers()) return {errc::dimension_mismatch, "codes length differs from layers()"};
    return encode_batch(matrix_view<const float>(x.data(), 1, dim_), matrix_view<Code>(codes.data(), 1, layers()), opt);
  }

  /**
   * @brief The latent-space contribution of code `c` of layer `l` (dim() values into `out`):
   * `W_out c + b_out` on a stage's first layer, `W_out c` on its others, `c` without projection.
   */
  void expand_codeword(std::size_t l, std::size_t c, float* out) const {
    const std::size_t s = layer_stage_[l], j = l - first_layer_[s];
    const stage_type& st = stages_[s];
    if (!st.out) {
      st.q.expand_codeword(j, c, out);
      return;
    }
    std::vector<float> cw(st.q.dim());
    st.q.expand_codeword(j, c, cw.data());
    const linear_map& m = *st.out;
    std::vector<float> row(m.in);
    for (std::size_t o = 0; o < m.out; ++o) {
      m.row(o, row.data());
      float acc = 0;
      for (std::size_t t = 0; t < m.in; ++t) acc += row[t] * cw[t];
      out[o] = acc + (j == 0 && !m.bias.empty() ? m.bias[o] : 0.0f);
    }
  }

  /// Reconstruct one vector from the first `n_layers` codes (dim() values into `out`).
  template <class Code>
  status decode(span<const Code> codes, span<float> out, std::size_t n_layers = all_layers) const {
    if (out.size() != dim_) return {errc::dimension_mismatch, "output length differs from the latent dimension"};
    return decode_batch(matrix_view<const Code>(codes.data(), 1, codes.size()), matrix_view<float>(out.data(), 1, dim_),
                        n_layers);
  }

  /// Decode N rows of codes into N x dim() outputs (the first `n_layers` layers); every code is
  /// checked before anything is written.
  template <class Code>
  status decode_batch(matrix_view<const Code> codes, matrix_view<float> out, std::size_t n_layers = all_layers) const {
    if (!codes.valid() || !out.valid()) return {errc::invalid_argument, msg::malformed_view};
    if (codes.rows() != out.rows()) return {errc::dimension_mismatch, "output must have one row per code row"};
    const std::size_t nl = n_layers == all_layers ? layers() : n_layers;
    if (nl == 0 || nl > layers()) return {errc::invalid_argument, "layers to decode must be between 1 and layers()"};
    if (codes.cols() < nl) return {errc::dimension_mismatch, "fewer codes per row than layers to decode"};
    if (out.cols() != dim_) return {errc::dimension_mismatch, "output rows differ from the latent dimension"};
    for (std::size_t i = 0; i < codes.rows(); ++i)
      for (std::size_t l = 0; l < nl; ++l)
        if (static_cast<std::size_t>(codes(i, l)) >= codewords(l))
          return {errc::code_out_of_range, msg::code_out_of_range, i, "row"};
    const std::size_t dm = max_stage_dim();
    std::vector<float> zh(block_rows * dm), p(block_rows * dim_);
    for (std::size_t i0 = 0; i0 < codes.rows(); i0 += block_rows) {
      const std::size_t n = std::min(block_rows, codes.rows() - i0);
      for (std::size_t i = 0; i < n; ++i) std::fill(out.row(i0 + i), out.row(i0 + i) + dim_, 0.0f);
      for (std::size_t s = 0; s < stages_.size() && first_layer_[s] < nl; ++s) {
        const stage_type& st = stages_[s];
        const std::size_t d = st.q.dim(), take = std::min(st.q.layers(), nl - first_layer_[s]);
        const matrix_view<const Code> cv(codes.row(i0) + first_layer_[s], n, st.q.layers(), codes.stride());
        const matrix_view<float> zhv(zh.data(), n, d);
        RVQ_TRY(st.q.decode_batch(cv, zhv, take));
        const float* add = zh.data();
        if (st.out) {
          st.out->apply(matrix_view<const float>(zhv), matrix_view<float>(p.data(), n, dim_));
          add = p.data();
        }
        for (std::size_t i = 0; i < n; ++i)
          for (std::size_t t = 0; t < dim_; ++t) out(i0 + i, t) += add[i * dim_ + t];
      }
    }
    return {};
  }

 private:
  std::size_t block_floats() const noexcept { return block_rows * 2 * (dim_ + max_stage_dim()); }

  status check_batch(matrix_view<const float> x, std::size_t code_rows, std::size_t code_cols, bool codes_valid) const {
    if (stages_.empty()) return {errc::empty_input, msg::no_stages};
    if (!x.valid() || !codes_valid) return {errc::invalid_argument, msg::malformed_view};
    if (x.cols() != dim_) return {errc::dimension_mismatch, "input rows differ from the latent dimension"};
    if (code_rows != x.rows()) return {errc::dimension_mismatch, "codes must have one row per input vector"};
    if (code_cols != layers()) return {errc::dimension_mismatch, "codes per row differ from layers()"};
    for (std::size_t i = 0; i < x.rows(); ++i)
      if (detail::first_non_finite(x.row(i), dim_) != dim_)
        return {errc::non_finite, "input contains NaN or Inf", i, "row"};
    return {};
  }

  /// non_finite with `why` and the row (counted from the batch's first) of the first row of `v`
  /// that is not finite; the input was checked, so such a row overflowed inside the pipeline.
  static status check_finite(matrix_view<const float> v, std::size_t first_row, const char* why) noexcept {
    for (std::size_t i = 0; i < v.rows(); ++i)
      if (detail::first_non_finite(v.row(i), v.cols()) != v.cols())
        return {errc::non_finite, why, first_row + i, "row"};
    return {};
  }

  void index_layers() {
    layer_stage_.clear();
    first_layer_.clear();
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      first_layer_.push_back(layer_stage_.size());
      for (std::size_t l = 0; l < stages_[s].q.layers(); ++l) layer_stage_.push_back(s);
    }
  }

  std::size_t dim_ = 0;
  std::vector<stage_type> stages_;
  std::vector<std::size_t> layer_stage_;  // stage of each layer
  std::vector<std::size_t> first_layer_;  // first layer of each stage
};

/// True for rvq::pipeline types.
template <class T>
struct is_pipeline : std::false_type {};
/// True for rvq::pipeline types.
template <class Config>
struct is_pipeline<pipeline<Config>> : std::true_type {};

}  // namespace rvq
