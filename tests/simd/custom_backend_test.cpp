// A SIMD backend defined here, outside the library: its tag, its simd_traits and a kernels type
// that inherits the scalar backend and replaces some entry points with counting ones (a backend
// lacking an operation inherits the parent's, as xsimd's architectures do). rvq::quantizer
// encodes through it (greedy, beam search on residuals and through tables, the integer path)
// with the codes of the scalar reference, and the counters show the backend was called.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "../helpers.hpp"

namespace custom {

struct counts {
  static inline std::size_t argmin = 0, scores = 0, minima = 0, tables = 0, int_argmin = 0, grid = 0;
};

/// Integer kernels of the custom backend: the scalar ones, with the search counted.
template <class Element>
struct counting_int : rvq::simd::scalar::int_kernels<Element> {
  template <class Acc, class... A>
  static void argmin(A&&... a) noexcept {
    ++counts::int_argmin;
    rvq::simd::scalar::int_kernels<Element>::template argmin<Acc>(std::forward<A>(a)...);
  }
};

/// The kernels: the scalar backend with counting panel search, lane operations and integer search.
struct counting_kernels : rvq::simd::scalar::kernels {
  using base = rvq::simd::scalar::kernels;
  template <class Element>
  using int_kernels = counting_int<Element>;
  static constexpr bool use_int8_panels = false;  // the int8 panel kernels are the scalar backend's own

  template <class... A>
  static void argmin_panels(A&&... a) noexcept {
    ++counts::argmin;
    base::argmin_panels(std::forward<A>(a)...);
  }
  template <class... A>
  static void scores_panels(A&&... a) noexcept {
    ++counts::scores;
    base::scores_panels(std::forward<A>(a)...);
  }
  static void group_minima(const float* sb, std::size_t k, float* mins) noexcept {
    ++counts::minima;
    base::group_minima(sb, k, mins);
  }
  static std::size_t table_scores(const float* start, const float* const* t, std::size_t nt, const float* bias,
                                  const float* scale, std::size_t k, float* out, float* mins) noexcept {
    ++counts::tables;
    return base::table_scores(start, t, nt, bias, scale, k, out, mins);
  }
  static std::size_t float_to_grid(const float* x, std::size_t d, float unit, std::int32_t* r) noexcept {
    ++counts::grid;
    return base::float_to_grid(x, d, unit, r);
  }
};

struct counting {};

}  // namespace custom

template <>
struct rvq::simd_traits<custom::counting> {
  static constexpr const char* name = "counting";
  using kernels = custom::counting_kernels;
};

namespace {
template <class Element, class Simd>
using cfg = rvq::config<Element, rvq::l2, rvq::dense, rvq::sequential, Simd>;

template <class Q>
std::vector<std::uint16_t> encode_all(const Q& q, const std::vector<float>& x, std::size_t n, std::size_t beam) {
  std::vector<std::uint16_t> codes(n * q.layers());
  const rvq::status s =
      q.encode_batch(rvq::matrix_view<const float>(x.data(), n, q.dim()),
                     rvq::matrix_view<std::uint16_t>(codes.data(), n, q.layers()), rvq::encode_options{beam});
  INFO(s.message());
  REQUIRE(s.ok());
  return codes;
}
}  // namespace

TEST_CASE("a backend defined outside the library encodes as the scalar reference", "[simd][custom]") {
  const std::size_t d = 20, n = 400;
  const std::vector<std::size_t> k = {32, 16, 32, 8};
  std::size_t total = 0;
  for (std::size_t x : k) total += x;
  const std::vector<float> cb = rvq_test::gaussian(total, d, 5);
  const std::vector<float> x = rvq_test::gaussian(n, d, 6);
  auto custom_q = rvq::quantizer<cfg<rvq::f32, custom::counting>>::from_codebooks(cb, k, d);
  auto scalar_q = rvq::quantizer<cfg<rvq::f32, rvq::scalar>>::from_codebooks(cb, k, d);
  REQUIRE(custom_q.ok());
  REQUIRE(scalar_q.ok());

  SECTION("greedy") {
    custom::counts::argmin = 0;
    CHECK(encode_all(*custom_q, x, n, 1) == encode_all(*scalar_q, x, n, 1));
    CHECK(custom::counts::argmin > 0);
  }
  SECTION("beam search through the cross-product tables") {
    REQUIRE(custom_q->use_beam_tables(4));
    custom::counts::tables = 0;
    CHECK(encode_all(*custom_q, x, n, 4) == encode_all(*scalar_q, x, n, 4));
    CHECK(custom::counts::tables > 0);
  }
  SECTION("beam search on residuals") {
    auto c = *custom_q;
    auto s = *scalar_q;
    c.build_beam_tables(0);
    s.build_beam_tables(0);
    REQUIRE_FALSE(c.use_beam_tables(4));
    custom::counts::scores = custom::counts::minima = 0;
    CHECK(encode_all(c, x, n, 4) == encode_all(s, x, n, 4));
    CHECK(custom::counts::scores > 0);
    CHECK(custom::counts::minima > 0);
  }
  SECTION("the integer path") {
    rvq::quantized_codebooks qc;
    rvq::quantize_options o;
    o.element = rvq::element_id::int8;
    REQUIRE(rvq::quantize_codebooks(*scalar_q, rvq::matrix_view<const float>(x.data(), n, d), o, qc).ok());
    auto ci = rvq::quantizer<cfg<rvq::int8, custom::counting>>::from_quantized(qc);
    auto si = rvq::quantizer<cfg<rvq::int8, rvq::scalar>>::from_quantized(qc);
    REQUIRE(ci.ok());
    REQUIRE(si.ok());
    custom::counts::int_argmin = custom::counts::grid = 0;
    CHECK(encode_all(*ci, x, n, 1) == encode_all(*si, x, n, 1));
    CHECK(custom::counts::int_argmin > 0);
    CHECK(custom::counts::grid > 0);
  }
}
