// Out-of-core: encode, decode, eval, index and train --sample read a regular .npy file a tile at
// a time, so memory stays constant whatever the file's size, and give what reading it whole gives.
#include "cli_helpers.hpp"

#include <fstream>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_cli_out_of_core_test {

using namespace rvq_test;  // rvq_cli, shell, slurp, temp_path, write_data

namespace {

/// The JSON field `key` of `json` as written (the text up to the next comma or brace).
std::string field(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return "";
  const auto from = at + key.size() + 4;
  return json.substr(from, json.find_first_of(",}", from) - from);
}

}  // namespace

TEST_CASE("cli out-of-core: tiles give the results of the whole file", "[cli][out_of_core]") {
  const auto x = write_data("ooc_x.npy", 1000, 6, 3);
  const std::string m = temp_path("ooc_m.rvq");
  REQUIRE(rvq_cli("train --input " + x + " --layers 3 --codewords 16 --iterations 3 --refine 2 --quiet --output " + m)
              .code == 0);
  // The whole file in one tile, against tiles of 7 rows, and against a pipe (read whole).
  const std::string c1 = temp_path("ooc_c1.npy"), c7 = temp_path("ooc_c7.npy"), cp = temp_path("ooc_cp.npy");
  REQUIRE(rvq_cli("encode --model " + m + " --input " + x + " --output " + c1).code == 0);
  REQUIRE(rvq_cli("encode --model " + m + " --input " + x + " --output " + c7, "RVQ_TILE_ROWS=7").code == 0);
  REQUIRE(shell("cat '" + x + "' | " + cli_command() + " encode --model " + m + " --input /dev/stdin --output '" + cp +
                "'") == 0);
  CHECK(slurp(c1) == slurp(c7));
  CHECK(slurp(c1) == slurp(cp));
  // The codes are the library's.
  rvq::io::ndarray<float> xv;
  REQUIRE(rvq::io::read_npy(x, xv).ok());
  auto q = rvq::io::load_model<rvq::default_config>(m);
  REQUIRE(q);
  std::vector<std::uint8_t> codes(1000 * 3);
  REQUIRE(q->encode_batch(xv.view(), rvq::matrix_view<std::uint8_t>(codes.data(), 1000, 3)));
  rvq::io::ndarray<std::uint16_t> got;
  REQUIRE(rvq::io::read_npy(c7, got).ok());
  CHECK(std::vector<std::uint16_t>(codes.begin(), codes.end()) == got.values);

  // Packed codes, and decoding in tiles.
  const std::string p1 = temp_path("ooc_p1.npy"), p7 = temp_path("ooc_p7.npy");
  REQUIRE(rvq_cli("encode --packed --model " + m + " --input " + x + " --output " + p1).code == 0);
  REQUIRE(rvq_cli("encode --packed --model " + m + " --input " + x + " --output " + p7, "RVQ_TILE_ROWS=13").code == 0);
  CHECK(slurp(p1) == slurp(p7));
  const std::string y1 = temp_path("ooc_y1.npy"), y7 = temp_path("ooc_y7.npy"), yp = temp_path("ooc_yp.npy");
  REQUIRE(rvq_cli("decode --model " + m + " --input " + c1 + " --output " + y1).code == 0);
  REQUIRE(rvq_cli("decode --model " + m + " --input " + c1 + " --output " + y7, "RVQ_TILE_ROWS=7").code == 0);
  REQUIRE(rvq_cli("decode --packed --model " + m + " --input " + p7 + " --output " + yp, "RVQ_TILE_ROWS=3").code == 0);
  CHECK(slurp(y1) == slurp(y7));
  CHECK(slurp(y1) == slurp(yp));
  CHECK(rvq_cli("decode --layers 2 --model " + m + " --input " + c1 + " --output " + y7, "RVQ_TILE_ROWS=9").code == 0);
  CHECK(slurp(y1) != slurp(y7));

  // eval: the same errors to the last digit, whatever the tiles.
  const auto e1 = rvq_cli("eval --json --beam 2 --model " + m + " --input " + x);
  const auto e7 = rvq_cli("eval --json --beam 2 --model " + m + " --input " + x, "RVQ_TILE_ROWS=7");
  REQUIRE(e1.code == 0);
  REQUIRE(e7.code == 0);
  for (const char* k : {"vectors", "mse", "rel_mse", "mean_squared_norm", "layer_rel_mse"}) {
    INFO(k);
    CHECK(!field(e1.out, k).empty());
    CHECK(field(e1.out, k) == field(e7.out, k));
  }
  // index: the same index file.
  const std::string i1 = temp_path("ooc_i1.rvqi"), i7 = temp_path("ooc_i7.rvqi");
  REQUIRE(rvq_cli("index --quiet --norm int8 --model " + m + " --input " + x + " --output " + i1).code == 0);
  REQUIRE(
      rvq_cli("index --quiet --norm int8 --model " + m + " --input " + x + " --output " + i7, "RVQ_TILE_ROWS=7").code ==
      0);
  CHECK(slurp(i1) == slurp(i7));

  // A bad RVQ_TILE_ROWS is a usage error.
  const auto bad = rvq_cli("encode --model " + m + " --input " + x + " --output " + c7, "RVQ_TILE_ROWS=0");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("RVQ_TILE_ROWS") != std::string::npos);
}

TEST_CASE("cli out-of-core: errors name the file's row, and leave no output", "[cli][out_of_core]") {
  const std::size_t n = 400, d = 4;
  auto v = gaussian(n, d, 5);
  const std::string m = temp_path("ooc_err.rvq"), good = write_data("ooc_err_good.npy", n, d, 5);
  REQUIRE(rvq_cli("train --input " + good + " --layers 2 --codewords 8 --iterations 2 --quiet --output " + m).code ==
          0);
  v[317 * d + 1] = std::numeric_limits<float>::quiet_NaN();
  const std::string x = temp_path("ooc_err_x.npy"), out = temp_path("ooc_err_out.npy");
  const std::size_t shape[2] = {n, d};
  REQUIRE(rvq::io::write_npy(x, v.data(), rvq::span<const std::size_t>(shape)).ok());
  for (const char* cmd : {"encode", "eval", "index"}) {
    const std::string o = std::string(cmd) == "eval" ? "" : " --output " + out;
    const auto r = rvq_cli(std::string(cmd) + " --model " + m + " --input " + x + o, "RVQ_TILE_ROWS=100");
    INFO(cmd << ": " << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find(x + ":") != std::string::npos);
    CHECK(r.err.find("row 317") != std::string::npos);
    CHECK_FALSE(std::ifstream(out).good());
  }
  // train --sample names the file's row too, when the sample holds it.
  const auto r = rvq_cli("train --input " + x + " --sample 399 --layers 1 --codewords 4 --quiet --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("row 317") != std::string::npos);
  // A file truncated after its header was read: the reader's error, the output untouched.
  const std::string t = temp_path("ooc_err_trunc.npy");
  {
    const std::string b = slurp(good);
    std::ofstream(t, std::ios::binary).write(b.data(), std::streamsize(b.size() - 8));
  }
  const auto tr = rvq_cli("encode --model " + m + " --input " + t + " --output " + out);
  CHECK(tr.code == 1);
  CHECK(tr.err.find("truncated") != std::string::npos);
}

TEST_CASE("cli out-of-core: train --sample reads only its sample, with the model of the whole file",
          "[cli][out_of_core]") {
  const auto x = write_data("ooc_s_x.npy", 5000, 6, 8);
  const std::string a = temp_path("ooc_s_a.rvq"), b = temp_path("ooc_s_b.rvq");
  const std::string args = " --layers 2 --codewords 16 --iterations 4 --refine 2 --sample 900 --seed 3 --quiet";
  REQUIRE(rvq_cli("train --input " + x + args + " --output " + a).code == 0);
  // Through a pipe the file is read whole, and train() draws the same sample.
  REQUIRE(shell("cat '" + x + "' | " + cli_command() + " train --input /dev/stdin" + args + " --output '" + b + "'") ==
          0);
  CHECK(slurp(a) == slurp(b));
}

#if defined(__SANITIZE_ADDRESS__)
#define RVQ_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RVQ_TEST_ASAN 1
#endif
#endif
#if defined(__linux__) && !defined(RVQ_TEST_ASAN)  // ASan reserves terabytes of address space
TEST_CASE("cli out-of-core: a file larger than the memory limit is encoded, decoded and evaluated",
          "[cli][out_of_core]") {
  // prlimit --as caps the address space: the input (256 MiB) cannot be read whole, nor mapped.
  if (shell("prlimit --version > /dev/null 2>&1") != 0 || !std::string(RVQ_CLI_LAUNCHER).empty()) {
    WARN("prlimit is missing, or the tool runs under an emulator: skipped");
    return;
  }
  const std::size_t d = 32, n = (std::size_t{256} << 20) / (d * 4);
  const std::string x = temp_path("ooc_big.npy");
  {
    rvq::io::npy_row_writer<float> w;
    REQUIRE(w.open(x, n, d).ok());
    const std::size_t tile = 1 << 16;
    std::vector<float> v;
    for (std::size_t first = 0; first < n; first += tile) {
      const std::size_t m = std::min(tile, n - first);
      v = gaussian(m, d, unsigned(first / tile + 1));
      REQUIRE(w.write(v.data(), m).ok());
    }
    REQUIRE(w.commit().ok());
  }
  const std::string limit = "prlimit --as=" + std::to_string(std::size_t{160} << 20) + " ";
  const std::string m = temp_path("ooc_big.rvq"), c = temp_path("ooc_big_c.npy"), y = temp_path("ooc_big_y.npy");
  auto run = [&](const std::string& args) {
    const std::string out = temp_path("big_out.txt"), err = temp_path("big_err.txt");
    const int code = shell(limit + cli_command() + " " + args + " > '" + out + "' 2> '" + err + "'");
    return run_result{code, slurp(out), slurp(err)};
  };
  auto r = run("train --input " + x + " --sample 4000 --layers 2 --codewords 16 --iterations 3 --quiet --output " + m);
  REQUIRE(r.code == 0);
  // Reading the whole file (as a pipe is read) is what the limit forbids; the commands below
  // read the file a tile at a time.
  CHECK(shell("cat '" + x + "' | " + limit + cli_command() + " eval --model " + m + " --input /dev/stdin" +
              " > /dev/null 2>&1") != 0);
  r = run("encode --model " + m + " --input " + x + " --output " + c);
  INFO(r.err);
  REQUIRE(r.code == 0);
  r = run("eval --json --model " + m + " --input " + x);
  REQUIRE(r.code == 0);
  CHECK(field(r.out, "vectors") == std::to_string(n));
  r = run("decode --model " + m + " --input " + c + " --output " + y);
  REQUIRE(r.code == 0);
  rvq::io::npy_rows codes, back;
  REQUIRE(codes.open(c).ok());
  REQUIRE(back.open(y).ok());
  CHECK(codes.rows() == n);
  CHECK(back.rows() == n);
  CHECK(back.cols() == d);
  for (const auto& f : {x, c, y}) std::remove(f.c_str());
}
#endif

}  // namespace rvq_test_cli_out_of_core_test
