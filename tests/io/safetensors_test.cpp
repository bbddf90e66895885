// safetensors: fixtures written from python3-torch tensors (tests/data/safetensors/make_fixtures.py)
// give their codebooks back exactly; malformed headers fail with the byte offset.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <cstring>
#include <string>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_safetensors_test {

namespace {

std::string fixture(const std::string& name) { return std::string(RVQ_TEST_DATA) + "/safetensors/" + name; }

/// A safetensors file from a header text and a data buffer.
std::vector<unsigned char> make(const std::string& header, std::size_t data_bytes) {
  std::vector<unsigned char> b(8 + header.size() + data_bytes, 0);
  rvq::io::detail::put_u64le(b.data(), header.size());
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

}  // namespace

TEST_CASE("safetensors: codebooks of vector-quantize-pytorch, EnCodec and custom names", "[io][safetensors]") {
  struct expect {
    const char* file;
    std::string pattern;
    std::vector<std::size_t> k;
    std::size_t dim;
    const char* matched;
  };
  for (const expect& e : {expect{"vqpytorch_f32", "", {16, 16, 16}, 8, "*layers.{}._codebook.embed"},
                          expect{"encodec_f16", "", {32, 32, 32, 32}, 8, "*layers.{}._codebook.embed"},
                          expect{"custom_bf16", "rvq.book{}", {16, 16}, 8, "rvq.book{}"}}) {
    INFO(e.file);
    rvq::io::safetensors_file f;
    REQUIRE(rvq::io::read_safetensors(fixture(std::string(e.file) + ".safetensors"), f).ok());
    rvq::io::safetensors_codebooks cb;
    REQUIRE(rvq::io::find_codebooks(f, e.pattern, cb).ok());
    CHECK(cb.pattern == e.matched);
    CHECK(cb.codewords == e.k);
    CHECK(cb.dim == e.dim);
    rvq::io::ndarray<float> want;
    REQUIRE(rvq::io::read_npy(fixture(std::string(e.file) + "_expected.npy"), want).ok());
    CHECK(cb.values == want.values);  // F16 and BF16 convert exactly
    auto q = rvq::quantizer<>::from_codebooks(rvq::span<const float>(cb.values),
                                              rvq::span<const std::size_t>(cb.codewords), cb.dim);
    CHECK(q.ok());
  }
}

TEST_CASE("safetensors: DAC codebooks with their projections encode as DAC does", "[io][safetensors]") {
  // A DAC ResidualVectorQuantize (weight-normalized 1x1 convolutions around each codebook,
  // cosine pick) run by make_fixtures.py; its codes were checked against a NumPy reference.
  rvq::io::ndarray<float> x;
  REQUIRE(rvq::io::read_npy(fixture("dac_input.npy"), x).ok());
  rvq::io::ndarray<std::uint16_t> want;
  REQUIRE(rvq::io::read_npy(fixture("dac_expected_codes.npy"), want).ok());
  REQUIRE(x.shape.size() == 2);
  for (const char* file : {"dac_bf16.safetensors", "dac_param_bf16.safetensors"}) {
    INFO(file);
    rvq::io::safetensors_file f;
    REQUIRE(rvq::io::read_safetensors(fixture(file), f).ok());
    rvq::io::safetensors_codebooks cb;
    REQUIRE(rvq::io::find_codebooks(f, "", cb).ok());
    CHECK(cb.pattern == "*quantizers.{}.codebook.weight");
    REQUIRE(cb.projected());
    CHECK(cb.latent_dim == x.shape[1]);
    CHECK(cb.in_proj.size() == cb.codewords.size());
    CHECK(cb.in_proj[0].in == cb.latent_dim);
    CHECK(cb.in_proj[0].out == cb.dim);
    CHECK(cb.out_proj[0].out == cb.latent_dim);
    auto p = rvq::io::to_pipeline(cb);
    REQUIRE(p.ok());
    CHECK(p->stages() == cb.codewords.size());
    std::vector<std::uint16_t> codes(x.shape[0] * p->layers());
    REQUIRE(p->encode_batch(rvq::matrix_view<const float>(x.values.data(), x.shape[0], x.shape[1]),
                            rvq::matrix_view<std::uint16_t>(codes.data(), x.shape[0], p->layers()))
                .ok());
    CHECK(codes == want.values);
  }
}

TEST_CASE("safetensors: missing codebooks and broken projections are refused with a reason",
          "[io][safetensors][errors]") {
  rvq::io::safetensors_file f;
  REQUIRE(rvq::io::read_safetensors(fixture("dac_bf16.safetensors"), f).ok());
  rvq::io::safetensors_codebooks cb;
  CHECK(rvq::io::find_codebooks(f, "nothing.{}.here", cb).code() == rvq::errc::invalid_argument);
  // Without projections the one-stage pipeline holds every layer.
  REQUIRE(rvq::io::read_safetensors(fixture("vqpytorch_f32.safetensors"), f).ok());
  REQUIRE(rvq::io::find_codebooks(f, "", cb).ok());
  CHECK_FALSE(cb.projected());
  auto one = rvq::io::to_pipeline<rvq::config<>>(cb);
  REQUIRE(one.ok());
  CHECK(one->stages() == 1);
  CHECK(one->layers() == 3);
  // A pattern that matches a tensor that is not K x D.
  CHECK(rvq::io::find_codebooks(f, "layers.{}._codebook.initted", cb).code() == rvq::errc::dimension_mismatch);
  // A DAC layer whose projection is missing or has the wrong shape.
  auto dac = [](const std::string& in_w, const std::string& out_w) {
    std::string h = R"({"q.quantizers.0.codebook.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
    std::size_t at = 16;
    auto add = [&](const std::string& name, const std::string& shape, std::size_t n) {
      if (name.empty()) return;
      h += ",\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(at) +
           "," + std::to_string(at + 4 * n) + "]}";
      at += 4 * n;
    };
    add(in_w, "[2,3,1]", 6);
    add(out_w, "[3,2,1]", 6);
    h += "}";
    auto b = make(h, at);
    for (std::size_t i = 8 + h.size(); i < b.size(); i += 4) {
      const float v = 1.0f;
      std::memcpy(b.data() + i, &v, 4);
    }
    return b;
  };
  REQUIRE(rvq::io::parse_safetensors(dac("q.quantizers.0.in_proj.weight", "q.quantizers.0.out_proj.weight"), f).ok());
  REQUIRE(rvq::io::find_codebooks(f, "", cb).ok());
  CHECK(cb.latent_dim == 3);
  CHECK(rvq::io::to_pipeline(cb).ok());
  REQUIRE(rvq::io::parse_safetensors(dac("q.quantizers.0.in_proj.weight", ""), f).ok());
  auto s = rvq::io::find_codebooks(f, "", cb);
  CHECK(s.code() == rvq::errc::invalid_argument);
  CHECK(std::string(s.message()).find("no weight") != std::string::npos);
  REQUIRE(rvq::io::parse_safetensors(dac("q.quantizers.0.in_proj.weight", "q.quantizers.0.out_proj.weight_v"), f).ok());
  s = rvq::io::find_codebooks(f, "", cb);
  CHECK(s.code() == rvq::errc::invalid_argument);
  CHECK(std::string(s.message()).find("weight_g") != std::string::npos);
  REQUIRE(rvq::io::parse_safetensors(dac("q.quantizers.0.in_proj.weight", "q.quantizers.0.in_proj.bias"), f).ok());
  CHECK(rvq::io::find_codebooks(f, "", cb).code() == rvq::errc::dimension_mismatch);  // bias of 6 values
}

TEST_CASE("safetensors: malformed files fail with the byte offset, never crash", "[io][safetensors][errors]") {
  rvq::io::safetensors_file f;
  auto bad = [&](const std::vector<unsigned char>& b) {
    const auto s = rvq::io::parse_safetensors(b, f);
    INFO(s.message());
    CHECK_FALSE(s.ok());
    return s;
  };
  (void)bad({});
  (void)bad(make("{", 0));
  CHECK(bad(make("{}", 0)).code() == rvq::errc::empty_input);
  (void)bad(make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4));  // beyond the buffer
  (void)bad(make(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));  // shape disagrees
  (void)bad(make(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,2]}})", 2));   // unknown dtype
  (void)bad(make(R"({"a":{"dtype":"F32","shape":[2]}})", 8));                       // no offsets
  (void)bad(make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8));  // reversed
  (void)bad(make(R"({"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}})", 8));
  (void)bad(make(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8));
  (void)bad(make(R"({"__metadata__":[[[[[[[[[[[[1]]]]]]]]]]]]})", 0));                // too deep
  (void)bad(make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x)", 8));  // trailing text
  (void)bad(make("{\"a\u0001\":1}", 0));
  auto b = make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  rvq::io::detail::put_u64le(b.data(), 1u << 30);  // header length beyond the file
  CHECK(bad(b).where() == 0);
  // Every truncation of a real file is an error.
  std::vector<unsigned char> good;
  REQUIRE(rvq::io::read_file(fixture("encodec_f16.safetensors"), good).ok());
  for (std::size_t n = 0; n < good.size(); n += 37)
    (void)bad(std::vector<unsigned char>(good.begin(), good.begin() + std::ptrdiff_t(n)));
  // Non-finite values are refused when read.
  auto nan = make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.data() + nan.size() - 4, &q, 4);
  REQUIRE(rvq::io::parse_safetensors(nan, f).ok());
  std::vector<float> v;
  const auto s = rvq::io::tensor_floats(f, f.tensors[0], v);
  CHECK(s.code() == rvq::errc::non_finite);
  CHECK(s.where() == 1);
}

}  // namespace rvq_test_io_safetensors_test
