// End-to-end tests of the rvq command-line tool on small generated files, bad files included.
#include <catch2/catch.hpp>
#include "cli_helpers.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#if __has_include(<sys/wait.h>)
#include <sys/wait.h>
#endif

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_cli_cli_test {

namespace {

using rvq_test::run_result;
using rvq_test::rvq_cli;
using rvq_test::slurp;
using rvq_test::write_data;

double json_number(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\": ");
  REQUIRE(at != std::string::npos);
  return std::strtod(json.c_str() + at + key.size() + 4, nullptr);
}

}  // namespace

TEST_CASE("cli: train, info, encode, decode, eval end to end", "[cli]") {
  const std::string train = write_data("train.npy", 1200, 16, 1), test = write_data("test.npy", 300, 16, 2);
  const std::string model = rvq_test::temp_path("m.rvq"), codes = rvq_test::temp_path("c.npy"),
                    recon = rvq_test::temp_path("y.npy");

  auto r = rvq_cli("train --input " + train + " --layers 3 --codewords 32 --iterations 5 --seed 3 --output " + model);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("wrote") != std::string::npos);
  CHECK(r.err.empty());  // progress is only shown on a terminal

  CHECK(r.out.find("refinement (beam 1): rel_mse") != std::string::npos);
  CHECK(r.out.find("0 dead left") != std::string::npos);

  r = rvq_cli("info " + model);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("3 layers x 32 codewords x 16 dims") != std::string::npos);
  CHECK(r.out.find("metric           l2") != std::string::npos);

  r = rvq_cli("info " + model + " --usage " + train + " --beam 2");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("usage of " + train + " (1200 vectors, beam 2)") != std::string::npos);
  CHECK(r.out.find("entropy bits") != std::string::npos);
  CHECK(r.out.find("all layers:") != std::string::npos);

  REQUIRE(rvq_cli("encode --model " + model + " --input " + test + " --output " + codes).code == 0);
  rvq::io::ndarray<std::uint16_t> c;
  REQUIRE(rvq::io::read_npy(codes, c).ok());
  CHECK(c.shape == std::vector<std::size_t>{300, 3});
  CHECK(slurp(codes).substr(0, 30).find("|u1") != std::string::npos);  // K <= 256: uint8 codes

  REQUIRE(rvq_cli("decode --model " + model + " --input " + codes + " --output " + recon).code == 0);
  rvq::io::ndarray<float> y, x;
  REQUIRE(rvq::io::read_npy(recon, y).ok());
  REQUIRE(rvq::io::read_npy(test, x).ok());
  CHECK(y.shape == std::vector<std::size_t>{300, 16});
  double err = 0, norm = 0;
  for (std::size_t i = 0; i < x.values.size(); ++i) {
    err += double(x.values[i] - y.values[i]) * double(x.values[i] - y.values[i]);
    norm += double(x.values[i]) * double(x.values[i]);
  }

  r = rvq_cli("eval --model " + model + " --input " + test + " --json");
  REQUIRE(r.code == 0);
  CHECK(json_number(r.out, "mse") == Approx(err / 300).epsilon(1e-5));
  CHECK(json_number(r.out, "rel_mse") == Approx(err / norm).epsilon(1e-5));
  CHECK(json_number(r.out, "bits_per_vector") == 15);
  CHECK(json_number(r.out, "layers") == 3);
  CHECK(json_number(r.out, "codewords") == 32);
  CHECK(json_number(r.out, "dim") == 16);
  CHECK(json_number(r.out, "codebook_bytes") == 3 * 32 * 16 * 4);
  CHECK(json_number(r.out, "encode_vectors_per_second") > 0);
  {  // the rate-distortion curve of partial decoding falls and ends at rel_mse
    const auto at = r.out.find("\"layer_rel_mse\": [");
    REQUIRE(at != std::string::npos);
    std::istringstream in(r.out.substr(at + 18));
    std::vector<double> curve;
    double v;
    char sep = ',';
    while (sep == ',' && in >> v >> sep) curve.push_back(v);
    REQUIRE(curve.size() == 3);
    CHECK(curve[0] > curve[1]);
    CHECK(curve[1] > curve[2]);
    CHECK(curve[2] == Approx(json_number(r.out, "rel_mse")).epsilon(1e-6));
  }
  const double greedy = json_number(r.out, "mse");
  r = rvq_cli("eval --model " + model + " --input " + test + " --beam 8 --json");
  REQUIRE(r.code == 0);
  CHECK(json_number(r.out, "mse") <= greedy);

  // Partial decode from the first layer only is coarser.
  REQUIRE(rvq_cli("decode --model " + model + " --input " + codes + " --layers 1 --output " + recon).code == 0);
  rvq::io::ndarray<float> y1;
  REQUIRE(rvq::io::read_npy(recon, y1).ok());
  double err1 = 0;
  for (std::size_t i = 0; i < x.values.size(); ++i)
    err1 += double(x.values[i] - y1.values[i]) * double(x.values[i] - y1.values[i]);
  CHECK(err1 > err);

  r = rvq_cli("eval --model " + model + " --input " + test);
  CHECK(r.code == 0);
  CHECK(r.out.find("rel_mse") != std::string::npos);

  // Packed codes: 15 bits in 2 bytes per vector, decoding to the same reconstruction.
  const std::string packed = rvq_test::temp_path("packed.npy"), recon_p = rvq_test::temp_path("yp.npy");
  REQUIRE(rvq_cli("encode --packed --model " + model + " --input " + test + " --output " + packed).code == 0);
  rvq::io::ndarray<std::uint8_t> pk;
  REQUIRE(rvq::io::read_npy(packed, pk).ok());
  CHECK(pk.shape == std::vector<std::size_t>{300, 2});
  REQUIRE(rvq_cli("decode --packed --model " + model + " --input " + packed + " --output " + recon_p).code == 0);
  REQUIRE(rvq_cli("decode --model " + model + " --input " + codes + " --output " + recon).code == 0);
  rvq::io::ndarray<float> yp, yu;
  REQUIRE(rvq::io::read_npy(recon_p, yp).ok());
  REQUIRE(rvq::io::read_npy(recon, yu).ok());
  CHECK(yp.values == yu.values);
  r = rvq_cli("decode --packed --model " + model + " --input " + codes + " --output " + recon_p);  // not packed
  CHECK(r.code == 1);
  CHECK(r.err.find("packed codes of shape N x 2") != std::string::npos);

  const std::string header = rvq_test::temp_path("model.hpp");
  r = rvq_cli("codegen --model " + model + " --namespace demo::fw --output " + header);
  REQUIRE(r.code == 0);
  std::ifstream h(header);
  const std::string text((std::istreambuf_iterator<char>(h)), {});
  CHECK(text.find("namespace demo::fw {") != std::string::npos);
  CHECK(text.find("rvq::extents<3, 32, 16>") != std::string::npos);
  CHECK(rvq_cli("codegen --model " + model + " --namespace 3d --output " + header).code == 2);
}

TEST_CASE("cli: import codebooks from an L x K x D array, uint16 codes for K > 256", "[cli]") {
  const std::string cb = rvq_test::temp_path("cb.npy"), model = rvq_test::temp_path("imp.rvq");
  const auto v = rvq_test::gaussian(2 * 300 * 4, 1, 5);
  const std::size_t shape[3] = {2, 300, 4};
  REQUIRE(rvq::io::write_npy(cb, v.data(), rvq::span<const std::size_t>(shape)).ok());
  auto r = rvq_cli("import --codebooks " + cb + " --metric ip --output " + model);
  REQUIRE(r.code == 0);
  auto q = rvq::io::load_model<rvq::config<rvq::f32, rvq::ip>>(model);
  REQUIRE(q.ok());
  CHECK(std::equal(v.begin(), v.end(), q->codebook_data()));
  const std::string x = write_data("x4.npy", 10, 4, 3), codes = rvq_test::temp_path("c16.npy");
  REQUIRE(rvq_cli("encode --model " + model + " --input " + x + " --output " + codes).code == 0);
  CHECK(slurp(codes).substr(0, 30).find("<u2") != std::string::npos);
  // 2-D input to import is refused with the file's name.
  r = rvq_cli("import --codebooks " + x + " --output " + model);
  CHECK(r.code == 1);
  CHECK(r.err.find(x) != std::string::npos);
  CHECK(r.err.find("L x K x D") != std::string::npos);
}

TEST_CASE("cli: import a FAISS IndexResidualQuantizer, its codes are FAISS's", "[cli][faiss]") {
  const std::string dir = std::string(RVQ_TEST_DATA) + "/faiss/", model = rvq_test::temp_path("faiss.rvq"),
                    codes = rvq_test::temp_path("faiss_codes.npy");
  auto r = rvq_cli("import --from faiss " + dir + "rq_l2_d12_mixed.faissindex --output " + model);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("imported 4 layers x 256 codewords x 12 dims from faiss") != std::string::npos);
  REQUIRE(rvq_cli("encode --model " + model + " --input " + dir + "rq_l2_d12_mixed_x.npy --output " + codes).code == 0);
  rvq::io::ndarray<std::uint16_t> got, want;
  REQUIRE(rvq::io::read_npy(codes, got).ok());
  REQUIRE(rvq::io::read_npy(dir + "rq_l2_d12_mixed_codes.npy", want).ok());
  CHECK(got.values == want.values);
  // A file of another kind is refused with its name and the reason.
  r = rvq_cli("import --from faiss " + dir + "rq_l2_d12_mixed_x.npy --output " + model);
  CHECK(r.code == 1);
  CHECK(r.err.find("rq_l2_d12_mixed_x.npy") != std::string::npos);
  CHECK(r.err.find("IndexResidualQuantizer") != std::string::npos);
  CHECK(rvq_cli("import --from onnx x --output " + model).code == 2);
  CHECK(rvq_cli("import --output " + model).code == 2);
}

TEST_CASE("cli: import codebooks from a safetensors checkpoint", "[cli][safetensors]") {
  const std::string dir = std::string(RVQ_TEST_DATA) + "/safetensors/", model = rvq_test::temp_path("st.rvq");
  auto r = rvq_cli("import --from safetensors " + dir + "encodec_f16.safetensors --output " + model);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("4 tensors matching '*layers.{}._codebook.embed'") != std::string::npos);
  CHECK(r.out.find("imported 4 layers x 32 codewords x 8 dims from safetensors") != std::string::npos);
  r = rvq_cli("import --from safetensors " + dir + "custom_bf16.safetensors --pattern 'rvq.book{}' --output " + model);
  REQUIRE(r.code == 0);
  auto q = rvq::io::load_model<rvq::default_config>(model);
  REQUIRE(q.ok());
  rvq::io::ndarray<float> want;
  REQUIRE(rvq::io::read_npy(dir + "custom_bf16_expected.npy", want).ok());
  CHECK(std::equal(want.values.begin(), want.values.end(), q->codebook_data()));
  r = rvq_cli("import --from safetensors " + dir + "custom_bf16.safetensors --output " + model);
  CHECK(r.code == 1);
  CHECK(r.err.find("--pattern") != std::string::npos);
  CHECK(rvq_cli("import --codebooks x.npy --pattern 'a{}' --output " + model).code == 2);
}

TEST_CASE("cli: a DAC checkpoint imports as a pipeline that encode, decode, eval, info and compress take",
          "[cli][safetensors][pipeline]") {
  const std::string dir = std::string(RVQ_TEST_DATA) + "/safetensors/", model = rvq_test::temp_path("dac.rvq"),
                    x = dir + "dac_input.npy", codes = rvq_test::temp_path("dac_codes.npy"),
                    y = rvq_test::temp_path("dac_y.npy");
  auto r = rvq_cli("import --from safetensors " + dir + "dac_bf16.safetensors --output " + model);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("pipeline of 3 stages (in_proj 64 -> 8, 16 codewords, out_proj 8 -> 64; cos)") != std::string::npos);
  r = rvq_cli("info " + model);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("format version 4: a pipeline") != std::string::npos);
  CHECK(r.out.find("in_proj        64 -> 8, dense f32 + bias") != std::string::npos);
  CHECK(r.out.find("stored bytes     14688 (codebooks 1536, projections 13152)") != std::string::npos);
  // Its codes are DAC's (make_fixtures.py ran the torch module and a NumPy reference).
  REQUIRE(rvq_cli("encode --model " + model + " --input " + x + " --output " + codes).code == 0);
  rvq::io::ndarray<std::uint16_t> got, want;
  REQUIRE(rvq::io::read_npy(codes, got).ok());
  REQUIRE(rvq::io::read_npy(dir + "dac_expected_codes.npy", want).ok());
  CHECK(got.values == want.values);
  // decode is the pipeline's: the sum of each stage's projected-back codeword.
  REQUIRE(rvq_cli("decode --model " + model + " --input " + codes + " --output " + y).code == 0);
  auto p = rvq::io::load_pipeline<rvq::config<rvq::f32, rvq::cosine>>(model);
  REQUIRE(p.ok());
  rvq::io::ndarray<float> yhat;
  REQUIRE(rvq::io::read_npy(y, yhat).ok());
  std::vector<float> ref(yhat.values.size());
  REQUIRE(p->decode_batch(rvq::matrix_view<const std::uint16_t>(got.values.data(), got.shape[0], got.shape[1]),
                          rvq::matrix_view<float>(ref.data(), got.shape[0], p->dim()))
              .ok());
  CHECK(ref == yhat.values);
  r = rvq_cli("eval --model " + model + " --input " + x + " --json");
  REQUIRE(r.code == 0);
  CHECK(json_number(r.out, "vectors") == 40);
  CHECK(json_number(r.out, "codebook_bytes") == double(p->memory_footprint().codebook_bytes));
  CHECK(json_number(r.out, "macs_per_vector") == double(p->memory_footprint().macs_per_vector));
  // compress turns every stage's codebook into sub-codebooks; data MSE reported against dense.
  const std::string small = rvq_test::temp_path("dac_rpq.rvq");
  r = rvq_cli("compress --model " + model + " --storage rpq --subspaces 2 --bits 4 --projections --calibrate-on " + x +
              " --output " + small + " --json");
  REQUIRE(r.code == 0);
  CHECK(json_number(r.out, "stages") == 3);
  CHECK(json_number(r.out, "projections_compressed") + json_number(r.out, "projections_kept_dense") == 6);
  CHECK(json_number(r.out, "mse") > 0);
  auto c = rvq::io::load_pipeline<rvq::config<rvq::f32, rvq::cosine, rvq::rpq>>(small);
  REQUIRE(c.ok());
  CHECK(c->stages() == 3);
  CHECK(rvq_cli("eval --model " + small + " --input " + x).code == 0);
  // Commands that take a single model say why they refuse a pipeline.
  for (const std::string& cmd :
       {"codegen --model " + model + " --output " + rvq_test::temp_path("dac.hpp"),
        "quantize --model " + model + " --element int8 --calibrate-on " + x + " --output " + small,
        "compact --model " + model + " --output " + small,
        "encode --mmap --model " + model + " --input " + x + " --output " + codes}) {
    INFO(cmd);
    r = rvq_cli(cmd);
    CHECK(r.code == 1);
    CHECK(r.err.find("dac.rvq") != std::string::npos);
    CHECK(r.err.find("pipeline") != std::string::npos);
  }
  r = rvq_cli("info " + model + " --usage " + x);
  CHECK(r.code == 2);
  CHECK(r.err.find("pipeline") != std::string::npos);
  // Wrong data is refused with the file and the reason.
  r = rvq_cli("encode --model " + model + " --input " + dir + "custom_bf16_expected.npy --output " + codes);
  CHECK(r.code == 1);
  CHECK(r.err.find("custom_bf16_expected.npy") != std::string::npos);
}

TEST_CASE("cli: data in .fvecs and .bvecs", "[cli]") {
  const auto x = rvq_test::gaussian(300, 6, 9);
  const std::string fv = rvq_test::temp_path("x.fvecs"), model = rvq_test::temp_path("fv.rvq");
  REQUIRE(rvq::io::write_vecs(fv, rvq::matrix_view<const float>(x.data(), 300, 6)).ok());
  REQUIRE(rvq_cli("train --input " + fv + " --layers 2 --codewords 8 --iterations 3 --quiet --output " + model).code ==
          0);
  auto r = rvq_cli("eval --model " + model + " --input " + fv + " --json");
  REQUIRE(r.code == 0);
  CHECK(json_number(r.out, "vectors") == 300);
  std::vector<std::uint8_t> b(300 * 6, 7);
  const std::string bv = rvq_test::temp_path("x.bvecs");
  REQUIRE(rvq::io::write_vecs(bv, rvq::matrix_view<const std::uint8_t>(b.data(), 300, 6)).ok());
  CHECK(rvq_cli("eval --model " + model + " --input " + bv).code == 0);
  { std::ofstream(bv, std::ios::binary) << "xyz"; }
  r = rvq_cli("eval --model " + model + " --input " + bv);
  CHECK(r.code == 1);
  CHECK(r.err.find(bv) != std::string::npos);
}

TEST_CASE("cli: usage errors exit 2 and print the usage", "[cli][errors]") {
  for (const char* args :
       {"", "frobnicate", "train --input", "train --output m.rvq", "train --input x.npy --output m.rvq --layers abc",
        "train --input x.npy --output m.rvq --layers 0", "train --input x.npy --output m.rvq --metric manhattan",
        "encode --model m.rvq --input x.npy", "eval --model m.rvq --input x.npy --bogus", "info",
        "train --input x.npy --output m.rvq --codewords 8,8 --layers 3", "train --quiet=yes --input x --output y",
        "train --input x.npy --output m.rvq --refine -1", "info m.rvq --beam 0"}) {
    INFO(args);
    const auto r = rvq_cli(args);
    CHECK(r.code == 2);
    CHECK(r.err.find("usage: rvq") != std::string::npos);
  }
  CHECK(rvq_cli("--help").code == 0);
  CHECK(rvq_cli("--version").out.find("rvq ") == 0);
}

TEST_CASE("cli: bad files and bad data exit 1 naming the file and the problem", "[cli][errors]") {
  const std::string train = write_data("t.npy", 200, 8, 1), model = rvq_test::temp_path("m2.rvq");
  REQUIRE(
      rvq_cli("train --input " + train + " --layers 2 --codewords 16 --iterations 3 --quiet --output " + model).code ==
      0);
  const std::string missing = rvq_test::temp_path("missing.npy");
  const std::string out = rvq_test::temp_path("out.npy");

  auto expect = [](const run_result& r, const std::string& file, const std::string& reason) {
    INFO(r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find(file) != std::string::npos);
    CHECK(r.err.find(reason) != std::string::npos);
  };
  expect(rvq_cli("train --input " + missing + " --output " + model), missing, "cannot open");
  expect(rvq_cli("info " + missing), missing, "cannot open");
  expect(rvq_cli("train --input " + train + " --codewords 500 --output " + model), train,
         "above the number of training vectors");
  expect(rvq_cli("train --input " + train + " --codewords 16 --sample 10 --output " + model), train, "--sample");
  expect(rvq_cli("info " + model + " --usage " + missing), missing, "cannot open");
  const std::string wide = write_data("wide.npy", 20, 9, 1);
  expect(rvq_cli("info " + model + " --usage " + wide), wide, "dimensions");

  const std::string garbage = rvq_test::temp_path("garbage.rvq");
  { std::ofstream(garbage) << "this is not a model"; }
  expect(rvq_cli("encode --model " + garbage + " --input " + train + " --output " + out), garbage, "too short");
  { std::ofstream(garbage) << "this is not a model at all, it is a longer text file with enough bytes"; }
  expect(rvq_cli("info " + garbage), garbage, "magic");

  std::string bytes;
  {
    std::ifstream f(model, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  bytes[bytes.size() - 10] ^= 1;
  const std::string damaged = rvq_test::temp_path("damaged.rvq");
  { std::ofstream(damaged, std::ios::binary) << bytes; }
  expect(rvq_cli("eval --model " + damaged + " --input " + train), damaged, "checksum");

  const std::string wrong_dim = write_data("w.npy", 10, 5, 2);
  expect(rvq_cli("encode --model " + model + " --input " + wrong_dim + " --output " + out), wrong_dim, "dimensions");
  CHECK_FALSE(std::ifstream(out).good());  // nothing half-written

  auto nan = rvq_test::gaussian(20, 8, 4);
  nan[5 * 8 + 3] = std::nanf("");
  const std::string nanfile = rvq_test::temp_path("nan.npy");
  const std::size_t shape[2] = {20, 8};
  REQUIRE(rvq::io::write_npy(nanfile, nan.data(), rvq::span<const std::size_t>(shape)).ok());
  expect(rvq_cli("encode --model " + model + " --input " + nanfile + " --output " + out), nanfile,
         "NaN or Inf (row 5)");
  expect(rvq_cli("train --input " + nanfile + " --codewords 4 --output " + model), nanfile, "NaN or Inf (row 5)");

  const std::vector<std::uint8_t> badcodes = {1, 2, 3, 200};
  const std::string codes = rvq_test::temp_path("bad_codes.npy");
  const std::size_t cshape[2] = {2, 2};
  REQUIRE(rvq::io::write_npy(codes, badcodes.data(), rvq::span<const std::size_t>(cshape)).ok());
  expect(rvq_cli("decode --model " + model + " --input " + codes + " --output " + out), codes,
         "code out of range (row 1)");
  expect(rvq_cli("decode --model " + model + " --input " + train + " --output " + out), train,
         "expected uint8 or uint16 codes");

  // Beam wider than K is a usage error.
  CHECK(rvq_cli("eval --model " + model + " --input " + train + " --beam 17").code == 2);
  // An output folder that does not exist.
  expect(rvq_cli("encode --model " + model + " --input " + train + " --output " + missing + "/x/c.npy"), missing,
         "cannot create");
}

TEST_CASE("cli: quantize, then eval, info, encode, decode and codegen for every element", "[cli][quantize]") {
  const std::string train = write_data("qtrain.npy", 1500, 12, 1), test = write_data("qtest.npy", 300, 12, 2);
  const std::string model = rvq_test::temp_path("qm.rvq");
  REQUIRE(
      rvq_cli("train --input " + train + " --layers 3 --codewords 32 --iterations 4 --quiet --output " + model).code ==
      0);
  auto base = rvq_cli("eval --json --model " + model + " --input " + test);
  REQUIRE(base.code == 0);
  const double mse = json_number(base.out, "mse");
  for (const char* e : {"int8", "q15", "q7", "int4", "int2", "binary", "f16", "bf16"}) {
    const std::string q = rvq_test::temp_path(std::string(e) + ".rvq");
    auto r =
        rvq_cli("quantize --json --model " + model + " --element " + e + " --calibrate-on " + train + " --output " + q);
    INFO(e << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(json_number(r.out, "data_mse") > 0);
    CHECK(r.out.find("\"element\": \"" + std::string(e) + "\"") != std::string::npos);
    r = rvq_cli("eval --json --model " + q + " --input " + test);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("\"element\": \"" + std::string(e) + "\"") != std::string::npos);
    const double qmse = json_number(r.out, "mse");
    if (std::string(e) == "int8" || std::string(e) == "q15" || std::string(e) == "f16") CHECK(qmse < mse * 1.05);
    r = rvq_cli("info " + q);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("format version 2") != std::string::npos);
    const std::string c = rvq_test::temp_path("qc.npy"), y = rvq_test::temp_path("qy.npy");
    REQUIRE(rvq_cli("encode --model " + q + " --input " + test + " --output " + c).code == 0);
    REQUIRE(rvq_cli("decode --model " + q + " --input " + c + " --output " + y).code == 0);
    rvq::io::ndarray<float> yy;
    REQUIRE(rvq::io::read_npy(y, yy).ok());
    CHECK(yy.rows() == 300);
  }
  const std::string q8 = rvq_test::temp_path("int8.rvq");
  REQUIRE(rvq_cli("quantize --model " + model +
                  " --element int8 --granularity dim --asymmetric --calibration percentile "
                  "--percentile 99.9 --pow2 --refit 2 --rounding half_to_even --calibrate-on " +
                  train + " --output " + q8)
              .code == 0);
  auto r = rvq_cli("codegen --model " + q8 + " --output " + rvq_test::temp_path("m8.hpp"));
  CHECK(r.code == 0);
  // integer models encode greedily
  r = rvq_cli("eval --model " + q8 + " --input " + test + " --beam 2");
  CHECK(r.code == 1);
  CHECK(r.err.find("greedily") != std::string::npos);
}

TEST_CASE("cli: quantize errors name the option or the file", "[cli][quantize][errors]") {
  const std::string train = write_data("qetrain.npy", 600, 8, 1), other = write_data("qeother.npy", 50, 9, 2);
  const std::string model = rvq_test::temp_path("qe.rvq"), out = rvq_test::temp_path("qe_out.rvq");
  REQUIRE(
      rvq_cli("train --input " + train + " --layers 2 --codewords 16 --iterations 3 --quiet --output " + model).code ==
      0);
  auto r = rvq_cli("quantize --model " + model + " --element int3 --output " + out);
  CHECK(r.code == 2);
  CHECK(r.err.find("--element") != std::string::npos);
  r = rvq_cli("quantize --model " + model + " --element int8 --granularity row --output " + out);
  CHECK(r.code == 2);
  r = rvq_cli("quantize --model " + model + " --element int8 --percentile 20 --output " + out);
  CHECK(r.code == 2);
  r = rvq_cli("quantize --model " + model + " --element q7 --asymmetric --calibrate-on " + train + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("symmetric") != std::string::npos);
  r = rvq_cli("quantize --model " + model + " --element int8 --calibrate-on " + other + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(other) != std::string::npos);
  r = rvq_cli("quantize --model " + model + " --element int8 --calibrate-on " + rvq_test::temp_path("none.npy") +
              " --output " + out);
  CHECK(r.code == 1);
  REQUIRE(rvq_cli("quantize --model " + model + " --element int8 --calibrate-on " + train + " --output " + out).code ==
          0);
  r = rvq_cli("quantize --model " + out + " --element int4 --calibrate-on " + train + " --output " + model + ".x");
  CHECK(r.code == 1);
  CHECK(r.err.find("already quantized") != std::string::npos);
  // without calibration data the activation ranges come from the codebooks
  r = rvq_cli("quantize --model " + model + " --element q7 --output " + out);
  CHECK(r.code == 0);
  CHECK(r.out.find("no --calibrate-on") != std::string::npos);
}

namespace {

/// Rows of a sweep's results.csv, header dropped, as field lists.
std::vector<std::vector<std::string>> csv_rows(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(slurp(path));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fs(line);
    std::string field;
    while (std::getline(fs, field, ',')) f.push_back(field);
    rows.push_back(f);
  }
  return rows;
}

}  // namespace

TEST_CASE("cli: sweep measures a grid, writes CSV and report, and resumes", "[cli][sweep]") {
  const std::string train = write_data("sw_train.npy", 600, 8, 1), test = write_data("sw_test.npy", 200, 8, 2);
  const std::string dir = rvq_test::temp_path("sweep");
  const std::string base = "sweep --input " + train + " --test " + test + " --out " + dir +
                           " --codewords 4,8 --elements f32,int8 --beams 1,2 --test-rows 100";
  auto r = rvq_cli(base + " --layers 1,2 --iterations 3 --no-plots --jobs 2");
  REQUIRE(r.code == 0);
  INFO(r.err);
  CHECK(r.out.find("12 points in " + dir + "/results.csv (12 run now") != std::string::npos);
  CHECK(r.err.find("sweep: 12 points to run") != std::string::npos);  // progress on stderr
  const std::string first = slurp(dir + "/results.csv");
  CHECK(first.rfind("layers,codewords,element,storage,beam,bits_per_vector,codebook_bytes,", 0) == 0);
  auto rows = csv_rows(dir + "/results.csv");
  REQUIRE(rows.size() == 12);  // 2 L x 2 K x (f32 greedy, f32 beam 2, int8 greedy)
  for (const auto& f : rows) {
    REQUIRE(f.size() == 15);  // 14 measures, then icm (the column sweep --icm added, last)
    CHECK(f[14] == "0");
    CHECK(f[3] == "dense");
    const std::size_t l = std::stoul(f[0]), k = std::stoul(f[1]);
    CHECK(std::stoul(f[5]) == l * (k == 4 ? 2 : 3));                  // bits per vector
    if (f[2] == "f32") CHECK(std::stoul(f[6]) == l * k * 8 * 4);      // codebook bytes
    if (f[2] == "int8") CHECK(std::stoul(f[6]) < l * k * 8 * 4 / 2);  // a byte a value, plus scales
    CHECK(std::stoul(f[8]) == l * k * 8);                             // one pass of <x, c> (beam: through the tables)
    const double rel = std::stod(f[11]);
    CHECK(rel > 0.0);
    CHECK(rel < 1.0);
  }
  const std::string report = slurp(dir + "/report.md");
  CHECK(report.find("## Best configuration for each budget of bits per vector") != std::string::npos);
  CHECK(report.find("## At a codebook byte budget: element types and storages") != std::string::npos);
  CHECK(report.find("## Pareto fronts") != std::string::npos);
  CHECK(report.find("Plots were not drawn (--no-plots)") != std::string::npos);

  // The same command again: nothing left to run, the file unchanged.
  r = rvq_cli(base + " --layers 1,2 --iterations 3 --no-plots --quiet");
  REQUIRE(r.code == 0);
  CHECK(slurp(dir + "/results.csv") == first);
  // A larger grid runs only the new points; the old rows stay as they were.
  r = rvq_cli(base + " --layers 1,2,3 --iterations 3 --no-plots");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("18 points in") != std::string::npos);
  CHECK(r.out.find("(6 run now") != std::string::npos);
  const auto grown = csv_rows(dir + "/results.csv");
  REQUIRE(grown.size() == 18);
  for (const auto& old : rows) CHECK(std::find(grown.begin(), grown.end(), old) != grown.end());

  // Other options than the folder's results were made with: refused, naming the settings file.
  r = rvq_cli(base + " --layers 1,2 --iterations 4");
  CHECK(r.code == 1);
  CHECK(r.err.find(dir + "/settings.txt: the results in") != std::string::npos);
  CHECK(r.err.find("iterations=3") != std::string::npos);
}

TEST_CASE("cli: sweep --icm adds ICM rounds to the f32 points, older results files resume", "[cli][sweep]") {
  const std::string train = write_data("si_train.npy", 600, 8, 31), test = write_data("si_test.npy", 200, 8, 32);
  const std::string dir = rvq_test::temp_path("sweep_icm");
  const std::string base = "sweep --input " + train + " --test " + test + " --out " + dir +
                           " --layers 3 --codewords 8 --elements f32,int8 --storages dense,pq --beams 1,2 "
                           "--iterations 3 --test-rows 200 --no-plots --quiet";
  auto r = rvq_cli(base + " --icm 0,2");
  INFO(r.err);
  REQUIRE(r.code == 0);
  // f32 dense and pq: beam 1, 2 x icm 0, 2; int8 dense greedy, int8 pq beam 1, 2, without ICM
  const auto rows = csv_rows(dir + "/results.csv");
  REQUIRE(rows.size() == 11);
  std::map<std::string, double> rel;
  for (const auto& f : rows) {
    REQUIRE(f.size() == 15);
    if (f[2] != "f32") CHECK(f[14] == "0");
    if (f[2] == "f32") rel[f[3] + " " + f[4] + " " + f[14]] = std::stod(f[11]);
  }
  for (const char* s : {"dense", "pq"})
    for (const char* b : {"1", "2"}) {
      const std::string at = std::string(s) + " " + b;
      REQUIRE(rel.count(at + " 2"));
      CHECK(rel[at + " 2"] <= rel[at + " 0"] * (1 + 1e-6));  // ICM never worsens what it starts from
    }
  CHECK(slurp(dir + "/report.md").find("icm 2") != std::string::npos);  // Pareto fronts name the encoder

  // A results file of the version before --icm (14 fields): read as icm 0, rewritten with the column.
  const std::string old_dir = rvq_test::temp_path("sweep_icm_old");
  r = rvq_cli("sweep --input " + train + " --test " + test + " --out " + old_dir +
              " --layers 1 --codewords 8 --elements f32 --beams 1 --iterations 3 --test-rows 200 --no-plots --quiet");
  REQUIRE(r.code == 0);
  std::string text = slurp(old_dir + "/results.csv");
  const std::size_t eol = text.find('\n'), comma = text.rfind(',', text.size() - 2);
  REQUIRE(text.compare(comma, 3, ",0\n") == 0);
  std::string old_text = text.substr(0, eol - 4) + text.substr(eol, comma - eol) + "\n";  // drop ",icm" and ",0"
  REQUIRE(old_text.find(",icm") == std::string::npos);
  { std::ofstream(old_dir + "/results.csv", std::ios::binary) << old_text; }
  r = rvq_cli("sweep --input " + train + " --test " + test + " --out " + old_dir +
              " --layers 1 --codewords 8 --elements f32 --beams 1 --iterations 3 --test-rows 200 --no-plots --icm 0,1");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("(1 run now") != std::string::npos);  // the icm 0 point was kept, icm 1 is new
  const auto grown = csv_rows(old_dir + "/results.csv");
  REQUIRE(grown.size() == 2);
  CHECK(grown[0][14] == "0");
  CHECK(grown[1][14] == "1");
}

TEST_CASE("cli: sweep budgets, plots and their absence", "[cli][sweep]") {
  const std::string train = write_data("sb_train.npy", 400, 6, 3), test = write_data("sb_test.npy", 100, 6, 4);
  const std::string dir = rvq_test::temp_path("sweep_budget");
  const std::string base = "sweep --input " + train + " --test " + test + " --codewords 4,16 " +
                           "--elements f32,q15,int4 --beams 1 --iterations 2";
  auto r = rvq_cli(base + " --layers 1,2,4 --out " + dir + " --max-bits 8 --budget-bytes 600",
                   "RVQ_SWEEP_PLOT=/nonexistent/plot.py");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("over the budget") != std::string::npos);
  const auto rows = csv_rows(dir + "/results.csv");
  REQUIRE_FALSE(rows.empty());
  for (const auto& f : rows) {
    CHECK(std::stoul(f[5]) <= 8);
    CHECK(std::stoul(f[6]) <= 600 + 64);  // the estimate leaves out scales
  }
  const std::string report = slurp(dir + "/report.md");
  CHECK(report.find("Plots were not drawn: tools/plot_sweep.py was not found") != std::string::npos);
  CHECK(report.find("**<= 8 bits:**") != std::string::npos);

  // The plots themselves, where matplotlib is installed (scripts/dev test installs it).
  const std::string dir3 = rvq_test::temp_path("sweep_plots");
  r = rvq_cli(base + " --out " + dir3 + " --layers 1,2 --quiet");
  REQUIRE(r.code == 0);
  const std::string plotted = slurp(dir3 + "/report.md");
  if (plotted.find("matplotlib is not installed") != std::string::npos) {
    WARN("python3-matplotlib is not installed: the plots were not drawn (the report says so)");
  } else {
    INFO(plotted);
    CHECK(plotted.find("![rel_mse against bits per vector](mse_vs_bits.png)") != std::string::npos);
    for (const char* png : {"mse_vs_bits", "mse_vs_bits_by_k", "mse_vs_bytes", "mse_vs_macs", "time_vs_mse"}) {
      const std::string bytes = slurp(dir3 + "/" + png + ".png");
      CHECK((bytes.size() > 8 && bytes.compare(1, 3, "PNG") == 0));
    }
  }

  // A plotting tool that fails: the CSV and report are complete, the report says where to look.
  const std::string dir2 = rvq_test::temp_path("sweep_plotfail");
  r = rvq_cli(base + " --out " + dir2 + " --layers 1 --quiet", "RVQ_PYTHON=false");
  REQUIRE(r.code == 0);
  CHECK(slurp(dir2 + "/report.md").find("the plotting script failed") != std::string::npos);
  CHECK(csv_rows(dir2 + "/results.csv").size() == 6);
}

TEST_CASE("cli: sweep --refine trains each point on its own", "[cli][sweep]") {
  const std::string train = write_data("sr_train.npy", 500, 6, 21), test = write_data("sr_test.npy", 100, 6, 22);
  const std::string dir = rvq_test::temp_path("sweep_refine");
  auto r = rvq_cli("sweep --input " + train + " --test " + test + " --out " + dir +
                   " --layers 1,3 --codewords 8 --elements f32 --beams 1 --iterations 3 --refine 2 --no-plots");
  REQUIRE(r.code == 0);
  CHECK(r.err.find("2 trainings") != std::string::npos);  // one per (L, K), not one per K
  const auto rows = csv_rows(dir + "/results.csv");
  REQUIRE(rows.size() == 2);
  CHECK(std::stod(rows[1][11]) < std::stod(rows[0][11]));  // 3 layers below 1 layer
  CHECK(slurp(dir + "/report.md").find("2 rounds of joint refinement") != std::string::npos);
}

TEST_CASE("cli: sweep over the pq and rpq storages", "[cli][sweep][compress]") {
  const std::string train = write_data("sp_train.npy", 500, 8, 23), test = write_data("sp_test.npy", 100, 8, 24);
  const std::string dir = rvq_test::temp_path("sweep_product");
  auto r = rvq_cli("sweep --input " + train + " --test " + test + " --out " + dir +
                   " --layers 2 --codewords 32 --elements f32,int8,q15 --storages dense,pq,rpq --beams 1,4 "
                   "--iterations 3 --no-plots");
  REQUIRE(r.code == 0);
  CHECK((r.out + r.err).find("4 grid points skipped: pq/rpq sub-codebooks are f32 or int8") != std::string::npos);
  const auto rows = csv_rows(dir + "/results.csv");
  std::size_t pq = 0, rpq = 0;
  for (const auto& row : rows) {
    if (row[3] == "pq") {
      ++pq;
      CHECK(std::stoul(row[6]) < 2 * 32 * 8 * 4);  // fewer bytes than dense f32
    }
    if (row[3] == "rpq") ++rpq;
  }
  CHECK(pq == 4);  // f32 and int8, beam 1 and 4
  CHECK(rpq == 4);
}

TEST_CASE("cli: sweep errors name the option, the file and the reason", "[cli][sweep][errors]") {
  const std::string train = write_data("se_train.npy", 50, 4, 5), test = write_data("se_test.npy", 20, 4, 6),
                    other = write_data("se_other.npy", 20, 5, 7);
  const std::string dir = rvq_test::temp_path("sweep_err");
  const std::string io = " --input " + train + " --test " + test + " --out " + dir;
  for (const std::string& args :
       {std::string("sweep --input x.npy --out d"), "sweep" + io + " --elements f32,binary",
        "sweep" + io + " --storages dense,zip", "sweep" + io + " --jobs 0", "sweep" + io + " --layers 0",
        "sweep" + io + " --codewords 1", "sweep" + io + " --beams 1,x", "sweep" + io + " extra"}) {
    INFO(args);
    const auto r = rvq_cli(args);
    CHECK(r.code == 2);
    CHECK(r.err.find("usage: rvq") != std::string::npos);
  }
  auto r = rvq_cli("sweep" + io + " --codewords 64");
  CHECK(r.code == 1);
  CHECK(r.err.find(train + ": K = 64 is above the training rows used (50)") != std::string::npos);
  r = rvq_cli("sweep --input " + train + " --test " + other + " --out " + dir);
  CHECK(r.code == 1);
  CHECK(r.err.find(other + ": vectors have 5 dimensions") != std::string::npos);
  r = rvq_cli("sweep --input " + train + " --test " + test + " --codewords 4 --out " + train);  // a file, not a folder
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot create the output folder") != std::string::npos);
  // A damaged results file is named with its line, never silently overwritten.
  REQUIRE(rvq_cli("sweep" + io + " --layers 1 --codewords 4 --elements f32 --beams 1 --no-plots --quiet").code == 0);
  {
    std::ofstream f(dir + "/results.csv", std::ios::app);
    f << "1,4,f32,dense,1,2,oops\n";
  }
  const std::string damaged = slurp(dir + "/results.csv");
  r = rvq_cli("sweep" + io + " --layers 1 --codewords 4 --elements f32 --beams 1 --no-plots");
  CHECK(r.code == 1);
  CHECK(r.err.find(dir + "/results.csv:3: expected 15 fields") != std::string::npos);  // 14 until sweep --icm
  CHECK(slurp(dir + "/results.csv") == damaged);
}

TEST_CASE("cli: compact drops duplicates and dead codewords, writes the remap, checks the data", "[cli][compact]") {
  // Two layers of 6 codewords in 3 dimensions; layer 0's codeword 4 copies codeword 2.
  const std::string cb = rvq_test::temp_path("dup_cb.npy"), model = rvq_test::temp_path("dup.rvq");
  auto v = rvq_test::gaussian(2 * 6, 3, 11);
  std::copy(v.begin() + 2 * 3, v.begin() + 3 * 3, v.begin() + 4 * 3);
  const std::size_t shape[3] = {2, 6, 3};
  REQUIRE(rvq::io::write_npy(cb, v.data(), rvq::span<const std::size_t>(shape)).ok());
  REQUIRE(rvq_cli("import --codebooks " + cb + " --output " + model).code == 0);
  const std::string out = rvq_test::temp_path("dup_c.rvq"), remap = rvq_test::temp_path("remap.npy");
  auto r = rvq_cli("compact --model " + model + " --output " + out + " --remap " + remap);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("codebook bytes   144 -> 132 (12 saved") != std::string::npos);
  CHECK(r.out.find("exact duplicates only") != std::string::npos);
  CHECK(slurp(remap).find("'descr': '<i4'") != std::string::npos);
  rvq::io::ndarray<float> table;  // int32 values, read as floats
  REQUIRE(rvq::io::read_npy(remap, table).ok());
  REQUIRE(table.shape == std::vector<std::size_t>{2, 6});
  CHECK(table.values == std::vector<float>{0, 1, 2, 3, 2, 4, 0, 1, 2, 3, 4, 5});

  // With data: what it never selects goes too, and the data reconstructs as before.
  const std::string x = write_data("compact_x.npy", 30, 3, 12), out2 = rvq_test::temp_path("dup_c2.rvq");
  r = rvq_cli("compact --model " + model + " --calibrate-on " + x + " --output " + out2);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("all 30 vectors of " + x + " reconstruct exactly as before") != std::string::npos);
  const std::string y1 = rvq_test::temp_path("y1.npy"), y2 = rvq_test::temp_path("y2.npy"),
                    c1 = rvq_test::temp_path("c1.npy"), c2 = rvq_test::temp_path("c2.npy");
  REQUIRE(rvq_cli("encode --model " + model + " --input " + x + " --output " + c1).code == 0);
  REQUIRE(rvq_cli("decode --model " + model + " --input " + c1 + " --output " + y1).code == 0);
  REQUIRE(rvq_cli("encode --model " + out2 + " --input " + x + " --output " + c2).code == 0);
  REQUIRE(rvq_cli("decode --model " + out2 + " --input " + c2 + " --output " + y2).code == 0);
  CHECK(slurp(y1) == slurp(y2));

  // Errors: quantized models, data of another dimension, a missing model.
  const std::string q8 = rvq_test::temp_path("dup_int8.rvq");
  REQUIRE(rvq_cli("quantize --model " + model + " --element int8 --output " + q8 + " --quiet").code == 0);
  r = rvq_cli("compact --model " + q8 + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(q8 + ": compaction works on f32 models (this one is int8)") != std::string::npos);
  const std::string x4 = write_data("compact_x4.npy", 5, 4, 13);
  r = rvq_cli("compact --model " + model + " --calibrate-on " + x4 + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(x4 + ": vectors have 4 dimensions, the model has 3") != std::string::npos);
  r = rvq_cli("compact --model " + rvq_test::temp_path("none.rvq") + " --output " + out);
  CHECK(r.code == 1);
  CHECK(rvq_cli("compact --model " + model).code == 2);  // no --output
}

TEST_CASE("cli: compress to pq and rpq, then info, eval, encode and decode", "[cli][compress]") {
  const std::string x = write_data("compress_x.npy", 600, 16, 21), model = rvq_test::temp_path("compress.rvq");
  REQUIRE(rvq_cli("train --input " + x + " --output " + model +
                  " --layers 3 --codewords 64 --iterations 5 --refine 0 "
                  "--quiet")
              .code == 0);
  const auto dense = rvq_cli("eval --model " + model + " --input " + x + " --json");
  REQUIRE(dense.code == 0);
  const std::string pq = rvq_test::temp_path("c_pq.rvq"), rpq = rvq_test::temp_path("c_rpq.rvq");
  auto r = rvq_cli("compress --model " + model + " --storage pq --bits 4 --output " + pq);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("M = 4 sub-spaces of 4 dims, 2^4 entries, f32 values, stored indices") != std::string::npos);
  CHECK(r.out.find("stored bytes     12288 -> 3840") != std::string::npos);  // 3x4x16x4 floats + 4x192
  CHECK(r.out.find("not measured (--calibrate-on") != std::string::npos);
  r = rvq_cli("compress --model " + model + " --storage rpq --seeded --bits 4 --element int8 --calibrate-on " + x +
              " --output " + rpq + " --json");
  REQUIRE(r.code == 0);
  CHECK(json_number(r.out, "stored_bytes") == 3 * 4 * 16 * 4 + 3 * 4 * 4);
  CHECK(json_number(r.out, "mse") < json_number(r.out, "codeword_fit_mse"));
  const double fitted = json_number(r.out, "mse");

  r = rvq_cli("info " + rpq);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("storage          rpq") != std::string::npos);
  CHECK(r.out.find("format version 3") != std::string::npos);
  CHECK(r.out.find("indices          seeded (regenerated, 0 bytes stored)") != std::string::npos);
  r = rvq_cli("eval --model " + rpq + " --input " + x + " --json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"storage\": \"rpq\"") != std::string::npos);
  CHECK(json_number(r.out, "mse") == Approx(fitted).epsilon(1e-5));
  CHECK(json_number(r.out, "codebook_bytes") == 3 * 4 * 16 * 4 + 3 * 4 * 4);
  const std::string c = rvq_test::temp_path("c_codes.npy"), y = rvq_test::temp_path("c_y.npy");
  REQUIRE(rvq_cli("encode --model " + pq + " --input " + x + " --output " + c + " --beam 4").code == 0);
  REQUIRE(rvq_cli("decode --model " + pq + " --input " + c + " --output " + y).code == 0);
  r = rvq_cli("codegen --model " + rpq + " --namespace fw --output " + rvq_test::temp_path("rpq.hpp"));
  CHECK(r.code == 0);
  CHECK(r.out.find("3 x 64 x 16, 3072 bytes of codebooks") != std::string::npos);  // int8 values as floats, seeded
  r = rvq_cli("quantize --model " + pq + " --element int8 --output " + rvq_test::temp_path("q.rvq"));
  CHECK(r.code == 1);
  CHECK(r.err.find("rvq compress --element int8") != std::string::npos);
}

TEST_CASE("cli: compress errors name the option or the file", "[cli][compress][errors]") {
  const std::string x = write_data("compress_e.npy", 200, 12, 22), model = rvq_test::temp_path("compress_e.rvq");
  REQUIRE(rvq_cli("train --input " + x + " --output " + model +
                  " --layers 2 --codewords 16 --iterations 3 --refine 0 "
                  "--quiet")
              .code == 0);
  const std::string out = rvq_test::temp_path("ce.rvq");
  auto r = rvq_cli("compress --model " + model + " --storage zip --output " + out);
  CHECK(r.code == 2);
  CHECK(r.err.find("--storage must be pq or rpq, got 'zip'") != std::string::npos);
  r = rvq_cli("compress --model " + model + " --storage pq --seeded --output " + out);
  CHECK(r.code == 2);
  CHECK(r.err.find("--seeded indices are rpq's") != std::string::npos);
  r = rvq_cli("compress --model " + model + " --storage pq --subspaces 5 --output " + out);
  CHECK(r.code == 2);
  CHECK(r.err.find("--subspaces 5 does not divide the dimension 12") != std::string::npos);
  CHECK(rvq_cli("compress --model " + model + " --storage pq --bits 9 --output " + out).code == 2);
  CHECK(rvq_cli("compress --model " + model + " --storage pq --element int4 --output " + out).code == 2);
  CHECK(rvq_cli("compress --model " + model + " --storage pq").code == 2);  // no --output
  const std::string x5 = write_data("compress_x5.npy", 20, 5, 23);
  r = rvq_cli("compress --model " + model + " --storage rpq --calibrate-on " + x5 + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(x5 + ": vectors have 5 dimensions, the model has 12") != std::string::npos);
  r = rvq_cli("compress --model " + rvq_test::temp_path("none.rvq") + " --storage pq --output " + out);
  CHECK(r.code == 1);
  // A compressed model is not compressed again, compacted, or memory-mapped.
  REQUIRE(rvq_cli("compress --model " + model + " --storage pq --output " + out + " --quiet").code == 0);
  r = rvq_cli("compress --model " + out + " --storage rpq --output " + rvq_test::temp_path("ce2.rvq"));
  CHECK(r.code == 1);
  CHECK(r.err.find("compress takes a dense f32 model (this one is pq") != std::string::npos);
  r = rvq_cli("compact --model " + out + " --output " + rvq_test::temp_path("ce3.rvq"));
  CHECK(r.code == 1);
  CHECK(r.err.find("compact the dense model, then compress it") != std::string::npos);
  r = rvq_cli("eval --model " + out + " --input " + x + " --mmap");
  CHECK(r.code == 1);
  CHECK(r.err.find("--mmap views dense f32 models in place; this one is pq") != std::string::npos);
}

}  // namespace rvq_test_cli_cli_test
