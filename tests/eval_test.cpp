// rvq::evaluate: the one evaluation the CLI, compress, sweep and these tests use.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "helpers.hpp"

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_eval_test {

TEST_CASE("evaluate: errors overall and per layer, bits, bytes, speed", "[eval]") {
  const std::size_t n = 500, d = 16;
  const std::vector<float> x = rvq_test::gaussian(n, d, 11);
  auto q = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), rvq_test::options(4, 16, 5));
  REQUIRE(q);
  const rvq::matrix_view<const float> xv(x.data(), n, d);

  const auto r = rvq::evaluate(*q, xv);
  REQUIRE(r);
  CHECK(r->vectors == n);
  CHECK(r->dim == d);
  CHECK(r->beam == 1);
  CHECK(r->bits_per_vector == 16);
  CHECK(r->footprint.codebook_bytes == 4 * 16 * d * sizeof(float));
  CHECK(r->encode_seconds >= 0);

  // The same figures by hand: encode, decode, squared errors summed in double.
  std::vector<std::uint16_t> codes(n * 4);
  std::vector<float> y(n * d);
  REQUIRE(q->encode_batch(xv, rvq::matrix_view<std::uint16_t>(codes.data(), n, 4)));
  REQUIRE(q->decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), n, 4),
                          rvq::matrix_view<float>(y.data(), n, d)));
  double err = 0, norm = 0;
  for (std::size_t i = 0; i < n * d; ++i) {
    err += (double(x[i]) - double(y[i])) * (double(x[i]) - double(y[i]));
    norm += double(x[i]) * double(x[i]);
  }
  CHECK(r->mse == Approx(err / n).epsilon(1e-12));
  CHECK(r->mean_squared_norm == Approx(norm / n).epsilon(1e-12));
  CHECK(r->rel_mse == Approx(err / norm).epsilon(1e-12));

  // Per layer: decreasing, the last equal to the whole model's error (to float rounding).
  REQUIRE(r->layer_mse.size() == 4);
  REQUIRE(r->layer_rel_mse.size() == 4);
  for (std::size_t l = 1; l < 4; ++l) CHECK(r->layer_mse[l] < r->layer_mse[l - 1]);
  CHECK(r->layer_mse.back() == Approx(r->mse).epsilon(1e-5));
  CHECK(r->layer_rel_mse[0] == Approx(r->layer_mse[0] / r->mean_squared_norm));

  // Beam search is no worse on training data; per_layer off leaves the curve empty.
  rvq::eval_options o;
  o.beam = 4;
  o.per_layer = false;
  o.repeats = 3;
  const auto b = rvq::evaluate(*q, xv, o);
  REQUIRE(b);
  CHECK(b->mse <= r->mse * (1 + 1e-6));
  CHECK(b->layer_mse.empty());
  CHECK(b->footprint.macs_per_vector >= r->footprint.macs_per_vector);
  CHECK(rvq_test::mse(*q, x, n, 4) == Approx(b->mse));
}

TEST_CASE("evaluate: bad input is an error, never a report", "[eval][errors]") {
  const std::size_t n = 50, d = 8;
  const std::vector<float> x = rvq_test::gaussian(n, d, 12);
  auto q = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), rvq_test::options(2, 8, 3));
  REQUIRE(q);
  rvq::eval_options o;
  o.beam = 9;
  CHECK(rvq::evaluate(*q, rvq::matrix_view<const float>(x.data(), n, d), o).error().code() == rvq::errc::bad_beam);
  CHECK(rvq::evaluate(*q, rvq::matrix_view<const float>(x.data(), n / 2, d * 2)).error().code() ==
        rvq::errc::dimension_mismatch);
  CHECK(rvq::evaluate(rvq::quantizer<>{}, rvq::matrix_view<const float>(x.data(), n, d)).error().code() ==
        rvq::errc::empty_input);
  std::vector<float> bad = x;
  bad[3 * d + 1] = std::numeric_limits<float>::quiet_NaN();
  const auto r = rvq::evaluate(*q, rvq::matrix_view<const float>(bad.data(), n, d));
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == rvq::errc::non_finite);
  CHECK(r.error().where() == 3);
}

TEST_CASE("evaluation: a block of rows at a time gives evaluate()'s figures bit for bit", "[eval]") {
  const std::size_t n = 301, d = 12;
  const std::vector<float> x = rvq_test::gaussian(n, d, 13);
  auto q = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), rvq_test::options(3, 16, 5));
  REQUIRE(q);
  for (std::size_t beam : {std::size_t(1), std::size_t(4)}) {
    rvq::eval_options o;
    o.beam = beam;
    const auto whole = rvq::evaluate(*q, rvq::matrix_view<const float>(x.data(), n, d), o);
    REQUIRE(whole);
    for (std::size_t tile : {std::size_t(1), std::size_t(7), std::size_t(100), n}) {
      auto e = rvq::evaluation<std::decay_t<decltype(*q)>>::start(*q, o);
      REQUIRE(e);
      for (std::size_t first = 0; first < n; first += tile)
        REQUIRE(e->add(rvq::matrix_view<const float>(x.data() + first * d, std::min(tile, n - first), d)));
      const auto r = e->report();
      INFO("beam " << beam << ", tile " << tile);
      CHECK(r.vectors == n);
      CHECK(r.mse == whole->mse);
      CHECK(r.mean_squared_norm == whole->mean_squared_norm);
      CHECK(r.rel_mse == whole->rel_mse);
      CHECK(r.layer_mse == whole->layer_mse);
      CHECK(r.layer_rel_mse == whole->layer_rel_mse);
      CHECK(r.bits_per_vector == whole->bits_per_vector);
    }
  }
  // An error names the row counted from the first block; the block is not counted.
  std::vector<float> bad = x;
  bad[250 * d + 2] = std::numeric_limits<float>::infinity();
  auto e = rvq::evaluation<std::decay_t<decltype(*q)>>::start(*q);
  REQUIRE(e);
  REQUIRE(e->add(rvq::matrix_view<const float>(bad.data(), 200, d)));
  const rvq::status s = e->add(rvq::matrix_view<const float>(bad.data() + 200 * d, 101, d));
  CHECK(s.code() == rvq::errc::non_finite);
  CHECK(s.where() == 250);
  CHECK(e->vectors() == 200);
  CHECK(e->add(rvq::matrix_view<const float>(x.data(), 10, d - 1)).code() == rvq::errc::dimension_mismatch);
  rvq::eval_options o;
  o.beam = 17;
  CHECK(rvq::evaluation<std::decay_t<decltype(*q)>>::start(*q, o).error().code() == rvq::errc::bad_beam);
}

TEST_CASE("long_sum: the exact sum of doubles, the same in any order and any grouping", "[eval]") {
  std::vector<double> v(30000);
  std::uint64_t s = 99;
  for (auto& x : v) {
    const double u = double(rvq::detail::splitmix64(s) >> 11) * 0x1.0p-53;
    const int e = int(rvq::detail::splitmix64(s) % 200) - 100;
    x = std::ldexp(u, e) * ((rvq::detail::splitmix64(s) & 1) ? -1.0 : 1.0);
  }
  v[5] = 1e300, v[6] = -1e300, v[7] = 4.9e-324, v[8] = -0.0;  // cancelling giants, a subnormal
  rvq::detail::long_sum all;
  for (double x : v) all.add(x);
  long double approx = 0;  // without the giants, which cancel exactly
  for (std::size_t i = 0; i < v.size(); ++i)
    if (i != 5 && i != 6) approx += static_cast<long double>(v[i]);
  CHECK(all.value() == Approx(double(approx)).epsilon(1e-12));
  rvq::detail::long_sum backward, parts[3];
  for (std::size_t i = v.size(); i-- > 0;) backward.add(v[i]);
  for (std::size_t i = 0; i < v.size(); ++i) parts[(i * 7) % 3].add(v[i]);
  parts[2].merge(parts[0]);
  parts[2].merge(parts[1]);
  CHECK(backward.value() == all.value());
  CHECK(parts[2].value() == all.value());
  rvq::detail::long_sum neg;
  for (double x : v) neg.add(-x);
  CHECK(neg.value() == -all.value());
  rvq::detail::long_sum zero;
  zero.merge(neg);
  zero.merge(all);
  CHECK(zero.value() == 0.0);
}

}  // namespace rvq_test_eval_test
