/// @file residual.hpp
/// @brief Residual training: k-means on the data for layer 1, on the residuals for layer 2, ...
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <type_traits>
#include <unordered_map>
#include <vector>
#include "../quantizer.hpp"
#include "kmeans.hpp"
#include "refine.hpp"

namespace rvq {

/// One Lloyd iteration of one layer, or one round of the joint refinement, for progress reports.
struct train_progress {
  std::size_t layer = 0;       ///< layer being trained (0-based); equal to `layers` during the refinement
  std::size_t layers = 0;      ///< layers in all
  std::size_t iteration = 0;   ///< k-means iteration of this layer (refinement: round)
  std::size_t iterations = 0;  ///< k-means iterations planned for this layer (refinement: rounds)
  double mse = 0;              ///< mean squared residual norm of the layer being trained, in `dims` dimensions
  std::size_t dims = 0;        ///< dimensions k-means works in (progressive steps use fewer than D)
};

/// Options of train().
struct train_options {
  std::size_t layers = 8;  ///< L
  /// Codewords: one value for every layer, or one per layer.
  std::vector<std::size_t> codewords{256};
  std::size_t iterations = 25;  ///< Lloyd iterations per layer
  std::uint64_t seed = 1;       ///< same seed, data and build: same codebooks bit for bit
  /// Beam width used to compute the residuals each next layer trains on (1: greedy).
  std::size_t beam = 1;
  /// With beam > 1: how many of each row's beam entries the next layer trains on (0: all of
  /// them, as FAISS's ResidualQuantizer trains by default; 1: the best only, faster). In all at
  /// most `sample` rows: a larger product keeps fewer entries per row.
  std::size_t beam_entries = 0;
  /// Seeding of each layer's k-means.
  kmeans_init init = kmeans_init::kmeanspp;
  /// Progressive-dimension steps of each layer's k-means (see kmeans_options; 0 turns it off).
  std::size_t progressive_steps = 10;
  /// Lloyd iterations of each progressive step.
  std::size_t progressive_iterations = 10;
  /// Rounds of joint least-squares refinement after residual training (l2 only; 0 turns it off):
  /// see refine(). The refinement encodes with `beam`, so a model is refined for its encoder.
  std::size_t refine = 20;
  /// ICM rounds of the encoder the model is refined for (refine_options::icm_rounds; 0: none).
  std::size_t icm_rounds = 0;
  /// Held-out rows of the refinement (refine_options::holdout; 0: none).
  std::size_t refine_holdout = 0;
  /// Train on at most this many rows, a seeded uniform subsample of larger inputs (0: all rows).
  std::size_t sample = 500000;
  /// Optional, called once per k-means iteration and refinement round, on the calling thread.
  /// It may throw to stop the training (a user's Ctrl-C): train() lets the exception through and
  /// returns nothing.
  std::function<void(const train_progress&)> progress;
};

/// What train() measured.
struct train_report {
  std::vector<double> layer_mse;  ///< training MSE after each layer (mean squared residual norm)
  std::size_t reseeded = 0;       ///< empty clusters re-seeded, all layers
  std::size_t rows_used = 0;      ///< training rows after subsampling
  refine_report refinement;       ///< what the joint refinement did (empty when off)
};

/**
 * @brief The rows train() keeps of an input of `n` rows when train_options::sample is `m` (below
 * n) and its seed `seed`: a seeded uniform sample without replacement, in ascending order. It
 * takes memory in proportion to `m`, not `n`, so that a caller can read just those rows of a file
 * larger than memory (as `rvq train` does) and train on them with the same result.
 */
inline std::vector<std::size_t> sample_rows(std::size_t n, std::size_t m, std::uint64_t seed) {
  if (m > n) m = n;
  // A partial Fisher-Yates shuffle of 0 .. n-1, with the moved entries in a map: position p holds
  // moved[p] when present, else p.
  std::unordered_map<std::size_t, std::size_t> moved;
  moved.reserve(2 * m);
  auto at = [&](std::size_t p) {
    const auto it = moved.find(p);
    return it == moved.end() ? p : it->second;
  };
  std::vector<std::size_t> idx(m);
  detail::rng r(seed ^ 0x5851f42d4c957f2dull);
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t t = j + static_cast<std::size_t>(r.below(n - j));
    const std::size_t vj = at(j), vt = at(t);
    idx[j] = vt;
    moved[t] = vj;  // position j is never read again
  }
  std::sort(idx.begin(), idx.end());
  return idx;
}

namespace detail {

/**
 * @brief Beam-aware training's state: every training row's `beam` best partial codes so far,
 * with their accumulated scores, as beam search keeps them. The next layer's k-means trains on
 * the residuals of each row's best `entries` of them (FAISS's ResidualQuantizer trains on all of
 * them by default; the best one alone is its `Train_top_beam`).
 */
struct training_beam {
  std::size_t beam = 1;              ///< entries kept per row
  std::size_t layers = 0;            ///< L: codes per entry
  std::size_t live = 1;              ///< entries per row so far (the same for every row)
  std::size_t entries = 1;           ///< residuals written per row for the next layer (at most `live`)
  std::vector<std::uint16_t> codes;  ///< rows x beam x layers, ranked best first
  std::vector<float> cum;            ///< rows x beam: accumulated scores, as beam search ranks them
  std::vector<float> residuals;      ///< rows x entries x D: the next layer's training rows
};

/**
 * @brief One layer of beam search over every training row (layer `l`, just trained: `one`, a
 * one-layer model of its codewords `cl`; the earlier layers' codewords first in `books`, layer after layer),
 * with beam search's own scores and selection (the store's scores(), encoders::select_layer() on
 * the backend's target): each row's entries extend by every codeword and the `beam` best
 * survive, in beam search's order. Writes the best `max_entries` (0: all) survivors' residuals.
 * @return false when a score is not finite (an overflow: the input is finite).
 */
template <class Parallel, class Quantizer>
bool beam_layer(const Quantizer& one, const float* cl, matrix_view<const float> data, const std::vector<float>& books,
                const std::vector<std::size_t>& ks, std::size_t l, std::size_t max_entries, training_beam& tb) {
  using store_t = typename Quantizer::store_type;
  using kernels = typename Quantizer::kernels;
  constexpr std::size_t br = store_t::block_rows;
  const std::size_t n = data.rows(), d = data.cols(), k = ks[l], nl = tb.layers, beam = tb.beam;
  const std::size_t live = tb.live;
  const std::size_t next = live * k < beam ? live * k : beam;
  const std::size_t entries = max_entries == 0 || max_entries > next ? next : max_entries;
  std::vector<std::size_t> first(l + 1, 0);  // float offset of each earlier layer's codebook
  for (std::size_t j = 0; j < l; ++j) first[j + 1] = first[j] + ks[j] * d;
  std::atomic<bool> finite{true};
  tb.residuals.resize(n * entries * d);
  constexpr std::size_t chunk = 64;  // rows per task
  parallel_traits<Parallel>::for_each((n + chunk - 1) / chunk, [&](std::size_t task) {
    std::vector<float> res(live * d), sc(live * k), cum(live), sel(encoders::select_scratch<kernels>(beam));
    std::vector<float> top_score(beam), top_total(beam);
    std::vector<std::uint32_t> top_parent(beam), top_code(beam);
    std::vector<std::uint16_t> old(live * nl);
    // Beam search's ranking state over this task's buffers (select_layer() reads the entries'
    // accumulated scores and fills the top lists; codes are kept in `tb`).
    encoders::beam_state st{cum.data(), nullptr, top_score.data(),  top_total.data(), nullptr,
                            nullptr,    nullptr, top_parent.data(), top_code.data(),  nl};
    const std::size_t end = (task + 1) * chunk < n ? (task + 1) * chunk : n;
    for (std::size_t i = task * chunk; i < end; ++i) {
      std::uint16_t* codes = tb.codes.data() + i * beam * nl;
      std::copy(codes, codes + live * nl, old.begin());
      std::copy(tb.cum.begin() + static_cast<std::ptrdiff_t>(i * beam),
                tb.cum.begin() + static_cast<std::ptrdiff_t>(i * beam + live), cum.begin());
      for (std::size_t b = 0; b < live; ++b) {  // each entry's residual, subtracted in layer order
        float* r = res.data() + b * d;
        std::copy(data.row(i), data.row(i) + d, r);
        for (std::size_t j = 0; j < l; ++j) {
          const float* c = books.data() + first[j] + old[b * nl + j] * d;
          for (std::size_t t = 0; t < d; ++t) r[t] -= c[t];
        }
      }
      for (std::size_t b0 = 0; b0 < live; b0 += br) {
        const std::size_t m = live - b0 < br ? live - b0 : br;
        const float* rows[br];
        for (std::size_t j = 0; j < m; ++j) rows[j] = res.data() + (b0 + j) * d;
        one.store().scores(0, rows, m, sc.data() + b0 * k, k);
      }
      bool ok = true;
      for (std::size_t c = 0; c < live * k; ++c) ok = ok && std::isfinite(cum[c / k] + sc[c]);
      if (!ok) {  // no ranking of NaN: report the overflow
        finite = false;
        return;
      }
      std::size_t ntop = 0;                             // all scores finite: next (the beam, or every candidate)
      encoders::with_lane_ops<kernels>([&](auto ops) {  // beam search's own selection
        using Ops = decltype(ops);
        constexpr std::size_t groups = Ops::select_groups;
        for (std::size_t b = 0; b < live; ++b) Ops::group_minima(sc.data() + b * k, k, sel.data() + b * groups);
        encoders::select_layer<Ops>(sc.data(), k, live, k, beam, sel.data(), sel.data() + beam * groups, st, ntop);
      });
      for (std::size_t e = 0; e < ntop; ++e) {
        const std::size_t parent = top_parent[e], c = top_code[e];
        for (std::size_t j = 0; j < l; ++j) codes[e * nl + j] = old[parent * nl + j];
        codes[e * nl + l] = static_cast<std::uint16_t>(c);
        tb.cum[i * beam + e] = top_total[e];
        if (e < entries) {
          float* out = tb.residuals.data() + (i * entries + e) * d;
          const float* r = res.data() + parent * d;
          const float* cw = cl + c * d;
          for (std::size_t t = 0; t < d; ++t) out[t] = r[t] - cw[t];
        }
      }
    }
  });
  tb.live = next;
  tb.entries = entries;
  return finite;
}

/// train() over a row group's rows (this process's part in `data`); every process calls it.
template <class Config, class Group>
result<quantizer<Config>> train_rows(matrix_view<const float> data, const train_options& opt, train_report* report,
                                     const Group& input) {
  using q_t = quantizer<Config>;
  RVQ_TRY(agree_width(data, input));  // a process without rows may pass 0 x 0
  if (input.total() == 0 || data.cols() == 0) return status{errc::empty_input, msg::empty_training};
  if (opt.layers == 0) return status{errc::invalid_argument, "training needs at least one layer"};
  if (opt.layers > max_layers) return status{errc::invalid_argument, msg::layers_out_of_range, opt.layers, "layers"};
  if (opt.icm_rounds && !std::is_same<typename Config::metric, l2>::value)
    return status{errc::unsupported, "ICM refinement (icm_rounds) works on l2 float models"};
  if (opt.codewords.size() != 1 && opt.codewords.size() != opt.layers)
    return status{errc::invalid_argument, "give one codewords value, or one per layer"};
  std::vector<std::size_t> ks(opt.layers);
  std::size_t kmin = static_cast<std::size_t>(-1);
  for (std::size_t l = 0; l < opt.layers; ++l) {
    ks[l] = opt.codewords.size() == 1 ? opt.codewords[0] : opt.codewords[l];
    if (ks[l] == 0) return status{errc::invalid_argument, "a layer needs at least one codeword", l, "layer"};
    if (ks[l] > max_codewords) return status{errc::too_many_codewords, msg::k_out_of_range, l, "layer"};
    if (ks[l] > input.total())
      return status{errc::too_many_codewords, "K is above the number of training vectors", l, "layer"};
    kmin = ks[l] < kmin ? ks[l] : kmin;
  }
  RVQ_TRY(check_shape(opt.layers, ks.data(), data.cols()));
  if (opt.beam == 0 || opt.beam > kmin) return status{errc::bad_beam, msg::bad_beam};
  status finite;
  for (std::size_t i = 0; i < data.rows() && finite.ok(); ++i)
    if (first_non_finite(data.row(i), data.cols()) != data.cols())
      finite = status{errc::non_finite, msg::training_non_finite, input.offset() + i, "row"};
  RVQ_TRY(input.agree(finite));

  // Subsample large inputs (seeded, uniform, without replacement; rows kept in input order).
  std::vector<float> sampled;
  Group grp = input;
  if (opt.sample != 0 && input.total() > opt.sample) {
    const std::size_t m = opt.sample, d0 = data.cols(), off = input.offset();
    const std::vector<std::size_t> idx = sample_rows(input.total(), m, opt.seed);
    const auto lo = std::lower_bound(idx.begin(), idx.end(), off);
    const auto hi = std::lower_bound(lo, idx.end(), off + data.rows());
    const std::size_t mine = static_cast<std::size_t>(hi - lo);
    sampled.resize(mine * d0);
    for (std::size_t j = 0; j < mine; ++j) {
      const float* x = data.row(lo[static_cast<std::ptrdiff_t>(j)] - off);
      std::copy(x, x + d0, sampled.begin() + static_cast<std::ptrdiff_t>(j * d0));
    }
    data = matrix_view<const float>(sampled.data(), mine, d0);
    grp = input.regroup(mine);
    for (std::size_t l = 0; l < opt.layers; ++l)
      if (ks[l] > m)
        return status{errc::too_many_codewords, "K is above the number of sampled training rows", l, "layer"};
  }
  // The input is finite: any NaN or Inf from here on is an overflow of an intermediate value
  // (norms, residuals, centroid sums, inner products near the float range), reported as such.
  auto overflow = [](status s, std::size_t layer) {
    return s.code() == errc::non_finite ? status{errc::non_finite, msg::training_overflow, layer, "layer"} : s;
  };
  const std::size_t n = data.rows(), d = data.cols();
  std::vector<float> res;
  training_beam tb;
  std::size_t max_entries = 0;  // beam entries per row the next layer trains on (0: all)
  if (opt.beam == 1) {
    res.resize(n * d);
    for (std::size_t i = 0; i < n; ++i)
      std::copy(data.row(i), data.row(i) + d, res.begin() + static_cast<std::ptrdiff_t>(i * d));
  } else {
    tb.beam = opt.beam;
    tb.layers = opt.layers;
    tb.codes.assign(n * opt.beam * opt.layers, 0);
    tb.cum.assign(n * opt.beam, 0.0f);
    max_entries = opt.beam_entries;
    // Within `sample` training rows in all, as the input itself.
    if (opt.sample != 0) {
      const std::size_t fit = opt.sample / grp.total() ? opt.sample / grp.total() : 1;
      if (max_entries == 0 || max_entries > fit) max_entries = fit;
    }
  }
  // The rows layer l trains on: the input, then (greedy) the residuals or (beam) the beam's.
  matrix_view<const float> rview(res.data(), n, d);
  Group lgrp = grp;
  if (opt.beam != 1) rview = data;

  std::vector<float> codebooks, centroids;
  std::vector<std::uint32_t> assign;
  train_report rep;
  for (std::size_t l = 0; l < opt.layers; ++l) {
    std::uint64_t st = opt.seed ^ (0x9e3779b97f4a7c15ull * (l + 1));
    kmeans_options ko;
    ko.iterations = opt.iterations;
    ko.seed = detail::splitmix64(st);
    ko.init = opt.init;
    ko.progressive_steps = opt.progressive_steps;
    ko.progressive_iterations = opt.progressive_iterations;
    kmeans_info info;
    std::function<void(const kmeans_progress&)> cb;
    if (opt.progress)
      cb = [&](const kmeans_progress& p) {
        opt.progress(train_progress{l, opt.layers, p.iteration, p.iterations, p.mse, p.dims});
      };
    RVQ_TRY(overflow(kmeans_rows<Config>(rview, ks[l], ko, centroids, &assign, &info, cb, lgrp), l));
    rep.reseeded += info.reseeded;
    codebooks.insert(codebooks.end(), centroids.begin(), centroids.end());

    if (opt.beam == 1) {
      // The kernel's assignment is exactly the greedy encode of this layer: subtract in place.
      for (std::size_t i = 0; i < n; ++i) {
        const float* c = centroids.data() + assign[i] * d;
        float* r = res.data() + i * d;
        for (std::size_t t = 0; t < d; ++t) r[t] -= c[t];
      }
    } else {
      // Beam search extends every row's entries by this layer; the next layer trains on the
      // residuals of the best `max_entries` of them (FAISS's default: all of them).
      auto one = q_t::from_codebooks(span<const float>(centroids), span<const std::size_t>(&ks[l], 1), d);
      if (!one) return overflow(one.error(), l);
      const bool finite_scores =
          beam_layer<typename Config::parallel>(*one, centroids.data(), data, codebooks, ks, l, max_entries, tb);
      RVQ_TRY(grp.agree(finite_scores ? status{} : status{errc::non_finite, msg::training_overflow, l, "layer"}));
      rview = matrix_view<const float>(tb.residuals.data(), n * tb.entries, d);
      lgrp = grp.regroup(n * tb.entries);
    }
    const matrix_view<const float> best =  // each row's best residual (greedy: its only one)
        opt.beam == 1 ? rview : matrix_view<const float>(tb.residuals.data(), n, d, tb.entries * d);
    rep.layer_mse.push_back(exact_total(best, true, grp) / static_cast<double>(grp.total()));
  }
  rep.rows_used = grp.total();
  auto q = q_t::from_codebooks(span<const float>(codebooks), span<const std::size_t>(ks), d);
  if (!q) return overflow(q.error(), opt.layers - 1);
  if (opt.refine > 0 && std::is_same<typename Config::metric, l2>::value) {
    refine_options ro;
    ro.rounds = opt.refine;
    ro.beam = opt.beam;
    ro.icm_rounds = opt.icm_rounds;
    ro.holdout = opt.refine_holdout;
    if (opt.progress)
      ro.progress = [&](std::size_t round, std::size_t rounds, double mse) {
        opt.progress(train_progress{opt.layers, opt.layers, round, rounds, mse, d});
      };
    auto refined = refine_rows(*q, data, ro, &rep.refinement, grp);
    if (!refined) return overflow(refined.error(), opt.layers - 1);
    q = std::move(refined);
  }
  if (report) *report = rep;
  return q;
}

}  // namespace detail

/**
 * @brief Train an RVQ model on the rows of `data` (N x D).
 * @return the quantizer, or: empty_input, non_finite (where = row), too_many_codewords (K above
 *         N or 65536), bad_beam, invalid_argument (zero layers, a codewords list of the wrong length).
 * Same seed, data and build give the same codebooks bit for bit.
 *
 * Complexity per layer: k-means on N x D residuals, about `(iterations + 1) N K D`
 * multiply-adds for the final stage plus, for l2 with progressive steps S, the PCA (`D^3` and
 * `min(N, pca_rows) D^2`), the rotation (`N D^2`) and `progressive_iterations N K d_s` per step;
 * with beam > 1, re-encoding the training set after each layer.
 */
template <class Config = default_config>
result<quantizer<Config>> train(matrix_view<const float> data, const train_options& opt,
                                train_report* report = nullptr) {
  return detail::train_rows<Config>(data, opt, report, local_rows(data.rows()));
}

}  // namespace rvq
