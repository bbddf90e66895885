#include <catch2/catch.hpp>
#include "helpers.hpp"

#include <rvq/simd/scalar/pruned.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <tuple>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_quantizer_test {

using rvq::matrix_view;
using rvq::span;

namespace {

template <class Metric>
using dyn_q = rvq::quantizer<rvq::config<rvq::f32, Metric>>;

/// Unit-norm random directions, layer l scaled by 0.05^l: any sum of one codeword per layer
/// is encoded back to exactly its codes by every metric.
std::vector<float> layered_codebooks(std::size_t layers, std::size_t k, std::size_t d, unsigned seed = 3) {
  auto cb = rvq_test::gaussian(layers * k, d, seed);
  for (std::size_t l = 0; l < layers; ++l)
    for (std::size_t c = 0; c < k; ++c) {
      float* v = cb.data() + (l * k + c) * d;
      double n = 0;
      for (std::size_t t = 0; t < d; ++t) n += double(v[t]) * double(v[t]);
      const float s = float(std::pow(0.05, double(l)) / std::sqrt(n));
      for (std::size_t t = 0; t < d; ++t) v[t] *= s;
    }
  return cb;
}

template <class Q>
Q make(const std::vector<float>& cb, std::size_t layers, std::size_t k, std::size_t d) {
  auto q = Q::from_codebooks(span<const float>(cb), layers, k, d);
  REQUIRE(q.ok());
  return std::move(q).value();
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("an exact sum of codewords round-trips", "[quantizer]", rvq_test::metrics) {
  const std::size_t layers = 4, k = 16, d = 16;
  const auto cb = layered_codebooks(layers, k, d);
  const auto q = make<dyn_q<TestType>>(cb, layers, k, d);
  for (unsigned trial = 0; trial < 50; ++trial) {
    std::array<std::uint8_t, layers> want{}, got{};
    std::vector<float> x(d, 0.0f), y(d);
    for (std::size_t l = 0; l < layers; ++l) {
      want[l] = std::uint8_t((trial * 7 + l * 5) % k);
      for (std::size_t t = 0; t < d; ++t) x[t] += q.codeword(l, want[l])[t];
    }
    REQUIRE(q.encode(span<const float>(x), span<std::uint8_t>(got)).ok());
    CHECK(got == want);
    REQUIRE(q.decode(span<const std::uint8_t>(got), span<float>(y)).ok());
    for (std::size_t t = 0; t < d; ++t) CHECK(y[t] == Approx(x[t]).margin(1e-6));
  }
}

TEMPLATE_LIST_TEST_CASE("batch encode equals single-vector encode, on strided views", "[quantizer]",
                        rvq_test::metrics) {
  const std::size_t n = 37, d = 19, layers = 3, k = 40, stride = 23;
  const auto q = make<dyn_q<TestType>>(rvq_test::gaussian(layers * k, d, 5), layers, k, d);
  auto x = rvq_test::gaussian(n, stride, 9);
  for (std::size_t beam : {std::size_t{1}, std::size_t{3}}) {
    std::vector<std::uint16_t> batch(n * 5, 0xffff);  // codes with a row stride of 5
    REQUIRE(q.encode_batch(matrix_view<const float>(x.data(), n, d, stride),
                           matrix_view<std::uint16_t>(batch.data(), n, layers, 5), rvq::encode_options{beam})
                .ok());
    for (std::size_t i = 0; i < n; ++i) {
      std::array<std::uint16_t, layers> one{};
      REQUIRE(q.encode(span<const float>(x.data() + i * stride, d), span<std::uint16_t>(one), rvq::encode_options{beam})
                  .ok());
      for (std::size_t l = 0; l < layers; ++l) CHECK(batch[i * 5 + l] == one[l]);
      CHECK(batch[i * 5 + 3] == 0xffff);  // the gap between strided rows is untouched
    }
  }
}

TEMPLATE_LIST_TEST_CASE("beam width 1 is bit-identical to greedy", "[quantizer][beam]", rvq_test::metrics) {
  const std::size_t n = 200, d = 24, layers = 5, k = 32;
  const auto data = rvq_test::gaussian(2000, d, 11);
  rvq::train_options opt = rvq_test::options(layers, k, 5);
  auto q = rvq::train<rvq::config<rvq::f32, TestType>>(matrix_view<const float>(data.data(), 2000, d), opt);
  REQUIRE(q.ok());
  rvq::workspace ws(q->workspace_for_beam_path(1));
  for (std::size_t i = 0; i < n; ++i) {
    std::array<std::uint8_t, layers> greedy{}, beam{};
    span<const float> x(data.data() + i * d, d);
    REQUIRE(q->encode(x, span<std::uint8_t>(greedy), rvq::encode_options{1}, ws.view()).ok());
    REQUIRE(q->encode_beam(x, span<std::uint8_t>(beam), 1, ws.view()).ok());
    REQUIRE(greedy == beam);
  }
  const auto need = q->workspace_for_beam_path(1);
  rvq::workspace small(rvq::workspace_size{need.floats - 1, need.indices});  // one float short
  std::array<std::uint8_t, layers> c{};
  CHECK(q->encode_beam(span<const float>(data.data(), d), span<std::uint8_t>(c), 1, small.view()).code() ==
        rvq::errc::invalid_argument);
}

TEST_CASE("beam search is not worse than greedy on average and improves with width", "[quantizer][beam]") {
  const std::size_t n = 3000, d = 16;
  const auto data = rvq_test::gaussian(n, d, 13);
  rvq::train_options opt = rvq_test::options(4, 16, 10);
  auto q = rvq::train(matrix_view<const float>(data.data(), n, d), opt);
  REQUIRE(q.ok());
  const double g = rvq_test::mse(*q, data, n, 1), b4 = rvq_test::mse(*q, data, n, 4),
               b16 = rvq_test::mse(*q, data, n, 16);
  CHECK(b4 <= g);
  CHECK(b16 <= b4 * 1.0001);
  CHECK(b16 < g);
}

TEMPLATE_LIST_TEST_CASE("ties go to the lowest codeword index", "[quantizer]", rvq_test::metrics) {
  // Layer 0 holds codeword 2 three times (indices 2, 3, 5); layer 1 is all zero but for one.
  const std::size_t d = 4, k = 6;
  std::vector<float> cb(2 * k * d, 0.0f);
  const float dup[4] = {1, 2, 3, 4};
  for (std::size_t c : {2u, 3u, 5u}) std::memcpy(&cb[c * d], dup, sizeof dup);
  cb[0] = -5;
  cb[1 * d + 1] = -5;
  cb[4 * d + 2] = -5;
  cb[(k + 3) * d] = 0.5f;
  const auto q = make<dyn_q<TestType>>(cb, 2, k, d);
  const std::vector<float> x = {1, 2, 3, 4};
  for (std::size_t beam : {std::size_t{1}, std::size_t{2}, std::size_t{6}}) {
    std::array<std::uint8_t, 2> c{};
    REQUIRE(q.encode(span<const float>(x), span<std::uint8_t>(c), rvq::encode_options{beam}).ok());
    CHECK(c[0] == 2);
    std::vector<std::uint8_t> batch(2 * 2);
    std::vector<float> xx = {1, 2, 3, 4, 1, 2, 3, 4};
    REQUIRE(q.encode_batch(matrix_view<const float>(xx.data(), 2, d), matrix_view<std::uint8_t>(batch.data(), 2, 2),
                           rvq::encode_options{beam})
                .ok());
    CHECK(batch[0] == 2);
    CHECK(batch[2] == 2);
  }
}

TEST_CASE("layers may have different K, partial decode sums the first n codewords", "[quantizer]") {
  const std::size_t d = 8;
  const std::vector<std::size_t> ks = {8, 4, 300};
  const auto cb = rvq_test::gaussian(8 + 4 + 300, d, 17);
  auto q = rvq::quantizer<>::from_codebooks(span<const float>(cb), span<const std::size_t>(ks), d);
  REQUIRE(q.ok());
  CHECK(q->max_codewords() == 300);
  CHECK(q->min_codewords() == 4);
  CHECK(q->bits_per_vector() == 3 + 2 + 9);
  const std::array<std::uint16_t, 3> codes = {7, 3, 299};
  for (std::size_t n = 1; n <= 3; ++n) {
    std::vector<float> y(d), want(d, 0.0f);
    REQUIRE(q->decode(span<const std::uint16_t>(codes), span<float>(y), n).ok());
    for (std::size_t l = 0; l < n; ++l)
      for (std::size_t t = 0; t < d; ++t) want[t] += q->codeword(l, codes[l])[t];
    CHECK(y == want);
  }
  // uint8 codes cannot hold K = 300.
  std::array<std::uint8_t, 3> small{};
  const auto x = rvq_test::gaussian(1, d, 2);
  CHECK(q->encode(span<const float>(x), span<std::uint8_t>(small)).code() == rvq::errc::too_many_codewords);
  // beam above the smallest K
  std::array<std::uint16_t, 3> c16{};
  CHECK(q->encode(span<const float>(x), span<std::uint16_t>(c16), rvq::encode_options{5}).code() ==
        rvq::errc::bad_beam);
  CHECK(q->encode(span<const float>(x), span<std::uint16_t>(c16), rvq::encode_options{4}).ok());
}

TEST_CASE("every bad input is a status, never undefined behaviour", "[quantizer][errors]") {
  const std::size_t d = 6, layers = 2, k = 5;
  const auto cb = rvq_test::gaussian(layers * k, d, 1);
  const auto q = make<dyn_q<rvq::l2>>(cb, layers, k, d);
  std::vector<float> x(d, 0.5f), y(d);
  std::array<std::uint8_t, layers> c{};

  SECTION("dimension mismatch") {
    std::vector<float> wrong(d + 1);
    CHECK(q.encode(span<const float>(wrong), span<std::uint8_t>(c)).code() == rvq::errc::dimension_mismatch);
    std::array<std::uint8_t, layers + 1> long_codes{};
    CHECK(q.encode(span<const float>(x), span<std::uint8_t>(long_codes)).code() == rvq::errc::dimension_mismatch);
    CHECK(q.decode(span<const std::uint8_t>(c), span<float>(wrong)).code() == rvq::errc::dimension_mismatch);
    std::vector<std::uint8_t> codes(3 * layers);
    CHECK(q.encode_batch(matrix_view<const float>(x.data(), 1, d), matrix_view<std::uint8_t>(codes.data(), 3, layers))
              .code() == rvq::errc::dimension_mismatch);
  }
  SECTION("NaN and Inf in the input, with the row") {
    std::vector<float> xs(3 * d, 0.0f);
    xs[2 * d + 1] = std::nanf("");
    std::vector<std::uint8_t> codes(3 * layers, 0);
    const auto s =
        q.encode_batch(matrix_view<const float>(xs.data(), 3, d), matrix_view<std::uint8_t>(codes.data(), 3, layers));
    CHECK(s.code() == rvq::errc::non_finite);
    CHECK(s.where() == 2);
    CHECK(std::string(s.where_unit()) == "row");
    x[0] = INFINITY;
    CHECK(q.encode(span<const float>(x), span<std::uint8_t>(c)).code() == rvq::errc::non_finite);
  }
  SECTION("beam width 0 or above K") {
    CHECK(q.encode(span<const float>(x), span<std::uint8_t>(c), rvq::encode_options{0}).code() == rvq::errc::bad_beam);
    CHECK(q.encode(span<const float>(x), span<std::uint8_t>(c), rvq::encode_options{k + 1}).code() ==
          rvq::errc::bad_beam);
    CHECK(q.encode(span<const float>(x), span<std::uint8_t>(c), rvq::encode_options{k}).ok());
  }
  SECTION("out-of-range codes on decode, output untouched") {
    std::array<std::uint8_t, layers> bad = {1, std::uint8_t(k)};
    std::fill(y.begin(), y.end(), 42.0f);
    const auto s = q.decode(span<const std::uint8_t>(bad), span<float>(y));
    CHECK(s.code() == rvq::errc::code_out_of_range);
    CHECK(s.where() == 1);
    CHECK(y[0] == 42.0f);
    std::vector<std::uint8_t> rows = {0, 0, 0, 9};
    std::vector<float> out(2 * d);
    const auto sb =
        q.decode_batch(matrix_view<const std::uint8_t>(rows.data(), 2, layers), matrix_view<float>(out.data(), 2, d));
    CHECK(sb.code() == rvq::errc::code_out_of_range);
    CHECK(sb.where() == 1);
    CHECK(q.decode(span<const std::uint8_t>(c), span<float>(y), layers + 1).code() == rvq::errc::invalid_argument);
  }
  SECTION("workspace too small") {
    std::vector<float> f(1);
    std::vector<std::uint32_t> u(1);
    CHECK(q.encode(span<const float>(x), span<std::uint8_t>(c), rvq::encode_options{2},
                   rvq::workspace_view{span<float>(f), span<std::uint32_t>(u)})
              .code() == rvq::errc::invalid_argument);
  }
  SECTION("empty quantizer") {
    const dyn_q<rvq::l2> empty;
    CHECK(empty.encode(span<const float>(x), span<std::uint8_t>(c)).code() == rvq::errc::empty_input);
    CHECK(empty.decode(span<const std::uint8_t>(c), span<float>(y)).code() == rvq::errc::empty_input);
  }
  SECTION("bad codebooks") {
    auto nan_cb = cb;
    nan_cb[7] = std::nanf("");
    auto r = dyn_q<rvq::l2>::from_codebooks(span<const float>(nan_cb), layers, k, d);
    CHECK(r.error().code() == rvq::errc::non_finite);
    CHECK(r.error().where() == 7);
    CHECK(dyn_q<rvq::l2>::from_codebooks(span<const float>(cb), layers, k, d + 1).error().code() ==
          rvq::errc::dimension_mismatch);
    CHECK(dyn_q<rvq::l2>::from_codebooks(span<const float>(cb), 0, k, d).error().code() == rvq::errc::empty_input);
    std::vector<float> big(70000);
    CHECK(dyn_q<rvq::l2>::from_codebooks(span<const float>(big), 1, 70000, 1).error().code() ==
          rvq::errc::too_many_codewords);
  }
  SECTION("malformed views") {
    std::vector<std::uint8_t> codes(layers);
    CHECK(q.encode_batch(matrix_view<const float>(x.data(), 1, d, d - 1),
                         matrix_view<std::uint8_t>(codes.data(), 1, layers))
              .code() == rvq::errc::invalid_argument);
  }
}

namespace {
// A compile-time model: 3 layers x 8 codewords x 5 dims, the codebooks a constexpr array.
constexpr std::array<float, 3 * 8 * 5> static_cb = [] {
  std::array<float, 3 * 8 * 5> a{};
  std::uint32_t s = 12345;
  for (auto& v : a) {
    s = s * 1664525u + 1013904223u;
    v = float(s >> 8) / float(1u << 24) - 0.5f;
  }
  return a;
}();
}  // namespace

TEMPLATE_LIST_TEST_CASE("static extents: constexpr model, no heap, same codes as dynamic", "[quantizer][static]",
                        rvq_test::metrics) {
  using sq = rvq::quantizer<rvq::config<rvq::f32, TestType>, rvq::extents<3, 8, 5>>;
  static constexpr sq q{static_cb};  // constants computed at compile time: flash-resident
  STATIC_REQUIRE(std::is_same<typename sq::code_type, std::uint8_t>::value);
  STATIC_REQUIRE(sq::static_footprint().codebook_bytes == 3 * 8 * 5 * 4);
  STATIC_REQUIRE(sq::static_footprint().macs_per_vector == 3 * 8 * 5);
  STATIC_REQUIRE(sq::static_workspace(1).floats == 5 + 1);
  REQUIRE(q.validate().ok());
  const auto dq = make<dyn_q<TestType>>(std::vector<float>(static_cb.begin(), static_cb.end()), 3, 8, 5);
  const auto x = rvq_test::gaussian(300, 5, 21, 0.7f);
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    std::array<float, sq::static_workspace(4).floats> f{};
    std::array<std::uint32_t, sq::static_workspace(4).indices> u{};
    const rvq::workspace_view ws{span<float>(f), span<std::uint32_t>(u)};
    for (std::size_t i = 0; i < 300; ++i) {
      std::array<std::uint8_t, 3> a{}, b{};
      span<const float> xi(x.data() + i * 5, 5);
      REQUIRE(q.encode(xi, span<std::uint8_t>(a), rvq::encode_options{beam}, ws).ok());
      REQUIRE(dq.encode(xi, span<std::uint8_t>(b), rvq::encode_options{beam}).ok());
      REQUIRE(a == b);
      std::array<float, 5> ya{}, yb{};
      REQUIRE(q.decode(span<const std::uint8_t>(a), span<float>(ya)).ok());
      REQUIRE(dq.decode(span<const std::uint8_t>(b), span<float>(yb)).ok());
      REQUIRE(ya == yb);
    }
  }
  // The stack-only convenience overload serves greedy; beam needs a workspace.
  std::array<std::uint8_t, 3> c{};
  CHECK(q.encode(span<const float>(x.data(), 5), span<std::uint8_t>(c)).ok());
}

TEST_CASE("footprint and workspace sizes", "[quantizer]") {
  const auto q = make<dyn_q<rvq::l2>>(rvq_test::gaussian(2 * 16, 10, 1), 2, 16, 10);
  const auto f = q.memory_footprint();
  CHECK(f.codebook_bytes == 2 * 16 * 10 * 4);
  CHECK(f.macs_per_vector == 2 * 16 * 10);
  CHECK(f.flash_bytes == f.codebook_bytes + f.constant_bytes);
  CHECK(q.workspace_for(4).floats >= 2 * 4 * 10 + 4 * 16);
  CHECK(f.lookups_per_vector == 0);
}

TEST_CASE("footprint of beam search: multiply-adds with and without cross-product tables", "[quantizer][beam]") {
  auto q = make<dyn_q<rvq::l2>>(rvq_test::gaussian(3 * 16, 10, 1), 3, 16, 10);
  CHECK(q.memory_footprint(1).macs_per_vector == q.memory_footprint().macs_per_vector);
  REQUIRE(q.use_beam_tables(4));
  // Tables: <x, c> once for every codeword; then per layer l, each partial code (1, 4, 4) reads
  // l table rows of 16 values.
  auto f = q.memory_footprint(4);
  CHECK(f.macs_per_vector == 3 * 16 * 10);
  CHECK(f.lookups_per_vector == 1 * 16 * 0 + 4 * 16 * 1 + 4 * 16 * 2);
  CHECK(f.scratch_bytes >= q.workspace_for(4).floats * sizeof(float));
  REQUIRE_FALSE(q.build_beam_tables(0));  // without tables every partial code scores with D multiply-adds
  f = q.memory_footprint(4);
  CHECK(f.macs_per_vector == (1 + 4 + 4) * 16 * 10);
  CHECK(f.lookups_per_vector == 0);
  // Partial codes are capped by the codes that exist: K = 2 before a beam of 8.
  auto small = make<dyn_q<rvq::l2>>(rvq_test::gaussian(2 + 2 + 2, 4, 2), 3, 2, 4);
  REQUIRE_FALSE(small.build_beam_tables(0));
  CHECK(small.memory_footprint(2).macs_per_vector == (1 + 2 + 2) * 2 * 4);
  // Static models: the same, as constants (no tables).
  using sq = rvq::quantizer<rvq::config<>, rvq::extents<3, 8, 5>>;
  STATIC_REQUIRE(sq::static_footprint(4).macs_per_vector == (1 + 4 + 4) * 8 * 5);
  STATIC_REQUIRE(sq::static_footprint(1).macs_per_vector == 3 * 8 * 5);
  STATIC_REQUIRE(sq::static_footprint(4).scratch_bytes >= sq::static_workspace(4).floats * sizeof(float));
  STATIC_REQUIRE(sq::static_footprint(4).lookups_per_vector == 0);
}

TEMPLATE_LIST_TEST_CASE("beam search through cross-product tables matches the residual path", "[beam]",
                        rvq_test::metrics) {
  const std::size_t d = 24, n = 300;
  const std::vector<std::size_t> k = {32, 20, 32, 7};
  auto cb = rvq_test::gaussian(32 + 20 + 32 + 7, d, 21);
  for (std::size_t i = 32 * d; i < cb.size(); ++i) cb[i] *= 0.5f;  // later layers finer
  const auto x = rvq_test::gaussian(n, d, 22);
  auto made = dyn_q<TestType>::from_codebooks(span<const float>(cb), span<const std::size_t>(k), d);
  REQUIRE(made.ok());
  auto q = std::move(made).value();
  for (std::size_t beam : {std::size_t{2}, std::size_t{5}, std::size_t{7}}) {
    CAPTURE(beam);
    REQUIRE(q.use_beam_tables(beam));
    CHECK_FALSE(q.use_beam_tables(1));
    std::vector<std::uint16_t> fast(n * k.size()), ref(n * k.size());
    REQUIRE(q.encode_batch(matrix_view<const float>(x.data(), n, d),
                           matrix_view<std::uint16_t>(fast.data(), n, k.size()), rvq::encode_options{beam})
                .ok());
    rvq::workspace ws(q.workspace_for_beam_path(beam));
    for (std::size_t i = 0; i < n; ++i)
      REQUIRE(q.encode_beam(span<const float>(x.data() + i * d, d),
                            span<std::uint16_t>(ref.data() + i * k.size(), k.size()), beam, ws.view())
                  .ok());
    std::size_t same = 0;
    for (std::size_t i = 0; i < n; ++i)
      same += std::equal(fast.begin() + std::ptrdiff_t(i * k.size()), fast.begin() + std::ptrdiff_t((i + 1) * k.size()),
                         ref.begin() + std::ptrdiff_t(i * k.size()));
    CHECK(same >= n * 99 / 100);  // only near-ties may differ
    // Single-vector encode takes the same table path.
    std::vector<std::uint16_t> one(k.size());
    rvq::workspace w1(q.workspace_for(beam));
    REQUIRE(
        q.encode(span<const float>(x.data(), d), span<std::uint16_t>(one), rvq::encode_options{beam}, w1.view()).ok());
    CHECK(std::equal(one.begin(), one.end(), fast.begin()));
  }
  // Without tables (limit 0) encode runs the residual path: exactly encode_beam's codes.
  CHECK_FALSE(q.build_beam_tables(0));
  CHECK_FALSE(q.use_beam_tables(4));
  std::vector<std::uint16_t> a(k.size()), b(k.size());
  rvq::workspace ws(q.workspace_for_beam_path(4));
  for (std::size_t i = 0; i < 20; ++i) {
    span<const float> xi(x.data() + i * d, d);
    REQUIRE(q.encode(xi, span<std::uint16_t>(a), rvq::encode_options{4}, ws.view()).ok());
    REQUIRE(q.encode_beam(xi, span<std::uint16_t>(b), 4, ws.view()).ok());
    CHECK(a == b);
  }
  CHECK(q.build_beam_tables(std::size_t{1} << 20));
  CHECK(q.use_beam_tables(4));
}

TEST_CASE("beam tables: the workspace check covers the table scratch", "[beam]") {
  const std::size_t d = 8;
  const auto cb = rvq_test::gaussian(3 * 16, d, 2);
  auto q = make<dyn_q<rvq::l2>>(cb, 3, 16, d);
  REQUIRE(q.use_beam_tables(3));
  const auto need = q.workspace_for(3);
  rvq::workspace small(rvq::workspace_size{need.floats - 1, need.indices});
  std::array<std::uint16_t, 3> c{};
  const auto x = rvq_test::gaussian(1, d, 3);
  CHECK(q.encode(span<const float>(x), span<std::uint16_t>(c), rvq::encode_options{3}, small.view()).code() ==
        rvq::errc::invalid_argument);
}

namespace {
/// Beam search by its definition: every candidate of every partial code scored on its residual,
/// all sorted by (accumulated squared error, parent's rank, own score, index), the first B kept.
std::vector<std::uint16_t> reference_beam(const std::vector<float>& cb, const std::vector<std::size_t>& k,
                                          std::size_t d, const float* x, std::size_t beam) {
  struct entry {
    std::vector<std::uint16_t> codes;
    std::vector<double> r;
    double cum;
  };
  struct cand {
    double total, score;
    std::size_t parent, c;
  };
  std::vector<entry> cur{{{}, std::vector<double>(x, x + d), 0.0}};
  std::size_t first = 0;
  for (std::size_t l = 0; l < k.size(); ++l) {
    std::vector<cand> all;
    for (std::size_t b = 0; b < cur.size(); ++b)
      for (std::size_t c = 0; c < k[l]; ++c) {
        double nn = 0, dot = 0;
        for (std::size_t t = 0; t < d; ++t) {
          nn += double(cb[(first + c) * d + t]) * double(cb[(first + c) * d + t]);
          dot += cur[b].r[t] * double(cb[(first + c) * d + t]);
        }
        const double score = nn - 2 * dot;
        all.push_back({cur[b].cum + score, score, b, c});
      }
    std::sort(all.begin(), all.end(), [](const cand& a, const cand& b) {
      return std::tie(a.total, a.parent, a.score, a.c) < std::tie(b.total, b.parent, b.score, b.c);
    });
    std::vector<entry> next;
    for (std::size_t i = 0; i < all.size() && i < beam; ++i) {
      entry e = cur[all[i].parent];
      e.codes.push_back(static_cast<std::uint16_t>(all[i].c));
      for (std::size_t t = 0; t < d; ++t) e.r[t] -= double(cb[(first + all[i].c) * d + t]);
      e.cum = all[i].total;
      next.push_back(std::move(e));
    }
    cur = std::move(next);
    first += k[l];
  }
  return cur[0].codes;
}
}  // namespace

TEST_CASE("beam search ranks exactly as its definition, ties included, on every path", "[beam]") {
  // Small integers: every dot product and score is exact in float, so any difference from the
  // reference is a ranking error, and ties (equal totals across and within parents) are frequent.
  // Sizes exercise the vector tails (K not a multiple of the lanes), B above the vector width,
  // and more earlier layers than table_scores() keeps on the stack (20 layers).
  struct shape {
    std::vector<std::size_t> k;
    std::size_t d;
    std::vector<std::size_t> beams;
  };
  const shape shapes[] = {{{37, 17, 40, 33, 21}, 6, {1, 2, 3, 8, 17}},
                          {std::vector<std::size_t>(20, 6), 5, {1, 4, 6}},
                          {{64, 128, 64}, 4, {8, 16}}};
  std::uint32_t seed = 7;
  auto next = [&seed](int span_) {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<float>(static_cast<int>((seed >> 16) % static_cast<std::uint32_t>(2 * span_ + 1)) - span_);
  };
  for (const auto& sh : shapes) {
    const std::size_t total = std::accumulate(sh.k.begin(), sh.k.end(), std::size_t{0}), nl = sh.k.size();
    CAPTURE(nl, sh.d);
    std::vector<float> cb(total * sh.d);
    for (auto& v : cb) v = next(2);
    auto made = dyn_q<rvq::l2>::from_codebooks(span<const float>(cb), span<const std::size_t>(sh.k), sh.d);
    REQUIRE(made.ok());
    auto q = std::move(made).value();
    const std::size_t n = 60;
    std::vector<float> x(n * sh.d);
    for (auto& v : x) v = next(6);
    for (std::size_t beam : sh.beams) {
      CAPTURE(beam);
      std::vector<std::uint16_t> tables(n * nl), residual(nl);
      REQUIRE(q.encode_batch(matrix_view<const float>(x.data(), n, sh.d),
                             matrix_view<std::uint16_t>(tables.data(), n, nl), rvq::encode_options{beam})
                  .ok());
      rvq::workspace ws(q.workspace_for_beam_path(beam));
      for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i);
        const auto want = reference_beam(cb, sh.k, sh.d, x.data() + i * sh.d, beam);
        REQUIRE(
            q.encode_beam(span<const float>(x.data() + i * sh.d, sh.d), span<std::uint16_t>(residual), beam, ws.view())
                .ok());
        CHECK(residual == want);
        CHECK(std::vector<std::uint16_t>(tables.begin() + std::ptrdiff_t(i * nl),
                                         tables.begin() + std::ptrdiff_t((i + 1) * nl)) == want);
      }
    }
  }
}

namespace {
constexpr std::size_t pL = 3, pK = 32, pD = 40;
template <class Simd, class Metric>
using pruned_q =
    rvq::quantizer<rvq::config<rvq::f32, Metric, rvq::dense, rvq::sequential, Simd>, rvq::extents<pL, pK, pD>>;
}  // namespace

TEMPLATE_LIST_TEST_CASE("scalar_pruned skips codewords but returns the plain search's codes", "[pruned]",
                        rvq_test::metrics) {
  // Layer 0: well separated centres (most codewords are pruned at the first checkpoint);
  // layers 1 and 2: finer random codewords, with exact duplicates (ties to the lowest index).
  static std::array<float, pL * pK * pD> books{};
  const auto g = rvq_test::gaussian(pL * pK, pD, 31);
  for (std::size_t i = 0; i < books.size(); ++i) books[i] = g[i] * (i < pK * pD ? 10.0f : 0.5f);
  std::copy(books.begin() + pK * pD, books.begin() + pK * pD + pD, books.begin() + (pK + 5) * pD);  // duplicate
  const pruned_q<rvq::scalar, TestType> plain(books);
  const pruned_q<rvq::scalar_pruned, TestType> pruned(books);
  STATIC_REQUIRE(pruned_q<rvq::scalar_pruned, TestType>::static_footprint().constant_bytes ==
                 (2 + 4) * pL * pK * sizeof(float));
  const auto noise = rvq_test::gaussian(400, pD, 32, 0.3f);
  for (std::size_t i = 0; i < 400; ++i) {
    std::array<float, pD> x{};
    for (std::size_t t = 0; t < pD; ++t) x[t] = books[(i % pK) * pD + t] + noise[i * pD + t];
    if (i % 7 == 0) x = {};  // the origin: many near-equal scores
    std::array<std::uint8_t, pL> a{}, b{};
    REQUIRE(plain.encode(span<const float>(x), span<std::uint8_t>(a)).ok());
    REQUIRE(pruned.encode(span<const float>(x), span<std::uint8_t>(b)).ok());
    CHECK(a == b);
  }
}

}  // namespace rvq_test_quantizer_test
