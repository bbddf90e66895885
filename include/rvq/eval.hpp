/// @file eval.hpp
/// @brief rvq::evaluate: the one evaluation of a model on data (reconstruction error overall and
/// after each layer, bits, bytes, arithmetic and encode speed), used by the CLI's `eval`,
/// `compress` and `sweep`, by rvq::compress() and by the tests.
#pragma once
#include "config.hpp"
#if !RVQ_HOSTED || RVQ_NO_HEAP
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>
#include "core/footprint.hpp"
#include "core/span.hpp"
#include "core/status.hpp"
#include "detail/exact_sum.hpp"
#include "encode/workspace.hpp"

namespace rvq {

/// @brief What rvq::evaluate() measures and how.
struct eval_options {
  /// Beam width of the encode (1: greedy).
  std::size_t beam = 1;
  /// Rounds of ICM refinement after the search (encode_options::icm_rounds; 0: none).
  std::size_t icm_rounds = 0;
  /// Also measure the error after each layer (decoding only the first l layers: the
  /// variable-bitrate curve); costs one more pass of `L D` additions per vector.
  bool per_layer = true;
  /// Timed encodes: at most `repeats` runs, stopping once `min_seconds` have been spent in all;
  /// the fastest run is reported.
  std::size_t repeats = 1;
  /// See `repeats`.
  double min_seconds = 0;
};

/// @brief The figures of rvq::evaluate(); errors are per vector (sums over the D values).
struct eval_report {
  std::size_t vectors = 0;            ///< rows evaluated
  std::size_t dim = 0;                ///< D
  std::size_t beam = 1;               ///< beam width of the encode
  double mse = 0;                     ///< mean over vectors of `||x - x_hat||^2`
  double mean_squared_norm = 0;       ///< mean over vectors of `||x||^2`
  double rel_mse = 0;                 ///< mse / mean_squared_norm (0 for all-zero data)
  std::vector<double> layer_mse;      ///< mse after each layer (eval_options::per_layer)
  std::vector<double> layer_rel_mse;  ///< layer_mse / mean_squared_norm
  std::size_t bits_per_vector = 0;    ///< bits of one code
  footprint_info footprint;           ///< memory and arithmetic at this beam width
  double encode_seconds = 0;          ///< fastest timed encode of all rows
  double vectors_per_second = 0;      ///< vectors / encode_seconds
};

/**
 * @brief rvq::evaluate() a block of rows at a time, for data larger than memory: start(), then
 * add() each block in order, then report(). The report equals evaluate()'s on all the rows at
 * once, bit for bit (each row's error is summed in double, and the rows' exactly, so that any
 * blocks in any order give the same figures), except encode_seconds and vectors_per_second,
 * which add up the blocks' timed encodes.
 * @tparam Q a quantizer or a pipeline, which must outlive the evaluation
 */
template <class Q>
class evaluation {
 public:
  /// An evaluation of `q` with `opt`. Errors: empty_input (no layers), bad_beam.
  static result<evaluation> start(const Q& q, const eval_options& opt = {}) {
    if (q.layers() == 0) return status{errc::empty_input, msg::no_codebooks};
    if (opt.beam == 0 || opt.beam > q.min_codewords()) return status{errc::bad_beam, msg::bad_beam};
    evaluation e(q, opt);
    e.r_.dim = q.dim();
    e.r_.beam = opt.beam;
    e.r_.bits_per_vector = q.bits_per_vector();
    e.r_.footprint = q.memory_footprint(opt.beam);
    if (opt.per_layer) e.layers_.resize(q.layers());
    return e;
  }

  /**
   * @brief Encodes, decodes and measures the rows of `x`, after those of earlier calls.
   * @return dimension_mismatch, or the first encode/decode error, whose row (where()) counts
   * from the first row of the first call; nothing of `x` is counted then.
   */
  status add(matrix_view<const float> x) {
    const Q& q = *q_;
    const std::size_t n = x.rows(), d = q.dim(), nl = q.layers();
    if (x.cols() != d) return status{errc::dimension_mismatch, "input vector length differs from the model dimension"};
    if (n == 0) return {};
    codes_.resize(n * nl);
    const matrix_view<std::uint16_t> cv(codes_.data(), n, nl);
    const encode_options eo{opt_.beam, opt_.icm_rounds};
    if (!ws_ready_) ws_ = workspace(q.batch_workspace_for(eo)), ws_ready_ = true;  // one slice per worker
    double spent = 0, best = 0;
    const std::size_t repeats = opt_.repeats ? opt_.repeats : 1;
    for (std::size_t rep = 0; rep < repeats && (rep < 1 || spent < opt_.min_seconds); ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      const status s = q.encode_batch(x, cv, eo, ws_.view());
      if (!s) return s.has_where() ? status{s.code(), s.message(), s.where() + r_.vectors, s.where_unit()} : s;
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = rep == 0 || t < best ? t : best;
      spent += t;
    }
    y_.resize(n * d);
    RVQ_TRY(
        q.decode_batch(matrix_view<const std::uint16_t>(codes_.data(), n, nl), matrix_view<float>(y_.data(), n, d)));
    r_.encode_seconds += best;
    r_.vectors += n;
    // Each row's sums in double, in order; the rows' sums exactly (the same in any order).
    for (std::size_t i = 0; i < n; ++i) {
      double err = 0, norm = 0;
      for (std::size_t t = 0; t < d; ++t) {
        const double v = static_cast<double>(x.row(i)[t]), e = v - static_cast<double>(y_[i * d + t]);
        err += e * e;
        norm += v * v;
      }
      err_.add(err);
      norm_.add(norm);
    }
    if (opt_.per_layer) {
      std::vector<float> partial(d), c(d);
      for (std::size_t i = 0; i < n; ++i) {
        for (float& v : partial) v = 0.0f;
        for (std::size_t l = 0; l < nl; ++l) {
          q.expand_codeword(l, codes_[i * nl + l], c.data());
          double e = 0;
          for (std::size_t t = 0; t < d; ++t) {
            partial[t] += c[t];
            const double diff = static_cast<double>(x.row(i)[t]) - static_cast<double>(partial[t]);
            e += diff * diff;
          }
          layers_[l].add(e);
        }
      }
    }
    return {};
  }

  /// Rows measured so far.
  std::size_t vectors() const noexcept { return r_.vectors; }

  /// The figures of the rows added so far.
  eval_report report() const {
    eval_report r = r_;
    const std::size_t n = r.vectors;
    r.vectors_per_second = r.encode_seconds > 0 ? static_cast<double>(n) / r.encode_seconds : 0.0;
    r.mse = n ? err_.value() / static_cast<double>(n) : 0.0;
    r.mean_squared_norm = n ? norm_.value() / static_cast<double>(n) : 0.0;
    r.rel_mse = r.mean_squared_norm > 0 ? r.mse / r.mean_squared_norm : 0.0;
    for (const auto& l : layers_) {
      const double e = n ? l.value() / static_cast<double>(n) : 0.0;
      r.layer_mse.push_back(e);
      r.layer_rel_mse.push_back(r.mean_squared_norm > 0 ? e / r.mean_squared_norm : 0.0);
    }
    return r;
  }

  /**
   * @brief Adds up the evaluations of the processes of a row group (rvq::mpi::row_group: each
   * rank evaluated its rows), collectively: afterwards every process reports the figures of all
   * the rows, as one evaluation of them all would, bit for bit (the sums are exact). The encode
   * time becomes the slowest process's: the rows were encoded in parallel.
   */
  template <class Group>
  void gather(const Group& grp) {
    std::vector<std::int64_t> digits;
    auto put = [&](detail::long_sum& s) {
      s.normalize();
      digits.insert(digits.end(), s.digits(), s.digits() + detail::long_sum::size);
    };
    put(err_);
    put(norm_);
    for (auto& l : layers_) put(l);
    grp.sum(digits.data(), digits.size());
    std::size_t at = 0;
    auto take = [&](detail::long_sum& s) {
      std::copy(digits.begin() + static_cast<std::ptrdiff_t>(at),
                digits.begin() + static_cast<std::ptrdiff_t>(at + detail::long_sum::size), s.digits());
      at += detail::long_sum::size;
      s.normalize();
    };
    take(err_);
    take(norm_);
    for (auto& l : layers_) take(l);
    std::uint64_t n = r_.vectors;
    grp.sum(&n, 1);
    r_.vectors = static_cast<std::size_t>(n);
    r_.encode_seconds = grp.max(r_.encode_seconds);
  }

 private:
  evaluation(const Q& q, const eval_options& opt) : q_(&q), opt_(opt) {}

  const Q* q_;
  eval_options opt_;
  eval_report r_;
  detail::long_sum err_, norm_;           // sums over rows of ||x - x_hat||^2 and ||x||^2
  std::vector<detail::long_sum> layers_;  // of ||x - x_hat_l||^2 per layer
  std::vector<std::uint16_t> codes_;
  std::vector<float> y_;
  workspace ws_;
  bool ws_ready_ = false;
};

/**
 * @brief Encodes the rows of `x` with `q` (a quantizer or a pipeline), decodes them and measures
 * the reconstruction error, overall and (optionally) after each layer, with the encode timed.
 * Sums run in double over `x - x_hat` computed in double. For data larger than memory, see
 * rvq::evaluation, which gives the same figures a block of rows at a time.
 * @return the report, or the first encode/decode error (dimension_mismatch, non_finite, bad_beam, ...).
 */
template <class Q>
result<eval_report> evaluate(const Q& q, matrix_view<const float> x, const eval_options& opt = {}) {
  if (q.layers() == 0) return status{errc::empty_input, msg::no_codebooks};
  if (x.cols() != q.dim())
    return status{errc::dimension_mismatch, "input vector length differs from the model dimension"};
  auto e = evaluation<Q>::start(q, opt);
  if (!e) return e.error();
  RVQ_TRY(e->add(x));
  return e->report();
}

}  // namespace rvq
