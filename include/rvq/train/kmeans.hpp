/// @file kmeans.hpp
/// @brief k-means: k-means++ seeding, Lloyd iterations, re-seeding of empty clusters, seeded.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>
#include "../core/names.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../detail/meta.hpp"
#include "../detail/random.hpp"
#include "../policies.hpp"
#include "pca.hpp"
#include "row_group.hpp"

namespace rvq {

/// How k-means chooses its initial centroids.
enum class kmeans_init : std::uint8_t {
  kmeanspp,         ///< k-means++: each next seed drawn with probability proportional to D(x)^2
  greedy_kmeanspp,  ///< k-means++ drawing 2 + ln K candidates per step and keeping the one that
                    ///< lowers the potential most (less drawn to outliers; costs 2 + ln K times more)
  random            ///< K distinct rows drawn uniformly
};

/// The names of kmeans_init, as the CLI and Python spell them.
inline constexpr named<kmeans_init> kmeans_init_names[] = {{"kmeans++", kmeans_init::kmeanspp},
                                                           {"greedy-kmeans++", kmeans_init::greedy_kmeanspp},
                                                           {"random", kmeans_init::random}};
/// The name of `i` ("kmeans++", "greedy-kmeans++", "random").
constexpr const char* to_string(kmeans_init i) noexcept { return name_of(kmeans_init_names, i); }

/// Options of kmeans().
struct kmeans_options {
  std::size_t iterations = 25;               ///< Lloyd iterations at most (stops early when no assignment changes)
  std::uint64_t seed = 1;                    ///< same seed, data and build: same centroids bit for bit
  kmeans_init init = kmeans_init::kmeanspp;  ///< seeding
  /// Progressive-dimension schedule (l2 only; 0 or 1 turns it off): the data is rotated onto its
  /// principal components and clustered in the top `D^(s/S)` dimensions for s = 1 .. S-1, each
  /// step warm-starting the next, before the final Lloyd iterations in all D dimensions. Seeding
  /// happens in the first step. It finds markedly better optima on residual data.
  std::size_t progressive_steps = 10;
  /// Lloyd iterations of each progressive step before the final one.
  std::size_t progressive_iterations = 10;
  /// Rows used to estimate the principal components (evenly spaced).
  std::size_t pca_rows = 16384;
};

/// One Lloyd iteration, for progress reports.
struct kmeans_progress {
  std::size_t iteration = 0;   ///< iteration, counted over every stage
  std::size_t iterations = 0;  ///< iterations planned over every stage
  double mse = 0;              ///< mean squared distance of the points to their centroids before this update
  std::size_t dims = 0;        ///< dimensions clustered in (below D during progressive-dimension steps)
};

/// What a kmeans() run did.
struct kmeans_info {
  std::size_t iterations_run = 0;  ///< Lloyd updates performed
  std::size_t reseeded = 0;        ///< empty clusters re-seeded, over all iterations
  double mse = 0;                  ///< mean squared distance to the final centroids
};

namespace detail {

/// Squared L2 distance with eight partial sums (vectorizes; used where order needs no match).
inline float squared_distance(const float* RVQ_RESTRICT a, const float* RVQ_RESTRICT b, std::size_t d) noexcept {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t t = 0;
  for (; t + 8 <= d; t += 8)
    for (std::size_t j = 0; j < 8; ++j) {
      const float diff = a[t + j] - b[t + j];
      acc[j] += diff * diff;
    }
  float s = 0.0f;
  for (; t < d; ++t) s += (a[t] - b[t]) * (a[t] - b[t]);
  for (float v : acc) s += v;
  return s;
}

/// Nearest codeword of layer `l` for every row of `x`, through the encode kernel.
template <class Parallel, class Store>
void assign_rows(const Store& store, std::size_t l, matrix_view<const float> x, std::uint32_t* idx) {
  constexpr std::size_t br = Store::block_rows;
  const std::size_t blocks = (x.rows() + br - 1) / br;
  parallel_traits<Parallel>::for_each(blocks, [&](std::size_t b) {
    const std::size_t i = b * br;
    const std::size_t n = x.rows() - i < br ? x.rows() - i : br;
    const float* rows[br];
    float score[br];
    for (std::size_t j = 0; j < n; ++j) rows[j] = x.row(i + j);
    store.argmin(l, rows, n, idx + i, score);
  });
}

/// Draw a row (global index) with probability proportional to its weight (local rows: `weight`,
/// all >= 0, exact sum over the group `total` > 0). The running sum is exact (grid `g`, for the
/// weights' bound), so each process scans its rows from the exact sum of the rows before.
template <class Group>
std::size_t draw_weighted(const std::vector<float>& weight, const exact_grid& g, double total, rng& r,
                          const Group& grp) {
  const double u = r.uniform() * total;
  double mine[2] = {0.0, 0.0}, cum[2];
  for (float w : weight) g.add(static_cast<double>(w), mine[0], mine[1]);
  grp.before(mine, cum, 2);
  const std::size_t none = static_cast<std::size_t>(-1);
  std::size_t found = none, last_positive = 0;
  for (std::size_t i = 0; i < weight.size(); ++i) {
    if (weight[i] > 0.0f) last_positive = grp.offset() + i;
    g.add(static_cast<double>(weight[i]), cum[0], cum[1]);
    if (cum[0] + cum[1] > u && weight[i] > 0.0f) {
      found = grp.offset() + i;
      break;
    }
  }
  found = grp.min_index(found);
  return found != none ? found : grp.max_index(last_positive);
}

/// k-means++ seeding, plain or greedy (see kmeans_init), over the group's rows `x`.
template <class Group>
void kmeanspp_seed(matrix_view<const float> x, std::size_t k, rng& r, bool greedy, std::vector<float>& centroids,
                   const Group& grp) {
  const std::size_t n = x.rows(), d = x.cols(), all = grp.total();
  centroids.assign(k * d, 0.0f);
  std::size_t trials = 1;
  if (greedy) {
    std::size_t lg = 0;
    while ((std::size_t{1} << (lg + 1)) <= k) ++lg;
    trials = 2 + static_cast<std::size_t>(static_cast<double>(lg) * 0.6931471805599453);  // 2 + ln K
  }
  std::vector<float> mind(n), cand(trials * n), rows(trials * d);
  std::vector<double> pot(2 * trials);
  std::vector<std::size_t> pick(trials);
  pick[0] = static_cast<std::size_t>(r.below(all));
  std::size_t chosen = 0;
  double total = 0.0;
  exact_grid grid;  // for every potential: no distance exceeds those to the first seed
  for (std::size_t j = 0; j < k; ++j) {
    // Evaluate each candidate's new minimum distances and potential; keep the lowest potential.
    const std::size_t tries = j == 0 ? 1 : trials;
    for (std::size_t c = 0; c < tries; ++c) {
      grp.row(x, pick[c], rows.data() + c * d);
      const float* p = rows.data() + c * d;
      float* m = cand.data() + c * n;
      for (std::size_t i = 0; i < n; ++i) {
        const float dist = squared_distance(x.row(i), p, d);
        m[i] = (j == 0 || dist < mind[i]) ? dist : mind[i];
      }
    }
    if (j == 0) grid = exact_grid::make(static_cast<double>(grp.max(max_abs(cand.data(), n))), all);
    std::fill(pot.begin(), pot.end(), 0.0);
    for (std::size_t c = 0; c < tries; ++c)
      for (std::size_t i = 0; i < n; ++i) grid.add(static_cast<double>(cand[c * n + i]), pot[2 * c], pot[2 * c + 1]);
    grp.sum(pot.data(), 2 * tries);
    double best = 0.0;
    for (std::size_t c = 0; c < tries; ++c) {
      const double v = pot[2 * c] + pot[2 * c + 1];
      if (c == 0 || v < best) {
        best = v;
        chosen = c;
      }
    }
    std::copy(rows.begin() + static_cast<std::ptrdiff_t>(chosen * d),
              rows.begin() + static_cast<std::ptrdiff_t>((chosen + 1) * d),
              centroids.begin() + static_cast<std::ptrdiff_t>(j * d));
    std::copy(cand.begin() + static_cast<std::ptrdiff_t>(chosen * n),
              cand.begin() + static_cast<std::ptrdiff_t>((chosen + 1) * n), mind.begin());
    total = best;
    if (j + 1 == k) break;
    for (std::size_t c = 0; c < trials; ++c)  // every point on a centroid: uniform draws
      pick[c] = total > 0.0 ? draw_weighted(mind, grid, total, r, grp) : static_cast<std::size_t>(r.below(all));
  }
}

/// K distinct rows drawn uniformly (partial Fisher-Yates over the group's rows, the moved
/// entries in a map).
template <class Group>
void random_seed(matrix_view<const float> x, std::size_t k, rng& r, std::vector<float>& centroids, const Group& grp) {
  const std::size_t n = grp.total(), d = x.cols();
  std::unordered_map<std::size_t, std::size_t> moved;
  auto at = [&](std::size_t p) {
    const auto it = moved.find(p);
    return it == moved.end() ? p : it->second;
  };
  centroids.assign(k * d, 0.0f);
  for (std::size_t j = 0; j < k; ++j) {
    const std::size_t t = j + static_cast<std::size_t>(r.below(n - j));
    const std::size_t vj = at(j), vt = at(t);
    moved[t] = vj;
    moved[j] = vt;
    grp.row(x, vt, centroids.data() + j * d);
  }
}

}  // namespace detail

namespace detail {

template <class Group>
void seed_centroids(matrix_view<const float> x, std::size_t k, kmeans_init init, rng& r, std::vector<float>& centroids,
                    const Group& grp) {
  if (init == kmeans_init::random)
    random_seed(x, k, r, centroids, grp);
  else
    kmeanspp_seed(x, k, r, init == kmeans_init::greedy_kmeanspp, centroids, grp);
}

/// Lloyd iterations from the given centroids; the assignment step is the encode kernel.
/// On return `a` is the assignment to the returned centroids and info.mse their error. Sums are
/// exact (exact_grid), so the centroids do not depend on how the group splits the rows.
template <class Config, class Group, class Report>
status lloyd(matrix_view<const float> data, std::size_t k, std::size_t iterations, std::vector<float>& centroids,
             std::vector<std::uint32_t>& a, kmeans_info& info, Report&& report, const Group& grp) {
  using kernels = typename simd_traits<typename Config::simd>::kernels;
  using store_t = dense_store<typename Config::metric, kernels, dynamic_extents>;
  const std::size_t n = data.rows(), d = data.cols(), all = grp.total();
  std::vector<std::uint32_t> prev(n);
  std::vector<float> dist(n);
  std::vector<double> sums(2 * k * d);  // coarse parts, then fine parts
  std::vector<std::uint64_t> counts(k);
  a.assign(n, 0);
  store_t store;
  const std::size_t one_layer[1] = {k};
  float bound = 0.0f;
  for (std::size_t i = 0; i < n; ++i) bound = std::max(bound, max_abs(data.row(i), d));
  const exact_grid grid = exact_grid::make(static_cast<double>(grp.max(bound)), all);
  auto assign = [&]() -> status {
    RVQ_TRY(store_t::build(span<const float>(centroids), span<const std::size_t>(one_layer), d, store));
    assign_rows<typename Config::parallel>(store, 0, data, a.data());
    for (std::size_t i = 0; i < n; ++i) dist[i] = squared_distance(data.row(i), centroids.data() + a[i] * d, d);
    info.mse = exact_total(matrix_view<const float>(dist.data(), n, 1), false, grp) / static_cast<double>(all);
    return {};
  };

  RVQ_TRY(assign());
  for (std::size_t it = 0; it < iterations; ++it) {
    report(kmeans_progress{it, iterations, info.mse, d});
    if (grp.all(it > 0 && a == prev)) break;  // converged: the centroids are the means of their points
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), std::uint64_t{0});
    for (std::size_t i = 0; i < n; ++i) {
      grid.add_row(data.row(i), d, sums.data() + a[i] * d, sums.data() + (k + a[i]) * d);
      ++counts[a[i]];
    }
    grp.sum(sums.data(), sums.size());
    grp.sum(counts.data(), k);
    // Empty clusters take the points farthest from their centroids (ties: lowest index).
    std::size_t empty = 0;
    for (std::size_t c = 0; c < k; ++c) empty += counts[c] == 0;
    if (empty > 0) {
      const auto far = largest_rows(dist, empty, grp);
      std::size_t next = 0;
      for (std::size_t c = 0; c < k; ++c) {
        if (counts[c] != 0) continue;
        grp.row(data, far[next++].second, centroids.data() + c * d);
      }
      info.reseeded += empty;
    }
    for (std::size_t c = 0; c < k; ++c) {
      if (counts[c] == 0) continue;
      const double inv = 1.0 / static_cast<double>(counts[c]);
      for (std::size_t t = 0; t < d; ++t)
        centroids[c * d + t] = static_cast<float>((sums[c * d + t] + sums[(k + c) * d + t]) * inv);
    }
    ++info.iterations_run;
    prev.swap(a);
    RVQ_TRY(assign());
  }
  return {};
}

/// Seeds in the top principal dimension, then Lloyd in ever more principal dimensions; returns
/// centroids in the original coordinates, ready for the final full-dimension iterations.
template <class Config, class Group, class Report>
status progressive_init(matrix_view<const float> data, std::size_t k, const kmeans_options& opt, rng& r,
                        std::vector<float>& centroids, kmeans_info& info, Report&& report, const Group& grp) {
  using kernels = typename simd_traits<typename Config::simd>::kernels;
  using rot_t = dense_store<ip, kernels, dynamic_extents>;
  const std::size_t n = data.rows(), d = data.cols();
  pca_basis pca;
  RVQ_TRY(detail::fit_pca(data, opt.pca_rows, pca, grp));
  // y_i = R (x_i - mean), computed as <x_i, R_j> - <mean, R_j> through the scoring kernel
  // (metric ip scores -<x, c>, so the rotation's rows act as codewords).
  rot_t rot;
  const std::size_t dims[1] = {d};
  RVQ_TRY(rot_t::build(span<const float>(pca.components), span<const std::size_t>(dims), d, rot));
  std::vector<float> shift(d), y(n * d);
  for (std::size_t j = 0; j < d; ++j) shift[j] = kernels::dot(pca.mean.data(), pca.components.data() + j * d, d);
  for (std::size_t i = 0; i < n; i += rot_t::block_rows) {
    const std::size_t m = n - i < rot_t::block_rows ? n - i : rot_t::block_rows;
    const float* rows[rot_t::block_rows];
    for (std::size_t j = 0; j < m; ++j) rows[j] = data.row(i + j);
    rot.scores(0, rows, m, y.data() + i * d, d);
    for (std::size_t j = 0; j < m; ++j)
      for (std::size_t t = 0; t < d; ++t) y[(i + j) * d + t] = -y[(i + j) * d + t] - shift[t];
  }
  std::vector<float> cur, next;
  std::vector<std::uint32_t> a;
  std::size_t dprev = 0;
  for (std::size_t step = 1; step < opt.progressive_steps; ++step) {
    const double e = static_cast<double>(step) / static_cast<double>(opt.progressive_steps);
    std::size_t di = static_cast<std::size_t>(std::pow(static_cast<double>(d), e));
    di = std::min(std::max<std::size_t>(di, 1), d);
    if (di <= dprev) continue;
    const matrix_view<const float> yv(y.data(), n, di, d);
    if (dprev == 0) {
      seed_centroids(yv, k, opt.init, r, next, grp);
    } else {
      next.assign(k * di, 0.0f);  // warm start, new dimensions at the mean
      for (std::size_t c = 0; c < k; ++c)
        std::copy(cur.begin() + static_cast<std::ptrdiff_t>(c * dprev),
                  cur.begin() + static_cast<std::ptrdiff_t>((c + 1) * dprev),
                  next.begin() + static_cast<std::ptrdiff_t>(c * di));
    }
    RVQ_TRY(lloyd<Config>(yv, k, opt.progressive_iterations, next, a, info, report, grp));
    cur.swap(next);
    dprev = di;
  }
  if (dprev == 0) {  // a schedule with no intermediate step: seed in the original space
    seed_centroids(data, k, opt.init, r, centroids, grp);
    return {};
  }
  // Back to the original coordinates: c = mean + R^T c_pca (dimensions past dprev are 0).
  centroids.assign(k * d, 0.0f);
  for (std::size_t c = 0; c < k; ++c) {
    float* out = centroids.data() + c * d;
    for (std::size_t t = 0; t < d; ++t) out[t] = pca.mean[t];
    for (std::size_t j = 0; j < dprev; ++j) {
      const float v = cur[c * dprev + j];
      const float* rj = pca.components.data() + j * d;
      for (std::size_t t = 0; t < d; ++t) out[t] += v * rj[t];
    }
  }
  return {};
}

}  // namespace detail

namespace detail {

/// kmeans() over a row group's rows (this process's part in `data`); every process calls it.
template <class Config, class Group>
status kmeans_rows(matrix_view<const float> data, std::size_t k, const kmeans_options& opt,
                   std::vector<float>& centroids, std::vector<std::uint32_t>* assignment, kmeans_info* info,
                   const std::function<void(const kmeans_progress&)>& progress, const Group& grp) {
  using metric = typename Config::metric;
  RVQ_TRY(agree_width(data, grp));  // a process without rows may pass 0 x 0
  if (grp.total() == 0 || data.cols() == 0) return {errc::empty_input, "k-means needs at least one vector"};
  if (k == 0) return {errc::invalid_argument, "k-means needs k >= 1"};
  if (k > grp.total()) return {errc::too_many_codewords, "K is above the number of training vectors"};
  if (k > 65536) return {errc::too_many_codewords, "K above 65536 does not fit the code type"};
  status finite;
  for (std::size_t i = 0; i < data.rows() && finite.ok(); ++i)
    if (first_non_finite(data.row(i), data.cols()) != data.cols())
      finite = status{errc::non_finite, msg::training_non_finite, grp.offset() + i, "row"};
  RVQ_TRY(grp.agree(finite));

  rng r(opt.seed);
  kmeans_info local;
  std::size_t done = 0, total = opt.iterations;
  auto report = [&](const kmeans_progress& p) {
    if (progress) progress(kmeans_progress{done++, total, p.mse, p.dims});
  };
  const bool progressive = std::is_same<metric, l2>::value && opt.progressive_steps > 1 && data.cols() > 1;
  if (progressive) {
    total += (opt.progressive_steps - 1) * opt.progressive_iterations;
    RVQ_TRY(progressive_init<Config>(data, k, opt, r, centroids, local, report, grp));
  } else {
    seed_centroids(data, k, opt.init, r, centroids, grp);
  }
  std::vector<std::uint32_t> a;
  RVQ_TRY(lloyd<Config>(data, k, opt.iterations, centroids, a, local, report, grp));
  if (assignment) assignment->swap(a);
  if (info) *info = local;
  return {};
}

}  // namespace detail

/**
 * @brief Cluster the rows of `data` into `k` centroids.
 * @tparam Config policy bundle: its metric decides the assignment (centroids are means), its
 *         simd backend and parallel strategy run the assignment through the encode kernel.
 * @param data       N x D finite values (N >= k)
 * @param k          clusters, 1 to min(N, 65536)
 * @param opt        iterations and seed
 * @param centroids  out: k x D row-major
 * @param assignment out (optional): nearest centroid of each row, for the final centroids
 * @param info       out (optional): iterations run, re-seeded clusters, final MSE
 * @param progress   optional callback, once per Lloyd iteration
 */
template <class Config = default_config>
status kmeans(matrix_view<const float> data, std::size_t k, const kmeans_options& opt, std::vector<float>& centroids,
              std::vector<std::uint32_t>* assignment = nullptr, kmeans_info* info = nullptr,
              const std::function<void(const kmeans_progress&)>& progress = {}) {
  return detail::kmeans_rows<Config>(data, k, opt, centroids, assignment, info, progress, local_rows(data.rows()));
}

}  // namespace rvq
