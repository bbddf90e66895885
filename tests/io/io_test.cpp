#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_io_test {

using rvq::span;

namespace {
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}
std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
/// A hand-made .npy file: version, dict text, data bytes.
std::string npy(int major, const std::string& dict, const std::string& data) {
  std::string h = "\x93NUMPY";
  h += char(major);
  h += '\0';
  const std::size_t len = dict.size();
  if (major == 1) {
    h += char(len & 0xff);
    h += char(len >> 8);
  } else {
    for (int i = 0; i < 4; ++i) h += char((len >> (8 * i)) & 0xff);
  }
  return h + dict + data;
}
std::size_t leftover_temp_files(const std::string& dir) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind(rvq_test::temp_prefix(), 0) == 0 &&
        e.path().filename().string().find(".tmp-") != std::string::npos)
      ++n;
  return n;
}
}  // namespace

TEST_CASE("npy round trip for float32, uint8 and uint16", "[io][npy]") {
  const std::string p = rvq_test::temp_path("a.npy");
  const std::vector<float> x = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, 7.0f};
  const std::size_t s23[2] = {2, 3};
  REQUIRE(rvq::io::write_npy(p, x.data(), span<const std::size_t>(s23)).ok());
  rvq::io::ndarray<float> r;
  REQUIRE(rvq::io::read_npy(p, r).ok());
  CHECK(r.shape == std::vector<std::size_t>{2, 3});
  CHECK(r.values == x);
  CHECK(read_bytes(p).size() % 64 == 24 % 64);  // 64-byte aligned header, then 24 data bytes

  const std::vector<std::uint8_t> c8 = {0, 255, 7};
  const std::size_t s3[1] = {3};
  REQUIRE(rvq::io::write_npy(p, c8.data(), span<const std::size_t>(s3)).ok());
  rvq::io::ndarray<std::uint16_t> c;
  REQUIRE(rvq::io::read_npy(p, c).ok());
  CHECK(c.values == std::vector<std::uint16_t>{0, 255, 7});
  const std::vector<std::uint16_t> c16 = {65535, 1, 300, 0};
  const std::size_t s221[3] = {2, 2, 1};
  REQUIRE(rvq::io::write_npy(p, c16.data(), span<const std::size_t>(s221)).ok());
  REQUIRE(rvq::io::read_npy(p, c).ok());
  CHECK(c.values == c16);
  CHECK(c.shape == std::vector<std::size_t>{2, 2, 1});
  // integer arrays read as float data; float data read as codes is refused
  REQUIRE(rvq::io::read_npy(p, r).ok());
  CHECK(r.values == std::vector<float>{65535, 1, 300, 0});
  REQUIRE(rvq::io::write_npy(p, x.data(), span<const std::size_t>(s23)).ok());
  CHECK(rvq::io::read_npy(p, c).code() == rvq::errc::unsupported);
  CHECK(leftover_temp_files(RVQ_TEST_TMPDIR) == 0);
}

TEST_CASE("npy headers of versions 2 and 3 are read", "[io][npy]") {
  const std::string p = rvq_test::temp_path("v2.npy");
  std::string data(8, '\0');
  data[3] = char(0x3f);  // 0x3f000000 = 0.5f little-endian
  data[2] = char(0x00);
  data[7] = char(0x3f);
  data[6] = char(0x80);  // 0x3f800000 = 1.0f
  for (int v : {2, 3}) {
    write_bytes(p, npy(v, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data));
    rvq::io::ndarray<float> r;
    REQUIRE(rvq::io::read_npy(p, r).ok());
    CHECK(r.values == std::vector<float>{0.5f, 1.0f});
  }
}

TEST_CASE("hostile or unsupported npy files get a clear error", "[io][npy][errors]") {
  const std::string p = rvq_test::temp_path("bad.npy");
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
  rvq::io::ndarray<float> r;
  struct bad_case {
    std::string bytes;
    rvq::errc code;
    const char* what;
  };
  const std::vector<bad_case> cases = {
      {"", rvq::errc::corrupt_file, "too short"},
      {std::string("\x93NUMPX\x01\x00\x00\x00", 10), rvq::errc::corrupt_file, "magic"},
      {npy(9, ok_dict, std::string(16, '\0')), rvq::errc::unsupported_version, "version"},
      {npy(1, ok_dict, std::string(15, '\0')), rvq::errc::corrupt_file, "shorter"},
      {npy(1, ok_dict, std::string(17, '\0')), rvq::errc::corrupt_file, "after"},
      {npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", std::string(16, '\0')),
       rvq::errc::unsupported, "Fortran"},
      {npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }\n", std::string(16, '\0')),
       rvq::errc::unsupported, "big-endian"},
      {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }\n", std::string(32, '\0')),
       rvq::errc::unsupported, "dtype"},
      {npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", std::string(16, '\0')),
       rvq::errc::unsupported, "object"},
      {npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }\n", std::string(16, '\0')),
       rvq::errc::corrupt_file, "shorter"},
      {npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", ""),
       rvq::errc::corrupt_file, "too large"},
      {npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n", ""),
       rvq::errc::corrupt_file, "overflows"},
      {npy(1, "{'descr': '<f4', 'shape': (2, 2), }\n", std::string(16, '\0')), rvq::errc::corrupt_file, "lacks"},
      {npy(1, "{'descr': '<f4, 'fortran_order': False}", ""), rvq::errc::corrupt_file, "npy header"},
      {npy(1, "[1, 2]", ""), rvq::errc::corrupt_file, "dict"},
      {std::string("\x93NUMPY\x01\x00\xff\x00", 10) + "{}", rvq::errc::corrupt_file, "truncated"},
  };
  for (const auto& c : cases) {
    write_bytes(p, c.bytes);
    const auto s = rvq::io::read_npy(p, r);
    INFO(c.what << ": " << rvq::describe(s));
    CHECK(s.code() == c.code);
    CHECK(rvq::describe(s).find(c.what) != std::string::npos);
  }
  CHECK(rvq::io::read_npy(rvq_test::temp_path("missing.npy"), r).code() == rvq::errc::io_error);
}

namespace {
rvq::quantizer<rvq::config<rvq::f32, rvq::cosine>> small_model() {
  const auto x = rvq_test::gaussian(500, 7, 3);
  rvq::train_options opt;
  opt.layers = 3;
  opt.codewords = {16, 8, 300};
  opt.iterations = 4;
  auto q = rvq::train<rvq::config<rvq::f32, rvq::cosine>>(rvq::matrix_view<const float>(x.data(), 500, 7), opt);
  REQUIRE(q.ok());
  return std::move(q).value();
}
}  // namespace

TEST_CASE("a model saved and loaded encodes identically", "[io][model]") {
  using cfg = rvq::config<rvq::f32, rvq::cosine>;
  const auto q = small_model();
  const std::string p = rvq_test::temp_path("m.rvq");
  REQUIRE(rvq::io::save_model(q, p).ok());
  CHECK(leftover_temp_files(RVQ_TEST_TMPDIR) == 0);
  auto read = rvq::io::read_model_info(p);
  REQUIRE(read.ok());
  const rvq::io::model_info& info = *read;
  CHECK(info.layers == 3);
  CHECK(info.dim == 7);
  CHECK(info.codewords == std::vector<std::size_t>{16, 8, 300});
  CHECK(info.metric == rvq::metric_id::cosine);
  auto l = rvq::io::load_model<cfg>(p);
  REQUIRE(l.ok());
  CHECK(std::equal(q.codebook_data(), q.codebook_data() + (16 + 8 + 300) * 7, l->codebook_data()));
  const auto x = rvq_test::gaussian(200, 7, 99);
  std::vector<std::uint16_t> a(200 * 3), b(200 * 3);
  REQUIRE(q.encode_batch(rvq::matrix_view<const float>(x.data(), 200, 7),
                         rvq::matrix_view<std::uint16_t>(a.data(), 200, 3), {3})
              .ok());
  REQUIRE(l->encode_batch(rvq::matrix_view<const float>(x.data(), 200, 7),
                          rvq::matrix_view<std::uint16_t>(b.data(), 200, 3), {3})
              .ok());
  CHECK(a == b);
  // Loading under another metric is refused.
  CHECK(rvq::io::load_model<rvq::config<>>(p).error().code() == rvq::errc::invalid_argument);
}

TEST_CASE("corrupt, truncated and unknown-version model files are rejected", "[io][model][errors]") {
  using cfg = rvq::config<rvq::f32, rvq::cosine>;
  const std::string good = rvq_test::temp_path("good.rvq"), p = rvq_test::temp_path("bad.rvq");
  REQUIRE(rvq::io::save_model(small_model(), good).ok());
  const std::string bytes = read_bytes(good);
  auto expect = [&](const std::string& b, rvq::errc code, const char* what) {
    write_bytes(p, b);
    const auto r = rvq::io::load_model<cfg>(p);
    INFO(what << ": " << rvq::describe(r.error()));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == code);
    CHECK(rvq::describe(r.error()).find(what) != std::string::npos);
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  expect(flipped, rvq::errc::corrupt_file, "checksum");
  expect(bytes.substr(0, bytes.size() - 1), rvq::errc::corrupt_file, "truncated");
  expect(bytes + "x", rvq::errc::corrupt_file, "padded");
  expect(bytes.substr(0, 20), rvq::errc::corrupt_file, "too short");
  std::string version = bytes;
  version[8] = 9;
  expect(version, rvq::errc::unsupported_version, "version");
  version[8] = 3;  // the pq/rpq format, with a dense storage id
  expect(version, rvq::errc::corrupt_file, "version 3 holds pq (2) or rpq (3) models");
  version[8] = 2;  // the quantized format, with an f32 element
  expect(version, rvq::errc::corrupt_file, "format version 1");
  std::string magic = bytes;
  magic[0] = 'X';
  expect(magic, rvq::errc::corrupt_file, "magic");
  std::string layers = bytes;
  layers[28] = char(0xff);
  layers[29] = char(0xff);
  expect(layers, rvq::errc::corrupt_file, "layer count");
  std::string k0 = bytes;
  for (int i = 48; i < 52; ++i) k0[std::size_t(i)] = 0;
  expect(k0, rvq::errc::corrupt_file, "codewords per layer");
  std::string metric = bytes;
  metric[20] = 9;
  expect(metric, rvq::errc::corrupt_file, "metric");
  CHECK(rvq::io::load_model<cfg>(rvq_test::temp_path("nope.rvq")).error().code() == rvq::errc::io_error);
}

TEST_CASE("a memory-mapped model is searched in place and encodes as a loaded one", "[io][model][mmap]") {
  using cfg = rvq::config<rvq::f32, rvq::cosine>;
  const auto q = small_model();
  const std::string p = rvq_test::temp_path("mapped.rvq");
  REQUIRE(rvq::io::save_model(q, p).ok());
  rvq::io::mapped_model<cfg> m;
  REQUIRE(rvq::io::map_model(p, m).ok());
  CHECK(m.info().codewords == std::vector<std::size_t>{16, 8, 300});
  CHECK(m.get().store().is_view());
  // Zero copy: the codewords are the file's bytes.
  CHECK(reinterpret_cast<const unsigned char*>(m.get().codebook_data()) == m.file().data() + m.info().header_bytes);
#if RVQ_HAS_MMAP
  CHECK(m.mapped());
#endif
  CHECK(m.get().memory_footprint().codebook_bytes == q.memory_footprint().codebook_bytes);
  rvq::io::mapped_model<cfg> moved = std::move(m);  // the mapping does not move
  const auto& v = moved.get();
  const auto x = rvq_test::gaussian(300, 7, 5);
  const rvq::matrix_view<const float> xv(x.data(), 300, 7);
  for (std::size_t beam : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    CAPTURE(beam);
    std::vector<std::uint16_t> a(300 * 3), b(300 * 3);
    REQUIRE(q.encode_batch(xv, rvq::matrix_view<std::uint16_t>(a.data(), 300, 3), {beam}).ok());
    REQUIRE(v.encode_batch(xv, rvq::matrix_view<std::uint16_t>(b.data(), 300, 3), {beam}).ok());
    std::size_t differ = 0;  // same codes except at near-ties (rows kernel against panel kernel)
    for (std::size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
    CHECK(differ <= a.size() / 100);
    std::vector<float> ya(300 * 7), yb(300 * 7);
    REQUIRE(v.decode_batch(rvq::matrix_view<const std::uint16_t>(a.data(), 300, 3),
                           rvq::matrix_view<float>(ya.data(), 300, 7))
                .ok());
    REQUIRE(q.decode_batch(rvq::matrix_view<const std::uint16_t>(a.data(), 300, 3),
                           rvq::matrix_view<float>(yb.data(), 300, 7))
                .ok());
    CHECK(ya == yb);
  }
  // Single vectors too, and a workspace-free greedy call.
  std::array<std::uint16_t, 3> c1{}, c2{};
  REQUIRE(v.encode(span<const float>(x.data(), 7), span<std::uint16_t>(c1)).ok());
  REQUIRE(q.encode(span<const float>(x.data(), 7), span<std::uint16_t>(c2)).ok());
  CHECK(c1 == c2);
}

TEST_CASE("a view of codewords too wide for a stack tile searches them in place", "[quantizer][mmap]") {
  // D = 4200: one panel of 8 to 32 codewords exceeds the 128 KiB tile on every backend.
  const std::size_t d = 4200, n = 40;
  const std::vector<std::size_t> k = {8, 8};
  const auto cb = rvq_test::gaussian(16, d, 8);
  using q_t = rvq::quantizer<rvq::config<>>;
  auto owned = q_t::from_codebooks(span<const float>(cb), span<const std::size_t>(k), d);
  auto view = q_t::view_codebooks(span<const float>(cb), span<const std::size_t>(k), d);
  REQUIRE(owned.ok());
  REQUIRE(view.ok());
  CHECK(view->codebook_data() == cb.data());
  const auto x = rvq_test::gaussian(n, d, 9);
  for (std::size_t beam : {std::size_t{1}, std::size_t{3}}) {
    std::vector<std::uint8_t> a(n * 2), b(n * 2);
    REQUIRE(owned
                ->encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                               rvq::matrix_view<std::uint8_t>(a.data(), n, 2), {beam})
                .ok());
    REQUIRE(view->encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                               rvq::matrix_view<std::uint8_t>(b.data(), n, 2), {beam})
                .ok());
    CHECK(a == b);  // gaussian data: no near-ties at this dimension
  }
  // Bad views are refused like bad copies.
  std::vector<float> bad(cb);
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(q_t::view_codebooks(span<const float>(bad), span<const std::size_t>(k), d).error().code() ==
        rvq::errc::non_finite);
  CHECK(q_t::view_codebooks(span<const float>(cb.data(), 10), span<const std::size_t>(k), d).error().code() ==
        rvq::errc::dimension_mismatch);
}

TEST_CASE("map_model rejects what it cannot view, naming the reason", "[io][model][mmap][errors]") {
  using cfg = rvq::config<rvq::f32, rvq::cosine>;
  const std::string good = rvq_test::temp_path("mgood.rvq"), p = rvq_test::temp_path("mbad.rvq");
  REQUIRE(rvq::io::save_model(small_model(), good).ok());
  const std::string bytes = read_bytes(good);
  auto expect = [&](const std::string& path, rvq::errc code, const char* what) {
    rvq::io::mapped_model<cfg> m;
    const rvq::status s = rvq::io::map_model(path, m);
    INFO(what << ": " << rvq::describe(s));
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == code);
    CHECK(rvq::describe(s).find(what) != std::string::npos);
    CHECK(m.get().layers() == 0);  // untouched
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  write_bytes(p, flipped);
  expect(p, rvq::errc::corrupt_file, "checksum");
  {  // without the checksum, the damaged value is still checked for NaN/Inf
    rvq::io::mapped_model<cfg> m;
    std::string nan = bytes;
    const std::size_t at = 48 + 4 * 3;  // first codeword value
    nan[at] = nan[at + 1] = char(0xff), nan[at + 2] = char(0xc0), nan[at + 3] = char(0x7f);
    write_bytes(p, nan);
    CHECK(rvq::io::map_model(p, m, false).code() == rvq::errc::non_finite);
  }
  write_bytes(p, bytes.substr(0, bytes.size() - 3));
  expect(p, rvq::errc::corrupt_file, "truncated");
  write_bytes(p, "");
  expect(p, rvq::errc::corrupt_file, "too short");
  expect(rvq_test::temp_path("absent.rvq"), rvq::errc::io_error, "cannot open");
  expect(RVQ_TEST_TMPDIR, rvq::errc::io_error, "not a regular file");
  // Another metric than the Config's.
  rvq::io::mapped_model<rvq::config<>> other;
  CHECK(rvq::io::map_model(good, other).code() == rvq::errc::invalid_argument);
  // Quantized models are loaded, not viewed.
  rvq::quantized_codebooks qc;
  const auto data = rvq_test::gaussian(400, 6, 3);
  rvq::train_options o;
  o.layers = 2;
  o.codewords = {8};
  o.iterations = 2;
  auto l2model = rvq::train<rvq::config<>>(rvq::matrix_view<const float>(data.data(), 400, 6), o);
  REQUIRE(l2model.ok());
  rvq::quantize_options qo;
  REQUIRE(rvq::quantize_codebooks(*l2model, rvq::matrix_view<const float>(), qo, qc).ok());
  const std::string qpath = rvq_test::temp_path("q.rvq");
  REQUIRE(rvq::io::save_quantized(qc, rvq::metric_id::l2, qpath).ok());
  rvq::io::mapped_model<rvq::config<>> qm;
  const rvq::status s = rvq::io::map_model(qpath, qm);
  CHECK(s.code() == rvq::errc::unsupported);
  CHECK(rvq::describe(s).find("use load_model") != std::string::npos);
}

TEST_CASE("save is atomic: a failed save leaves no file and no temporary behind", "[io][model]") {
  const auto q = small_model();
  const std::string dir = rvq_test::temp_path("no_such_dir");
  CHECK(rvq::io::save_model(q, dir + "/m.rvq").code() == rvq::errc::io_error);
  CHECK_FALSE(std::filesystem::exists(dir));
  // Overwriting an existing file replaces it whole.
  const std::string p = rvq_test::temp_path("over.rvq");
  write_bytes(p, "old contents");
  REQUIRE(rvq::io::save_model(q, p).ok());
  CHECK(rvq::io::load_model<rvq::config<rvq::f32, rvq::cosine>>(p).ok());
  CHECK(leftover_temp_files(RVQ_TEST_TMPDIR) == 0);
  CHECK(rvq::io::save_model(rvq::quantizer<>{}, p).code() == rvq::errc::empty_input);
}

TEST_CASE("npy float16, int8 and int32 arrays read as float data", "[io][npy]") {
  const std::string p = rvq_test::temp_path("types.npy");
  const std::size_t s4[1] = {4};
  const std::int8_t i8[4] = {-128, -1, 0, 127};
  REQUIRE(rvq::io::write_npy(p, i8, span<const std::size_t>(s4)).ok());
  rvq::io::ndarray<float> r;
  REQUIRE(rvq::io::read_npy(p, r).ok());
  CHECK(r.values == std::vector<float>{-128, -1, 0, 127});
  const std::int32_t i32[4] = {-2147483647 - 1, -5, 16777216, 7};
  REQUIRE(rvq::io::write_npy(p, i32, span<const std::size_t>(s4)).ok());
  REQUIRE(rvq::io::read_npy(p, r).ok());
  CHECK(r.values == std::vector<float>{-2147483648.0f, -5, 16777216.0f, 7});
  // float16: exact values, rounding to nearest even, subnormals, overflow to Inf
  const float h[8] = {1.0f, -2.0f, 65504.0f, 5.9604645e-08f, 0.1f, 1.0009765625f + 0.00048828125f, 70000.0f, 0.0f};
  const std::size_t s8[1] = {8};
  REQUIRE(rvq::io::write_npy_f16(p, h, span<const std::size_t>(s8)).ok());
  REQUIRE(rvq::io::read_npy(p, r).ok());
  CHECK(r.values[0] == 1.0f);
  CHECK(r.values[1] == -2.0f);
  CHECK(r.values[2] == 65504.0f);
  CHECK(r.values[3] == 5.9604645e-08f);    // smallest subnormal half, 2^-24
  CHECK(r.values[4] == 0.0999755859375f);  // nearest half to 0.1
  CHECK(r.values[5] == 1.001953125f);      // halfway: ties to even
  CHECK(std::isinf(r.values[6]));
  CHECK(r.values[7] == 0.0f);
  for (std::uint32_t bits = 0; bits < 0x7c00u; bits += 7) {  // every finite half survives a round trip
    const float f = rvq::io::half_to_float(static_cast<std::uint16_t>(bits));
    REQUIRE(rvq::io::float_to_half(f) == bits);
  }
}

TEST_CASE("fvecs, bvecs and ivecs round trip and reject hostile files", "[io][vecs]") {
  const std::string p = rvq_test::temp_path("x.fvecs");
  const auto x = rvq_test::gaussian(5, 3, 2);
  REQUIRE(rvq::io::write_vecs(p, rvq::matrix_view<const float>(x.data(), 5, 3)).ok());
  rvq::io::ndarray<float> r;
  REQUIRE(rvq::io::read_vecs(p, r).ok());
  CHECK(r.shape == std::vector<std::size_t>{5, 3});
  CHECK(r.values == x);
  CHECK(read_bytes(p).size() == 5 * (4 + 3 * 4));
  const std::string pb = rvq_test::temp_path("x.bvecs"), pi = rvq_test::temp_path("x.ivecs");
  const std::uint8_t b[4] = {0, 1, 254, 255};
  REQUIRE(rvq::io::write_vecs(pb, rvq::matrix_view<const std::uint8_t>(b, 2, 2)).ok());
  REQUIRE(rvq::io::read_float_matrix(pb, r).ok());
  CHECK(r.values == std::vector<float>{0, 1, 254, 255});
  const std::int32_t iv[3] = {-7, 0, 1 << 20};
  REQUIRE(rvq::io::write_vecs(pi, rvq::matrix_view<const std::int32_t>(iv, 1, 3)).ok());
  rvq::io::ndarray<std::int32_t> ri;
  REQUIRE(rvq::io::read_vecs(pi, ri).ok());
  CHECK(ri.values == std::vector<std::int32_t>{-7, 0, 1 << 20});

  const std::string bad = rvq_test::temp_path("bad.fvecs");
  auto expect = [&](const std::string& bytes, rvq::errc code, const char* what) {
    write_bytes(bad, bytes);
    const auto s = rvq::io::read_vecs(bad, r);
    INFO(what << ": " << rvq::describe(s));
    CHECK(s.code() == code);
    CHECK(rvq::describe(s).find(what) != std::string::npos);
  };
  const std::string good = read_bytes(p);
  expect("", rvq::errc::empty_input, "no vector");
  expect(std::string("\x03\x00", 2), rvq::errc::corrupt_file, "too short");
  expect(std::string("\x00\x00\x00\x00", 4), rvq::errc::corrupt_file, "dimension out of range");
  expect(std::string("\xff\xff\xff\x7f", 4) + "xxxx", rvq::errc::corrupt_file, "dimension out of range");
  expect(good.substr(0, good.size() - 1), rvq::errc::corrupt_file, "whole number of records");
  std::string changed = good;
  changed[16] = 4;  // second record claims d = 4
  expect(changed, rvq::errc::corrupt_file, "differs from the first one (byte 16)");
}

}  // namespace rvq_test_io_io_test
