// rvq index and rvq search: labels and distances as .npy, --json, re-ranking on the originals,
// and the error policy (usage errors exit 2; bad files and data exit 1 naming the file; no
// output is left behind by a failed command).
#include "cli_helpers.hpp"

#include <fstream>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_cli_search_cli_test {

using namespace rvq_test;  // rvq_cli, temp_path, write_data

namespace {
struct search_files {
  std::string x, model, index;
};

const search_files& files() {
  static const search_files f = [] {
    search_files out{write_data("s_x.npy", 600, 8, 21), temp_path("s_m.rvq"), temp_path("s_i.rvqi")};
    REQUIRE(
        rvq_cli("train --input " + out.x + " --layers 3 --codewords 16 --iterations 3 --quiet --output " + out.model)
            .code == 0);
    const auto r = rvq_cli("index --model " + out.model + " --input " + out.x + " --output " + out.index);
    REQUIRE(r.code == 0);
    REQUIRE(r.out.find("indexed 600 vectors") != std::string::npos);
    return out;
  }();
  return f;
}
}  // namespace

TEST_CASE("cli search: labels and distances, N x k, best first", "[cli][search]") {
  const auto& f = files();
  const std::string lab = temp_path("s_lab.npy"), dist = temp_path("s_dist.npy");
  const auto r = rvq_cli("search --index " + f.index + " --queries " + f.x + " --k 5 --output " + lab +
                         " --distances " + dist + " --json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"queries_per_second\"") != std::string::npos);
  CHECK(r.out.find("\"k\": 5") != std::string::npos);
  CHECK(r.out.find("\"code_bytes\": 1800") != std::string::npos);  // 600 vectors x 3 one-byte codes
  CHECK(r.out.find("\"mapped\": true") != std::string::npos);      // searched in place
  rvq::io::ndarray<float> d;
  REQUIRE(rvq::io::read_float_matrix(dist, d).ok());
  REQUIRE(d.rows() == 600);
  REQUIRE(d.cols() == 5);
  for (std::size_t i = 0; i < 600; ++i)
    for (std::size_t j = 1; j < 5; ++j) CHECK(d.values[i * 5 + j] >= d.values[i * 5 + j - 1]);
  rvq::io::ndarray<float> labels;  // int64 labels read as floats: the ids are small
  REQUIRE(rvq::io::read_float_matrix(lab, labels).ok());
  CHECK(labels.cols() == 5);
  for (float v : labels.values) CHECK((v >= 0 && v < 600));
}

TEST_CASE("cli search: re-ranking on the original vectors finds each vector itself", "[cli][search]") {
  const auto& f = files();
  const std::string lab = temp_path("s_self.npy");
  REQUIRE(rvq_cli("search --index " + f.index + " --queries " + f.x + " --k 1 --rerank 40 --originals " + f.x +
                  " --output " + lab + " --threads 2 --quiet")
              .code == 0);
  rvq::io::ndarray<float> labels;
  REQUIRE(rvq::io::read_float_matrix(lab, labels).ok());
  std::size_t self = 0;
  for (std::size_t i = 0; i < labels.rows(); ++i) self += labels.values[i] == float(i);
  CHECK(self > 590);  // each vector is among its own 40 best table candidates, nearly always
}

TEST_CASE("cli index: every norm encoding and metric, ids and bytes in --json", "[cli][search]") {
  const auto& f = files();
  for (const std::string norm : {"int8", "cint8", "int4", "cint4", "tables"}) {
    const std::string ix = temp_path("s_" + norm + ".rvqi");
    const auto r =
        rvq_cli("index --model " + f.model + " --input " + f.x + " --norm " + norm + " --output " + ix + " --json");
    INFO(norm);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("\"norm\": \"" + norm + "\"") != std::string::npos);
    CHECK(
        rvq_cli("search --index " + ix + " --queries " + f.x + " --output " + temp_path("s_l.npy") + " --quiet").code ==
        0);
  }
  const auto r = rvq_cli("index --model " + f.model + " --input " + f.x + " --metric ip --output " +
                         temp_path("s_ip.rvqi") + " --json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"norm\": \"none\"") != std::string::npos);  // auto: no norms for ip
  CHECK(r.out.find("\"bytes_per_vector\": 3.000") != std::string::npos);
}

TEST_CASE("cli search errors: exit codes, the file and the reason, no output left", "[cli][search][errors]") {
  const auto& f = files();
  const std::string out = temp_path("s_err.npy");
  auto r = rvq_cli("index --model " + f.model + " --input " + f.x + " --norm none --output " + temp_path("s_n.rvqi"));
  CHECK(r.code == 2);
  CHECK(r.err.find("--metric l2 needs norms") != std::string::npos);
  r = rvq_cli("index --model " + f.model + " --input " + f.x + " --norm float --output " + temp_path("s_n.rvqi"));
  CHECK(r.code == 2);
  CHECK(r.err.find("--norm must be") != std::string::npos);
  r = rvq_cli("search --index " + f.index + " --queries " + f.x + " --k 10 --rerank 5 --output " + out);
  CHECK(r.code == 2);
  r = rvq_cli("search --index " + f.index + " --queries " + f.x + " --k 0 --output " + out);
  CHECK(r.code == 2);
  const std::string wrong = write_data("s_wrong.npy", 4, 7, 1);
  r = rvq_cli("search --index " + f.index + " --queries " + wrong + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(wrong + ": queries have 7 dimensions, the index has 8") != std::string::npos);
  r = rvq_cli("search --index " + f.x + " --queries " + f.x + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(f.x + ": not an rvq index file") != std::string::npos);
  // A damaged index: the checksum names it.
  const std::string bad = temp_path("s_bad.rvqi");
  std::string bytes = slurp(f.index);
  bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 1);
  std::ofstream(bad, std::ios::binary) << bytes;
  r = rvq_cli("search --index " + bad + " --queries " + f.x + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(bad + ": ") != std::string::npos);
  CHECK(r.err.find("checksum") != std::string::npos);
  std::ofstream(temp_path("s_trunc.rvqi"), std::ios::binary) << bytes.substr(0, 100);
  r = rvq_cli("search --index " + temp_path("s_trunc.rvqi") + " --queries " + f.x + " --output " + out);
  CHECK(r.code == 1);
  CHECK(std::ifstream(out).good() == false);  // nothing written by any failed search
  r = rvq_cli("index --model " + f.model + " --input " + wrong + " --output " + temp_path("s_w.rvqi"));
  CHECK(r.code == 1);
  CHECK(r.err.find(wrong + ": vectors have 7 dimensions") != std::string::npos);
}

TEST_CASE("cli index --ivf and search --nprobe", "[cli][search]") {
  const auto& f = files();
  const std::string ix = temp_path("s_ivf.rvqi"), all = temp_path("s_ivf_all.npy"), flat = temp_path("s_flat.npy");
  auto r = rvq_cli("index --model " + f.model + " --input " + f.x + " --ivf --output " + ix + " --json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"ivf\": true") != std::string::npos);
  r = rvq_cli("search --index " + ix + " --queries " + f.x + " --nprobe 16 --k 3 --output " + all + " --json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"nprobe\": 16") != std::string::npos);
  REQUIRE(rvq_cli("search --index " + f.index + " --queries " + f.x + " --k 3 --output " + flat + " --quiet").code ==
          0);
  rvq::io::ndarray<float> a, b;
  REQUIRE(rvq::io::read_float_matrix(all, a).ok());
  REQUIRE(rvq::io::read_float_matrix(flat, b).ok());
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) same += a.values[i] == b.values[i];
  CHECK(same > a.values.size() * 95 / 100);  // every list scanned: the flat answer, up to ties
  r = rvq_cli("search --index " + ix + " --queries " + f.x + " --nprobe 17 --output " + all);
  CHECK(r.code == 2);
  CHECK(r.err.find("--nprobe must be between 1 and 16") != std::string::npos);
  r = rvq_cli("search --index " + f.index + " --queries " + f.x + " --nprobe 2 --output " + all);
  CHECK(r.code == 2);
  CHECK(r.err.find("--nprobe applies to inverted-list indexes") != std::string::npos);
}

TEST_CASE("cli index --fast-scan: the plain index's labels and distances, 4-bit layers only", "[cli][search]") {
  const auto& f = files();
  const std::string ix = temp_path("s_fast.rvqi"), lab = temp_path("s_fast_l.npy"), dist = temp_path("s_fast_d.npy"),
                    lab0 = temp_path("s_plain_l.npy"), dist0 = temp_path("s_plain_d.npy");
  auto r = rvq_cli("index --model " + f.model + " --input " + f.x + " --fast-scan --output " + ix + " --json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"fast_scan\": true") != std::string::npos);
  r = rvq_cli("search --index " + ix + " --queries " + f.x + " --k 7 --output " + lab + " --distances " + dist +
              " --json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"fast_scan\": true") != std::string::npos);
  CHECK(r.out.find("\"fast_scan_kernel\": \"none\"") == std::string::npos);
  REQUIRE(rvq_cli("search --index " + f.index + " --queries " + f.x + " --k 7 --output " + lab0 + " --distances " +
                  dist0 + " --quiet")
              .code == 0);
  for (const auto& pair : {std::make_pair(lab, lab0), std::make_pair(dist, dist0)}) {
    rvq::io::ndarray<float> a, b;
    REQUIRE(rvq::io::read_float_matrix(pair.first, a).ok());
    REQUIRE(rvq::io::read_float_matrix(pair.second, b).ok());
    CHECK(a.values == b.values);
  }
  // A model with 32 codewords per layer: refused, naming the model and the reason, nothing written.
  const std::string wide = temp_path("s_m32.rvq"), out = temp_path("s_fast32.rvqi");
  REQUIRE(rvq_cli("train --input " + f.x + " --layers 2 --codewords 32 --iterations 2 --quiet --output " + wide).code ==
          0);
  r = rvq_cli("index --model " + wide + " --input " + f.x + " --fast-scan --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find(wide) != std::string::npos);
  CHECK(r.err.find("at most 16 codewords") != std::string::npos);
  CHECK_FALSE(std::ifstream(out).good());
}

TEST_CASE("cli index --from faiss: a FAISS index with its vectors, searched as FAISS does", "[cli][search][faiss]") {
  const std::string base = std::string(RVQ_TEST_DATA) + "/faiss/ix_qint8";
  const std::string ix = temp_path("s_faiss.rvqi"), lab = temp_path("s_faiss_l.npy");
  auto r = rvq_cli("index --from faiss " + base + ".faissindex --output " + ix);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("imported 300 vectors (3 layers, l2, int8 norms)") != std::string::npos);
  REQUIRE(rvq_cli("search --index " + ix + " --queries " + base + "_q.npy --k 5 --output " + lab + " --quiet").code ==
          0);
  rvq::io::ndarray<float> got, want;
  REQUIRE(rvq::io::read_float_matrix(lab, got).ok());
  REQUIRE(rvq::io::read_float_matrix(base + "_labels.npy", want).ok());
  std::size_t first = 0;  // nearest neighbours (ties aside: FAISS leaves them unordered)
  for (std::size_t i = 0; i < got.rows(); ++i) first += got.values[i * 5] == want.values[i * 5];
  CHECK(first >= got.rows() * 9 / 10);
  r = rvq_cli("index --from faiss " + base + ".faissindex --model " + files().model + " --output " + ix);
  CHECK(r.code == 2);
  CHECK(r.err.find("drop --model") != std::string::npos);
  r = rvq_cli("index --from faiss " + files().x + " --output " + ix);
  CHECK(r.code == 1);
  CHECK(r.err.find(files().x + ": not a FAISS IndexResidualQuantizer") != std::string::npos);
  r = rvq_cli("index --from npy " + files().x + " --output " + ix);
  CHECK(r.code == 2);
}

}  // namespace rvq_test_cli_search_cli_test
