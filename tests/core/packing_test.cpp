#include <catch2/catch.hpp>
#include "../helpers.hpp"

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_core_packing_test {

using rvq::matrix_view;
using rvq::span;

namespace {
rvq::quantizer<> model_with(const std::vector<std::size_t>& ks) {
  std::size_t total = 0;
  for (auto k : ks) total += k;
  const auto cb = rvq_test::gaussian(total, 2, 1);
  return std::move(rvq::quantizer<>::from_codebooks(span<const float>(cb), span<const std::size_t>(ks), 2)).value();
}
}  // namespace

TEST_CASE("packed codes use the documented little-endian bit order", "[core][packing]") {
  const auto q = model_with({4, 8, 2});  // 2 + 3 + 1 = 6 bits: one byte
  REQUIRE(rvq::packed_bytes(q) == 1);
  const std::uint16_t codes[3] = {2, 5, 1};  // 0b10 | 0b101 << 2 | 1 << 5 = 0b110110
  std::uint8_t out[1] = {0xff};
  REQUIRE(rvq::pack_codes(q, span<const std::uint16_t>(codes), span<std::uint8_t>(out)).ok());
  CHECK(out[0] == 0x36);
  std::uint16_t back[3] = {};
  REQUIRE(rvq::unpack_codes(q, span<const std::uint8_t>(out), span<std::uint16_t>(back)).ok());
  CHECK(std::equal(codes, codes + 3, back));
}

TEST_CASE("pack and unpack round-trip for mixed K, K = 1 and K above 256", "[core][packing]") {
  const std::vector<std::size_t> ks = {3, 256, 1, 300, 1024, 2, 65536};
  const auto q = model_with(ks);
  CHECK(q.bits_per_vector() == 2 + 8 + 0 + 9 + 10 + 1 + 16);
  CHECK(rvq::packed_bytes(q) == 6);
  std::mt19937 g(4);
  const std::size_t n = 200;
  std::vector<std::uint16_t> codes(n * ks.size()), back(n * ks.size(), 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t l = 0; l < ks.size(); ++l) codes[i * ks.size() + l] = std::uint16_t(g() % ks[l]);
  std::vector<std::uint8_t> packed(n * rvq::packed_bytes(q));
  REQUIRE(rvq::pack_codes_batch(q, matrix_view<const std::uint16_t>(codes.data(), n, ks.size()),
                                matrix_view<std::uint8_t>(packed.data(), n, rvq::packed_bytes(q)))
              .ok());
  REQUIRE(rvq::unpack_codes_batch(q, matrix_view<const std::uint8_t>(packed.data(), n, rvq::packed_bytes(q)),
                                  matrix_view<std::uint16_t>(back.data(), n, ks.size()))
              .ok());
  CHECK(codes == back);
}

TEST_CASE("packing rejects bad codes and bad packed bytes without writing", "[core][packing][errors]") {
  const auto q = model_with({3, 5});  // 2 + 3 bits; K not powers of two, so fields can overflow
  std::uint8_t out[1] = {0xaa};
  const std::uint8_t bad_codes[2] = {3, 0};
  auto s = rvq::pack_codes(q, span<const std::uint8_t>(bad_codes), span<std::uint8_t>(out));
  CHECK(s.code() == rvq::errc::code_out_of_range);
  CHECK(s.where() == 0);
  CHECK(out[0] == 0xaa);
  std::uint8_t codes[2] = {9, 9};
  const std::uint8_t field_too_big[1] = {0x03};  // layer 0 holds 3 >= K = 3
  CHECK(rvq::unpack_codes(q, span<const std::uint8_t>(field_too_big), span<std::uint8_t>(codes)).code() ==
        rvq::errc::code_out_of_range);
  const std::uint8_t unused_set[1] = {0x80};  // bit 7 is past the 5 used bits
  CHECK(rvq::unpack_codes(q, span<const std::uint8_t>(unused_set), span<std::uint8_t>(codes)).code() ==
        rvq::errc::corrupt_file);
  CHECK(codes[0] == 9);
  std::uint8_t two[2] = {};
  CHECK(rvq::unpack_codes(q, span<const std::uint8_t>(two), span<std::uint8_t>(codes)).code() ==
        rvq::errc::dimension_mismatch);
  std::vector<std::uint8_t> rows = {0x01, 0x1f};  // row 1: layer 1 field = 7 >= 5
  std::vector<std::uint8_t> outc(4, 9);
  s = rvq::unpack_codes_batch(q, matrix_view<const std::uint8_t>(rows.data(), 2, 1),
                              matrix_view<std::uint8_t>(outc.data(), 2, 2));
  CHECK(s.code() == rvq::errc::code_out_of_range);
  CHECK(s.where() == 1);
  CHECK(outc == std::vector<std::uint8_t>(4, 9));  // nothing written
}

}  // namespace rvq_test_core_packing_test
