// Rows of .npy files read and written a tile at a time (rvq::io::npy_rows, npy_row_writer):
// the same values as reading and writing the whole array, and a clear error for every bad file.
#include <catch2/catch.hpp>
#include <rvq/rvq.hpp>
#include "../helpers.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include <unistd.h>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_npy_stream_test {

using rvq::span;
using rvq_test::temp_path;

namespace {

std::vector<unsigned char> bytes_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void put_bytes(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

template <class T>
std::string write(const std::string& name, const std::vector<T>& v, std::size_t rows, std::size_t cols) {
  const std::string p = temp_path(name);
  const std::size_t shape[2] = {rows, cols};
  REQUIRE(rvq::io::write_npy(p, v.data(), span<const std::size_t>(shape)).ok());
  return p;
}

}  // namespace

TEST_CASE("npy_rows reads any rows as read_npy reads the whole array", "[io][npy_stream]") {
  const std::size_t n = 37, d = 5;
  const auto x = rvq_test::gaussian(n, d, 3);
  std::vector<std::int32_t> ints(n * d);
  std::vector<std::uint16_t> u16(n * d);
  std::vector<std::int8_t> i8(n * d);
  for (std::size_t i = 0; i < n * d; ++i)
    ints[i] = std::int32_t(i * 7919) - 100000, u16[i] = std::uint16_t(i * 31), i8[i] = std::int8_t(int(i % 256) - 128);
  std::vector<std::string> files = {write("s_f32.npy", x, n, d), write("s_i32.npy", ints, n, d),
                                    write("s_u16.npy", u16, n, d), write("s_i8.npy", i8, n, d)};
  const std::string f16 = temp_path("s_f16.npy");
  const std::size_t shape[2] = {n, d};
  REQUIRE(rvq::io::write_npy_f16(f16, x.data(), span<const std::size_t>(shape)).ok());
  files.push_back(f16);
  for (const auto& f : files) {
    INFO(f);
    rvq::io::ndarray<float> whole;
    REQUIRE(rvq::io::read_npy(f, whole).ok());
    rvq::io::npy_rows r;
    REQUIRE(r.open(f).ok());
    CHECK(r.rows() == n);
    CHECK(r.cols() == d);
    for (std::size_t tile : {std::size_t(1), std::size_t(4), std::size_t(36), n}) {
      std::vector<float> got;
      for (std::size_t first = 0; first < n; first += tile) {
        const std::size_t m = std::min(tile, n - first);
        std::vector<float> t(m * d);
        REQUIRE(r.read(first, m, t.data()).ok());
        got.insert(got.end(), t.begin(), t.end());
      }
      CHECK(got == whole.values);
    }
    // Out of order, and past the end.
    std::vector<float> row(d);
    REQUIRE(r.read(n - 1, 1, row.data()).ok());
    CHECK(std::vector<float>(whole.values.end() - long(d), whole.values.end()) == row);
    REQUIRE(r.read(0, 1, row.data()).ok());
    CHECK(r.read(n, 1, row.data()).code() == rvq::errc::invalid_argument);
    CHECK(r.read(n, 0, row.data()).ok());
  }
  // Codes: uint8 and uint16 as uint16; uint8 only as uint8.
  rvq::io::npy_rows r;
  REQUIRE(r.open(files[2]).ok());
  std::vector<std::uint16_t> codes(n * d);
  REQUIRE(r.read(0, n, codes.data()).ok());
  CHECK(codes == u16);
  std::vector<std::uint8_t> b(n * d);
  CHECK(r.read(0, n, b.data()).code() == rvq::errc::unsupported);
  REQUIRE(r.open(files[0]).ok());
  CHECK(r.read(0, n, codes.data()).code() == rvq::errc::unsupported);
}

TEST_CASE("npy_rows refuses what read_npy refuses, from the header alone", "[io][npy_stream]") {
  const auto x = rvq_test::gaussian(10, 3, 1);
  const std::string good = write("h_good.npy", x, 10, 3);
  const auto bytes = bytes_of(good);
  auto same_error = [](const std::string& p) {
    rvq::io::ndarray<float> whole;
    const rvq::status a = rvq::io::read_npy(p, whole);
    rvq::io::npy_rows r;
    const rvq::status b = r.open(p);
    INFO(p << ": " << rvq::describe(a) << " / " << rvq::describe(b));
    CHECK_FALSE(a.ok());
    CHECK(a.code() == b.code());
    CHECK(std::string(a.message()) == b.message());
    CHECK_FALSE(r.is_open());
  };
  auto variant = [&](const std::string& name, std::vector<unsigned char> b) {
    const std::string p = temp_path(name);
    put_bytes(p, b);
    return p;
  };
  same_error(variant("h_truncated.npy", std::vector<unsigned char>(bytes.begin(), bytes.end() - 4)));
  auto longer = bytes;
  longer.push_back(0);
  same_error(variant("h_trailing.npy", longer));
  auto magic = bytes;
  magic[1] = 'X';
  same_error(variant("h_magic.npy", magic));
  same_error(variant("h_short.npy", std::vector<unsigned char>(bytes.begin(), bytes.begin() + 7)));
  same_error(variant("h_empty.npy", {}));
  auto cut_header = std::vector<unsigned char>(bytes.begin(), bytes.begin() + 40);
  same_error(variant("h_cut_header.npy", cut_header));
  auto version = bytes;
  version[6] = 9;
  same_error(variant("h_version.npy", version));

  // A folder, a device, a missing file: io_error.
  rvq::io::npy_rows r;
  CHECK(r.open(RVQ_TEST_TMPDIR).code() == rvq::errc::io_error);
  CHECK(std::string(r.open(RVQ_TEST_TMPDIR).message()) == "a folder, not a file");
  CHECK(r.open("/dev/null").code() == rvq::errc::io_error);
  CHECK(r.open(temp_path("h_missing.npy")).code() == rvq::errc::io_error);
  // A version 2 header that claims 2 GiB: refused before anything is allocated.
  std::vector<unsigned char> v2 = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0, 0x80};
  const std::string big = variant("h_big_header.npy", v2);
  const rvq::status s = r.open(big);
  CHECK(s.code() == rvq::errc::corrupt_file);
}

TEST_CASE("npy_rows: a file that shrinks while read gives an error, not a crash", "[io][npy_stream]") {
  const auto x = rvq_test::gaussian(100, 4, 2);
  const std::string p = write("shrink.npy", x, 100, 4);
  rvq::io::npy_rows r;
  REQUIRE(r.open(p).ok());
  const auto bytes = bytes_of(p);
  put_bytes(p, std::vector<unsigned char>(bytes.begin(), bytes.begin() + long(bytes.size() / 2)));
  std::vector<float> t(100 * 4);
  const rvq::status s = r.read(0, 100, t.data());
  CHECK(s.code() == rvq::errc::io_error);
  CHECK(std::string(s.message()).find("changed while read") != std::string::npos);
}

TEST_CASE("npy_row_writer writes write_npy's bytes, and replaces its target only when whole", "[io][npy_stream]") {
  const std::size_t n = 23, d = 3;
  const auto x = rvq_test::gaussian(n, d, 4);
  const std::string ref = write("w_ref.npy", x, n, d);
  const std::string p = temp_path("w_rows.npy");
  {
    rvq::io::npy_row_writer<float> w;
    REQUIRE(w.open(p, n, d).ok());
    for (std::size_t first = 0; first < n; first += 5)
      REQUIRE(w.write(x.data() + first * d, std::min<std::size_t>(5, n - first)).ok());
    CHECK(w.written() == n);
    CHECK(w.write(x.data(), 1).code() == rvq::errc::invalid_argument);  // past the shape
    REQUIRE(w.commit().ok());
  }
  CHECK(bytes_of(p) == bytes_of(ref));
  std::vector<std::uint16_t> codes(n * 2);
  for (std::size_t i = 0; i < codes.size(); ++i) codes[i] = std::uint16_t(i * 1001);
  const std::string cref = write("w_cref.npy", codes, n, 2), cp = temp_path("w_codes.npy");
  {
    rvq::io::npy_row_writer<std::uint16_t> w;
    REQUIRE(w.open(cp, n, 2).ok());
    REQUIRE(w.write(codes.data(), n).ok());
    REQUIRE(w.commit().ok());
  }
  CHECK(bytes_of(cp) == bytes_of(cref));

  // Fewer rows than the shape: commit() refuses, and the old file stays; so it does when the
  // writer goes away unfinished (an error, an exception). No temporary file is left.
  const auto before = bytes_of(p);
  {
    rvq::io::npy_row_writer<float> w;
    REQUIRE(w.open(p, n, d).ok());
    REQUIRE(w.write(x.data(), 4).ok());
    CHECK(w.commit().code() == rvq::errc::invalid_argument);
  }
  {
    rvq::io::npy_row_writer<float> w;
    REQUIRE(w.open(p, n, d).ok());
    REQUIRE(w.write(x.data(), n).ok());
  }
  CHECK(bytes_of(p) == before);
  char mine[32];
  std::snprintf(mine, sizeof mine, ".rvq-%lx-", static_cast<unsigned long>(::getpid()));
  std::size_t left = 0;
  for (const auto& e : std::filesystem::directory_iterator(RVQ_TEST_TMPDIR))
    left += e.path().filename().string().rfind(mine, 0) == 0;
  CHECK(left == 0);
}

}  // namespace rvq_test_io_npy_stream_test
