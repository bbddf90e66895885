#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <algorithm>
#include <cmath>
#include <set>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_train_train_test {

using rvq::matrix_view;
using rvq::span;

namespace {
/// Gaussian rows whose dimension t has standard deviation 1 / (1 + t): an anisotropic spectrum,
/// on which greedy residual training leaves gains for refinement.
std::vector<float> anisotropic(std::size_t n, std::size_t d) {
  auto x = rvq_test::gaussian(n, d, 21);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < d; ++t) x[i * d + t] *= 1.0f / float(1 + t);
  return x;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("k-means recovers well-separated clusters", "[train][kmeans]", rvq_test::metrics) {
  const std::size_t c = 12, per = 50, d = 8;
  std::vector<std::size_t> label;
  const auto x = rvq_test::clusters(c, per, d, label);
  std::vector<float> centroids;
  std::vector<std::uint32_t> assign;
  rvq::kmeans_info info;
  rvq::kmeans_options opt;
  opt.iterations = 20;
  opt.seed = 3;
  opt.progressive_steps = 0;  // classic k-means++ and Lloyd (centres of equal variance on +-axes)
  REQUIRE(rvq::kmeans<rvq::config<rvq::f32, TestType>>(matrix_view<const float>(x.data(), c * per, d), c, opt,
                                                       centroids, &assign, &info)
              .ok());
  // Every true cluster maps to exactly one centroid, and each centroid to one cluster.
  std::set<std::uint32_t> used;
  for (std::size_t i = 0; i < c; ++i) {
    const std::uint32_t a = assign[i * per];
    for (std::size_t j = 0; j < per; ++j) REQUIRE(assign[i * per + j] == a);
    used.insert(a);
  }
  CHECK(used.size() == c);
  CHECK(info.mse < 0.1 * double(d));
}

TEST_CASE("progressive-dimension k-means recovers clusters spread along principal directions", "[train][kmeans]") {
  // 16 clusters on a 4 x 4 grid in the plane of the first two axes (spacing 40 and 25), 14 more
  // dimensions of unit noise: the principal directions carry the cluster structure.
  const std::size_t d = 16, per = 40;
  std::mt19937 g(5);
  std::normal_distribution<float> nd;
  std::vector<float> x;
  for (std::size_t c = 0; c < 16; ++c)
    for (std::size_t j = 0; j < per; ++j)
      for (std::size_t t = 0; t < d; ++t)
        x.push_back((t == 0 ? 40.0f * float(c % 4) : t == 1 ? 25.0f * float(c / 4) : 0.0f) + nd(g));
  std::vector<float> centroids;
  std::vector<std::uint32_t> assign;
  rvq::kmeans_info info;
  rvq::kmeans_options opt;
  opt.progressive_steps = 4;
  opt.progressive_iterations = 5;
  REQUIRE(rvq::kmeans(matrix_view<const float>(x.data(), 16 * per, d), 16, opt, centroids, &assign, &info).ok());
  std::set<std::uint32_t> used;
  for (std::size_t c = 0; c < 16; ++c) {
    for (std::size_t j = 0; j < per; ++j) REQUIRE(assign[c * per + j] == assign[c * per]);
    used.insert(assign[c * per]);
  }
  CHECK(used.size() == 16);
  CHECK(info.mse < 1.2 * double(d));
}

TEST_CASE("k-means with fewer distinct points than K re-seeds empty clusters and terminates", "[train][kmeans]") {
  const std::size_t d = 3;
  std::vector<float> x;
  for (int i = 0; i < 60; ++i)
    for (std::size_t t = 0; t < d; ++t) x.push_back(float(i % 4) * (float(t) + 1.0f));  // 4 distinct points
  std::vector<float> centroids;
  std::vector<std::uint32_t> assign;
  rvq::kmeans_info info;
  for (std::size_t steps : {std::size_t{0}, std::size_t{5}}) {
    rvq::kmeans_options opt;
    opt.iterations = 10;
    opt.progressive_steps = steps;
    REQUIRE(rvq::kmeans(matrix_view<const float>(x.data(), 60, d), 7, opt, centroids, &assign, &info).ok());
  }
  CHECK(info.mse == 0.0);
  CHECK(info.reseeded > 0);
  for (float v : centroids) CHECK(std::isfinite(v));
}

TEST_CASE("training MSE falls with each layer", "[train]") {
  const std::size_t n = 3000, d = 20;
  const auto x = rvq_test::gaussian(n, d, 4);
  for (std::vector<std::size_t> ks : {std::vector<std::size_t>{32}, std::vector<std::size_t>{64, 16, 32, 8, 4, 2}}) {
    rvq::train_options opt;
    opt.layers = 6;
    opt.codewords = ks;
    opt.iterations = 8;
    rvq::train_report rep;
    auto q = rvq::train(matrix_view<const float>(x.data(), n, d), opt, &rep);
    REQUIRE(q.ok());
    REQUIRE(rep.layer_mse.size() == 6);
    double norm = 0;
    for (float v : x) norm += double(v) * double(v);
    CHECK(rep.layer_mse[0] < norm / double(n));
    for (std::size_t l = 1; l < 6; ++l) CHECK(rep.layer_mse[l] < rep.layer_mse[l - 1]);
    // the report is the encoder's error: greedy training residuals equal greedy encoding's, and
    // the refinement starts from there and ends at the returned model's error
    CHECK(rep.refinement.mse_before == Approx(rep.layer_mse.back()).epsilon(1e-6));
    CHECK(rvq_test::mse(*q, x, n) == Approx(rep.refinement.mse_after).epsilon(1e-6));
    CHECK(rep.refinement.mse_after <= rep.refinement.mse_before);  // never worse (iid data: rarely better)
  }
}

TEMPLATE_LIST_TEST_CASE("training works for every metric and the error decreases overall", "[train]",
                        rvq_test::metrics) {
  const std::size_t n = 2000, d = 12;
  const auto x = rvq_test::gaussian(n, d, 8);
  rvq::train_options opt = rvq_test::options(4, 16, 6);
  rvq::train_report rep;
  auto q = rvq::train<rvq::config<rvq::f32, TestType>>(matrix_view<const float>(x.data(), n, d), opt, &rep);
  REQUIRE(q.ok());
  double norm = 0;
  for (float v : x) norm += double(v) * double(v);
  CHECK(rep.layer_mse.back() < 0.8 * norm / double(n));
}

TEST_CASE("same seed and data give bit-identical codebooks, another seed differs", "[train]") {
  const std::size_t n = 1500, d = 10;
  const auto x = rvq_test::gaussian(n, d, 6);
  rvq::train_options opt = rvq_test::options(3, 16, 5);
  opt.seed = 77;
  auto a = rvq::train(matrix_view<const float>(x.data(), n, d), opt);
  auto b = rvq::train(matrix_view<const float>(x.data(), n, d), opt);
  opt.seed = 78;
  auto c = rvq::train(matrix_view<const float>(x.data(), n, d), opt);
  REQUIRE((a.ok() && b.ok() && c.ok()));
  const std::size_t floats = 3 * 16 * d;
  CHECK(std::equal(a->codebook_data(), a->codebook_data() + floats, b->codebook_data()));
  CHECK_FALSE(std::equal(a->codebook_data(), a->codebook_data() + floats, c->codebook_data()));
}

TEST_CASE("beam-search residuals during training", "[train][beam]") {
  const std::size_t n = 2000, d = 16;
  const auto x = rvq_test::gaussian(n, d, 12);
  rvq::train_options opt = rvq_test::options(4, 16, 6);
  opt.beam = 4;
  rvq::train_report rep;
  auto q = rvq::train(matrix_view<const float>(x.data(), n, d), opt, &rep);
  REQUIRE(q.ok());
  for (std::size_t l = 1; l < 4; ++l) CHECK(rep.layer_mse[l] < rep.layer_mse[l - 1]);
  CHECK(rep.refinement.mse_before == Approx(rep.layer_mse.back()).epsilon(1e-5));
  CHECK(rvq_test::mse(*q, x, n, 4) == Approx(rep.refinement.mse_after).epsilon(1e-5));
  opt.refine = 0;  // without refinement the model is the residual training's
  auto plain = rvq::train(matrix_view<const float>(x.data(), n, d), opt, &rep);
  REQUIRE(plain.ok());
  CHECK(rep.refinement.round_mse.empty());
  CHECK(rvq_test::mse(*plain, x, n, 4) == Approx(rep.layer_mse.back()).epsilon(1e-5));
}

TEST_CASE("beam-aware training trains each layer on the residuals of every beam entry", "[train][beam]") {
  const std::size_t n = 1500, d = 12, layers = 3, k = 16;
  const auto x = rvq_test::gaussian(n, d, 31);
  const matrix_view<const float> xv(x.data(), n, d);
  rvq::train_options opt = rvq_test::options(layers, k, 5);
  opt.refine = 0;
  opt.beam = 4;
  auto train = [&](std::size_t entries, std::size_t sample, rvq::train_report* rep = nullptr) {
    opt.beam_entries = entries;
    opt.sample = sample;
    auto q = rvq::train(xv, opt, rep);
    REQUIRE(q.ok());
    return std::vector<float>(q->codebook_data(), q->codebook_data() + layers * k * d);
  };
  rvq::train_report rep_all, rep_top;
  const auto all = train(0, 0, &rep_all), top = train(1, 0, &rep_top), two = train(2, 0);
  const auto layer0 = static_cast<std::ptrdiff_t>(k * d);
  // Layer 1 trains on the data in every case; the later layers on 4, 1 or 2 residuals per row.
  CHECK(std::equal(all.begin(), all.begin() + layer0, top.begin()));
  CHECK_FALSE(std::equal(all.begin() + layer0, all.end(), top.begin() + layer0));
  CHECK_FALSE(std::equal(all.begin() + layer0, all.end(), two.begin() + layer0));
  CHECK(train(4, 0) == all);     // all four entries
  CHECK(train(9, 0) == all);     // more than the beam keeps: all of them
  CHECK(train(0, 3000) == two);  // 2 x 1500 rows fit a sample of 3000: the best 2 entries per row
  CHECK(train(3, 3000) == two);
  CHECK(train(0, 2999) == top);  // not 2 per row: the best one
  // The reported errors are those of the model's own beam search, entry 0 of every row.
  for (const rvq::train_report* rep : {&rep_all, &rep_top}) {
    REQUIRE(rep->layer_mse.size() == layers);
    for (std::size_t l = 1; l < layers; ++l) CHECK(rep->layer_mse[l] < rep->layer_mse[l - 1]);
  }
  opt.beam_entries = 0;
  opt.sample = 0;
  rvq::train_report rep;
  auto q = rvq::train(xv, opt, &rep);
  REQUIRE(q.ok());
  CHECK(rvq_test::mse(*q, x, n, 4) == Approx(rep.layer_mse.back()).epsilon(1e-5));
}

TEST_CASE("joint refinement lowers the error and leaves no dead or duplicate codewords", "[train][refine]") {
  const std::size_t n = 4000, d = 16;
  std::vector<std::size_t> label;
  auto x = rvq_test::clusters(8, n / 8, d, label);  // few clusters: plain k-means leaves codewords idle
  const auto noise = rvq_test::gaussian(n, d, 3, 2.0f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += noise[i];
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(beam);
    rvq::train_options opt = rvq_test::options(4, 32, 8);
    opt.beam = beam;
    std::size_t rounds_seen = 0;
    opt.progress = [&](const rvq::train_progress& p) {
      if (p.layer == p.layers) {
        CHECK(p.iteration == rounds_seen);
        CHECK(p.iterations == opt.refine);
        ++rounds_seen;
      }
    };
    rvq::train_report rep;
    auto q = rvq::train(matrix_view<const float>(x.data(), n, d), opt, &rep);
    REQUIRE(q.ok());
    CHECK(rounds_seen == rep.refinement.round_mse.size());
    CHECK(rounds_seen > 0);
    CHECK(rep.refinement.mse_after < rep.refinement.mse_before);
    CHECK(rep.refinement.holdout_before == 0);  // no holdout by default
    CHECK(rep.refinement.dead_remaining == 0);
    auto use = rvq::codeword_usage(*q, matrix_view<const float>(x.data(), n, d), beam);
    REQUIRE(use.ok());
    REQUIRE(use->size() == 4);
    for (const auto& u : *use) {
      CHECK(u.codewords == 32);
      CHECK(u.dead == 0);
      CHECK(u.used == 32);
      CHECK(u.duplicates == 0);
      CHECK(u.entropy_bits > 0.0);
      CHECK(u.entropy_bits <= 5.0 + 1e-9);
    }
  }
}

TEST_CASE("refinement lowers the held-out error on data with room for it", "[train][refine]") {
  // Plenty of rows per parameter, an anisotropic spectrum: greedy residual training leaves gains.
  const std::size_t n = 20000, d = 8;
  const auto x = anisotropic(n, d);
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(beam);
    rvq::train_options opt = rvq_test::options(3, 16, 10);
    opt.beam = beam;
    opt.refine_holdout = 10;
    rvq::train_report rep;
    REQUIRE(rvq::train(matrix_view<const float>(x.data(), n, d), opt, &rep).ok());
    CHECK(rep.refinement.holdout_before > 0);
    CHECK(rep.refinement.holdout_after < rep.refinement.holdout_before);
    CHECK(rep.refinement.mse_after < rep.refinement.mse_before);
  }
}

TEST_CASE("refinement shortens a step the encoder re-encodes worse, and is never worse for it", "[train][refine]") {
  // A deep model (16 layers): the full least-squares step is optimal for the old codes, but the
  // greedy encoder's new codes make it worse than the start, so full steps alone stop at once.
  const std::size_t n = 3000, d = 16;
  const auto x = anisotropic(n, d);
  for (std::size_t layers : {std::size_t{6}, std::size_t{16}}) {
    rvq::train_options opt = rvq_test::options(layers, 16, 10);
    opt.refine = 0;
    auto q = rvq::train(matrix_view<const float>(x.data(), n, d), opt);
    REQUIRE(q.ok());
    for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
      CAPTURE(layers, beam);
      rvq::refine_options full, halved;
      full.beam = halved.beam = beam;
      full.step_halvings = 0;
      CHECK(halved.step_halvings == 3);  // the default
      rvq::refine_report rf, rh;
      auto mf = rvq::refine(*q, matrix_view<const float>(x.data(), n, d), full, &rf);
      auto mh = rvq::refine(*q, matrix_view<const float>(x.data(), n, d), halved, &rh);
      REQUIRE(mf.ok());
      REQUIRE(mh.ok());
      CHECK(rh.mse_after <= rf.mse_after);  // the same full step first, then only gains
      CHECK(rh.mse_after <= rh.mse_before);
      CHECK(rvq_test::mse(*mh, x, n, beam) == Approx(rh.mse_after).epsilon(1e-5));
      if (layers == 16 && beam == 1) {
        CHECK(rf.mse_after > rf.mse_before * 0.999);  // full steps: (almost) nothing
        CHECK(rh.mse_after < rh.mse_before * 0.995);  // shorter ones: a gain
        CHECK(rh.round_mse.size() > rf.round_mse.size());
      }
    }
  }
}

TEST_CASE("refine() checks its input and keeps a model it cannot improve", "[train][refine]") {
  const std::size_t n = 500, d = 6;
  const auto x = rvq_test::gaussian(n, d, 5);
  auto q = rvq::train(matrix_view<const float>(x.data(), n, d), rvq_test::options(2, 8, 4));
  REQUIRE(q.ok());
  const auto y = rvq_test::gaussian(10, d + 1, 5);
  CHECK(rvq::refine(*q, matrix_view<const float>(y.data(), 10, d + 1), rvq::refine_options{}).error().code() ==
        rvq::errc::dimension_mismatch);
  CHECK(rvq::refine(*q, matrix_view<const float>(x.data(), 0, d), rvq::refine_options{}).error().code() ==
        rvq::errc::empty_input);
  rvq::refine_options none;
  none.rounds = 0;
  rvq::refine_report rep;
  auto same = rvq::refine(*q, matrix_view<const float>(x.data(), n, d), none, &rep);
  REQUIRE(same.ok());
  CHECK(std::equal(q->codebook_data(), q->codebook_data() + 2 * 8 * d, same->codebook_data()));
  CHECK(rep.mse_after == rep.mse_before);
}

TEST_CASE("training subsamples large inputs, seeded", "[train]") {
  const std::size_t n = 3000, d = 8;
  const auto x = rvq_test::gaussian(n, d, 9);
  rvq::train_options opt = rvq_test::options(2, 16, 4);
  opt.sample = 1000;
  rvq::train_report rep;
  auto a = rvq::train(matrix_view<const float>(x.data(), n, d), opt, &rep);
  REQUIRE(a.ok());
  CHECK(rep.rows_used == 1000);
  auto b = rvq::train(matrix_view<const float>(x.data(), n, d), opt);
  REQUIRE(b.ok());
  CHECK(std::equal(a->codebook_data(), a->codebook_data() + 2 * 16 * d, b->codebook_data()));
  opt.sample = 10;  // fewer rows than K
  CHECK(rvq::train(matrix_view<const float>(x.data(), n, d), opt).error().code() == rvq::errc::too_many_codewords);
  opt.sample = 0;  // all rows
  REQUIRE(rvq::train(matrix_view<const float>(x.data(), n, d), opt, &rep).ok());
  CHECK(rep.rows_used == n);
}

TEST_CASE("training rejects bad input with a clear status", "[train][errors]") {
  const std::size_t d = 4;
  auto x = rvq_test::gaussian(50, d, 1);
  const matrix_view<const float> v(x.data(), 50, d);
  rvq::train_options opt;
  opt.layers = 2;
  opt.codewords = {8};
  CHECK(rvq::train(matrix_view<const float>(x.data(), 0, d), opt).error().code() == rvq::errc::empty_input);
  opt.codewords = {51};
  auto r = rvq::train(v, opt);
  CHECK(r.error().code() == rvq::errc::too_many_codewords);
  CHECK(std::string(r.error().message()).find("training vectors") != std::string::npos);
  opt.codewords = {70000};
  CHECK(rvq::train(v, opt).error().code() == rvq::errc::too_many_codewords);
  opt.codewords = {8, 8, 8};
  CHECK(rvq::train(v, opt).error().code() == rvq::errc::invalid_argument);
  opt.codewords = {8};
  opt.layers = 0;
  CHECK(rvq::train(v, opt).error().code() == rvq::errc::invalid_argument);
  opt.layers = 2;
  opt.beam = 0;
  CHECK(rvq::train(v, opt).error().code() == rvq::errc::bad_beam);
  opt.beam = 9;
  CHECK(rvq::train(v, opt).error().code() == rvq::errc::bad_beam);
  opt.beam = 1;
  x[13 * d + 2] = std::nanf("");
  auto nan = rvq::train(v, opt);
  CHECK(nan.error().code() == rvq::errc::non_finite);
  CHECK(nan.error().where() == 13);
  std::vector<float> c;
  CHECK(rvq::kmeans(v, 0, {}, c).code() == rvq::errc::invalid_argument);
}

TEST_CASE("training reports progress once per Lloyd iteration", "[train]") {
  const auto x = rvq_test::gaussian(400, 6, 2);
  rvq::train_options opt = rvq_test::options(2, 8, 3);
  std::vector<rvq::train_progress> seen;
  opt.progress = [&](const rvq::train_progress& p) { seen.push_back(p); };
  REQUIRE(rvq::train(matrix_view<const float>(x.data(), 400, 6), opt).ok());
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.front().layer == 0);
  CHECK(seen.back().layer == 2);  // the refinement rounds come last, as layer == layers
  for (const auto& p : seen) CHECK(p.iteration < p.iterations);
  opt.refine = 0;
  seen.clear();
  REQUIRE(rvq::train(matrix_view<const float>(x.data(), 400, 6), opt).ok());
  CHECK(seen.back().layer == 1);
}

TEST_CASE("sample_rows: train()'s sample in memory proportional to the sample", "[train][sample]") {
  // The dense partial Fisher-Yates shuffle train() used before, as the reference.
  auto dense = [](std::size_t n, std::size_t m, std::uint64_t seed) {
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; ++i) idx[i] = i;
    rvq::detail::rng r(seed ^ 0x5851f42d4c957f2dull);
    for (std::size_t j = 0; j < m; ++j) std::swap(idx[j], idx[j + static_cast<std::size_t>(r.below(n - j))]);
    std::sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(m));
    return std::vector<std::size_t>(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(m));
  };
  for (std::uint64_t seed : {1ull, 7ull, 123456789ull})
    for (const auto& nm : {std::pair<std::size_t, std::size_t>{10, 10}, {10, 3}, {1000, 999}, {100000, 512}, {5, 1}}) {
      const auto s = rvq::sample_rows(nm.first, nm.second, seed);
      CHECK(s == dense(nm.first, nm.second, seed));
      CHECK(std::set<std::size_t>(s.begin(), s.end()).size() == nm.second);
    }
  CHECK(rvq::sample_rows(4, 9, 1).size() == 4);  // at most every row

  // Training on just the sampled rows gives the model trained on all of them with that sample.
  const std::size_t n = 3000, d = 8;
  const auto x = rvq_test::gaussian(n, d, 21);
  auto opt = rvq_test::options(2, 16, 4);
  opt.sample = 700;
  opt.seed = 5;
  const auto all = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), opt);
  REQUIRE(all);
  const auto rows = rvq::sample_rows(n, opt.sample, opt.seed);
  std::vector<float> picked;
  for (std::size_t i : rows) picked.insert(picked.end(), x.begin() + long(i * d), x.begin() + long((i + 1) * d));
  const auto part = rvq::train(rvq::matrix_view<const float>(picked.data(), rows.size(), d), opt);
  REQUIRE(part);
  CHECK(std::vector<float>(all->codebook_data(), all->codebook_data() + 2 * 16 * d) ==
        std::vector<float>(part->codebook_data(), part->codebook_data() + 2 * 16 * d));
}

TEST_CASE("exact_grid: sums that do not depend on order or grouping, close to the exact sum", "[train]") {
  // Magnitudes over 30 binades, both signs: a plain double sum depends on the order.
  std::vector<float> v(20000);
  std::uint64_t s = 12345;
  for (auto& x : v) {
    const double u = double(rvq::detail::splitmix64(s) >> 11) * 0x1.0p-53;
    const int e = int(rvq::detail::splitmix64(s) % 30) - 15;
    x = float(std::ldexp(u, e) * ((rvq::detail::splitmix64(s) & 1) ? -1.0 : 1.0));
  }
  const auto g = rvq::detail::exact_grid::make(double(rvq::detail::max_abs(v.data(), v.size())), v.size());
  auto sum = [&](const std::vector<float>& w, std::size_t chunk) {  // partial sums per chunk, then added
    double total[2] = {0, 0};
    for (std::size_t i = 0; i < w.size(); i += chunk) {
      double part[2] = {0, 0};
      for (std::size_t j = i; j < std::min(w.size(), i + chunk); ++j) g.add(double(w[j]), part[0], part[1]);
      total[0] += part[0];
      total[1] += part[1];
    }
    return total[0] + total[1];
  };
  const double ref = sum(v, v.size());
  long double exact = 0;
  for (float x : v) exact += static_cast<long double>(x);
  CHECK(std::fabs(double(exact) - ref) <= 1e-12 * std::fabs(double(exact)) + 1e-15);
  std::vector<float> w(v.rbegin(), v.rend());
  CHECK(sum(w, 1) == ref);
  CHECK(sum(v, 7) == ref);
  CHECK(sum(w, 4096) == ref);
  std::swap(w[3], w[19000]);
  std::swap(w[100], w[5000]);
  CHECK(sum(w, 333) == ref);
}

}  // namespace rvq_test_train_train_test
