// Reliability, class 8: one error policy. A usage mistake exits 2 with the command's usage; bad
// data or a bad file exits 1 and names the file; the same mistake reads the same in every
// command; NaN/Inf messages name what overflowed; generated code declares no reserved word.
#include "cli_helpers.hpp"

#include <cfloat>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_cli_errors_test {

using namespace rvq_test;  // rvq_cli, shell, slurp, temp_path, write_data

namespace {
using cfg_l2 = rvq::config<rvq::f32, rvq::l2>;

struct fixture_files {
  std::string x, model, codes;
};

const fixture_files& files() {
  static const fixture_files f = [] {
    fixture_files out{write_data("err_x.npy", 400, 6, 3), temp_path("err_m.rvq"), temp_path("err_c.npy")};
    REQUIRE(rvq_cli("train --input " + out.x + " --layers 2 --codewords 8 --iterations 2 --quiet --output " + out.model)
                .code == 0);
    REQUIRE(rvq_cli("encode --model " + out.model + " --input " + out.x + " --output " + out.codes).code == 0);
    return out;
  }();
  return f;
}
}  // namespace

TEST_CASE("cli errors: --beam above K is a usage error (exit 2) in every command, in one wording", "[cli][errors]") {
  const auto& f = files();
  const std::string out = temp_path("beam_out");
  for (const std::string& line : {"train --input " + f.x + " --layers 2 --codewords 8 --beam 9 --output " + out,
                                  "encode --model " + f.model + " --input " + f.x + " --beam 9 --output " + out,
                                  "eval --model " + f.model + " --input " + f.x + " --beam 9",
                                  "info " + f.model + " --usage " + f.x + " --beam 9"}) {
    INFO(line);
    const auto r = rvq_cli(line);
    CHECK(r.code == 2);
    CHECK(r.err.find("--beam must be at most the smallest layer's K (8)") != std::string::npos);
    CHECK(r.err.find("usage: rvq ") != std::string::npos);
  }
}

TEST_CASE("cli errors: numbers out of range say so, malformed numbers say that", "[cli][errors]") {
  const auto& f = files();
  const std::string out = temp_path("num_out.rvq");
  auto r = rvq_cli("train --input " + f.x + " --seed 99999999999999999999999 --output " + out);
  CHECK(r.code == 2);
  CHECK(r.err.find("--seed must be between 0 and") != std::string::npos);
  r = rvq_cli("train --input " + f.x + " --seed -1 --output " + out);
  CHECK(r.code == 2);
  CHECK(r.err.find("--seed expects a whole number, got '-1'") != std::string::npos);
  r = rvq_cli("train --input " + f.x +
              " --layers 00000000000000000000003 --codewords 4 --iterations 1 --quiet "
              "--output " +
              out);
  CHECK(r.code == 0);  // leading zeros are still the number
  for (const std::string cmd : {"train", "encode", "decode", "eval", "info", "quantize", "codegen", "compact",
                                "compress", "import", "sweep", "index", "search"}) {
    r = rvq_cli(cmd + " --no-such-flag 1");
    CHECK(r.code == 2);
    CHECK(r.err.find(cmd + ": unknown option --no-such-flag") != std::string::npos);
  }
}

TEST_CASE("cli errors: NaN/Inf messages name the file and what overflowed", "[cli][errors]") {
  const auto& f = files();
  const std::string out = temp_path("nan_out");
  // NaN in the input: the file and the row.
  std::vector<float> bad(6 * 5, 1.0f);
  bad[3 * 6 + 2] = std::nanf("");
  const std::string badp = temp_path("nan.npy");
  const std::size_t shape[2] = {5, 6};
  REQUIRE(rvq::io::write_npy(badp, bad.data(), rvq::span<const std::size_t>(shape)).ok());
  auto r = rvq_cli("encode --model " + f.model + " --input " + badp + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(badp + ": input contains NaN or Inf (row 3)") != std::string::npos);

  // Finite data near FLT_MAX: training overflows, and says so (ip and l2 alike).
  std::vector<float> big(64 * 4);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = (i % 3 ? 1 : -1) * FLT_MAX * (0.5f + 0.004f * float(i % 97));
  const std::string bigp = temp_path("near_max.npy");
  const std::size_t bshape[2] = {64, 4};
  REQUIRE(rvq::io::write_npy(bigp, big.data(), rvq::span<const std::size_t>(bshape)).ok());
  for (const char* metric : {"ip", "l2", "cos"}) {
    INFO(metric);
    r = rvq_cli("train --input " + bigp + " --metric " + metric + " --layers 2 --codewords 4 --iterations 2 --output " +
                out + ".rvq");
    CHECK(r.err.find("contains NaN or Inf") == std::string::npos);  // the data does not
    if (std::string(metric) != "ip") {  // ip's sums stay in range on this set; l2's norms and cos's do not
      CHECK(r.code == 1);
      CHECK(r.err.find(bigp + ": training overflowed float on finite data") != std::string::npos);
    }
  }

  // A finite but huge projection weight: the projection overflowed, not the input.
  std::vector<float> w(4 * 6, 0.1f), b(4, 0.0f);
  w[5] = 2.5e38f;
  auto map_in = rvq::linear_map::dense(rvq::span<const float>(w), 4, 6, rvq::span<const float>(b));
  std::vector<float> w2(6 * 4, 0.1f);
  auto map_out = rvq::linear_map::dense(rvq::span<const float>(w2), 6, 4);
  REQUIRE(map_in.ok());
  REQUIRE(map_out.ok());
  const auto cb = rvq_test::gaussian(8, 4, 5);
  auto q = rvq::quantizer<cfg_l2>::from_codebooks(rvq::span<const float>(cb), 1, 8, 4);
  REQUIRE(q.ok());
  std::vector<rvq::pipeline_stage<cfg_l2>> st(1);
  st[0].in = std::move(map_in).value();
  st[0].out = std::move(map_out).value();
  st[0].q = std::move(q).value();
  auto p = rvq::pipeline<cfg_l2>::make(6, std::move(st));
  REQUIRE(p.ok());
  const std::string pp = temp_path("huge_weight.rvq");
  REQUIRE(rvq::io::save_pipeline(*p, pp).ok());
  std::vector<float> xs(6 * 3, 1000.0f);
  const std::string xp = temp_path("pipe_x.npy");
  const std::size_t xshape[2] = {3, 6};
  REQUIRE(rvq::io::write_npy(xp, xs.data(), rvq::span<const std::size_t>(xshape)).ok());
  r = rvq_cli("encode --model " + pp + " --input " + xp + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("a projection overflowed float on a finite input row (its weights or bias are too large") !=
        std::string::npos);
  CHECK(r.err.find("input contains NaN or Inf") == std::string::npos);
}

TEST_CASE("cli errors: codegen never declares a reserved word", "[cli][errors]") {
  const auto& f = files();
  const std::string out = temp_path("ns.hpp");
  for (const char* ns : {"int", "class", "a::for", "_Bool", "__x", "a__b", "_Upper", "std::and", "co_await"}) {
    INFO(ns);
    const auto r = rvq_cli("codegen --model " + f.model + " --namespace " + ns + " --output " + out);
    CHECK(r.code == 2);
    CHECK(r.err.find("not a reserved word") != std::string::npos);
    CHECK(slurp(out).empty());
    CHECK_FALSE(rvq::io::detail::valid_namespace(ns));
  }
  for (const char* ns : {"model", "fw::sensor_v2", "_lower", "integer", "classes"})
    CHECK(rvq::io::detail::valid_namespace(ns));
}

TEST_CASE("cli errors: sweep refuses a results file with negative or out-of-range counts", "[cli][errors]") {
  const std::string x = write_data("sweep_x.npy", 300, 4, 2), t = write_data("sweep_t.npy", 50, 4, 3);
  const std::string dir = temp_path("sweep_neg");
  auto r = rvq_cli("sweep --input " + x + " --test " + t + " --out " + dir +
                   " --layers 1 --codewords 4 --elements f32 --beams 1 --iterations 1");
  REQUIRE(r.code == 0);
  std::string csv = slurp(dir + "/results.csv");
  const std::size_t line2 = csv.find('\n') + 1;
  const std::string tampered = csv.substr(0, line2) + "-1" + csv.substr(csv.find(',', line2));
  std::ofstream(dir + "/results.csv", std::ios::binary) << tampered;
  r = rvq_cli("sweep --input " + x + " --test " + t + " --out " + dir +
              " --layers 1,2 --codewords 4 --elements f32 --beams 1 --iterations 1");
  CHECK(r.code == 1);
  CHECK(r.err.find(dir + "/results.csv:2: a field is not a number") != std::string::npos);
  CHECK(slurp(dir + "/results.csv") == tampered);  // left as it was
  CHECK(slurp(dir + "/results.csv").find("18446744073709551615") == std::string::npos);
}

TEST_CASE("cli errors: --icm on a model it does not apply to exits 1 with the reason, writing nothing",
          "[cli][errors][icm]") {
  const auto& f = files();
  const std::string q8 = temp_path("err_icm_int8.rvq"), out = temp_path("err_icm_codes.npy");
  REQUIRE(rvq_cli("quantize --model " + f.model + " --element int8 --calibrate-on " + f.x + " --quiet --output " + q8)
              .code == 0);
  std::remove(out.c_str());
  for (const std::string& line : {"encode --model " + q8 + " --input " + f.x + " --icm 2 --output " + out,
                                  "eval --model " + q8 + " --input " + f.x + " --icm 2"}) {
    INFO(line);
    const auto r = rvq_cli(line);
    CHECK(r.code == 1);
    CHECK(r.err.find("ICM refinement (icm_rounds) works on l2 float models") != std::string::npos);
  }
  CHECK_FALSE(std::ifstream(out).good());
  const auto ok = rvq_cli("eval --model " + f.model + " --input " + f.x + " --beam 2 --icm 3 --json");
  CHECK(ok.code == 0);
  CHECK(ok.out.find("\"icm\": 3") != std::string::npos);
  CHECK(rvq_cli("encode --model " + f.model + " --input " + f.x + " --icm x --output " + out).code == 2);
}

TEST_CASE("cli: RVQ_ISA chooses the kernel target, a name it cannot follow is a usage error", "[cli][dispatch]") {
  const auto cpu = rvq_cli("info --cpu --json");
  REQUIRE(cpu.code == 0);
  CHECK(cpu.out.find("\"isa\": ") != std::string::npos);
  CHECK(cpu.out.find("\"targets\": ") != std::string::npos);
  CHECK(cpu.out.find("\"int8_kernel\": ") != std::string::npos);
  CHECK(cpu.out.find("\"q15_kernel\": ") != std::string::npos);
  const auto forced = rvq_cli("info --cpu", "RVQ_ISA=baseline");
  REQUIRE(forced.code == 0);
  CHECK(forced.out.find("active target    " + std::string(rvq::to_string(rvq::isa::baseline))) != std::string::npos);
#if RVQ_INT8_X86
  if (forced.out.find("backend          dispatch") != std::string::npos)  // the baseline has no int8 kernel
    CHECK(forced.out.find("int8 kernel      reference") != std::string::npos);
  if (forced.out.find("backend          dispatch") != std::string::npos)  // nor a q15 kernel
    CHECK(forced.out.find("q15 kernel       reference") != std::string::npos);
#endif
  const auto bad = rvq_cli("info --cpu", "RVQ_ISA=avx1024");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("RVQ_ISA=avx1024") != std::string::npos);
  CHECK(bad.err.find("valid: auto") != std::string::npos);
  CHECK(rvq_cli("info --cpu some.rvq").code == 2);
  CHECK(rvq_cli("info --json " + std::string(RVQ_TEST_DATA) + "/none.rvq").code == 2);
}

}  // namespace rvq_test_cli_errors_test
