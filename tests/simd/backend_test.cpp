// Every SIMD backend against the scalar reference: the same codes except at near-ties, and the
// same reconstruction error to 1e-6 relative. Built when a backend's dependency is found.
#include <cstdlib>
#include <string>
#include <catch2/catch.hpp>
#include "../helpers.hpp"

using rvq::matrix_view;
using rvq::span;

namespace {
template <class Metric, class Simd>
using q_t = rvq::quantizer<rvq::config<rvq::f32, Metric, rvq::dense, rvq::sequential, Simd>>;

template <class Q>
double mse_of(const Q& q, const std::vector<float>& x, const std::vector<std::uint16_t>& codes, std::size_t n) {
  std::vector<float> y(n * q.dim());
  REQUIRE(q.decode_batch(matrix_view<const std::uint16_t>(codes.data(), n, q.layers()),
                         matrix_view<float>(y.data(), n, q.dim()))
              .ok());
  double e = 0;
  for (std::size_t i = 0; i < y.size(); ++i) e += double(x[i] - y[i]) * double(x[i] - y[i]);
  return e / double(n);
}
}  // namespace

// The backend under test is the default one that the linked target (rvq::xsimd, rvq::highway)
// selects, or rvq::dispatch at the target RVQ_ISA names (RVQ_TEST_DISPATCH).
#if defined(RVQ_TEST_DISPATCH)
using backend = rvq::dispatch;
static_assert(std::is_same<rvq::default_simd, rvq::dispatch>::value, "dispatch is the x86-64 default");
#else
using backend = rvq::default_simd;
#endif
static_assert(!std::is_same<backend, rvq::scalar>::value, "link a SIMD backend target");

#if defined(RVQ_TEST_DISPATCH)
TEST_CASE("the dispatch backend runs the target RVQ_ISA names", "[simd]") {
  const char* env = std::getenv("RVQ_ISA");
  REQUIRE(env != nullptr);
  if (const char* note = rvq::isa_env_note()) {
    WARN(env << ": " << note);  // a CPU without that target: the best one it has is tested
    CHECK(rvq::active_isa() == rvq::best_isa());
  } else {
    CHECK(std::string(rvq::to_string(rvq::active_isa())) == env);
  }
}
#endif

TEMPLATE_LIST_TEST_CASE("the SIMD backend matches the scalar reference", "[simd]", rvq_test::metrics) {
  const std::size_t n = 2000, d = 37, layers = 4, k = 50;  // odd sizes: partial panels and tails
  const auto data = rvq_test::gaussian(n, d, 31);
  rvq::train_options opt = rvq_test::options(layers, k, 4);
  auto ref = rvq::train<rvq::config<rvq::f32, TestType, rvq::dense, rvq::sequential, rvq::scalar>>(
      matrix_view<const float>(data.data(), n, d), opt);
  REQUIRE(ref.ok());
  auto fast =
      q_t<TestType, backend>::from_codebooks(span<const float>(ref->codebook_data(), layers * k * d), layers, k, d);
  REQUIRE(fast.ok());
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    std::vector<std::uint16_t> a(n * layers), b(n * layers);
    REQUIRE(ref->encode_batch(matrix_view<const float>(data.data(), n, d),
                              matrix_view<std::uint16_t>(a.data(), n, layers), {beam})
                .ok());
    REQUIRE(fast->encode_batch(matrix_view<const float>(data.data(), n, d),
                               matrix_view<std::uint16_t>(b.data(), n, layers), {beam})
                .ok());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < n; ++i)
      differ += !std::equal(a.begin() + std::ptrdiff_t(i * layers), a.begin() + std::ptrdiff_t((i + 1) * layers),
                            b.begin() + std::ptrdiff_t(i * layers));
    CHECK(differ <= n / 200);  // near-ties only
    const double ma = mse_of(*ref, data, a, n), mb = mse_of(*fast, data, b, n);
    CHECK(std::fabs(ma - mb) <= 1e-6 * ma);
  }
}

TEST_CASE("training with the SIMD backend gives the scalar backend's error", "[simd]") {
  const std::size_t n = 3000, d = 24;
  const auto data = rvq_test::gaussian(n, d, 5);
  rvq::train_options opt = rvq_test::options(3, 32, 6);
  rvq::train_report ra, rb;
  REQUIRE(rvq::train<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, rvq::scalar>>(
              matrix_view<const float>(data.data(), n, d), opt, &ra)
              .ok());
  REQUIRE(
      rvq::train(matrix_view<const float>(data.data(), n, d), opt, &rb).ok());  // default_simd: the backend under test
  CHECK(rb.layer_mse.back() == Approx(ra.layer_mse.back()).epsilon(1e-3));
}
