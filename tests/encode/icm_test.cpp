// ICM refinement of codes (rvq/encode/icm.hpp, encode_options::icm_rounds): never worse than the
// search it starts from, a local optimum when it has converged, the same codes for one vector,
// a batch and every parallel strategy, and refused where it does not apply.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <rvq/parallel/dynamic_threads.hpp>

#include <stdexcept>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_encode_icm_test {

using rvq::matrix_view;
using rvq::span;

namespace {

using q_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2>>;

/// ||x - decode(codes)||^2 in double, one value per row.
template <class Q>
std::vector<double> row_errors(const Q& q, const std::vector<float>& x, const std::vector<std::uint16_t>& codes,
                               std::size_t n) {
  std::vector<float> y(n * q.dim());
  REQUIRE(q.decode_batch(matrix_view<const std::uint16_t>(codes.data(), n, q.layers()),
                         matrix_view<float>(y.data(), n, q.dim()))
              .ok());
  std::vector<double> e(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < q.dim(); ++t) {
      const double d = double(x[i * q.dim() + t]) - double(y[i * q.dim() + t]);
      e[i] += d * d;
    }
  return e;
}

template <class Q>
std::vector<std::uint16_t> batch(const Q& q, const std::vector<float>& x, std::size_t n, rvq::encode_options o) {
  std::vector<std::uint16_t> c(n * q.layers());
  const rvq::status s = q.encode_batch(matrix_view<const float>(x.data(), n, q.dim()),
                                       matrix_view<std::uint16_t>(c.data(), n, q.layers()), o);
  REQUIRE(s.ok());
  return c;
}

q_t trained(const std::vector<float>& x, std::size_t n, std::size_t d) {
  auto r =
      rvq::train<rvq::config<rvq::f32, rvq::l2>>(matrix_view<const float>(x.data(), n, d), rvq_test::options(4, 16, 6));
  if (!r) throw std::runtime_error(rvq::describe(r.error()));
  return std::move(r).value();
}

struct fixture {
  static constexpr std::size_t n = 600, d = 16;
  std::vector<float> x = rvq_test::gaussian(n, d, 31);
  q_t q = trained(x, n, d);
};

}  // namespace

TEST_CASE("ICM never raises a row's error above the search it starts from, and lowers the mean", "[encode][icm]") {
  fixture f;
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(beam);
    const auto base = batch(f.q, f.x, f.n, {beam, 0});
    const auto refined = batch(f.q, f.x, f.n, {beam, 3});
    const auto eb = row_errors(f.q, f.x, base, f.n), er = row_errors(f.q, f.x, refined, f.n);
    double sb = 0, sr = 0;
    std::size_t changed = 0;
    for (std::size_t i = 0; i < f.n; ++i) {
      CHECK(er[i] <= eb[i] * (1 + 1e-6) + 1e-9);
      sb += eb[i];
      sr += er[i];
      changed += std::equal(base.begin() + std::ptrdiff_t(i * 4), base.begin() + std::ptrdiff_t(i * 4 + 4),
                            refined.begin() + std::ptrdiff_t(i * 4))
                     ? 0
                     : 1;
    }
    CHECK(changed > 0);
    CHECK(sr < sb);
  }
}

TEST_CASE("ICM run to convergence is a local optimum: no single layer's code can do better", "[encode][icm]") {
  fixture f;
  const std::size_t rows = 40;
  const auto codes = batch(f.q, f.x, rows, {2, 100});
  const auto err = row_errors(f.q, f.x, codes, rows);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t l = 0; l < f.q.layers(); ++l)
      for (std::size_t k = 0; k < f.q.codewords(l); ++k) {
        std::vector<std::uint16_t> alt(codes.begin() + std::ptrdiff_t(i * 4),
                                       codes.begin() + std::ptrdiff_t(i * 4 + 4));
        alt[l] = static_cast<std::uint16_t>(k);
        const std::vector<float> xi(f.x.begin() + std::ptrdiff_t(i * f.d), f.x.begin() + std::ptrdiff_t((i + 1) * f.d));
        CHECK(row_errors(f.q, xi, alt, 1)[0] >= err[i] * (1 - 1e-5) - 1e-9);
      }
}

TEST_CASE("ICM gives the same codes for one vector, a batch and every thread count", "[encode][icm]") {
  fixture f;
  const rvq::encode_options o{4, 2};
  const auto want = batch(f.q, f.x, f.n, o);
  rvq::workspace ws(f.q.workspace_for(o));
  for (std::size_t i = 0; i < 50; ++i) {
    std::vector<std::uint16_t> one(4);
    REQUIRE(f.q.encode(span<const float>(f.x.data() + i * f.d, f.d), span<std::uint16_t>(one), o, ws.view()).ok());
    CHECK(std::equal(one.begin(), one.end(), want.begin() + std::ptrdiff_t(i * 4)));
  }
  std::vector<float> cb;
  std::vector<std::size_t> k;
  for (std::size_t l = 0; l < f.q.layers(); ++l) {
    k.push_back(f.q.codewords(l));
    for (std::size_t c = 0; c < f.q.codewords(l); ++c)
      cb.insert(cb.end(), f.q.codeword(l, c), f.q.codeword(l, c) + f.d);
  }
  auto par = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::dynamic_threads>>::from_codebooks(
      span<const float>(cb), span<const std::size_t>(k), f.d);
  REQUIRE(par.ok());
  for (std::size_t t : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
    rvq::dynamic_threads::scope s(t);
    CHECK(batch(*par, f.x, f.n, o) == want);
  }
  // evaluate() takes the rounds too, and measures the lower error.
  rvq::eval_options eo;
  eo.beam = 4;
  const auto plain = rvq::evaluate(f.q, matrix_view<const float>(f.x.data(), f.n, f.d), eo);
  eo.icm_rounds = 2;
  const auto icm = rvq::evaluate(*par, matrix_view<const float>(f.x.data(), f.n, f.d), eo);
  REQUIRE(plain.ok());
  REQUIRE(icm.ok());
  CHECK(icm->mse < plain->mse);
}

TEST_CASE("ICM is refused where it does not apply, with the reason", "[encode][icm][errors]") {
  fixture f;
  std::vector<std::uint16_t> c(f.n * 4);
  const matrix_view<const float> xv(f.x.data(), f.n, f.d);
  // Integer models encode greedily on their grid; ip and cos models do not minimise ||x - x_hat||.
  rvq::quantized_codebooks qc;
  rvq::quantize_options qo;
  REQUIRE(rvq::quantize_codebooks(f.q, xv, qo, qc).ok());
  auto q8 = rvq::quantizer<rvq::config<rvq::int8, rvq::l2>>::from_quantized(qc);
  REQUIRE(q8.ok());
  CHECK(q8->encode_batch(xv, matrix_view<std::uint16_t>(c.data(), f.n, 4), {1, 2}).code() == rvq::errc::unsupported);
  auto ip = rvq::train<rvq::config<rvq::f32, rvq::ip>>(xv, rvq_test::options(2, 8, 3));
  REQUIRE(ip.ok());
  CHECK(ip->encode_batch(xv, matrix_view<std::uint16_t>(c.data(), f.n, 2), {1, 1}).code() == rvq::errc::unsupported);
  // A caller's workspace must hold the refinement's scratch too.
  rvq::workspace small(rvq::workspace_size{1, 1, 0, 0});
  std::vector<std::uint16_t> one(4);
  CHECK(f.q.encode(span<const float>(f.x.data(), f.d), span<std::uint16_t>(one), {1, 1}, small.view()).code() ==
        rvq::errc::invalid_argument);
  // Zero rounds is the search alone.
  CHECK(batch(f.q, f.x, f.n, {4, 0}) == batch(f.q, f.x, f.n, {4}));
}

TEST_CASE("ICM-aware training refits the codebooks to ICM codes, the same for every thread count",
          "[encode][icm][train]") {
  const std::size_t n = 800, d = 12;
  const auto x = rvq_test::gaussian(n, d, 41);
  const matrix_view<const float> xv(x.data(), n, d);
  auto opt = rvq_test::options(3, 16, 4);
  opt.beam = 2;
  opt.icm_rounds = 2;
  opt.refine = 5;
  opt.refine_holdout = 4;  // 200 held-out rows judge the rounds
  rvq::train_report rep;
  auto a = rvq::train<rvq::config<rvq::f32, rvq::l2>>(xv, opt, &rep);
  REQUIRE(a.ok());
  CHECK(rep.refinement.mse_after <= rep.refinement.mse_before);
  CHECK(rep.refinement.holdout_after <= rep.refinement.holdout_before);  // never worse on held-out rows
  CHECK(rep.refinement.holdout_before > 0);
  rvq::dynamic_threads::scope s(3);
  auto b = rvq::train<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::dynamic_threads>>(xv, opt);
  REQUIRE(b.ok());
  for (std::size_t l = 0; l < a->layers(); ++l)
    for (std::size_t c = 0; c < a->codewords(l); ++c)
      for (std::size_t t = 0; t < d; ++t) REQUIRE(a->codeword(l, c)[t] == b->codeword(l, c)[t]);
  CHECK(rvq::train<rvq::config<rvq::f32, rvq::ip>>(xv, opt).error().code() == rvq::errc::unsupported);
}

TEST_CASE("ICM through the cross-product tables and from the residual: both never worse, both local optima",
          "[encode][icm]") {
  fixture f;
  q_t residual = f.q;
  REQUIRE_FALSE(residual.build_beam_tables(0));  // no tables: ICM works from each row's residual
  REQUIRE(f.q.build_beam_tables(std::size_t{64} << 20));
  const auto base = batch(f.q, f.x, f.n, {4, 0});
  CHECK(batch(residual, f.x, f.n, {4, 0}).size() == base.size());
  const auto eb = row_errors(f.q, f.x, base, f.n);
  double st = 0, sr = 0, sb = 0;
  for (const q_t* q : {&f.q, &residual}) {
    const auto c = batch(*q, f.x, f.n, {4, 4});
    const auto e = row_errors(*q, f.x, c, f.n);
    for (std::size_t i = 0; i < f.n; ++i) CHECK(e[i] <= eb[i] * (1 + 1e-6) + 1e-9);
    for (std::size_t i = 0; i < f.n; ++i) (q == &f.q ? st : sr) += e[i];
  }
  for (double e : eb) sb += e;
  CHECK(st < sb);
  CHECK(sr < sb);
  CHECK(std::abs(st - sr) < 0.01 * sb);  // the same algorithm: near-ties apart, the same codes
}

}  // namespace rvq_test_encode_icm_test
