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
#include <vector>

namespace {

using seconds = std::chrono::duration<double>;

template <class Q>
double encode_speed(const Q& q, const std::vector<float>& x, std::size_t n, double min_time) {
  const std::size_t d = q.dim(), l = q.layers();
  std::vector<std::uint16_t> codes(n * l);
  rvq::workspace ws(q.workspace_for(1));
  double best = 0, spent = 0;
  for (int pass = 0; pass < 3 || spent < min_time; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    const rvq::status s = q.encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                                         rvq::matrix_view<std::uint16_t>(codes.data(), n, l), {}, ws.view());
    const double t = seconds(std::chrono::steady_clock::now() - t0).count();
    if (!s) {
      std::fprintf(stderr, "rvq-bench-storage: encode: %s\n", rvq::describe(s).c_str());
      std::exit(1);
    }
    spent += t;
    best = std::max(best, double(n) / t);
    if (pass > 50) break;
  }
  return best;
}

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
  std::size_t d, k, bits;
  double dense, tables, expand;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> dims = {128, 784}, ks = {64, 256, 1024, 4096, 16384}, bits = {4, 8};
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
                   "usage: rvq-bench-storage [--dims 128,784] [--codewords 64,256,...] [--bits 4,8] [--vectors N] "
                   "[--min-time S] [--json FILE|-] [--quick]\n");
      return 2;
    }
  }
  using pq_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>;
  std::vector<row> rows;
  std::printf("one layer, greedy batch encode, one thread, vectors/s (M = D/4 sub-spaces, backend %s)\n",
              rvq::simd_traits<rvq::default_simd>::name);
  std::printf("%6s %7s %5s %12s %12s %12s %14s\n", "D", "K", "bits", "dense", "pq tables", "pq expand", "tables/dense");
  for (std::size_t d : dims)
    for (std::size_t b : bits)
      for (std::size_t k : ks) {
        rvq::product_codebooks pc;
        pc.kind = rvq::storage_id::pq;
        pc.dim = d;
        pc.k = {k};
        pc.subspaces = d % 4 == 0 ? d / 4 : d;
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
        auto dense = rvq::quantizer<>::from_codebooks(rvq::span<const float>(cw), 1, k, d);
        auto tables = pq_t::from_product(pc, rvq::product_search::tables);
        auto expand = pq_t::from_product(pc, rvq::product_search::expand);
        if (!dense || !tables || !expand) {
          std::fprintf(stderr, "rvq-bench-storage: cannot build D=%zu K=%zu\n", d, k);
          return 1;
        }
        row r{d,
              k,
              b,
              encode_speed(*dense, x, vectors, min_time),
              tables->store().uses_tables() ? encode_speed(*tables, x, vectors, min_time) : 0.0,
              encode_speed(*expand, x, vectors, min_time)};
        rows.push_back(r);
        std::printf("%6zu %7zu %5zu %12.0f %12.0f %12.0f %13.2fx\n", d, k, b, r.dense, r.tables, r.expand,
                    r.tables / r.dense);
        std::fflush(stdout);
      }
  std::printf("\nK above which tables beat dense (first measured K where tables/dense > 1 and stays so):\n");
  for (std::size_t d : dims)
    for (std::size_t b : bits) {
      std::size_t first = 0;
      for (const row& r : rows)
        if (r.d == d && r.bits == b) first = r.tables > r.dense ? (first ? first : r.k) : 0;
      if (first)
        std::printf("  D=%zu b=%zu: K >= %zu\n", d, b, first);
      else
        std::printf("  D=%zu b=%zu: not within the measured K\n", d, b);
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
                   "%s{\"dim\": %zu, \"codewords\": %zu, \"bits\": %zu, \"dense_vps\": %.1f, \"tables_vps\": %.1f, "
                   "\"expand_vps\": %.1f}",
                   i ? ", " : "", rows[i].d, rows[i].k, rows[i].bits, rows[i].dense, rows[i].tables, rows[i].expand);
    std::fprintf(f, "]\n");
    if (f != stdout) std::fclose(f);
  }
  return 0;
}
