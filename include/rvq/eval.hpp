/// @file eval.hpp
/// @brief rvq::evaluate: the one evaluation of a model on data (reconstruction error overall and
/// after each layer, bits, bytes, arithmetic and encode speed), used by the CLI's `eval`,
/// `compress` and `sweep`, by rvq::compress() and by the tests.
#pragma once
#include "config.hpp"
#if !RVQ_HOSTED || RVQ_NO_HEAP
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>
#include "core/footprint.hpp"
#include "core/span.hpp"
#include "core/status.hpp"
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
 * @brief Encodes the rows of `x` with `q` (a quantizer or a pipeline), decodes them and measures
 * the reconstruction error, overall and (optionally) after each layer, with the encode timed.
 * Sums run in double over `x - x_hat` computed in double.
 * @return the report, or the first encode/decode error (dimension_mismatch, non_finite, bad_beam, ...).
 */
template <class Q>
result<eval_report> evaluate(const Q& q, matrix_view<const float> x, const eval_options& opt = {}) {
  const std::size_t n = x.rows(), d = q.dim(), nl = q.layers();
  if (nl == 0) return status{errc::empty_input, msg::no_codebooks};
  if (x.cols() != d) return status{errc::dimension_mismatch, "input vector length differs from the model dimension"};
  if (opt.beam == 0 || opt.beam > q.min_codewords()) return status{errc::bad_beam, msg::bad_beam};
  eval_report r;
  r.vectors = n;
  r.dim = d;
  r.beam = opt.beam;
  r.bits_per_vector = q.bits_per_vector();
  r.footprint = q.memory_footprint(opt.beam);

  std::vector<std::uint16_t> codes(n * nl);
  const matrix_view<std::uint16_t> cv(codes.data(), n, nl);
  const encode_options eo{opt.beam, opt.icm_rounds};
  workspace ws(q.batch_workspace_for(eo));  // one slice per worker of the parallel policy
  double spent = 0;
  const std::size_t repeats = opt.repeats ? opt.repeats : 1;
  for (std::size_t rep = 0; rep < repeats && (rep < 1 || spent < opt.min_seconds); ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    RVQ_TRY(q.encode_batch(x, cv, eo, ws.view()));
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.encode_seconds = rep == 0 || t < r.encode_seconds ? t : r.encode_seconds;
    spent += t;
  }
  r.vectors_per_second = r.encode_seconds > 0 ? static_cast<double>(n) / r.encode_seconds : 0.0;

  std::vector<float> y(n * d);
  RVQ_TRY(q.decode_batch(matrix_view<const std::uint16_t>(codes.data(), n, nl), matrix_view<float>(y.data(), n, d)));
  double err = 0, norm = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < d; ++t) {
      const double v = static_cast<double>(x.row(i)[t]), e = v - static_cast<double>(y[i * d + t]);
      err += e * e;
      norm += v * v;
    }
  r.mse = n ? err / static_cast<double>(n) : 0.0;
  r.mean_squared_norm = n ? norm / static_cast<double>(n) : 0.0;
  r.rel_mse = r.mean_squared_norm > 0 ? r.mse / r.mean_squared_norm : 0.0;

  if (opt.per_layer) {
    r.layer_mse.assign(nl, 0.0);
    std::vector<float> partial(d), c(d);
    for (std::size_t i = 0; i < n; ++i) {
      for (float& v : partial) v = 0.0f;
      for (std::size_t l = 0; l < nl; ++l) {
        q.expand_codeword(l, codes[i * nl + l], c.data());
        double e = 0;
        for (std::size_t t = 0; t < d; ++t) {
          partial[t] += c[t];
          const double diff = static_cast<double>(x.row(i)[t]) - static_cast<double>(partial[t]);
          e += diff * diff;
        }
        r.layer_mse[l] += e;
      }
    }
    for (double& e : r.layer_mse) {
      e = n ? e / static_cast<double>(n) : 0.0;
      r.layer_rel_mse.push_back(r.mean_squared_norm > 0 ? e / r.mean_squared_norm : 0.0);
    }
  }
  return r;
}

}  // namespace rvq
