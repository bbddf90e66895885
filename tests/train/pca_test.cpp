#include <catch2/catch.hpp>
#include "../helpers.hpp"
#include <rvq/train/pca.hpp>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_train_pca_test {

TEST_CASE("symmetric eigensolver: A v = lambda v, orthonormal, decreasing", "[train][pca]") {
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{40}}) {
    const auto g = rvq_test::gaussian(n, n, unsigned(n));
    std::vector<double> a(n * n);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t c = 0; c < n; ++c) a[r * n + c] = double(g[r * n + c]) + double(g[c * n + r]);
    std::vector<double> values, vectors;
    REQUIRE(rvq::symmetric_eigen(a, n, values, vectors).ok());
    for (std::size_t i = 0; i + 1 < n; ++i) CHECK(values[i] >= values[i + 1]);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t r = 0; r < n; ++r) {
        double av = 0;
        for (std::size_t c = 0; c < n; ++c) av += a[r * n + c] * vectors[i * n + c];
        CHECK(av == Approx(values[i] * vectors[i * n + r]).margin(1e-9));
      }
      for (std::size_t j = 0; j < n; ++j) {
        double dot = 0;
        for (std::size_t c = 0; c < n; ++c) dot += vectors[i * n + c] * vectors[j * n + c];
        CHECK(dot == Approx(i == j ? 1.0 : 0.0).margin(1e-9));
      }
    }
  }
  std::vector<double> v, w;
  CHECK(rvq::symmetric_eigen({1, 2, 3}, 2, v, w).code() == rvq::errc::dimension_mismatch);
}

TEST_CASE("PCA finds the direction of largest variance", "[train][pca]") {
  // Points along (3, 4)/5 with variance 100, plus unit noise, offset by (10, -2).
  std::mt19937 g(3);
  std::normal_distribution<float> nd;
  std::vector<float> x;
  for (int i = 0; i < 5000; ++i) {
    const float a = 10.0f * nd(g);
    x.push_back(10.0f + 0.6f * a + 0.1f * nd(g));
    x.push_back(-2.0f + 0.8f * a + 0.1f * nd(g));
  }
  rvq::pca_basis p;
  REQUIRE(rvq::fit_pca(rvq::matrix_view<const float>(x.data(), 5000, 2), 1000, p).ok());
  CHECK(p.mean[0] == Approx(10.0).margin(0.5));
  CHECK(p.mean[1] == Approx(-2.0).margin(0.5));
  CHECK(std::fabs(p.components[0] * 0.6f + p.components[1] * 0.8f) == Approx(1.0).margin(1e-3));
  CHECK(p.variances[0] > 50 * p.variances[1]);
}

}  // namespace rvq_test_train_pca_test
