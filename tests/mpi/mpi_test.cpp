// rvq-mpi over 1, 2 and 3 ranks (mpirun --oversubscribe): the models of `rvq train` and the codes
// of `rvq encode` bit for bit,
// whatever the split of the rows, and a rank's failure ends every rank with the rank and the
// cause, leaving no output.
#include <catch2/catch.hpp>
#include <rvq/parallel/mpi.hpp>
#include "../cli/cli_helpers.hpp"

#include <filesystem>
#include <fstream>
#include <vector>

using namespace rvq_test;

namespace {

std::string mpirun(std::size_t ranks) {
  return std::string(RVQ_MPIEXEC) + " --oversubscribe --allow-run-as-root -np " + std::to_string(ranks) + " \"" +
         RVQ_MPI_TOOL + "\" ";
}

run_result run_mpi(std::size_t ranks, const std::string& args) {
  const std::string out = temp_path("mpi_out.txt"), err = temp_path("mpi_err.txt");
  const int code = shell(mpirun(ranks) + args + " > \"" + out + "\" 2> \"" + err + "\" < /dev/null");
  return {code, slurp(out), slurp(err)};
}

/// A new folder for a test's outputs (tests run in parallel: each counts its own temporary files).
std::string fresh_dir(const std::string& name) {
  const std::string d = temp_path(name);
  std::filesystem::create_directories(d);
  return d;
}

std::size_t temp_files(const std::string& dir) {  // .rvq-*.tmp files left in `dir`
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    n += name.rfind(".rvq-", 0) == 0 && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
  }
  return n;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("shards: contiguous, in rank order, sizes within one row", "[mpi]") {
  for (std::size_t rows : std::initializer_list<std::size_t>{0, 1, 2, 7, 100, 1001})
    for (std::size_t ranks : std::initializer_list<std::size_t>{1, 2, 3, 8}) {
      std::size_t next = 0, lo = rows, hi = 0;
      for (std::size_t r = 0; r < ranks; ++r) {
        const auto s = rvq::mpi::shard_of(rows, r, ranks);
        CHECK(s.begin == next);
        next = s.end;
        lo = std::min(lo, s.size()), hi = std::max(hi, s.size());
      }
      CHECK(next == rows);
      CHECK(hi - std::min(lo, hi) <= 1);
    }
}

TEST_CASE("rvq-mpi encode: the codes of rvq encode, on 1, 2 and 3 ranks", "[mpi]") {
  const auto x = write_data("mpi_x.npy", 1001, 8, 2);
  const std::string dir = fresh_dir("mpi_codes");
  const std::string m = temp_path("mpi_m.rvq"), wide = temp_path("mpi_wide.rvq");
  REQUIRE(rvq_cli("train --input " + x + " --layers 3 --codewords 16 --iterations 3 --refine 1 --quiet --output " + m)
              .code == 0);
  REQUIRE(
      rvq_cli("train --input " + x + " --layers 2 --codewords 300 --iterations 2 --refine 0 --quiet --output " + wide)
          .code == 0);
  for (const std::string& model : {m, wide})
    for (const char* flags : {"", " --packed", " --beam 4"}) {
      const std::string ref = temp_path("mpi_ref.npy");
      REQUIRE(rvq_cli("encode --model " + model + " --input " + x + " --output " + ref + flags).code == 0);
      for (std::size_t ranks : std::initializer_list<std::size_t>{1, 2, 3}) {
        const std::string out = dir + "/codes.npy";
        // Small tiles: several per rank.
        const auto r = run_mpi(ranks, "encode --model " + model + " --input " + x + " --output " + out + flags);
        INFO(model << flags << ", " << ranks << " ranks: " << r.err);
        REQUIRE(r.code == 0);
        CHECK(r.err.empty());
        CHECK(slurp(out) == slurp(ref));
      }
    }
  // More ranks than rows: the ranks without rows take part all the same.
  const auto tiny = write_data("mpi_tiny.npy", 2, 8, 3);
  const std::string ref = temp_path("mpi_tiny_ref.npy"), out = dir + "/tiny.npy";
  REQUIRE(rvq_cli("encode --model " + m + " --input " + tiny + " --output " + ref).code == 0);
  REQUIRE(run_mpi(3, "encode --model " + m + " --input " + tiny + " --output " + out).code == 0);
  CHECK(slurp(out) == slurp(ref));
  CHECK(temp_files(dir) == 0);
}

TEST_CASE("rvq-mpi encode: a rank's failure ends every rank, names the rank, leaves no output", "[mpi]") {
  const std::size_t n = 900, d = 4;
  auto v = gaussian(n, d, 7);
  const std::string m = temp_path("mpi_f.rvq"), good = write_data("mpi_f_good.npy", n, d, 7);
  REQUIRE(rvq_cli("train --input " + good + " --layers 2 --codewords 8 --iterations 2 --quiet --output " + m).code ==
          0);
  v[700 * d + 3] = std::numeric_limits<float>::quiet_NaN();  // rank 2's shard of 3 (rows 600..899)
  const std::string dir = fresh_dir("mpi_fail"), x = temp_path("mpi_f_x.npy"), out = dir + "/out.npy";
  const std::size_t shape[2] = {n, d};
  REQUIRE(rvq::io::write_npy(x, v.data(), rvq::span<const std::size_t>(shape)).ok());
  std::ofstream(out) << "the old file";
  auto r = run_mpi(3, "encode --model " + m + " --input " + x + " --output " + out);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("rank 2: " + x + ":") != std::string::npos);
  CHECK(r.err.find("row 700") != std::string::npos);
  CHECK(count(r.err, "rvq-mpi encode:") == 1);  // rank 0 prints, once
  CHECK(slurp(out) == "the old file");
  CHECK(temp_files(dir) == 0);
  // On 2 ranks the row is rank 1's.
  r = run_mpi(2, "encode --model " + m + " --input " + x + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("rank 1: ") != std::string::npos);
  // Every rank fails alike (a missing input): the lowest rank is named.
  r = run_mpi(3, "encode --model " + m + " --input " + temp_path("mpi_none.npy") + " --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("rank 0: ") != std::string::npos);
  // A pipe cannot be read at offsets; nor can standard output be written at them.
  r = run_mpi(2, "encode --model " + m + " --input /dev/stdin --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("regular .npy file") != std::string::npos);
  r = run_mpi(2, "encode --model " + m + " --input " + good + " --output -");
  CHECK(r.code == 2);
  CHECK(count(r.err, "give --output a file") == 1);
  // A usage error is the usage, from rank 0 only.
  r = run_mpi(2, "encode --model " + m + " --input " + good + " --output " + out + " --beam 0");
  CHECK(r.code == 2);
  CHECK(count(r.err, "usage: mpirun -np N rvq-mpi encode") == 1);
  CHECK(slurp(out) == "the old file");
  CHECK(temp_files(dir) == 0);
}

TEST_CASE("rvq-mpi encode: a rank killed outright ends the job, and no file is left", "[mpi]") {
  // Enough work that the job is still running when a rank is killed: the kill comes as soon as
  // rank 0 has created the temporary file.
  const auto x = write_data("mpi_k_x.npy", 100000, 64, 9);
  const std::string dir = fresh_dir("mpi_kill"), m = temp_path("mpi_k_model.rvq"), out = dir + "/out.npy";
  REQUIRE(rvq_cli("train --input " + x + " --layers 8 --codewords 256 --iterations 1 --refine 0 --progressive 0" +
                  " --sample 3000 --quiet --output " + m)
              .code == 0);
  std::ofstream(out) << "the old file";
  const std::string rc = temp_path("mpi_k_rc.txt"), err = temp_path("mpi_k_err.txt");
  // A rank: its command line starts with the tool (mpirun's does not), matched by a pattern that
  // does not match this script's own text ("rvq-mp[i]").
  std::string tool = RVQ_MPI_TOOL;
  tool = tool.substr(0, tool.size() - 1) + "[" + tool.back() + "]";
  const std::string script = "(" + mpirun(3) + "encode --beam 16 --model '" + m + "' --input '" + x + "' --output '" +
                             out + "' 2> '" + err + "' > /dev/null; echo $? > '" + rc + "') & " +
                             "for i in $(seq 1 400); do ls '" + dir +
                             "'/.rvq-*.tmp > /dev/null 2>&1 && break; sleep 0.02; done; " + "kill -9 $(pgrep -f '^" +
                             tool + " encode --beam 16 --model " + m + "' | tail -n 1) 2> /dev/null; wait";
  REQUIRE(shell(script) == 0);
  const int code = std::atoi(slurp(rc).c_str());
  if (code == 0) {
    WARN("the job ended before the kill: nothing to check");
    return;
  }
  INFO(slurp(err));
  CHECK(slurp(err).find("rank") != std::string::npos);  // mpirun names the killed rank
  CHECK(slurp(out) == "the old file");
  CHECK(temp_files(dir) == 0);
}

TEST_CASE("rvq-mpi train: the model of rvq train bit for bit, on 1, 2 and 3 ranks", "[mpi]") {
  // Gaussian rows, plus a block of repeated rows: k-means meets empty clusters and the refinement
  // dead codewords, which both re-seed from the farthest rows of whichever rank holds them.
  const std::size_t n = 1201, d = 8;
  auto v = gaussian(n, d, 11);
  for (std::size_t i = 900; i < 1100; ++i)
    for (std::size_t t = 0; t < d; ++t) v[i * d + t] = v[900 * d + t];
  const std::string x = temp_path("mpi_t_x.npy"), dir = fresh_dir("mpi_train");
  const std::size_t shape[2] = {n, d};
  REQUIRE(rvq::io::write_npy(x, v.data(), rvq::span<const std::size_t>(shape)).ok());
  const char* const variants[] = {
      "--layers 3 --codewords 16 --iterations 4 --refine 3",                         // progressive k-means++, refined
      "--layers 2 --codewords 32,8 --iterations 3 --refine 2 --beam 4 --holdout 5",  // beam-trained, held-out rows
      "--layers 2 --codewords 16 --iterations 3 --refine 0 --init greedy-kmeans++ --progressive 0",
      "--layers 2 --codewords 64 --iterations 3 --refine 2 --init random --metric l2 --sample 700",
      "--layers 2 --codewords 16 --iterations 3 --metric ip --progressive 0",
  };
  for (const char* flags : variants) {
    const std::string ref = dir + "/ref.rvq";
    REQUIRE(rvq_cli("train --input " + x + " " + flags + " --quiet --output " + ref).code == 0);
    for (std::size_t ranks : std::initializer_list<std::size_t>{1, 2, 3}) {
      const std::string out = dir + "/m.rvq";
      const auto r = run_mpi(ranks, "train --input " + x + " " + flags + " --quiet --output " + out);
      INFO(flags << ", " << ranks << " ranks: " << r.err);
      REQUIRE(r.code == 0);
      CHECK(r.err.empty());
      CHECK(slurp(out) == slurp(ref));
    }
  }
  // The summary comes from rank 0 only, and names the ranks.
  const auto r =
      run_mpi(2, "train --input " + x + " --layers 2 --codewords 16 --iterations 2 --output " + dir + "/s.rvq");
  REQUIRE(r.code == 0);
  CHECK(count(r.out, "trained 2 layers x 16 codewords x 8 dims on 1201 vectors over 2 ranks") == 1);
  // More ranks than sampled rows on some: a rank without rows takes part all the same.
  const auto tiny = write_data("mpi_t_tiny.npy", 40, 4, 5);
  REQUIRE(rvq_cli("train --input " + tiny + " --layers 2 --codewords 4 --iterations 3 --quiet --output " + dir +
                  "/tiny_ref.rvq")
              .code == 0);
  REQUIRE(run_mpi(3, "train --input " + tiny + " --layers 2 --codewords 4 --iterations 3 --sample 2 --quiet --output " +
                         dir + "/none.rvq")
              .code == 1);  // K above the sample: refused alike on every rank
  REQUIRE(run_mpi(3, "train --input " + tiny + " --layers 2 --codewords 4 --iterations 3 --quiet --output " + dir +
                         "/tiny.rvq")
              .code == 0);
  CHECK(slurp(dir + "/tiny.rvq") == slurp(dir + "/tiny_ref.rvq"));
  CHECK(temp_files(dir) == 0);
}

TEST_CASE("rvq-mpi train: a rank's bad row ends every rank, names the rank and the row, leaves no model", "[mpi]") {
  const std::size_t n = 600, d = 4;
  auto v = gaussian(n, d, 13);
  v[450 * d + 1] = std::numeric_limits<float>::infinity();  // rank 1's shard of 2 (rows 300..599)
  const std::string dir = fresh_dir("mpi_train_fail"), x = temp_path("mpi_tf_x.npy"), out = dir + "/m.rvq";
  const std::size_t shape[2] = {n, d};
  REQUIRE(rvq::io::write_npy(x, v.data(), rvq::span<const std::size_t>(shape)).ok());
  std::ofstream(out) << "the old model";
  auto r = run_mpi(2, "train --input " + x + " --layers 2 --codewords 8 --iterations 2 --output " + out);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("rank 1: " + x + ":") != std::string::npos);
  CHECK(r.err.find("row 450") != std::string::npos);
  CHECK(count(r.err, "rvq-mpi train:") == 1);
  CHECK(slurp(out) == "the old model");
  // A pipe cannot be read at offsets.
  r = run_mpi(2, "train --input /dev/stdin --layers 2 --codewords 8 --output " + out);
  CHECK(r.code == 1);
  CHECK(r.err.find("regular .npy file") != std::string::npos);
  // A usage error is the usage, from rank 0 only.
  r = run_mpi(2, "train --input " + x + " --layers 2 --codewords 8 --init nope --output " + out);
  CHECK(r.code == 2);
  CHECK(count(r.err, "usage: mpirun -np N rvq-mpi train") == 1);
  CHECK(slurp(out) == "the old model");
  CHECK(temp_files(dir) == 0);
}

namespace {
/// The figures of `rvq eval --json` that do not depend on timing.
std::string figures(const std::string& json) {
  const auto a = json.find("\"mse\""), b = json.find(", \"encode_seconds\""), c = json.find("\"layer_rel_mse\"");
  if (a == std::string::npos || b == std::string::npos || c == std::string::npos)
    return "(no figures in: " + json + ")";
  return json.substr(a, b - a) + json.substr(c);
}
}  // namespace

TEST_CASE("rvq-mpi eval and index: the figures of rvq eval and the file of rvq index, on 1, 2 and 3 ranks", "[mpi]") {
  const auto x = write_data("mpi_e_x.npy", 1003, 8, 17);
  const std::string dir = fresh_dir("mpi_eval"), m = temp_path("mpi_e.rvq"), m4 = temp_path("mpi_e4.rvq");
  REQUIRE(rvq_cli("train --input " + x + " --layers 3 --codewords 16 --iterations 3 --refine 1 --quiet --output " + m)
              .code == 0);
  REQUIRE(rvq_cli("train --input " + x + " --layers 4 --codewords 300 --iterations 2 --refine 0 --quiet --output " + m4)
              .code == 0);
  // Every variant on 3 ranks (uneven shards); the first on 1 and 2 as well. Each mpirun costs about
  // half a second, so the matrix is kept to what can differ between rank counts.
  bool first = true;
  for (const std::string& model : {m, m4})
    for (const char* flags : {"", " --beam 4", " --icm 2"}) {
      const auto ref = rvq_cli("eval --json --model " + model + " --input " + x + flags);
      REQUIRE(ref.code == 0);
      const auto rank_counts = first ? std::vector<std::size_t>{1, 2, 3} : std::vector<std::size_t>{3};
      first = false;
      for (std::size_t ranks : rank_counts) {
        const auto r = run_mpi(ranks, "eval --json --model " + model + " --input " + x + flags);
        INFO(model << flags << ", " << ranks << " ranks: " << r.err);
        REQUIRE(r.code == 0);
        CHECK(figures(r.out) == figures(ref.out));
        CHECK(count(r.out, "\"vectors\": 1003,") == 1);  // rank 0 prints, once
      }
    }
  // Each norm and layout with each model on 3 ranks; the first on 1 and 2 as well.
  first = true;
  for (const char* flags : {"", " --ivf", " --norm int8", " --norm cint4 --ivf", " --metric ip", " --norm tables"})
    for (const std::string& model : {m, m4}) {
      const std::string ref = dir + "/ref.rvqi", out = dir + "/i.rvqi";
      REQUIRE(rvq_cli("index --quiet --model " + model + " --input " + x + " --output " + ref + flags).code == 0);
      const auto rank_counts = first ? std::vector<std::size_t>{1, 2, 3} : std::vector<std::size_t>{3};
      first = false;
      for (std::size_t ranks : rank_counts) {
        const auto r = run_mpi(ranks, "index --quiet --model " + model + " --input " + x + " --output " + out + flags);
        INFO(model << flags << ", " << ranks << " ranks: " << r.err);
        REQUIRE(r.code == 0);
        CHECK(slurp(out) == slurp(ref));
      }
    }
  // Fast scan: a model of 4-bit layers.
  const std::string m16 = temp_path("mpi_e16.rvq"), ref = dir + "/fs_ref.rvqi", out = dir + "/fs.rvqi";
  REQUIRE(rvq_cli("train --input " + x + " --layers 4 --codewords 16 --iterations 2 --quiet --output " + m16).code ==
          0);
  REQUIRE(rvq_cli("index --quiet --fast-scan --norm int8 --model " + m16 + " --input " + x + " --output " + ref).code ==
          0);
  REQUIRE(
      run_mpi(2, "index --quiet --fast-scan --norm int8 --model " + m16 + " --input " + x + " --output " + out).code ==
      0);
  CHECK(slurp(out) == slurp(ref));
  // A bad row in rank 1's shard: every rank stops, rank 1 and the row are named, no index is left.
  auto v = gaussian(600, 8, 19);
  v[450 * 8 + 2] = std::numeric_limits<float>::quiet_NaN();
  const std::string bad = temp_path("mpi_e_bad.npy"), gone = dir + "/gone.rvqi";
  const std::size_t shape[2] = {600, 8};
  REQUIRE(rvq::io::write_npy(bad, v.data(), rvq::span<const std::size_t>(shape)).ok());
  for (const std::string& cmd :
       {"eval --model " + m + " --input " + bad, "index --model " + m + " --input " + bad + " --output " + gone}) {
    const auto r = run_mpi(2, cmd);
    INFO(cmd << ": " << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("rank 1: " + bad + ":") != std::string::npos);
    CHECK(r.err.find("row 450") != std::string::npos);
  }
  CHECK(!std::filesystem::exists(gone));
  CHECK(temp_files(dir) == 0);
}
