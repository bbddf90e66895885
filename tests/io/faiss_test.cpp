// Import of FAISS IndexResidualQuantizer files: fixtures written by Debian's python3-faiss
// (tests/data/faiss/make_fixtures.py) encode to FAISS's greedy codes; damaged files fail cleanly.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <cstring>
#include <string>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_faiss_test {

using rvq::matrix_view;
using rvq::span;

namespace {

std::string fixture(const std::string& name) { return std::string(RVQ_TEST_DATA) + "/faiss/" + name; }

std::vector<unsigned char> bytes_of(const std::string& path) {
  std::vector<unsigned char> b;
  REQUIRE(rvq::io::read_file(path, b).ok());
  return b;
}

}  // namespace

TEST_CASE("faiss: imported residual quantizers encode to FAISS's greedy codes", "[io][faiss]") {
  struct expect {
    const char* name;
    std::size_t dim;
    std::vector<std::size_t> k;
    bool ip;
  };
  for (const expect& e :
       {expect{"rq_l2_d16_6x3", 16, {64, 64, 64}, false}, expect{"rq_l2_d12_mixed", 12, {256, 16, 32, 8}, false},
        expect{"rq_ip_d8_4x2", 8, {16, 16}, true}, expect{"rq_cqint8_d10_5x2", 10, {32, 32}, false}}) {
    INFO(e.name);
    rvq::io::faiss_rq rq;
    REQUIRE(rvq::io::read_faiss_rq(fixture(std::string(e.name) + ".faissindex"), rq).ok());
    CHECK(rq.dim == e.dim);
    CHECK(rq.codewords == e.k);
    CHECK(rq.inner_product == e.ip);
    CHECK(rq.max_beam_size == 1);
    // FAISS's encoder minimizes the squared error whatever the index's search metric: import as l2.
    auto q = rvq::quantizer<>::from_codebooks(span<const float>(rq.codebooks), span<const std::size_t>(rq.codewords),
                                              rq.dim);
    REQUIRE(q.ok());
    rvq::io::ndarray<float> x;
    rvq::io::ndarray<std::uint16_t> want;
    REQUIRE(rvq::io::read_npy(fixture(std::string(e.name) + "_x.npy"), x).ok());
    REQUIRE(rvq::io::read_npy(fixture(std::string(e.name) + "_codes.npy"), want).ok());
    REQUIRE(want.shape == std::vector<std::size_t>{x.rows(), e.k.size()});
    std::vector<std::uint16_t> got(want.values.size());
    REQUIRE(q->encode_batch(x.view(), matrix_view<std::uint16_t>(got.data(), x.rows(), e.k.size())).ok());
    std::size_t same = 0;
    for (std::size_t i = 0; i < x.rows(); ++i)
      same +=
          std::equal(got.begin() + std::ptrdiff_t(i * e.k.size()), got.begin() + std::ptrdiff_t((i + 1) * e.k.size()),
                     want.values.begin() + std::ptrdiff_t(i * e.k.size()));
    CHECK(same == x.rows());
  }
}

TEST_CASE("faiss: damaged and foreign files fail with the byte offset, never crash", "[io][faiss][errors]") {
  const auto good = bytes_of(fixture("rq_l2_d12_mixed.faissindex"));
  rvq::io::faiss_rq rq;
  CHECK(rvq::io::parse_faiss_rq({}, rq).code() == rvq::errc::empty_input);
  // Every truncation is an error (and the last byte cut is caught too).
  for (std::size_t n = 1; n < good.size(); n += (n < 200 ? 1 : 97)) {
    const std::vector<unsigned char> cut(good.begin(), good.begin() + std::ptrdiff_t(n));
    CHECK(rvq::io::parse_faiss_rq(cut, rq).code() == rvq::errc::corrupt_file);
  }
  {
    auto b = good;
    std::memcpy(b.data(), "IxF2", 4);
    const auto s = rvq::io::parse_faiss_rq(b, rq);
    CHECK(s.code() == rvq::errc::corrupt_file);
    CHECK(std::string(s.message()).find("IndexResidualQuantizer") != std::string::npos);
  }
  {
    auto b = good;
    b.push_back(0);
    const auto s = rvq::io::parse_faiss_rq(b, rq);
    CHECK(s.code() == rvq::errc::corrupt_file);
    CHECK(s.where() == good.size());
  }
  // Layout of the header: fourcc 4, d 4, ntotal 8, two placeholders 16, is_trained 1, metric 4,
  // then d 8, M 8, the nbits count 8 and the nbits themselves.
  const std::size_t d_at = 37, nbits_at = d_at + 24;
  {
    auto b = good;
    b[nbits_at] = 0;  // nbits[0] = 0
    CHECK(rvq::io::parse_faiss_rq(b, rq).code() == rvq::errc::corrupt_file);
    b[nbits_at] = 40;  // 2^40 codewords
    CHECK(rvq::io::parse_faiss_rq(b, rq).code() == rvq::errc::corrupt_file);
  }
  {
    auto b = good;
    b[d_at] = 13;  // d differs from the index header's 12
    CHECK(rvq::io::parse_faiss_rq(b, rq).code() == rvq::errc::corrupt_file);
  }
  {
    auto b = good;
    b[32] = 0;  // not trained
    CHECK(rvq::io::parse_faiss_rq(b, rq).code() == rvq::errc::corrupt_file);
  }
  {
    auto b = good;
    const std::size_t first_float = nbits_at + 4 * 8 + 1 + 8;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(b.data() + first_float + 4 * 5, &nan, 4);
    const auto s = rvq::io::parse_faiss_rq(b, rq);
    CHECK(s.code() == rvq::errc::non_finite);
    CHECK(s.where() == first_float + 4 * 5);
  }
  CHECK(rvq::io::read_faiss_rq(fixture("missing.faissindex"), rq).code() == rvq::errc::io_error);
}

}  // namespace rvq_test_io_faiss_test
