// rvq codegen: the generated header compiles on its own (with the real compiler) and the
// compile-time model it defines encodes exactly like the host's quantizer.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {
std::string read_text(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("codegen header compiles and encodes like the host", "[io][codegen]", rvq_test::metrics) {
  const std::size_t n = 400, d = 9, layers = 3, k = 12;
  const auto data = rvq_test::gaussian(n, d, 3);
  rvq::train_options opt = rvq_test::options(layers, k, 4);
  auto q = rvq::train<rvq::config<rvq::f32, TestType>>(rvq::matrix_view<const float>(data.data(), n, d), opt);
  REQUIRE(q.ok());
  const std::string header = rvq_test::temp_path("model.hpp"), program = rvq_test::temp_path("fw.cpp");
  rvq::io::codegen_options co;
  co.name_space = "fw::sensor";
  REQUIRE(rvq::io::write_model_header(*q, header, co).ok());

  // A "firmware" that encodes 50 vectors with the generated constexpr model and prints the codes.
  std::ostringstream src;
  src << "#include \"" << header << "\"\n#include <cstdio>\nstatic const float x[50][" << d << "] = {";
  for (std::size_t i = 0; i < 50; ++i) {
    src << "{";
    for (std::size_t t = 0; t < d; ++t)
      src << rvq::io::detail::float_literal(data[i * d + t]) << (t + 1 < d ? "," : "");
    src << "},";
  }
  src << "};\nint main() {\n  for (const auto& v : x) {\n    fw::sensor::quantizer::code_type c[fw::sensor::layers];\n"
         "    if (!fw::sensor::model.encode(rvq::span<const float>(v), "
         "rvq::span<fw::sensor::quantizer::code_type>(c))) return 1;\n"
         "    for (auto code : c) std::printf(\"%u \", unsigned(code));\n  }\n  return 0;\n}\n";
  { std::ofstream(program) << src.str(); }
  const std::string exe = program + ".bin", out = program + ".out";
  const std::string cmd = std::string(RVQ_TEST_CXX) + " -std=c++17 -fno-exceptions -fno-rtti -Wall -Wextra -Werror -I" +
                          RVQ_TEST_INCLUDE + " " + program + " -o " + exe + " && " + exe + " > " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);

  std::istringstream codes(read_text(out));
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
