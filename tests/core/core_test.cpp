#include <catch2/catch.hpp>
#include <rvq/rvq.hpp>

#include <string>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_core_core_test {

TEST_CASE("status carries code, message and location", "[core]") {
  constexpr rvq::status ok;
  STATIC_REQUIRE(ok.ok());
  const rvq::status s{rvq::errc::non_finite, "input contains NaN or Inf", 7, "row"};
  CHECK_FALSE(s.ok());
  CHECK(s.code() == rvq::errc::non_finite);
  CHECK(rvq::describe(s) == "input contains NaN or Inf (row 7)");
  CHECK(rvq::describe(rvq::status{rvq::errc::io_error, "x"}) == "x");
  CHECK(std::string(rvq::to_string(rvq::errc::bad_beam)) == "bad beam width");
}

TEST_CASE("result holds a value or an error", "[core]") {
  rvq::result<std::vector<int>> r(std::vector<int>{1, 2, 3});
  REQUIRE(r.ok());
  CHECK(r->size() == 3);
  rvq::result<std::vector<int>> copy = r;
  CHECK((*copy)[2] == 3);
  rvq::result<std::vector<int>> e(rvq::status{rvq::errc::empty_input, "nothing"});
  CHECK_FALSE(e.ok());
  CHECK(e.error().code() == rvq::errc::empty_input);
  e = copy;
  CHECK(e.ok());
  rvq::result<int> from_ok(rvq::status{});  // misuse is reported, not UB
  CHECK_FALSE(from_ok.ok());
}

TEST_CASE("exceptions layer converts statuses", "[core]") {
  CHECK_THROWS_AS(rvq::throw_if_error(rvq::status{rvq::errc::io_error, "disk"}), rvq::error);
  CHECK_NOTHROW(rvq::throw_if_error(rvq::status{}));
  CHECK(rvq::value_or_throw(rvq::result<int>(4)) == 4);
  CHECK_THROWS_WITH(rvq::value_or_throw(rvq::result<int>(rvq::status{rvq::errc::io_error, "disk"})), "disk");
}

TEST_CASE("code types follow K", "[core]") {
  STATIC_REQUIRE(std::is_same<rvq::code_type_for_t<2>, std::uint8_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::code_type_for_t<256>, std::uint8_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::code_type_for_t<257>, std::uint16_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::code_type_for_t<65536>, std::uint16_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::code_type_for_t<rvq::dynamic_extent>, std::uint16_t>::value);
  STATIC_REQUIRE(rvq::code_bits(256) == 8);
  STATIC_REQUIRE(rvq::code_bits(100) == 7);
  STATIC_REQUIRE(rvq::code_bits(1) == 0);
  STATIC_REQUIRE(rvq::extents<8, 128, 100>::is_static);
  STATIC_REQUIRE(rvq::dynamic_extents::is_dynamic);
}

TEST_CASE("views address strided rows", "[core]") {
  std::vector<float> m = {0, 1, 2, 99, 3, 4, 5, 99};
  rvq::matrix_view<const float> v(m.data(), 2, 3, 4);
  CHECK(v.valid());
  CHECK(v(1, 2) == 5);
  CHECK(v.row_range(1, 1)(0, 0) == 3);
  CHECK_FALSE(rvq::matrix_view<const float>(m.data(), 2, 3, 2).valid());
  rvq::span<const float> s(m);
  CHECK(s.size() == 8);
}

TEST_CASE("metric constants", "[core][metric]") {
  STATIC_REQUIRE(rvq::metric_traits<rvq::l2>::bias(4.0f) == 4.0f);
  STATIC_REQUIRE(rvq::metric_traits<rvq::l2>::scale(4.0f) == 2.0f);
  STATIC_REQUIRE(rvq::metric_traits<rvq::cosine>::scale(4.0f) == 0.5f);
  STATIC_REQUIRE(rvq::metric_traits<rvq::cosine>::scale(0.0f) == 0.0f);
  STATIC_REQUIRE(rvq::detail::portable_sqrt(2.0f) == 1.41421354f);
  for (float v : {1e-30f, 0.1f, 3.0f, 12345.678f, 1e30f}) CHECK(rvq::detail::portable_sqrt(v) == std::sqrt(v));
}

}  // namespace rvq_test_core_core_test
