// Compaction: duplicates and dead codewords removed, calibration vectors reconstructed bit for bit.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <limits>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_train_compact_test {

using rvq::span;

namespace {
using q_t = rvq::quantizer<rvq::config<>>;

std::vector<float> reconstruct(const q_t& q, const std::vector<float>& x, std::size_t n) {
  std::vector<std::uint16_t> codes(n * q.layers());
  std::vector<float> y(n * q.dim());
  REQUIRE(q.encode_batch(rvq::matrix_view<const float>(x.data(), n, q.dim()),
                         rvq::matrix_view<std::uint16_t>(codes.data(), n, q.layers()))
              .ok());
  REQUIRE(q.decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), n, q.layers()),
                         rvq::matrix_view<float>(y.data(), n, q.dim()))
              .ok());
  return y;
}
}  // namespace

TEST_CASE("compact drops exact duplicates and keeps every code's codeword", "[compact]") {
  const std::size_t d = 5;
  auto cb = rvq_test::gaussian(12 + 6, d, 1);
  // Layer 0 (12 codewords): 4 and 9 copy 1, 11 copies 4 (so 1 too); layer 1 (6): 5 copies 0.
  for (std::size_t c : {std::size_t{4}, std::size_t{9}, std::size_t{11}})
    std::copy(cb.begin() + 1 * d, cb.begin() + 2 * d, cb.begin() + std::ptrdiff_t(c * d));
  std::copy(cb.begin() + 12 * d, cb.begin() + 13 * d, cb.begin() + std::ptrdiff_t((12 + 5) * d));
  const std::vector<std::size_t> k = {12, 6};
  auto q = q_t::from_codebooks(span<const float>(cb), span<const std::size_t>(k), d);
  REQUIRE(q.ok());
  q_t c;
  std::vector<std::vector<std::uint32_t>> remap;
  rvq::compact_report rep;
  REQUIRE(rvq::compact(*q, rvq::matrix_view<const float>(), c, &remap, &rep).ok());
  CHECK(rep.duplicates == std::vector<std::size_t>{3, 1});
  CHECK(rep.dead == std::vector<std::size_t>{0, 0});
  CHECK(c.codewords(0) == 9);
  CHECK(c.codewords(1) == 5);
  CHECK(rep.bytes_before == 18 * d * 4);
  CHECK(rep.bytes_after == 14 * d * 4);
  // Every old code maps to a codeword with the same values.
  for (std::size_t l = 0; l < 2; ++l)
    for (std::size_t old = 0; old < k[l]; ++old)
      for (std::size_t t = 0; t < d; ++t) CHECK(c.codeword(l, remap[l][old])[t] == q->codeword(l, old)[t]);
  CHECK(remap[0][4] == 1);
  CHECK(remap[0][5] == 4);  // order kept: 0, 1, 2, 3, 5, ...
  // Any data: duplicates were never chosen, so nothing changes.
  const auto x = rvq_test::gaussian(300, d, 2);
  CHECK(reconstruct(*q, x, 300) == reconstruct(c, x, 300));
}

TEST_CASE("compact with calibration data drops dead codewords, the data reconstructs bit for bit", "[compact]") {
  const std::size_t d = 8, n = 2000;
  const auto x = rvq_test::gaussian(n, d, 3);
  rvq::train_options o;
  o.layers = 3;
  o.codewords = {64};
  o.iterations = 5;
  o.refine = 0;
  auto q = rvq::train<rvq::config<>>(rvq::matrix_view<const float>(x.data(), n, d), o);
  REQUIRE(q.ok());
  // Calibrate on a small subset: many codewords go unused.
  const std::size_t m = 40;
  const rvq::matrix_view<const float> calib(x.data(), m, d);
  q_t c;
  std::vector<std::vector<std::uint32_t>> remap;
  rvq::compact_report rep;
  REQUIRE(rvq::compact(*q, calib, c, &remap, &rep).ok());
  std::size_t dead = 0;
  for (std::size_t v : rep.dead) dead += v;
  CHECK(dead > 64);
  for (std::size_t l = 0; l < 3; ++l) CHECK(c.codewords(l) <= m);
  CHECK(rep.bytes_after < rep.bytes_before / 2);
  const std::vector<float> sub(x.begin(), x.begin() + std::ptrdiff_t(m * d));
  CHECK(reconstruct(*q, sub, m) == reconstruct(c, sub, m));
  // Old codes of the calibration rows translate through the remap to the new codes.
  std::vector<std::uint16_t> a(m * 3), b(m * 3);
  REQUIRE(q->encode_batch(calib, rvq::matrix_view<std::uint16_t>(a.data(), m, 3)).ok());
  REQUIRE(c.encode_batch(calib, rvq::matrix_view<std::uint16_t>(b.data(), m, 3)).ok());
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t l = 0; l < 3; ++l) CHECK(remap[l][a[i * 3 + l]] == b[i * 3 + l]);
  // Bad calibration data.
  const auto wrong = rvq_test::gaussian(10, d + 1, 4);
  CHECK(rvq::compact(*q, rvq::matrix_view<const float>(wrong.data(), 10, d + 1), c).code() ==
        rvq::errc::dimension_mismatch);
  auto nan = sub;
  nan[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(rvq::compact(*q, rvq::matrix_view<const float>(nan.data(), m, d), c).code() == rvq::errc::non_finite);
  CHECK(rvq::compact(q_t(), calib, c).code() == rvq::errc::empty_input);
}

}  // namespace rvq_test_train_compact_test
