// Shift-round-saturate against a wide-integer reference: exhaustive over int16 inputs, random over int32/int64.
#include <catch2/catch.hpp>
#include <rvq/element/srs.hpp>

#include <cstdint>
#include <limits>
#include <random>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_element_srs_test {

namespace {

__extension__ typedef __int128 wide;

/// v / 2^n rounded by mode and saturated to T, computed with 128-bit division (n in [0, 100]).
template <class T>
T reference(std::int64_t v, int n, rvq::rounding mode) {
  const wide lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  wide r;
  if (n <= 0) {
    r = static_cast<wide>(v);
    for (int i = 0; i < -n && r >= -(wide{1} << 80) && r <= (wide{1} << 80); ++i) r *= 2;
  } else {
    const wide p = n >= 100 ? (wide{1} << 100) : (wide{1} << n);
    wide q = static_cast<wide>(v) / p;  // toward zero
    wide rem = static_cast<wide>(v) - q * p;
    if (rem < 0) q -= 1, rem += p;  // floor, rem in [0, p)
    switch (mode) {
      case rvq::rounding::truncate:
        r = q;
        break;
      case rvq::rounding::half_up:
        r = 2 * rem >= p ? q + 1 : q;
        break;
      default:
        r = (2 * rem > p || (2 * rem == p && (q % 2 != 0))) ? q + 1 : q;
        break;
    }
  }
  return static_cast<T>(r < lo ? lo : r > hi ? hi : r);
}

const rvq::rounding modes[] = {rvq::rounding::half_up, rvq::rounding::half_to_even, rvq::rounding::truncate};

}  // namespace

TEST_CASE("srs: every int16 input, shifts -17..17, every rounding mode, to int8 and int16", "[element][srs]") {
  std::size_t mismatches = 0;
  for (auto mode : modes)
    for (int n = -17; n <= 17; ++n)
      for (std::int32_t v = -32768; v <= 32767; ++v) {
        mismatches += rvq::srs<std::int8_t>(v, n, mode) != reference<std::int8_t>(v, n, mode);
        mismatches += rvq::srs<std::int16_t>(v, n, mode) != reference<std::int16_t>(v, n, mode);
      }
  REQUIRE(mismatches == 0);
}

TEST_CASE("srs: random int32 and int64 inputs against the 128-bit reference", "[element][srs]") {
  std::mt19937_64 g(42);
  std::uniform_int_distribution<std::int64_t> any64(std::numeric_limits<std::int64_t>::min(),
                                                    std::numeric_limits<std::int64_t>::max());
  std::uniform_int_distribution<std::int32_t> any32(std::numeric_limits<std::int32_t>::min(),
                                                    std::numeric_limits<std::int32_t>::max());
  std::uniform_int_distribution<int> shift(-40, 70);
  std::size_t mismatches = 0;
  for (int i = 0; i < 300000; ++i) {
    const std::int64_t v32 = any32(g), v64 = any64(g);
    const int n = shift(g);
    for (auto mode : modes) {
      mismatches += rvq::srs<std::int32_t>(v32, n, mode) != reference<std::int32_t>(v32, n, mode);
      mismatches += rvq::srs<std::int16_t>(v32, n, mode) != reference<std::int16_t>(v32, n, mode);
      mismatches += rvq::srs<std::int64_t>(v64, n, mode) != reference<std::int64_t>(v64, n, mode);
      mismatches += rvq::srs<std::int32_t>(v64, n, mode) != reference<std::int32_t>(v64, n, mode);
    }
  }
  REQUIRE(mismatches == 0);
}

TEST_CASE("srs: named cases", "[element][srs]") {
  using rvq::rounding;
  STATIC_REQUIRE(rvq::srs<std::int8_t>(3, 1, rounding::half_up) == 2);       // 1.5 -> 2
  STATIC_REQUIRE(rvq::srs<std::int8_t>(-3, 1, rounding::half_up) == -1);     // -1.5 -> -1 (ties up)
  STATIC_REQUIRE(rvq::srs<std::int8_t>(5, 1, rounding::half_to_even) == 2);  // 2.5 -> 2
  STATIC_REQUIRE(rvq::srs<std::int8_t>(7, 1, rounding::half_to_even) == 4);  // 3.5 -> 4
  STATIC_REQUIRE(rvq::srs<std::int8_t>(-3, 1, rounding::truncate) == -2);    // floor
  STATIC_REQUIRE(rvq::srs<std::int8_t>(1000, 2) == 127);                     // saturates
  STATIC_REQUIRE(rvq::srs<std::int8_t>(-1000, 2) == -128);
  STATIC_REQUIRE(rvq::srs<std::int16_t>(100, -8) == 25600);  // left shift
  STATIC_REQUIRE(rvq::srs<std::int16_t>(200, -8) == 32767);  // saturating left shift
  STATIC_REQUIRE(rvq::srs<std::int32_t>(std::numeric_limits<std::int64_t>::min(), 63, rounding::truncate) == -1);
  STATIC_REQUIRE(rvq::srs<std::int32_t>(-5, 64, rounding::truncate) == -1);
  STATIC_REQUIRE(rvq::srs<std::int32_t>(-5, 64, rounding::half_up) == 0);
  STATIC_REQUIRE(rvq::srs<std::int32_t>(1, std::numeric_limits<int>::min()) ==
                 std::numeric_limits<std::int32_t>::max());
}

}  // namespace rvq_test_element_srs_test
