/// @file refine.hpp
/// @brief Joint codebook refinement: least-squares refits of all layers given the codes, then
/// re-encoding, round after round; dead codewords re-seeded; codeword usage statistics.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>
#include "../quantizer.hpp"
#include "row_group.hpp"

namespace rvq {

/// Options of refine().
struct refine_options {
  /// Rounds of (least-squares refit, re-encode) at most; 0 returns the model unchanged.
  std::size_t rounds = 20;
  /// Block Gauss-Seidel sweeps over the layers per refit (each sweep lowers the error).
  std::size_t sweeps = 4;
  /// Encoder the codes come from and the model is refined for (1: greedy).
  std::size_t beam = 1;
  /// ICM rounds of that encoder (encode_options::icm_rounds; 0: none): codes from beam search
  /// refined by ICM, and codebooks refit to them, as LSQ alternates the two.
  std::size_t icm_rounds = 0;
  /// A round must lower the error by at least this fraction, else refinement stops.
  double min_gain = 1e-4;
  /// Halvings of a round's step when the full refit does not lower the error by `min_gain`: the
  /// codebooks move to old + s (refit - old) for s = 1/2, 1/4, ... instead. The refit is optimal
  /// for the old codes, not for the codes the encoder picks from it; on deep models (16 layers
  /// and more) a greedy or beam encoder re-encodes a full step worse than the model it started
  /// from, while a shorter one still lowers the error. 0: full steps only.
  std::size_t step_halvings = 3;
  /// Every `holdout`-th training row (0: none, the default) is left out of the least-squares
  /// fits, and the rounds are judged by the error on those rows. It is a conservative guard
  /// against overfitting a training set that is small for the model: the residual k-means before
  /// it has seen those rows, so they favour the unrefined model. Used when it gives at least 100 rows.
  std::size_t holdout = 0;
  /// Optional: called after each round with the round (0-based), the rounds planned and the
  /// training MSE under the encoder.
  std::function<void(std::size_t, std::size_t, double)> progress;
};

/// What refine() did.
struct refine_report {
  double mse_before = 0;           ///< training MSE of the input model under the encoder
  double mse_after = 0;            ///< training MSE of the returned model under the encoder
  double holdout_before = 0;       ///< MSE of the held-out rows, input model (0: no holdout)
  double holdout_after = 0;        ///< MSE of the held-out rows, returned model
  std::vector<double> round_mse;   ///< training MSE after each round's re-encoding (all rows)
  std::size_t dead_reseeded = 0;   ///< dead codewords re-seeded, all rounds
  std::size_t dead_remaining = 0;  ///< codewords no training vector chooses in the returned model
};

/// Use of one layer's codewords by a data set's codes.
struct layer_usage {
  std::size_t codewords = 0;   ///< K of the layer
  std::size_t used = 0;        ///< codewords chosen by at least one vector
  std::size_t dead = 0;        ///< codewords chosen by none
  std::size_t duplicates = 0;  ///< codewords identical to a lower-indexed one of the layer
  double entropy_bits = 0;     ///< entropy of the codeword frequencies (log2 K at most)
};

namespace detail {

/// Codebooks held as one array (layer after layer), readable like a quantizer's.
struct books_view {
  const std::vector<float>& values;
  const std::vector<std::size_t>& ks;
  const std::vector<std::size_t>& first;
  std::size_t d;
  std::size_t layers() const noexcept { return ks.size(); }
  std::size_t dim() const noexcept { return d; }
  std::size_t codewords(std::size_t l) const noexcept { return ks[l]; }
  const float* codeword(std::size_t l, std::size_t c) const noexcept { return values.data() + (first[l] + c) * d; }
  void expand_codeword(std::size_t l, std::size_t c, float* out) const noexcept { std::copy_n(codeword(l, c), d, out); }
};

/// Per-layer usage from codes (N x L) and the codebooks (a quantizer or a books_view).
template <class Q, class Group>
std::vector<layer_usage> usage_of(const Q& q, const std::vector<std::uint16_t>& codes, std::size_t n,
                                  const Group& grp) {
  const std::size_t nl = q.layers(), d = q.dim();
  std::vector<layer_usage> out(nl);
  for (std::size_t l = 0; l < nl; ++l) {
    const std::size_t k = q.codewords(l);
    std::vector<std::uint64_t> count(k, 0);
    for (std::size_t i = 0; i < n; ++i) ++count[codes[i * nl + l]];
    grp.sum(count.data(), k);
    const std::size_t all = grp.total();
    layer_usage& u = out[l];
    u.codewords = k;
    for (std::size_t c = 0; c < k; ++c) {
      if (count[c] == 0) {
        ++u.dead;
      } else {
        ++u.used;
        const double p = static_cast<double>(count[c]) / static_cast<double>(all);
        u.entropy_bits -= p * std::log2(p);
      }
    }
    // Duplicates: sort codeword indices by their values, compare neighbours.
    std::vector<std::size_t> idx(k);
    std::vector<float> cw(k * d);  // the layer's codewords (pq/rpq: expanded)
    for (std::size_t c = 0; c < k; ++c) {
      idx[c] = c;
      q.expand_codeword(l, c, cw.data() + c * d);
    }
    auto at = [&](std::size_t c) { return cw.data() + c * d; };
    auto less = [&](std::size_t a, std::size_t b) {
      return std::lexicographical_compare(at(a), at(a) + d, at(b), at(b) + d);
    };
    std::sort(idx.begin(), idx.end(), less);
    for (std::size_t c = 1; c < k; ++c)
      if (std::equal(at(idx[c]), at(idx[c]) + d, at(idx[c - 1]))) ++u.duplicates;
  }
  return out;
}

/// Sum over rows of ||x_i - decode(codes_i)||^2, and the residuals.
/// The residuals of the local rows under `codes`, and the exact sum of their squares over the group.
template <class Q, class Group>
status residuals(const Q& q, matrix_view<const float> data, const std::vector<std::uint16_t>& codes,
                 std::vector<float>& res, double& total, const Group& grp) {
  const std::size_t n = data.rows(), d = data.cols(), nl = q.layers();
  res.resize(n * d);
  RVQ_TRY(q.decode_batch(matrix_view<const std::uint16_t>(codes.data(), n, nl), matrix_view<float>(res.data(), n, d)));
  for (std::size_t i = 0; i < n; ++i) {
    const float* x = data.row(i);
    float* r = res.data() + i * d;
    for (std::size_t t = 0; t < d; ++t) r[t] = x[t] - r[t];
  }
  total = exact_total(matrix_view<const float>(res.data(), n, d), true, grp);
  return {};
}

/// Mean squared residual norm of the held-out rows (global index i with i % holdout == holdout - 1).
template <class Group>
double holdout_mse(const std::vector<float>& res, std::size_t n, std::size_t d, std::size_t holdout, const Group& grp) {
  const std::size_t first = (holdout - 1 + holdout - grp.offset() % holdout) % holdout;
  std::uint64_t rows = first < n ? (n - first + holdout - 1) / holdout : 0;
  const double total =
      exact_total(matrix_view<const float>(res.data() + (rows ? first * d : 0), rows, d, holdout * d), true, grp);
  grp.sum(&rows, 1);
  return rows ? total / static_cast<double>(rows) : 0.0;
}

/**
 * Least-squares refit of every layer given the codes, by block Gauss-Seidel: layer by layer,
 * each codeword becomes the mean of what its vectors need from it (their residual plus the
 * codeword), which is the exact minimizer for that layer with the others fixed. The normal
 * equations of the one-hot code matrix are never formed; each sweep costs O(N L D) and lowers
 * the error. Codewords no vector uses keep their values. `res` holds the residuals throughout.
 * With `holdout` > 0, rows i with i % holdout == holdout - 1 do not enter the fit.
 */
template <class Group>
void least_squares_sweeps(std::size_t n, std::size_t d, const std::vector<std::size_t>& ks,
                          const std::vector<std::size_t>& first, const std::vector<std::uint16_t>& codes,
                          std::size_t sweeps, std::size_t holdout, std::vector<float>& books, std::vector<float>& res,
                          const Group& grp) {
  const std::size_t nl = ks.size();
  std::vector<double> sums;
  std::vector<std::uint64_t> count;
  std::vector<float> delta;
  // Rows i (global) with i % holdout == holdout - 1 are held out.
  const std::size_t held = holdout ? (holdout - 1 + holdout - grp.offset() % holdout) % holdout : 0;
  auto fitted = [&](std::size_t i) { return holdout == 0 || i % holdout != held; };
  for (std::size_t s = 0; s < sweeps; ++s)
    for (std::size_t l = 0; l < nl; ++l) {
      const std::size_t k = ks[l];
      float* cb = books.data() + first[l] * d;
      float bound = 0.0f;
      for (std::size_t i = 0; i < n; ++i)
        if (fitted(i)) bound = std::max(bound, max_abs(res.data() + i * d, d));
      const exact_grid grid = exact_grid::make(static_cast<double>(grp.max(bound)), grp.total());
      sums.assign(2 * k * d, 0.0);  // coarse parts, then fine parts
      count.assign(k, 0);
      for (std::size_t i = 0; i < n; ++i) {
        if (!fitted(i)) continue;  // held-out rows only follow
        const std::size_t a = codes[i * nl + l];
        grid.add_row(res.data() + i * d, d, sums.data() + a * d, sums.data() + (k + a) * d);
        ++count[a];
      }
      grp.sum(sums.data(), sums.size());
      grp.sum(count.data(), k);
      delta.assign(k * d, 0.0f);  // new - old, per codeword
      for (std::size_t a = 0; a < k; ++a) {
        if (count[a] == 0) continue;
        const double inv = 1.0 / static_cast<double>(count[a]);
        for (std::size_t t = 0; t < d; ++t) {
          const double mean = (sums[a * d + t] + sums[(k + a) * d + t]) * inv;
          const float updated = static_cast<float>(static_cast<double>(cb[a * d + t]) + mean);
          delta[a * d + t] = updated - cb[a * d + t];
          cb[a * d + t] = updated;
        }
      }
      for (std::size_t i = 0; i < n; ++i) {
        const float* da = delta.data() + codes[i * nl + l] * d;
        float* r = res.data() + i * d;
        for (std::size_t t = 0; t < d; ++t) r[t] -= da[t];
      }
    }
}

/// Re-seeds every codeword no row of the group uses with the worst-reconstructed rows, worst
/// first (ties: lowest row), one per dead codeword; returns how many. With `reseeded_flags`, marks
/// them there (one flag per codeword, all layers in order; it is resized and cleared).
template <class Group>
std::size_t reseed_dead(std::size_t n, std::size_t d, const std::vector<std::size_t>& ks,
                        const std::vector<std::size_t>& first, const std::vector<std::uint16_t>& codes,
                        const std::vector<float>& res, std::vector<float>& books, const Group& grp,
                        std::vector<unsigned char>* reseeded_flags = nullptr) {
  const std::size_t nl = ks.size();
  std::vector<std::vector<std::uint64_t>> count(nl);
  std::size_t dead = 0;
  if (reseeded_flags) reseeded_flags->assign(first[nl], 0);
  for (std::size_t l = 0; l < nl; ++l) {
    count[l].assign(ks[l], 0);
    for (std::size_t i = 0; i < n; ++i) ++count[l][codes[i * nl + l]];
    grp.sum(count[l].data(), ks[l]);
    for (std::size_t a = 0; a < ks[l]; ++a) dead += count[l][a] == 0;
  }
  if (dead == 0) return 0;
  std::vector<float> err(n);
  for (std::size_t i = 0; i < n; ++i) {
    double e = 0.0;
    for (std::size_t t = 0; t < d; ++t) e += static_cast<double>(res[i * d + t]) * static_cast<double>(res[i * d + t]);
    err[i] = static_cast<float>(e);
  }
  const auto order = largest_rows(err, dead, grp);
  std::size_t next = 0, reseeded = 0;
  std::vector<float> row(d);
  for (std::size_t l = 0; l < nl; ++l)
    for (std::size_t a = 0; a < ks[l]; ++a) {
      if (count[l][a] != 0) continue;
      const std::size_t g = order[next].second;
      next = (next + 1) % order.size();
      // The row's residual plus its codeword of this layer, from the process that holds it.
      if (g - grp.offset() < n) {
        const std::size_t i = g - grp.offset();
        const float* cur = books.data() + (first[l] + codes[i * nl + l]) * d;
        for (std::size_t t = 0; t < d; ++t) row[t] = res[i * d + t] + cur[t];
      }
      grp.share(g, row.data(), d);
      std::copy(row.begin(), row.end(), books.begin() + static_cast<std::ptrdiff_t>((first[l] + a) * d));
      if (reseeded_flags) (*reseeded_flags)[first[l] + a] = 1;
      ++reseeded;
    }
  return reseeded;
}

}  // namespace detail

/**
 * @brief Codeword usage of a data set under an encoder: per layer, codewords used and dead,
 * duplicates, and the entropy of the code frequencies.
 * @return the usage, or the encoder's errors (dimension_mismatch, non_finite, bad_beam).
 */
template <class Config>
result<std::vector<layer_usage>> codeword_usage(const quantizer<Config>& q, matrix_view<const float> data,
                                                std::size_t beam = 1) {
  std::vector<std::uint16_t> codes(data.rows() * q.layers());
  RVQ_TRY(
      q.encode_batch(data, matrix_view<std::uint16_t>(codes.data(), data.rows(), q.layers()), encode_options{beam}));
  return detail::usage_of(q, codes, data.rows(), local_rows(data.rows()));
}

namespace detail {

/// refine() over a row group's rows (this process's part in `data`); every process calls it.
template <class Config, class Group>
result<quantizer<Config>> refine_rows(const quantizer<Config>& q, matrix_view<const float> data,
                                      const refine_options& opt, refine_report* report, const Group& grp) {
  using q_t = quantizer<Config>;
  const std::size_t n = data.rows(), d = q.dim(), nl = q.layers(), all = grp.total();
  if (nl == 0) return status{errc::empty_input, msg::model_no_codebooks};
  // Agreed over the processes: one without rows may pass 0 x 0.
  const bool wrong = data.cols() != d && (n != 0 || grp.parts() == 1);
  RVQ_TRY(grp.agree(wrong ? status{errc::dimension_mismatch, "training data dimension differs from the model's"}
                          : status{}));
  if (n == 0) data = matrix_view<const float>(data.data(), 0, d);
  if (all == 0) return status{errc::empty_input, msg::empty_training};
  std::vector<std::size_t> ks(nl), first(nl + 1, 0);
  for (std::size_t l = 0; l < nl; ++l) {
    ks[l] = q.codewords(l);
    first[l + 1] = first[l] + ks[l];
  }
  std::vector<float> books(q.codeword(0, 0), q.codeword(0, 0) + first[nl] * d);
  auto encode = [&](const q_t& m, std::vector<std::uint16_t>& codes) {
    codes.resize(n * nl);
    return grp.agree(m.encode_batch(data, matrix_view<std::uint16_t>(codes.data(), n, nl),
                                    encode_options{opt.beam, opt.icm_rounds}));
  };
  auto build = [&](const std::vector<float>& b) {
    return q_t::from_codebooks(span<const float>(b), span<const std::size_t>(ks), d);
  };

  refine_report rep;
  const std::size_t holdout = opt.holdout && all / opt.holdout >= 100 ? opt.holdout : 0;
  std::vector<std::uint16_t> codes;
  std::vector<float> res;
  double total = 0.0;
  // A model's score: the held-out rows' error when there are some, else the training error.
  auto score = [&]() { return holdout ? holdout_mse(res, n, d, holdout, grp) : total / static_cast<double>(all); };
  RVQ_TRY(encode(q, codes));
  RVQ_TRY(residuals(q, data, codes, res, total, grp));
  rep.mse_before = total / static_cast<double>(all);
  rep.holdout_before = holdout ? score() : 0.0;
  double best_score = score(), best_mse = rep.mse_before;
  std::vector<float> best_books = books;
  std::vector<std::uint16_t> best_codes = codes;
  auto keep = [&]() {
    best_score = score();
    best_mse = total / static_cast<double>(all);
    best_books = books;
    best_codes = codes;
  };

  std::vector<float> start, refit;   // a round's codebooks before and after the full refit
  std::vector<unsigned char> fresh;  // codewords the round re-seeded: they take the refit's value
  for (std::size_t round = 0; round < opt.rounds; ++round) {
    start = books;
    least_squares_sweeps(n, d, ks, first, codes, opt.sweeps, holdout, books, res, grp);
    rep.dead_reseeded += reseed_dead(n, d, ks, first, codes, res, books, grp, &fresh);
    refit = books;
    // The full step first; while it does not gain enough, half of the last one (the same on
    // every process: the scores are the group's).
    bool enough = false;
    double mse = 0.0, step = 1.0;
    for (std::size_t h = 0; h <= opt.step_halvings && !enough; ++h, step *= 0.5) {
      if (h > 0)
        for (std::size_t c = 0; c < first[nl]; ++c) {
          if (fresh[c]) continue;
          for (std::size_t t = c * d; t < (c + 1) * d; ++t)
            books[t] = static_cast<float>(static_cast<double>(start[t]) +
                                          step * (static_cast<double>(refit[t]) - static_cast<double>(start[t])));
        }
      auto m = build(books);
      if (!m) return m.error();
      RVQ_TRY(encode(*m, codes));
      RVQ_TRY(residuals(*m, data, codes, res, total, grp));
      mse = total / static_cast<double>(all);
      const double sc = score();
      enough = sc < best_score * (1.0 - opt.min_gain);
      if (sc < best_score) keep();
    }
    rep.round_mse.push_back(mse);
    if (opt.progress) opt.progress(round, opt.rounds, mse);
    if (!enough) break;
  }

  // Codewords still unused by the best model: re-seed, refit, re-encode; keep when no worse.
  books = best_books;
  codes = best_codes;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const auto use = usage_of(books_view{books, ks, first, d}, codes, n, grp);
    std::size_t dead = 0;
    for (const auto& u : use) dead += u.dead;
    if (dead == 0) break;
    auto cur = build(books);
    RVQ_TRY(residuals(*cur, data, codes, res, total, grp));
    rep.dead_reseeded += reseed_dead(n, d, ks, first, codes, res, books, grp);
    auto m = build(books);
    if (!m) return m.error();
    RVQ_TRY(encode(*m, codes));
    RVQ_TRY(residuals(*m, data, codes, res, total, grp));
    least_squares_sweeps(n, d, ks, first, codes, 1, holdout, books, res, grp);
    auto m2 = build(books);
    if (!m2) return m2.error();
    RVQ_TRY(encode(*m2, codes));
    RVQ_TRY(residuals(*m2, data, codes, res, total, grp));
    if (score() <= best_score * (1.0 + 1e-6))
      keep();
    else
      break;
  }
  auto out = build(best_books);
  if (!out) return out.error();
  rep.mse_after = best_mse;
  rep.holdout_after = holdout ? best_score : 0.0;
  for (const auto& u : usage_of(*out, best_codes, n, grp)) rep.dead_remaining += u.dead;
  if (report) *report = rep;
  return out;
}

}  // namespace detail

/**
 * @brief Joint refinement of a trained model on its training data: each round refits every
 * layer's codebook by least squares given the current codes (block Gauss-Seidel, see
 * detail::least_squares_sweeps), re-seeds dead codewords from the worst-reconstructed vectors,
 * and re-encodes with `opt.beam`. When the re-encoded error of that full step does not fall by
 * `opt.min_gain`, the round tries up to `opt.step_halvings` shorter steps toward the refit (1/2,
 * 1/4, ...); rounds stop when none gains that much (the best model seen is returned). With `opt.holdout`, the error
 * judged is that of held-out training rows, which the fits do not see. A last pass re-seeds codewords that are still
 * dead and keeps the result when it is no worse.
 *
 * Complexity per round: one encode of the data (one more per shorter step tried) plus
 * `opt.sweeps` passes of O(N L D).
 * @return the refined model, or errors of the encoder (dimension_mismatch, non_finite, bad_beam).
 */
template <class Config>
result<quantizer<Config>> refine(const quantizer<Config>& q, matrix_view<const float> data, const refine_options& opt,
                                 refine_report* report = nullptr) {
  return detail::refine_rows(q, data, opt, report, local_rows(data.rows()));
}

}  // namespace rvq
