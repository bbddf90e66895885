// rvq-bench-storage: when do lookup tables beat the dense kernel? One layer of K codewords of
// dimension D, searched (greedy batch encode, one thread, best of several timed passes) three ways
// on the same codewords: dense (the panel kernels), pq by lookup tables, pq by just-in-time
// expansion. Sub-vectors of 4 values (M = D/4), 2^b entries. The threshold table of
// docs/storage.md comes from this program.
//
//   rvq-bench-storage [--dims 128,784] [--codewords 64,256,1024,4096,16384] [--bits 4,8]
//                     [--vectors N] [--min-time S] [--json FILE|-] [--quick]
#include <rvq/rvq.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>
#include "timing.hpp"

namespace {

std::vector<std::size_t> list(const char* s) {
  std::vector<std::size_t> out;
  for (const char* p = s; *p;) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(p, &end, 10);
    if (end == p || v == 0) {
      std::fprintf(stderr, "rvq-bench-storage: bad list '%s'\n", s);
      std::exit(2);
    }
    out.push_back(v);
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

struct row {
  std::string backend;
  std::size_t d, k, bits, sub;
  double dense, tables, expand;
};

/// One shape on backend Simd: dense, pq tables, pq expand.
template <class Simd>
row measure(std::size_t d, std::size_t k, std::size_t b, std::size_t sub, std::size_t vectors, double min_time) {
  using pq_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq, rvq::sequential, Simd>>;
  using dense_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, Simd>>;
  rvq::product_codebooks pc;
  pc.kind = rvq::storage_id::pq;
  pc.dim = d;
  pc.k = {k};
  pc.subspaces = d / sub;
  pc.bits = static_cast<unsigned>(b);
  std::mt19937 g(1);
  std::normal_distribution<float> nd;
  pc.values.resize(pc.value_count());
  for (auto& v : pc.values) v = nd(g);
  pc.indices.resize(pc.index_offset(1));
  for (auto& v : pc.indices) v = static_cast<std::uint8_t>(g() % pc.entries());
  std::vector<float> x(vectors * d);
  for (auto& v : x) v = nd(g);
  const auto cw = pc.expand_all();
  auto dense = dense_t::from_codebooks(rvq::span<const float>(cw), 1, k, d);
  auto tables = pq_t::from_product(pc, rvq::product_search::tables);
  auto expand = pq_t::from_product(pc, rvq::product_search::expand);
  if (!dense || !tables || !expand) {
    std::fprintf(stderr, "rvq-bench-storage: cannot build D=%zu K=%zu (sub-vectors of %zu must divide D)\n", d, k, sub);
    std::exit(1);
  }
  std::vector<std::uint16_t> codes;
  auto speed = [&](const auto& q) { return rvq_bench::encode_speed(q, x, vectors, min_time, codes); };
  return {rvq::simd_traits<Simd>::name,
          d,
          k,
          b,
          sub,
          speed(*dense),
          tables->store().uses_tables() ? speed(*tables) : 0.0,
          speed(*expand)};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> dims = {128, 784}, ks = {64, 256, 1024, 4096, 16384}, bits = {4, 8}, subs = {4};
  std::size_t vectors = 2000;
  double min_time = 0.5;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "rvq-bench-storage: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dims") {
      dims = list(next());
    } else if (a == "--codewords") {
      ks = list(next());
    } else if (a == "--bits") {
      bits = list(next());
    } else if (a == "--subdims") {
      subs = list(next());
    } else if (a == "--vectors") {
      vectors = list(next())[0];
    } else if (a == "--min-time") {
      min_time = std::atof(next());
    } else if (a == "--json") {
      json = next();
    } else if (a == "--quick") {
      dims = {16};
      ks = {64, 512};
      bits = {4};
      vectors = 200;
      min_time = 0.01;
    } else {
      std::fprintf(stderr,
                   "usage: rvq-bench-storage [--dims 128,784] [--codewords 64,256,...] [--bits 4,8] [--subdims 4] "
                   "[--vectors N] [--min-time S] [--json FILE|-] [--quick]\n");
      return 2;
    }
  }
  std::vector<row> rows;
  std::printf(
      "one layer, greedy batch encode, one thread, vectors/s; the desktop backend (%s) and the portable\n"
      "scalar backend (the code a microcontroller runs, here auto-vectorized by the compiler);\n"
      "sub-vectors of S values (M = D/S), 2^b entries\n\n",
      rvq::simd_traits<rvq::default_simd>::name);
  std::printf("%-8s %5s %6s %3s %3s %12s %12s %12s %13s\n", "backend", "D", "K", "S", "b", "dense", "pq tables",
              "pq expand", "tables/dense");
  auto print = [&](const row& r) {
    rows.push_back(r);
    std::printf("%-8s %5zu %6zu %3zu %3zu %12.0f %12.0f %12.0f %12.2fx\n", r.backend.c_str(), r.d, r.k, r.sub, r.bits,
                r.dense, r.tables, r.expand, r.tables / r.dense);
    std::fflush(stdout);
  };
  for (std::size_t d : dims)
    for (std::size_t sub : subs)
      for (std::size_t b : bits)
        for (std::size_t k : ks) {
          print(measure<rvq::default_simd>(d, k, b, sub, vectors, min_time));
          if (!std::is_same<rvq::default_simd, rvq::scalar>::value)
            print(measure<rvq::scalar>(d, k, b, sub, vectors, min_time));
        }
  std::printf("\nsmallest measured K from which tables beat dense (tables/dense > 1 for it and every larger K):\n");
  std::vector<std::string> backends = {rvq::simd_traits<rvq::default_simd>::name};
  if (!std::is_same<rvq::default_simd, rvq::scalar>::value) backends.push_back("scalar");
  for (const std::string& be : backends)
    for (std::size_t d : dims)
      for (std::size_t sub : subs)
        for (std::size_t b : bits) {
          std::size_t first = 0;
          for (const row& r : rows)
            if (r.backend == be && r.d == d && r.sub == sub && r.bits == b)
              first = r.tables > r.dense ? (first ? first : r.k) : 0;
          std::printf("  %-7s D=%zu S=%zu b=%zu: %s\n", be.c_str(), d, sub, b,
                      first ? ("K >= " + std::to_string(first)).c_str() : "never within the measured K");
        }
  if (!json.empty()) {
    FILE* f = json == "-" ? stdout : std::fopen(json.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "rvq-bench-storage: %s: cannot open for writing\n", json.c_str());
      return 1;
    }
    std::fprintf(f, "[");
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::fprintf(f,
                   "%s{\"backend\": \"%s\", \"dim\": %zu, \"codewords\": %zu, \"subdim\": %zu, \"bits\": %zu, "
                   "\"dense_vps\": %.1f, \"tables_vps\": %.1f, \"expand_vps\": %.1f}",
                   i ? ", " : "", rows[i].backend.c_str(), rows[i].d, rows[i].k, rows[i].sub, rows[i].bits,
                   rows[i].dense, rows[i].tables, rows[i].expand);
    std::fprintf(f, "]\n");
    if (f != stdout) std::fclose(f);
  }
  return 0;
}
