// rvq codegen: the generated header compiles on its own (with the real compiler) and the
// compile-time model it defines encodes exactly like the host's quantizer.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_codegen_test {

namespace {
std::string read_text(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// A "firmware" that includes `header`, encodes the first 50 rows of `data` (d values each) with
/// the generated constexpr model of namespace `ns` and prints the codes: compiled with the real
/// compiler (no exceptions, no RTTI), run, and its output returned.
std::string run_firmware(const std::string& header, const std::string& ns, const std::vector<float>& data,
                         std::size_t d, const std::string& name) {
  const std::string program = rvq_test::temp_path(name + ".cpp");
  std::ostringstream src;
  src << "#include \"" << header << "\"\n#include <cstdio>\nstatic const float x[50][" << d << "] = {";
  for (std::size_t i = 0; i < 50; ++i) {
    src << "{";
    for (std::size_t t = 0; t < d; ++t)
      src << rvq::io::detail::float_literal(data[i * d + t]) << (t + 1 < d ? "," : "");
    src << "},";
  }
  src << "};\nint main() {\n  if (!" << ns << "::model.validate()) return 2;\n  for (const auto& v : x) {\n    " << ns
      << "::quantizer::code_type c[" << ns << "::layers];\n    if (!" << ns
      << "::model.encode(rvq::span<const float>(v), rvq::span<" << ns
      << "::quantizer::code_type>(c))) return 1;\n    for (auto code : c) std::printf(\"%u \", unsigned(code));\n  }\n"
         "  return 0;\n}\n";
  { std::ofstream(program) << src.str(); }
  const std::string exe = program + ".bin", out = program + ".out";
  const std::string cmd = std::string(RVQ_TEST_CXX) + " -std=c++17 -fno-exceptions -fno-rtti -Wall -Wextra -Werror -I" +
                          RVQ_TEST_INCLUDE + " " + program + " -o " + exe + " && " + exe + " > " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);
  return read_text(out);
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("codegen header compiles and encodes like the host", "[io][codegen]", rvq_test::metrics) {
  const std::size_t n = 400, d = 9, layers = 3, k = 12;
  const auto data = rvq_test::gaussian(n, d, 3);
  rvq::train_options opt = rvq_test::options(layers, k, 4);
  auto q = rvq::train<rvq::config<rvq::f32, TestType>>(rvq::matrix_view<const float>(data.data(), n, d), opt);
  REQUIRE(q.ok());
  const std::string header = rvq_test::temp_path("model.hpp");
  rvq::io::codegen_options co;
  co.name_space = "fw::sensor";
  REQUIRE(rvq::io::write_model_header(*q, header, co).ok());
  std::istringstream codes(run_firmware(header, co.name_space, data, d, "fw"));
  for (std::size_t i = 0; i < 50; ++i) {
    std::vector<std::uint8_t> host(layers);
    REQUIRE(q->encode(rvq::span<const float>(data.data() + i * d, d), rvq::span<std::uint8_t>(host)).ok());
    for (std::size_t l = 0; l < layers; ++l) {
      unsigned fw_code = 999;
      codes >> fw_code;
      CHECK(fw_code == host[l]);
    }
  }
  CHECK(read_text(header).find("static_assert(quantizer::static_footprint().codebook_bytes == " +
                               std::to_string(layers * k * d * 4)) != std::string::npos);
}

TEST_CASE("codegen of pq/rpq models: sub-codebooks in flash, encodes like the host", "[io][codegen][product]") {
  const std::size_t n = 600, d = 16, layers = 3, k = 32;
  const auto data = rvq_test::gaussian(n, d, 5);
  const rvq::matrix_view<const float> x(data.data(), n, d);
  auto dense = rvq::train<rvq::config<>>(x, rvq_test::options(layers, k, 4));
  REQUIRE(dense.ok());
  struct variant {
    rvq::storage_id storage;
    bool seeded, shared;
    rvq::element_id element;
    unsigned bits;
  };
  for (const variant v : {variant{rvq::storage_id::pq, false, false, rvq::element_id::f32, 4},
                          variant{rvq::storage_id::rpq, true, true, rvq::element_id::int8, 8},
                          variant{rvq::storage_id::rpq, false, false, rvq::element_id::f32, 3}}) {
    INFO("storage " << rvq::to_string(v.storage) << " seeded " << v.seeded << " shared " << v.shared);
    rvq::compress_options o;
    o.storage = v.storage;
    o.seeded = v.seeded;
    o.shared = v.shared;
    o.element = v.element;
    o.bits = v.bits;
    o.iterations = 3;
    auto pc = rvq::compress(*dense, o, x);
    REQUIRE(pc.ok());
    const std::string header = rvq_test::temp_path("product_model.hpp");
    rvq::io::codegen_options co;
    co.name_space = "fw::pqm";
    std::vector<std::uint8_t> host(50 * layers);
    if (v.storage == rvq::storage_id::pq) {
      auto q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>::from_product(*pc);
      REQUIRE(q.ok());
      REQUIRE(rvq::io::write_model_header(*q, header, co).ok());
      REQUIRE(q->encode_batch(rvq::matrix_view<const float>(data.data(), 50, d),
                              rvq::matrix_view<std::uint8_t>(host.data(), 50, layers))
                  .ok());
    } else {
      auto q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::rpq>>::from_product(*pc);
      REQUIRE(q.ok());
      REQUIRE(rvq::io::write_model_header(*q, header, co).ok());
      REQUIRE(q->encode_batch(rvq::matrix_view<const float>(data.data(), 50, d),
                              rvq::matrix_view<std::uint8_t>(host.data(), 50, layers))
                  .ok());
    }
    const std::string text = read_text(header);
    CHECK(text.find(v.seeded ? "model{sub_codebooks, seed}" : "model{sub_codebooks, indices}") != std::string::npos);
    CHECK(text.find("static_assert(quantizer::static_footprint().codebook_bytes == " +
                    std::to_string(pc->value_count() * 4 + pc->index_bytes())) != std::string::npos);
    std::istringstream codes(run_firmware(header, co.name_space, data, d, "fw_pq"));
    std::size_t diff = 0;
    for (std::size_t i = 0; i < 50 * layers; ++i) {
      unsigned fw_code = 999;
      codes >> fw_code;
      diff += fw_code != host[i];
    }
    CHECK(diff <= 2);  // near-ties only: the host's SIMD kernels sum in another order
  }
}

TEST_CASE("codegen refuses bad namespaces and mixed K", "[io][codegen][errors]") {
  const auto cb = rvq_test::gaussian(8 + 4, 2, 1);
  const std::vector<std::size_t> ks = {8, 4};
  auto q = rvq::quantizer<>::from_codebooks(rvq::span<const float>(cb), rvq::span<const std::size_t>(ks), 2);
  REQUIRE(q.ok());
  const std::string p = rvq_test::temp_path("bad.hpp");
  CHECK(rvq::io::write_model_header(*q, p).code() == rvq::errc::unsupported);
  auto u = rvq::quantizer<>::from_codebooks(rvq::span<const float>(cb.data(), 8 * 2), 2, 4, 2);
  REQUIRE(u.ok());
  for (const char* bad : {"", "9lives", "a-b", "a:b", "a::", "::a"}) {
    rvq::io::codegen_options o;
    o.name_space = bad;
    CHECK(rvq::io::write_model_header(*u, p, o).code() == rvq::errc::invalid_argument);
  }
  rvq::io::codegen_options ok;
  ok.name_space = "a::b_2";
  CHECK(rvq::io::write_model_header(*u, p, ok).ok());
  CHECK(rvq::io::detail::float_literal(1.0f) == "1.0f");
  CHECK(rvq::io::detail::float_literal(-0.1f) == "-0.100000001f");
  CHECK(std::strtof(rvq::io::detail::float_literal(1e-30f).c_str(), nullptr) == 1e-30f);
}

}  // namespace rvq_test_io_codegen_test
