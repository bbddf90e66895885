/// @file compress.hpp
/// @brief rvq::compress(): a dense model's codebooks to the pq or rpq storage
/// (rvq::product_codebooks), fitted to the codewords and, given data, to the data.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>
#include "../detail/random.hpp"
#include "../pipeline.hpp"
#include "../eval.hpp"
#include "../quantizer.hpp"
#include "../storage/product_codebooks.hpp"
#include "../storage/projection.hpp"
#include "kmeans.hpp"

namespace rvq {

/// Options of compress().
struct compress_options {
  storage_id storage = storage_id::pq;   ///< pq or rpq
  std::size_t subspaces = 0;             ///< M; 0: D/4 (D/2 or D when 4 does not divide D)
  unsigned bits = 8;                     ///< b: 2^b entries per sub-codebook (1 to 8)
  element_id element = element_id::f32;  ///< sub-codebook values: f32 or int8 (symmetric, one scale per sub-space)
  bool seeded = false;                   ///< rpq: indices regenerated from `seed` (none stored)
  bool shared = false;                   ///< one set of sub-codebooks for every layer
  std::uint64_t seed = 1;                ///< seed of the indices (seeded) or of the fit
  /// Iterations of the codeword fit (k-means per sub-space; rpq stored: least squares and
  /// re-assignment) and, with data, of the data fit of each layer.
  std::size_t iterations = 10;
};

/// What compress() achieved.
struct compress_report {
  std::size_t dense_bytes = 0;      ///< bytes of the dense f32 codewords
  std::size_t stored_bytes = 0;     ///< bytes the compressed model stores
  double codeword_error = 0;        ///< sum ||c - c'||^2 / sum ||c||^2 over all codewords (after the fit)
  std::vector<double> layer_error;  ///< the same per layer
  bool data_fit = false;            ///< the sub-codebooks were fitted to data
  double dense_mse = 0;             ///< data: greedy MSE per vector of the dense model
  double codeword_fit_mse = 0;      ///< data: greedy MSE of the codeword fit alone
  double mse = 0;                   ///< data: greedy MSE of the result
};

namespace detail {

/// Default M: sub-vectors of 4 values, else 2, else 1.
inline std::size_t default_subspaces(std::size_t d) noexcept { return d % 4 == 0 ? d / 4 : d % 2 == 0 ? d / 2 : d; }

/// Float sub-codebooks of a product model, being fitted (int8 applied at the end).
struct product_fit {
  product_codebooks pc;           // shape, indices (materialized for seeded models too)
  std::vector<float> sub;         // sets x M x E x sd
  std::vector<std::uint8_t> idx;  // every layer's [m][c]
  std::size_t m = 0, sd = 0, e = 0;
  std::vector<std::size_t> first;  // offsets of layers in idx (M x K units)
  float* entry(std::size_t set, std::size_t mm, std::size_t j) { return sub.data() + ((set * m + mm) * e + j) * sd; }
  std::uint8_t& index(std::size_t l, std::size_t mm, std::size_t c) { return idx[first[l] + mm * pc.k[l] + c]; }
};

/// Least squares with the indices fixed: every entry becomes the mean of the sub-vectors of the
/// codewords that use it (entries no codeword uses keep their value).
inline void fit_entries(product_fit& f, const float* cw, std::size_t dim) {
  const std::size_t sets = f.pc.sets();
  std::vector<double> sum(sets * f.m * f.e * f.sd, 0.0);
  std::vector<std::size_t> count(sets * f.m * f.e, 0);
  std::size_t row = 0;
  for (std::size_t l = 0; l < f.pc.layers(); ++l)
    for (std::size_t c = 0; c < f.pc.k[l]; ++c, ++row)
      for (std::size_t mm = 0; mm < f.m; ++mm) {
        const std::size_t g = (f.pc.set_of(l) * f.m + mm) * f.e + f.index(l, mm, c);
        ++count[g];
        for (std::size_t t = 0; t < f.sd; ++t) sum[g * f.sd + t] += cw[row * dim + mm * f.sd + t];
      }
  for (std::size_t g = 0; g < count.size(); ++g)
    if (count[g])
      for (std::size_t t = 0; t < f.sd; ++t)
        f.sub[g * f.sd + t] = static_cast<float>(sum[g * f.sd + t] / static_cast<double>(count[g]));
}

/// Every codeword's sub-vectors to their nearest entry (stored indices); returns whether any changed.
inline bool reassign(product_fit& f, const float* cw, std::size_t dim) {
  bool changed = false;
  std::size_t row = 0;
  for (std::size_t l = 0; l < f.pc.layers(); ++l)
    for (std::size_t c = 0; c < f.pc.k[l]; ++c, ++row)
      for (std::size_t mm = 0; mm < f.m; ++mm) {
        const float* piece = cw + row * dim + mm * f.sd;
        std::size_t best = 0;
        float bd = squared_distance(piece, f.entry(f.pc.set_of(l), mm, 0), f.sd);
        for (std::size_t j = 1; j < f.e; ++j) {
          const float dj = squared_distance(piece, f.entry(f.pc.set_of(l), mm, j), f.sd);
          if (dj < bd) bd = dj, best = j;
        }
        std::uint8_t& ix = f.index(l, mm, c);
        changed |= ix != best;
        ix = static_cast<std::uint8_t>(best);
      }
  return changed;
}

/// pq: k-means of the sub-vectors of every set and sub-space (the codewords' pieces).
inline status kmeans_entries(product_fit& f, const float* cw, std::size_t dim, const compress_options& opt) {
  std::vector<std::size_t> row0(f.pc.layers() + 1, 0);
  for (std::size_t l = 0; l < f.pc.layers(); ++l) row0[l + 1] = row0[l] + f.pc.k[l];
  kmeans_options ko;
  ko.iterations = opt.iterations;
  ko.seed = opt.seed;
  ko.progressive_steps = 0;
  for (std::size_t set = 0; set < f.pc.sets(); ++set)
    for (std::size_t mm = 0; mm < f.m; ++mm) {
      const std::size_t l0 = f.pc.shared ? 0 : set, l1 = f.pc.shared ? f.pc.layers() : set + 1;
      std::vector<float> pieces;
      for (std::size_t r = row0[l0]; r < row0[l1]; ++r)
        pieces.insert(pieces.end(), cw + r * dim + mm * f.sd, cw + r * dim + (mm + 1) * f.sd);
      const std::size_t n = row0[l1] - row0[l0], k = n < f.e ? n : f.e;
      std::vector<float> centroids;
      std::vector<std::uint32_t> assign;
      ko.seed = opt.seed + set * f.m + mm;
      using piece_config = config<f32, l2, dense, sequential, scalar>;
      const status s =
          kmeans<piece_config>(matrix_view<const float>(pieces.data(), n, f.sd), k, ko, centroids, &assign);
      if (!s) return s;
      for (std::size_t j = 0; j < f.e; ++j)  // entries beyond the pieces (K < 2^b) repeat the first
        std::copy_n(centroids.data() + (j < k ? j : 0) * f.sd, f.sd, f.entry(set, mm, j));
      std::size_t i = 0;
      for (std::size_t l = l0; l < l1; ++l)
        for (std::size_t c = 0; c < f.pc.k[l]; ++c) f.index(l, mm, c) = static_cast<std::uint8_t>(assign[i++]);
    }
  return {};
}

/// The fit as product_codebooks: f32 values or int8 with one symmetric scale per set and sub-space.
inline product_codebooks finish(const product_fit& f) {
  product_codebooks pc = f.pc;
  if (!pc.seeded) pc.indices = f.idx;
  if (pc.element == element_id::f32) {
    pc.values = f.sub;
    return pc;
  }
  const std::size_t per = f.e * f.sd;
  pc.qvalues.assign(f.sub.size(), 0);
  pc.scales.assign(pc.sets() * f.m, 1.0f);
  for (std::size_t g = 0; g < pc.scales.size(); ++g) {
    float amax = 0.0f;
    for (std::size_t i = 0; i < per; ++i) amax = std::max(amax, std::fabs(f.sub[g * per + i]));
    const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
    pc.scales[g] = scale;
    for (std::size_t i = 0; i < per; ++i) {
      const float q = std::nearbyint(f.sub[g * per + i] / scale);
      pc.qvalues[g * per + i] = static_cast<std::int8_t>(std::max(-127.0f, std::min(127.0f, q)));
    }
  }
  return pc;
}

/// Back from (possibly int8) product codebooks to the float fit (the values as the search sees them).
inline void load_values(product_fit& f, const product_codebooks& pc) {
  for (std::size_t set = 0; set < pc.sets(); ++set)
    for (std::size_t mm = 0; mm < f.m; ++mm)
      for (std::size_t j = 0; j < f.e; ++j)
        for (std::size_t t = 0; t < f.sd; ++t) f.entry(set, mm, j)[t] = pc.value(set, mm, j, t);
}

/// Greedy MSE per vector of a quantizer on data (rvq::evaluate(), without the per-layer pass).
template <class Q>
status greedy_mse(const Q& q, matrix_view<const float> x, double& mse) {
  eval_options o;
  o.per_layer = false;
  auto r = evaluate(q, x, o);
  if (!r) return r.error();
  mse = r->mse;
  return {};
}

/// Per layer, in order: Lloyd iterations on the data's residuals with the indices fixed (assign
/// each residual to its nearest codeword of the layer, then every entry to the mean of the
/// sub-vectors assigned through it); later layers fit the residuals of the compressed earlier ones.
template <class Config>
status fit_to_data(product_fit& f, matrix_view<const float> x, const compress_options& opt) {
  using one_t = quantizer<config<f32, typename Config::metric, rpq, typename Config::parallel, typename Config::simd>>;
  const std::size_t n = x.rows(), dim = f.pc.dim;
  std::vector<float> res(n * dim);
  for (std::size_t i = 0; i < n; ++i) std::copy_n(x.row(i), dim, res.data() + i * dim);
  std::vector<std::uint16_t> codes(n);
  for (std::size_t l = 0; l < f.pc.layers(); ++l) {
    product_codebooks one;  // layer l alone, indices stored
    one.kind = storage_id::rpq;
    one.dim = dim;
    one.k = {f.pc.k[l]};
    one.subspaces = f.m;
    one.bits = f.pc.bits;
    one.element = f.pc.element;
    const std::size_t per = f.m * f.e * f.sd, set = f.pc.set_of(l);
    one.indices.assign(f.idx.begin() + static_cast<std::ptrdiff_t>(f.first[l]),
                       f.idx.begin() + static_cast<std::ptrdiff_t>(f.first[l] + f.m * f.pc.k[l]));
    std::vector<float> vals(f.sub.begin() + static_cast<std::ptrdiff_t>(set * per),
                            f.sub.begin() + static_cast<std::ptrdiff_t>((set + 1) * per));
    auto quantizer_of = [&](const std::vector<float>& v) -> result<one_t> {
      product_fit tmp;
      tmp.pc = one;
      tmp.pc.element = f.pc.element;
      tmp.sub = v;
      tmp.idx = one.indices;
      tmp.m = f.m, tmp.sd = f.sd, tmp.e = f.e;
      return one_t::from_product(finish(tmp), product_search::automatic);
    };
    for (std::size_t it = 0; it <= opt.iterations; ++it) {
      auto q = quantizer_of(vals);
      if (!q) return q.error();
      RVQ_TRY(q.value().encode_batch(matrix_view<const float>(res.data(), n, dim),
                                     matrix_view<std::uint16_t>(codes.data(), n, 1)));
      if (it == opt.iterations) {  // final: the layer as it will be stored, residuals moved on
        product_fit back;
        back.m = f.m, back.sd = f.sd, back.e = f.e, back.sub = vals;
        load_values(back, q.value().store().model());
        vals = back.sub;
        for (std::size_t i = 0; i < n; ++i) q.value().store().subtract_codeword(0, codes[i], res.data() + i * dim);
        break;
      }
      std::vector<double> sum(per, 0.0);
      std::vector<std::size_t> count(f.m * f.e, 0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t mm = 0; mm < f.m; ++mm) {
          const std::size_t g = mm * f.e + one.indices[mm * f.pc.k[l] + codes[i]];
          ++count[g];
          for (std::size_t t = 0; t < f.sd; ++t) sum[g * f.sd + t] += res[i * dim + mm * f.sd + t];
        }
      for (std::size_t g = 0; g < count.size(); ++g)
        if (count[g])
          for (std::size_t t = 0; t < f.sd; ++t)
            vals[g * f.sd + t] = static_cast<float>(sum[g * f.sd + t] / static_cast<double>(count[g]));
    }
    std::copy(vals.begin(), vals.end(), f.sub.begin() + static_cast<std::ptrdiff_t>(set * per));
  }
  return {};
}

/**
 * Shared sub-codebooks, which every layer uses: rounds of a joint least-squares step on the data
 * (encode everything; each entry becomes the mean, over every vector and layer whose codeword uses
 * it, of that sub-vector of the vector minus the other layers' codewords), kept while the greedy
 * MSE falls.
 */
template <class Config>
status fit_shared_to_data(product_fit& f, matrix_view<const float> x, const compress_options& opt) {
  using q_t = quantizer<config<f32, typename Config::metric, rpq, typename Config::parallel, typename Config::simd>>;
  const std::size_t n = x.rows(), dim = f.pc.dim, nl = f.pc.layers();
  std::vector<std::uint16_t> codes(n * nl), next_codes(n * nl);
  std::vector<float> recon(n * dim);
  auto encode = [&](product_fit& g, std::vector<std::uint16_t>& c, double& mse) -> status {
    product_codebooks pc = finish(g);
    pc.kind = storage_id::rpq;
    load_values(g, pc);  // the values as stored (int8: rounded)
    auto q = q_t::from_product(pc);
    if (!q) return q.error();
    RVQ_TRY(q.value().encode_batch(x, matrix_view<std::uint16_t>(c.data(), n, nl)));
    RVQ_TRY(q.value().decode_batch(matrix_view<const std::uint16_t>(c.data(), n, nl),
                                   matrix_view<float>(recon.data(), n, dim)));
    double total = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t t = 0; t < dim; ++t) {
        const double e = static_cast<double>(x.row(i)[t]) - recon[i * dim + t];
        total += e * e;
      }
    mse = n ? total / static_cast<double>(n) : 0.0;
    return {};
  };
  double mse = 0;
  RVQ_TRY(encode(f, codes, mse));
  for (std::size_t it = 0; it < opt.iterations; ++it) {
    std::vector<double> sum(f.sub.size(), 0.0);
    std::vector<std::size_t> count(f.m * f.e, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t l = 0; l < nl; ++l)
        for (std::size_t mm = 0; mm < f.m; ++mm) {
          const std::size_t j = f.index(l, mm, codes[i * nl + l]), g = mm * f.e + j;
          const float* own = f.entry(0, mm, j);
          ++count[g];
          for (std::size_t t = 0; t < f.sd; ++t) {
            const std::size_t at = mm * f.sd + t;
            sum[g * f.sd + t] += static_cast<double>(x.row(i)[at]) - recon[i * dim + at] + own[t];
          }
        }
    // The joint step moves coupled entries together and may overshoot: halve it until the MSE falls.
    const std::vector<float> keep = recon;
    bool improved = false;
    for (double step = 1.0; step >= 1.0 / 16 && !improved; step /= 2) {
      product_fit next = f;
      for (std::size_t g = 0; g < count.size(); ++g)
        if (count[g])
          for (std::size_t t = 0; t < f.sd; ++t) {
            const double ls = sum[g * f.sd + t] / static_cast<double>(count[g]), old = f.sub[g * f.sd + t];
            next.sub[g * f.sd + t] = static_cast<float>(old + step * (ls - old));
          }
      double next_mse = 0;
      RVQ_TRY(encode(next, next_codes, next_mse));
      if (next_mse < mse) {
        f = std::move(next);
        codes.swap(next_codes);
        mse = next_mse;
        improved = true;
      } else {
        recon = keep;
      }
    }
    if (!improved) break;
  }
  return {};
}

}  // namespace detail

/**
 * @brief Compress dense codebooks (`sum(k) x dim` floats, layer after layer) to the pq or rpq storage.
 *
 * - **pq**: per layer (or once for all layers, `shared`) and sub-space, k-means with 2^b
 *   centroids over the codewords' sub-vectors; the assignment is the stored index table.
 * - **rpq**, `seeded`: indices from seeded_index(); each entry is the least-squares fit with the
 *   indices fixed (the mean of the sub-vectors that use it). Stored rpq starts from random
 *   indices and alternates that fit with re-assignment.
 * - With `data` (N x dim rows): the sub-codebooks are then fitted to the data by least squares,
 *   layer by layer on the residuals of the compressed earlier layers; `shared` ones, which every
 *   layer uses, by joint rounds kept while the MSE falls. Indices stay as above.
 * - int8: the float fit, rounded to int8 with one symmetric scale per set and sub-space.
 *
 * @tparam Config the dense model's config: its metric scores the data fit's assignments, its
 *         simd and parallel policies run them
 * @return invalid_argument for bad options (M must divide D, bits 1 to 8, seeded only for rpq),
 *         dimension_mismatch for data of another dimension, non_finite, and the errors of the fit.
 */
template <class Config = default_config>
result<product_codebooks> compress(span<const float> codebooks, span<const std::size_t> k, std::size_t dim,
                                   const compress_options& opt, matrix_view<const float> data = {},
                                   compress_report* report = nullptr) {
  if (opt.storage != storage_id::pq && opt.storage != storage_id::rpq)
    return status{errc::invalid_argument, "compress makes the pq or rpq storage"};
  if (opt.storage == storage_id::pq && opt.seeded)
    return status{errc::invalid_argument, "pq stores its indices; seeded indices are rpq (--storage rpq --seeded)"};
  if (k.empty() || dim == 0) return status{errc::empty_input, msg::model_no_codebooks};
  if (!data.valid()) return status{errc::invalid_argument, "malformed data view"};
  if (!data.empty() && data.cols() != dim)
    return status{errc::dimension_mismatch, "data vectors differ from the model dimension"};
  for (std::size_t i = 0; i < data.rows(); ++i)
    if (detail::first_non_finite(data.row(i), dim) != dim)
      return status{errc::non_finite, "data contains NaN or Inf", i, "row"};

  detail::product_fit f;
  product_codebooks& pc = f.pc;
  pc.kind = opt.storage;
  pc.element = opt.element;
  pc.dim = dim;
  pc.k.assign(k.begin(), k.end());
  pc.subspaces = opt.subspaces ? opt.subspaces : detail::default_subspaces(dim);
  pc.bits = opt.bits;
  pc.shared = opt.shared;
  pc.seeded = opt.seeded;
  pc.seed = opt.seed;
  RVQ_TRY(check_shape(pc.layers(), pc.k.data(), dim, product_max_dim));
  std::size_t total = 0;
  for (std::size_t l = 0; l < pc.layers(); ++l) total += pc.k[l];
  if (codebooks.size() != total * dim)
    return status{errc::dimension_mismatch, "codebook array size differs from the sum over layers of K x D"};
  const std::size_t bad = detail::first_non_finite(codebooks.data(), codebooks.size());
  if (bad != codebooks.size()) return status{errc::non_finite, msg::codebook_non_finite, bad, "element"};

  {  // the shape, through a model of zeros (at most 2^b times the codebook values)
    product_codebooks probe = pc;
    probe.seeded = true;
    probe.kind = storage_id::rpq;
    if (pc.bits >= 1 && pc.bits <= 8 && pc.subspaces && dim % pc.subspaces == 0 && dim <= product_max_dim) {
      if (opt.element == element_id::int8) {
        probe.qvalues.assign(probe.value_count(), 0);
        probe.scales.assign(probe.sets() * probe.subspaces, 1.0f);
      } else {
        probe.values.assign(probe.value_count(), 0.0f);
      }
    }
    RVQ_TRY(probe.validate());
  }
  f.m = pc.subspaces, f.sd = pc.sub_dim(), f.e = pc.entries();
  f.sub.assign(pc.value_count(), 0.0f);
  f.first.assign(pc.layers() + 1, 0);
  for (std::size_t l = 0; l < pc.layers(); ++l) f.first[l + 1] = f.first[l] + f.m * pc.k[l];
  f.idx.assign(f.first.back(), 0);
  const float* cw = codebooks.data();
  if (opt.storage == storage_id::pq) {
    RVQ_TRY(detail::kmeans_entries(f, cw, dim, opt));
  } else {
    detail::rng r(opt.seed);
    for (std::size_t l = 0; l < pc.layers(); ++l)
      for (std::size_t mm = 0; mm < f.m; ++mm)
        for (std::size_t c = 0; c < pc.k[l]; ++c)
          f.index(l, mm, c) =
              opt.seeded ? seeded_index(opt.seed, l, mm, c, pc.bits) : static_cast<std::uint8_t>(r.below(f.e));
    detail::fit_entries(f, cw, dim);
    for (std::size_t it = 0; !opt.seeded && it < opt.iterations; ++it) {
      if (!detail::reassign(f, cw, dim)) break;
      detail::fit_entries(f, cw, dim);
    }
  }

  compress_report rep;
  rep.dense_bytes = total * dim * sizeof(float);
  if (!data.empty()) {
    using dense_t =
        quantizer<config<f32, typename Config::metric, dense, typename Config::parallel, typename Config::simd>>;
    using prod_t =
        quantizer<config<f32, typename Config::metric, rpq, typename Config::parallel, typename Config::simd>>;
    auto dq = dense_t::from_codebooks(codebooks, k, dim);
    if (!dq) return dq.error();
    RVQ_TRY(detail::greedy_mse(dq.value(), data, rep.dense_mse));
    product_codebooks as_rpq = detail::finish(f);
    as_rpq.kind = storage_id::rpq;
    auto pq0 = prod_t::from_product(as_rpq);
    if (!pq0) return pq0.error();
    RVQ_TRY(detail::greedy_mse(pq0.value(), data, rep.codeword_fit_mse));
    if (pc.shared)
      RVQ_TRY(detail::fit_shared_to_data<Config>(f, data, opt));
    else
      RVQ_TRY(detail::fit_to_data<Config>(f, data, opt));
    rep.data_fit = true;
  }
  product_codebooks out = detail::finish(f);
  RVQ_TRY(out.validate());
  if (!data.empty()) {
    product_codebooks as_rpq = out;
    as_rpq.kind = storage_id::rpq;
    auto pq1 = quantizer<config<f32, typename Config::metric, rpq, typename Config::parallel,
                                typename Config::simd>>::from_product(as_rpq);
    if (!pq1) return pq1.error();
    RVQ_TRY(detail::greedy_mse(pq1.value(), data, rep.mse));
  }
  // Codeword fit of the result (the values as stored, int8 included).
  std::vector<float> y(dim);
  double err = 0, norm = 0;
  std::size_t row = 0;
  rep.layer_error.assign(pc.layers(), 0.0);
  for (std::size_t l = 0; l < pc.layers(); ++l) {
    double le = 0, ln = 0;
    for (std::size_t c = 0; c < pc.k[l]; ++c, ++row) {
      out.expand(l, c, y.data());
      for (std::size_t t = 0; t < dim; ++t) {
        const double v = cw[row * dim + t], e = v - y[t];
        le += e * e;
        ln += v * v;
      }
    }
    rep.layer_error[l] = ln > 0 ? le / ln : 0.0;
    err += le;
    norm += ln;
  }
  rep.codeword_error = norm > 0 ? err / norm : 0.0;
  rep.stored_bytes = out.stored_bytes();
  if (report) *report = std::move(rep);
  return out;
}

/// compress() of an f32 dense quantizer's codebooks.
template <class Config>
result<product_codebooks> compress(const quantizer<Config>& q, const compress_options& opt,
                                   matrix_view<const float> data = {}, compress_report* report = nullptr) {
  static_assert(!quantizer<Config>::is_integer && !quantizer<Config>::is_product && !quantizer<Config>::is_static,
                "rvq::compress: dense f32 models with dynamic extents (compress before quantizing)");
  if (q.layers() == 0) return status{errc::empty_input, msg::no_codebooks};
  std::vector<std::size_t> k(q.layers());
  std::size_t total = 0;
  for (std::size_t l = 0; l < q.layers(); ++l) total += (k[l] = q.codewords(l));
  return compress<Config>(span<const float>(q.codebook_data(), total * q.dim()), span<const std::size_t>(k), q.dim(),
                          opt, data, report);
}

/**
 * @brief A projection's weight matrix as pq/rpq rows (its `out` rows are the codewords of one
 * layer, fitted by compress() to the rows; the bias is kept). The weights are never expanded whole
 * again: linear_map::apply() expands a tile of rows at a time.
 * @return the errors of compress(); invalid_argument when `m` is already compressed.
 */
inline result<linear_map> compress_projection(const linear_map& m, const compress_options& opt,
                                              compress_report* report = nullptr) {
  RVQ_TRY(m.validate());
  if (m.product) return status{errc::invalid_argument, "the projection is already compressed"};
  const std::size_t k[1] = {m.out};
  auto pc = compress(span<const float>(m.weights), span<const std::size_t>(k), m.in, opt, {}, report);
  if (!pc) return pc.error();
  return linear_map::from_product(std::move(pc).value(), span<const float>(m.bias));
}

/// What compress_pipeline() did to each stage.
struct pipeline_compress_report {
  std::vector<compress_report> stages;  ///< each stage's codebooks
  /// Each stage's projections: in, out (2 per stage; stored_bytes 0 when absent or kept dense).
  std::vector<compress_report> projections;
  std::vector<bool> projection_compressed;  ///< 2 per stage: compressed (false: absent, or kept dense)
};

/**
 * @brief The pq/rpq pipeline of a dense f32 pipeline: each stage's codebooks compressed with
 * `opt`; with `projections` also each projection's weights (kept dense where the compressed form
 * would not be smaller). With `data` (latents, N x dim()), stage s is fitted to what it sees: the
 * residuals the dense pipeline leaves before it, projected by its input projection.
 * @tparam Storage rvq::pq or rvq::rpq (opt.storage must name it)
 */
template <class Storage, class Config>
result<pipeline<config<f32, typename Config::metric, Storage>>> compress_pipeline(
    const pipeline<Config>& p, const compress_options& opt, const compress_options* projections = nullptr,
    matrix_view<const float> data = {}, pipeline_compress_report* report = nullptr) {
  using out_config = config<f32, typename Config::metric, Storage>;
  if (opt.storage != storage_traits<Storage>::id)
    return status{errc::invalid_argument, "compress options name another storage than the pipeline type"};
  RVQ_TRY(p.validate());
  if (!data.empty() && data.cols() != p.dim())
    return status{errc::dimension_mismatch, "data vectors differ from the latent dimension"};
  pipeline_compress_report rep;
  std::vector<std::uint16_t> codes;
  if (!data.empty()) {
    codes.resize(data.rows() * p.layers());
    RVQ_TRY(p.encode_batch(data, matrix_view<std::uint16_t>(codes.data(), data.rows(), p.layers())));
  }
  std::vector<pipeline_stage<out_config>> stages(p.stages());
  std::size_t first = 0;
  for (std::size_t s = 0; s < p.stages(); ++s) {
    const auto& st = p.stage(s);
    std::vector<float> z;  // the stage's inputs on the data
    if (!data.empty()) {
      const std::size_t n = data.rows();
      std::vector<float> r(n * p.dim());
      for (std::size_t i = 0; i < n; ++i) std::copy(data.row(i), data.row(i) + p.dim(), r.data() + i * p.dim());
      if (first > 0) {
        std::vector<float> y(n * p.dim());
        RVQ_TRY(p.decode_batch(matrix_view<const std::uint16_t>(codes.data(), n, p.layers()),
                               matrix_view<float>(y.data(), n, p.dim()), first));
        for (std::size_t i = 0; i < r.size(); ++i) r[i] -= y[i];
      }
      if (st.in) {
        z.resize(n * st.q.dim());
        st.in->apply(matrix_view<const float>(r.data(), n, p.dim()), matrix_view<float>(z.data(), n, st.q.dim()));
      } else {
        z = std::move(r);
      }
    }
    compress_report cr;
    auto pc = compress(st.q, opt, matrix_view<const float>(z.data(), z.empty() ? 0 : data.rows(), st.q.dim()), &cr);
    if (!pc) return status{pc.error().code(), pc.error().message(), s, "stage"};
    auto q = quantizer<out_config>::from_product(std::move(pc).value());
    if (!q) return status{q.error().code(), q.error().message(), s, "stage"};
    stages[s].q = std::move(q).value();
    rep.stages.push_back(cr);
    for (int side = 0; side < 2; ++side) {
      const std::optional<linear_map>& m = side == 0 ? st.in : st.out;
      std::optional<linear_map>& dst = side == 0 ? stages[s].in : stages[s].out;
      dst = m;
      compress_report pr;
      bool done = false;
      if (m && projections) {
        compress_options po = *projections;
        if (po.subspaces && m->in % po.subspaces != 0) po.subspaces = 0;  // the default for this width
        auto c = compress_projection(*m, po, &pr);
        if (!c) return status{c.error().code(), c.error().message(), s, "stage"};
        if (c->stored_bytes() < m->stored_bytes()) {
          dst = std::move(c).value();
          done = true;
        }
      }
      rep.projections.push_back(pr);
      rep.projection_compressed.push_back(done);
    }
    first += st.q.layers();
  }
  if (report) *report = std::move(rep);
  return pipeline<out_config>::make(p.dim(), std::move(stages));
}

}  // namespace rvq
