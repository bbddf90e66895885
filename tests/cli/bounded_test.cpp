// Reliability, classes 3 to 7: memory and time stay bounded on any input. Zero-width arrays that
// claim 2^61 rows, headers that claim codebooks far beyond their file, endless inputs, patterns
// built to backtrack, and imports past the limits all end in a clear error that names the file.
#include "cli_helpers.hpp"

#include <rvq/detail/crc32.hpp>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_cli_bounded_test {

using namespace rvq_test;  // rvq_cli, shell, slurp, temp_path, write_data

namespace {

/// A format 3 (rpq) model whose header claims `layers` x `k` codewords of dimension 2 with
/// seeded, shared sub-codebooks: a few bytes of file for an enormous expanded codebook.
std::string product_bomb(const std::string& name, std::size_t layers, std::size_t k) {
  rvq::io::detail::model_header h = rvq::io::detail::header_for(
      rvq::element_id::f32, rvq::metric_id::l2, rvq::storage_id::rpq, std::vector<std::size_t>(layers, k), 2);
  h.prod.subspaces = 1;
  h.prod.bits = 1;
  h.prod.seeded = h.prod.shared = true;
  h.prod.seed = 7;
  h.payload = 2 * 2 * 4;  // one set of 2 sub-codewords of 2 floats
  std::vector<unsigned char> b = rvq::io::detail::write_header(h);
  for (int i = 0; i < 4; ++i) {
    unsigned char f[4];
    rvq::io::detail::put_f32le(f, 0.5f * float(i));
    b.insert(b.end(), f, f + 4);
  }
  unsigned char crc[4];
  rvq::io::detail::put_u32le(crc, rvq::detail::crc32_update(0, b.data(), b.size()));
  b.insert(b.end(), crc, crc + 4);
  const std::string p = temp_path(name);
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return p;
}

}  // namespace

TEST_CASE("cli bounds: a zero-width array claiming 2^61 rows is refused, not a crash", "[cli][bounds]") {
  const auto x = write_data("zw_x.npy", 200, 4, 1);
  const std::string m = temp_path("zw_m.rvq"), codes = temp_path("zw_codes.npy"), out = temp_path("zw_out.npy");
  REQUIRE(rvq_cli("train --input " + x + " --layers 2 --codewords 1 --iterations 1 --quiet --output " + m).code == 0);
  const std::size_t shape[2] = {std::size_t{1} << 61, 0};
  REQUIRE(
      rvq::io::write_npy(codes, static_cast<const std::uint8_t*>(nullptr), rvq::span<const std::size_t>(shape)).ok());
  for (const char* packed : {" --packed", ""}) {
    const auto r = rvq_cli("decode --model " + m + " --input " + codes + " --output " + out + packed);
    CHECK(r.code == 1);
    CHECK(r.err.find(codes + ": an empty npy array claims more than 65536 rows") != std::string::npos);
  }
  CHECK(rvq_cli("decode --model " + m + " --input " + codes + " --output " + out).err.find("out of memory") ==
        std::string::npos);
}

TEST_CASE("cli bounds: a model header claiming more than its file can back is refused at once", "[cli][bounds]") {
  // 4096 x 65536 codewords (2^28: past the 2^26 limit on all layers), and 64 x 65536 (2^22
  // codewords, under the limit, but 2^22 x 32 bytes of expansion from a file of 16 KiB).
  const std::string huge = product_bomb("bomb_huge.rvq", 4096, 65536), wide = product_bomb("bomb_wide.rvq", 64, 65536);
  auto r = rvq_cli("info " + huge);
  CHECK(r.code == 1);
  CHECK(r.err.find(huge + ": more than 2^26 codewords in all layers") != std::string::npos);
  r = rvq_cli("info " + wide);
  CHECK(r.code == 1);
  CHECK(r.err.find(wide + ": the model would take more memory than its file can justify") != std::string::npos);
  const auto x = write_data("bomb_x.npy", 8, 2, 1);
  r = rvq_cli("eval --model " + wide + " --input " + x);
  CHECK(r.code == 1);
  CHECK(r.err.find("more memory than its file can justify") != std::string::npos);
}

TEST_CASE("cli bounds: endless or non-file inputs are capped or refused", "[cli][bounds]") {
  const auto x = write_data("endless_x.npy", 300, 4, 1);
  const std::string m = temp_path("endless.rvq"), out = temp_path("endless_out.npy");
  REQUIRE(rvq_cli("train --input " + x + " --layers 1 --codewords 4 --iterations 1 --quiet --output " + m).code == 0);
  // A folder: refused by name.
  auto r = rvq_cli("encode --model " + m + " --input " + std::string(RVQ_TEST_TMPDIR) + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("a folder, not a file") != std::string::npos);
  r = rvq_cli("import --from faiss " + std::string(RVQ_TEST_TMPDIR) + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("a folder, not a file") != std::string::npos);
  // A pipe is read (a data set streamed from another program) ...
  REQUIRE(shell("cat '" + x + "' | " + rvq_test::cli_command() + " encode --model " + m +
                " --input /dev/stdin --output '" + out + "' 2> /dev/null") == 0);
  // ... up to the 1 GiB limit of streamed input: /dev/zero ends in an error, not in exhausted memory.
  r = rvq_cli("encode --model " + m + " --input /dev/zero --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("/dev/zero: a pipe or device longer than the 1 GiB limit") != std::string::npos);
  r = rvq_cli("import --from safetensors /dev/zero --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("/dev/zero:") != std::string::npos);
}

TEST_CASE("cli bounds: pattern matching takes linear time in the name", "[cli][bounds]") {
  // 800 characters of 'a' against '*a*a*a*b{}' took minutes with backtracking; a table of
  // pattern x name states takes microseconds. Many stars are allowed.
  const std::string p = temp_path("long_names.safetensors");
  std::vector<rvq_test::tensor> ts;
  ts.push_back({std::string(800, 'a'), {4, 2}, std::vector<float>(8, 0.5f)});
  for (int l = 0; l < 3; ++l)
    ts.push_back(
        {std::string(700, 'a') + "b" + std::to_string(l), {4, 2}, std::vector<float>(8, 0.25f * float(l + 1))});
  rvq_test::write_safetensors(p, ts);
  const std::string out = temp_path("long_names.rvq");
  auto r = rvq_cli("import --from safetensors " + p + " --pattern '*a*a*a*c{}' --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("no tensor matches the codebook pattern") != std::string::npos);
  r = rvq_cli("import --from safetensors " + p + " --pattern '" + std::string(40, '*') + "a*a*a*b{}' --output " + out);
  CHECK(r.code == 0);
  CHECK(r.out.find("3 tensors matching") != std::string::npos);
}

TEST_CASE("cli bounds: import refuses what load would refuse, and writes nothing", "[cli][bounds]") {
  // 4097 layers of K = 1, D = 1: past the limit of 4096 layers that load enforces.
  for (const std::size_t layers : {std::size_t{4096}, std::size_t{4097}}) {
    INFO(layers);
    const std::string p = temp_path("layers.safetensors"), out = temp_path("layers.rvq");
    std::vector<rvq_test::tensor> ts;
    for (std::size_t l = 0; l < layers; ++l) ts.push_back({"rvq.book" + std::to_string(l), {1, 1}, {float(l)}});
    rvq_test::write_safetensors(p, ts);
    const auto r = rvq_cli("import --from safetensors " + p + " --pattern 'rvq.book{}' --output " + out);
    if (layers == 4096) {
      CHECK(r.code == 0);
      CHECK(rvq_cli("info " + out).code == 0);  // what import writes, load reads
    } else {
      CHECK(r.code == 1);
      CHECK(r.err.find(p + ": layer count out of range (1 to 4096)") != std::string::npos);
      CHECK(slurp(out).empty());
    }
  }
}

}  // namespace rvq_test_cli_bounded_test
