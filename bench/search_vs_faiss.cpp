// Search over codes, rvq against FAISS, in one process on the same codebooks and the same codes:
// FAISS's IndexResidualQuantizer (greedy, its defaults otherwise) is trained, its codebooks become
// an rvq model, its own codes of the database are read out of the FAISS index and given to
// rvq::code_index, and both search the same queries with the same norm encoding (docs/search.md).
//
//   build/bench/bin/rvq-bench-search [--quick] [--json FILE] [--shape 100x128x8] [--n 50000]
//       [--queries 1000] [--base X.npy --query-file Q.npy] [--norms f32,int8,tables] [--min-time S]
//   build/bench/bin/rvq-bench-search --fast-scan [--shape 100x16x16] ...
//
// --nprobe 1,2,4 adds inverted lists over the same codes (rvq: the first layer's codewords are
// the lists) and FAISS's IndexIVFResidualQuantizer at the same bit budget: a coarse quantizer of K
// lists (k-means, trained like FAISS's) and L - 1 layers of K codewords on the residuals, so both
// spend L x log2(K) bits per vector. FAISS's IVF index trains its own codebooks (its codes differ).
//
// --fast-scan compares fast scan over 4-bit codes instead: FAISS's IndexResidualQuantizerFastScan
// (its default norm, two 4-bit codes) against rvq::code_index with index_options::fast_scan (f32
// and int8 norms), on FAISS's codebooks and codes, with rvq's plain scan as the reference.
//
// Reported per norm encoding: queries per second on one core and on two threads, recall@1 (the
// true nearest neighbour ranked first) and recall@10 (the fraction of the true 10 nearest found
// among the 10 returned) against exact k-NN on the original vectors, and bytes per vector.
#include <rvq/rvq.hpp>
#include <rvq/parallel/thread_pool.hpp>

#include <faiss/IndexAdditiveQuantizer.h>
#include <faiss/IndexAdditiveQuantizerFastScan.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFAdditiveQuantizer.h>
#include <faiss/utils/hamming.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "data.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
template <class P>
using rvq_q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, P>>;

struct options {
  std::size_t d = 100, k = 128, l = 8, n = 50000, nq = 1000;
  bool quick = false;
  double min_time = 0.5;
  std::string json, base, query_file;
  std::vector<std::string> norms{"f32", "int8", "tables"};
  std::vector<std::size_t> nprobe;  // inverted lists from the first layer: rvq flat against rvq IVF
  bool faiss_search = true;         // time FAISS's flat search too (off for the large IVF runs)
  bool faiss_ivf = true;            // with --nprobe: FAISS's IndexIVFResidualQuantizer too
  bool fast_scan = false;           // 4-bit layers: FAISS's fast scan against rvq's
};

struct fast_row {
  std::string what;  // "FAISS fast scan", "rvq fast scan, f32 norms", ...
  double qps1 = 0, qps2 = 0, r1 = 0, r10 = 0, bytes = 0;
  double same_as_plain = -1;  // rvq: fraction of result slots equal to rvq's plain scan
};

struct ivf_row {
  std::size_t nprobe = 0;
  double qps1 = 0, qps2 = 0, r1 = 0, r10 = 0, scanned = 0;                 // scanned: fraction of the codes per query
  double faiss_qps1 = -1, faiss_qps2 = -1, faiss_r1 = -1, faiss_r10 = -1;  // IndexIVFResidualQuantizer
};

struct row {
  std::string norm;
  double rvq_qps1 = 0, faiss_qps1 = 0, rvq_qps2 = 0, faiss_qps2 = 0;
  double rvq_r1 = 0, faiss_r1 = 0, rvq_r10 = 0, faiss_r10 = 0;
  double rvq_bytes = 0, faiss_bytes = 0;
  double same_labels = 0;  // fraction of result slots where both return the same id
};

faiss::AdditiveQuantizer::Search_type_t faiss_norm(const std::string& s) {
  if (s == "f32") return faiss::AdditiveQuantizer::ST_norm_float;
  if (s == "int8") return faiss::AdditiveQuantizer::ST_norm_qint8;
  if (s == "int4") return faiss::AdditiveQuantizer::ST_norm_qint4;
  if (s == "cint8") return faiss::AdditiveQuantizer::ST_norm_cqint8;
  if (s == "cint4") return faiss::AdditiveQuantizer::ST_norm_cqint4;
  if (s == "tables") return faiss::AdditiveQuantizer::ST_norm_float;  // FAISS 1.7.3 cannot search ST_norm_from_LUT
  std::fprintf(stderr, "rvq-bench-search: unknown norm '%s'\n", s.c_str());
  std::exit(2);
}

std::vector<float> load(const std::string& path, std::size_t& rows, std::size_t& cols) {
  rvq::io::ndarray<float> a;
  const rvq::status s = rvq::io::read_float_matrix(path, a);
  if (!s || a.shape.size() != 2) {
    std::fprintf(stderr, "rvq-bench-search: %s: %s\n", path.c_str(), s ? "not a 2-D array" : s.message());
    std::exit(1);
  }
  rows = a.rows(), cols = a.cols();
  return std::move(a.values);
}

/// Writes a JSON report to `path` ("-": standard output).
void write_json(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
  } else {
    std::ofstream f(path);
    f << text;
  }
}

/// Shortest time of f over runs lasting at least min_s in total (at least 3 runs).
template <class F>
double best_seconds(F&& f, double min_s) {
  double best = 1e300, spent = 0;
  for (int i = 0; i < 3 || (spent < min_s && i < 200); ++i) {
    const auto t0 = clock_type::now();
    f();
    const double t = std::chrono::duration<double>(clock_type::now() - t0).count();
    spent += t;
    best = std::min(best, t);
  }
  return best;
}

/// Queries per second of rvq's search of the nq queries (best of runs); the last result in `res`.
template <class Index>
double search_qps(const Index& ix, const std::vector<float>& queries, std::size_t nq, std::size_t d,
                  const rvq::search_options& so, double min_time, rvq::search_result& res) {
  return double(nq) /
         best_seconds([&] { res = ix.search(rvq::matrix_view<const float>(queries.data(), nq, d), so).value(); },
                      min_time);
}

/// recall@1 and recall@10 of `labels` (nq x 10) against the exact neighbours `truth` (nq x 10).
std::pair<double, double> recall(const std::vector<faiss::Index::idx_t>& labels,
                                 const std::vector<faiss::Index::idx_t>& truth, std::size_t nq) {
  double r1 = 0, r10 = 0;
  for (std::size_t i = 0; i < nq; ++i) {
    r1 += labels[i * 10] == truth[i * 10];
    for (std::size_t j = 0; j < 10; ++j)
      r10 += std::find(labels.begin() + std::ptrdiff_t(i * 10), labels.begin() + std::ptrdiff_t(i * 10 + 10),
                       truth[i * 10 + j]) != labels.begin() + std::ptrdiff_t(i * 10 + 10);
  }
  return {r1 / double(nq), r10 / double(10 * nq)};
}

// Fast scan over 4-bit codes: FAISS's IndexResidualQuantizerFastScan against rvq's, same
// codebooks and codes (FAISS's), one core and two threads, with rvq's plain scan as reference.
int fast_scan_bench(const options& o, const std::vector<float>& base, const std::vector<float>& queries,
                    const std::vector<float>& train, const std::vector<faiss::Index::idx_t>& truth, std::size_t n,
                    std::size_t nq, std::size_t d) {
  if (o.k != 16) {
    std::fprintf(stderr, "rvq-bench-search: --fast-scan needs 4-bit layers (--shape Dx16xL)\n");
    return 2;
  }
  const std::size_t ntrain = train.size() / d;
  omp_set_num_threads(2);
  faiss::IndexResidualQuantizerFastScan fidx(int(d), o.l, 4, faiss::METRIC_L2);
  fidx.rq.max_beam_size = 1;
  fidx.rq.cp.niter = o.quick ? 4 : 10;
  const auto t0 = clock_type::now();
  fidx.train(faiss::Index::idx_t(ntrain), train.data());
  fidx.add(faiss::Index::idx_t(n), base.data());
  std::fprintf(stderr, "  FAISS fast scan: trained %zux16x%zu on %zu vectors and added %zu in %.1f s\n", d, o.l, ntrain,
               n, std::chrono::duration<double>(clock_type::now() - t0).count());
  // FAISS's own codes of the database (the layers' 4-bit codes come first in its packed codes).
  std::vector<std::uint8_t> packed(n * fidx.rq.code_size), codes(n * o.l);
  fidx.rq.compute_codes(base.data(), packed.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    faiss::BitstringReader br(packed.data() + i * fidx.rq.code_size, fidx.rq.code_size);
    for (std::size_t l = 0; l < o.l; ++l) codes[i * o.l + l] = std::uint8_t(br.read(4));
  }
  const auto q1 =
      std::move(rvq_q<rvq::sequential>::from_codebooks(rvq::span<const float>(fidx.rq.codebooks), o.l, 16, d)).value();
  const auto q2 =
      std::move(rvq_q<rvq::threads<2>>::from_codebooks(rvq::span<const float>(fidx.rq.codebooks), o.l, 16, d)).value();
  std::vector<fast_row> rows;
  rvq::search_options so;
  so.k = 10;
  rvq::search_result res;
  auto rvq_qps = [&](const auto& ix) { return search_qps(ix, queries, nq, d, so, o.min_time, res); };
  auto labels_of = [&] { return std::vector<faiss::Index::idx_t>(res.labels.begin(), res.labels.end()); };
  {
    fast_row r;
    r.what = "FAISS fast scan (rq2x4 norms)";
    std::vector<float> fd(nq * 10);
    std::vector<faiss::Index::idx_t> fl(nq * 10);
    auto qps = [&](int threads) {
      omp_set_num_threads(threads);
      return double(nq) /
             best_seconds([&] { fidx.search(faiss::Index::idx_t(nq), queries.data(), 10, fd.data(), fl.data()); },
                          o.min_time);
    };
    r.qps1 = qps(1);
    std::tie(r.r1, r.r10) = recall(fl, truth, nq);
    r.qps2 = qps(2);
    r.bytes = double(fidx.code_size);
    rows.push_back(r);
  }
  std::vector<faiss::Index::idx_t> plain_labels;
  for (const char* norm : {"f32", "int8"})
    for (bool fast : {false, true}) {
      rvq::index_options io;
      rvq::parse_name(rvq::norm_encoding_names, norm, io.norm);
      io.fast_scan = fast;
      auto i1 = rvq::code_index<decltype(q1)>::create(q1, io).value();
      auto i2 = rvq::code_index<decltype(q2)>::create(q2, io).value();
      if (!i1.add_codes(rvq::matrix_view<const std::uint8_t>(codes.data(), n, o.l)) ||
          !i2.add_codes(rvq::matrix_view<const std::uint8_t>(codes.data(), n, o.l)))
        return 1;
      fast_row r;
      r.what = std::string(fast ? "rvq fast scan, " : "rvq plain scan, ") + norm + " norms";
      r.qps1 = rvq_qps(i1);
      const auto l = labels_of();
      std::tie(r.r1, r.r10) = recall(l, truth, nq);
      if (!fast) plain_labels = l;
      if (fast) {  // against the plain scan of the same norm encoding, just measured
        std::size_t same = 0;
        for (std::size_t j = 0; j < l.size(); ++j) same += l[j] == plain_labels[j];
        r.same_as_plain = double(same) / double(l.size());
      }
      r.qps2 = rvq_qps(i2);
      r.bytes = double(i1.memory_bytes()) / double(n);
      rows.push_back(r);
    }
  std::printf("fast scan over 4-bit codes: D=%zu K=16 L=%zu, N=%zu, %zu queries, k=10 (%s), rvq kernel %s\n", d, o.l, n,
              nq, o.base.empty() ? "generated clustered data" : o.base.c_str(),
              rvq::simd::fast_scan::to_string(rvq_q<rvq::sequential>::kernels::fast_scan_kernel()));
  std::printf("%-32s %12s %8s %12s %8s %8s %6s %6s\n", "", "q/s 1 core", "vs FAISS", "q/s 2 thr", "R@1", "R@10",
              "B/vec", "same");
  for (const fast_row& r : rows)
    std::printf("%-32s %12.0f %7.2fx %12.0f %8.4f %8.4f %6.1f %6s\n", r.what.c_str(), r.qps1, r.qps1 / rows[0].qps1,
                r.qps2, r.r1, r.r10, r.bytes,
                r.same_as_plain < 0 ? "" : std::to_string(r.same_as_plain).substr(0, 5).c_str());
  if (!o.json.empty()) {
    std::ostringstream js;
    js << "{\"d\": " << d << ", \"k\": 16, \"l\": " << o.l << ", \"n\": " << n << ", \"queries\": " << nq
       << ", \"data\": \"" << (o.base.empty() ? "generated" : o.base) << "\", \"fast_scan_kernel\": \""
       << rvq::simd::fast_scan::to_string(rvq_q<rvq::sequential>::kernels::fast_scan_kernel()) << "\", \"rows\": [";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const fast_row& r = rows[i];
      js << (i ? ", " : "") << "{\"what\": \"" << r.what << "\", \"qps_1core\": " << r.qps1
         << ", \"qps_2threads\": " << r.qps2 << ", \"recall1\": " << r.r1 << ", \"recall10\": " << r.r10
         << ", \"bytes_per_vector\": " << r.bytes << ", \"same_as_plain\": " << r.same_as_plain << "}";
    }
    js << "]}\n";
    write_json(o.json, js.str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // OpenMP threads that spin after FAISS's parallel regions would take the core rvq's timings run
  // on: make them sleep (libgomp reads this when it loads, so the program starts again with it).
  if (!std::getenv("OMP_WAIT_POLICY")) {
    ::setenv("OMP_WAIT_POLICY", "passive", 1);
    ::execv("/proc/self/exe", argv);
  }
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "rvq-bench-search: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--json") {
      o.json = next();
    } else if (a == "--shape") {
      if (std::sscanf(next().c_str(), "%zux%zux%zu", &o.d, &o.k, &o.l) != 3) return 2;
    } else if (a == "--n") {
      o.n = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--queries") {
      o.nq = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--base") {
      o.base = next();
    } else if (a == "--query-file") {
      o.query_file = next();
    } else if (a == "--min-time") {
      o.min_time = std::atof(next().c_str());
    } else if (a == "--nprobe") {
      std::stringstream ss(next());
      for (std::string t; std::getline(ss, t, ',');) o.nprobe.push_back(std::strtoull(t.c_str(), nullptr, 10));
    } else if (a == "--fast-scan") {
      o.fast_scan = true;
    } else if (a == "--no-faiss-search") {
      o.faiss_search = false;
    } else if (a == "--no-faiss-ivf") {
      o.faiss_ivf = false;
    } else if (a == "--norms") {
      std::stringstream ss(next());
      o.norms.clear();
      for (std::string t; std::getline(ss, t, ',');) o.norms.push_back(t);
    } else {
      std::fprintf(stderr,
                   "usage: rvq-bench-search [--quick] [--json FILE] [--shape DxKxL] [--n N] [--queries Q] "
                   "[--base X.npy --query-file Q.npy] [--norms f32,int8,tables] [--min-time S] [--nprobe 1,2,4] "
                   "[--no-faiss-search] [--no-faiss-ivf] [--fast-scan]\n");
      return 2;
    }
  }
  if (o.quick) o.n = std::min<std::size_t>(o.n, 4000), o.nq = std::min<std::size_t>(o.nq, 50);

  // Data: generated (the sensor shape), or a database and queries from files.
  std::vector<float> base, queries, train;
  std::size_t n = o.n, nq = o.nq, d = o.d;
  if (!o.base.empty()) {
    std::size_t qd = 0;
    base = load(o.base, n, d);
    queries = load(o.query_file.empty() ? o.base : o.query_file, nq, qd);
    nq = std::min(nq, o.nq);
    queries.resize(nq * d);
    train.assign(base.begin(), base.begin() + std::ptrdiff_t(std::min<std::size_t>(n, 20000) * d));
  } else {
    base = rvq_bench::clustered_data(n, d, 1);
    queries = rvq_bench::clustered_data(nq, d, 2);
    train = rvq_bench::clustered_data(o.quick ? 2000 : 20000, d, 3);
  }
  const std::size_t ntrain = train.size() / d;
  std::size_t nbits = 0;
  while ((std::size_t{1} << nbits) < o.k) ++nbits;

  // Exact neighbours on the original vectors.
  omp_set_num_threads(2);
  faiss::IndexFlatL2 flat{static_cast<faiss::Index::idx_t>(d)};
  flat.add(faiss::Index::idx_t(n), base.data());
  std::vector<float> td(nq * 10);
  std::vector<faiss::Index::idx_t> truth(nq * 10);
  flat.search(faiss::Index::idx_t(nq), queries.data(), 10, td.data(), truth.data());

  if (o.fast_scan) return fast_scan_bench(o, base, queries, train, truth, n, nq, d);

  std::vector<row> rows;
  std::vector<ivf_row> ivf_rows;
  for (const std::string& norm : o.norms) {
    row r;
    r.norm = norm;
    omp_set_num_threads(2);
    faiss::IndexResidualQuantizer fidx(int(d), o.l, nbits, faiss::METRIC_L2, faiss_norm(norm));
    fidx.rq.max_beam_size = 1;
    fidx.rq.cp.niter = o.quick ? 4 : 10;
    const auto t0 = clock_type::now();
    fidx.train(faiss::Index::idx_t(ntrain), train.data());
    fidx.add(faiss::Index::idx_t(n), base.data());
    std::fprintf(stderr, "  %s: FAISS trained %zux%zux%zu on %zu vectors and added %zu in %.1f s\n", norm.c_str(), d,
                 o.k, o.l, ntrain, n, std::chrono::duration<double>(clock_type::now() - t0).count());

    // The same codebooks and the same codes, in rvq.
    const auto q1 =
        std::move(rvq_q<rvq::sequential>::from_codebooks(rvq::span<const float>(fidx.rq.codebooks), o.l, o.k, d))
            .value();
    const auto q2 =
        std::move(rvq_q<rvq::threads<2>>::from_codebooks(rvq::span<const float>(fidx.rq.codebooks), o.l, o.k, d))
            .value();
    std::vector<std::uint16_t> codes(n * o.l);
    for (std::size_t i = 0; i < n; ++i) {
      faiss::BitstringReader br(fidx.codes.data() + i * fidx.code_size, fidx.code_size);
      for (std::size_t l = 0; l < o.l; ++l) codes[i * o.l + l] = std::uint16_t(br.read(int(nbits)));
    }
    std::vector<std::uint8_t> codes8(codes.begin(), codes.end());
    rvq::index_options io;
    rvq::parse_name(rvq::norm_encoding_names, norm.c_str(), io.norm);
    auto i1 = rvq::code_index<decltype(q1)>::create(q1, io).value();
    auto i2 = rvq::code_index<decltype(q2)>::create(q2, io).value();
    // The same norm encoding: FAISS's levels (trained on its training set's norms).
    std::vector<float> levels;
    if (norm == "int8" || norm == "int4") {
      const std::size_t m = norm == "int8" ? 256 : 16;
      for (std::size_t j = 0; j < m; ++j)
        levels.push_back(
            float((double(j) + 0.5) / double(m) * (fidx.rq.norm_max - fidx.rq.norm_min) + fidx.rq.norm_min));
    } else if (norm == "cint8" || norm == "cint4") {
      const float* c = fidx.rq.qnorm.get_xb();
      levels.assign(c, c + fidx.rq.qnorm.ntotal);
      std::sort(levels.begin(), levels.end());
    }
    if (!levels.empty() &&
        (!i1.set_norm_levels(rvq::span<const float>(levels)) || !i2.set_norm_levels(rvq::span<const float>(levels)))) {
      std::fprintf(stderr, "rvq-bench-search: FAISS's %s norm levels were not accepted\n", norm.c_str());
      return 1;
    }
    if (!i1.add_codes(rvq::matrix_view<const std::uint8_t>(codes8.data(), n, o.l)) ||
        !i2.add_codes(rvq::matrix_view<const std::uint8_t>(codes8.data(), n, o.l)))
      return 1;
    r.rvq_bytes = double(i1.memory_bytes()) / double(n);
    r.faiss_bytes = double(fidx.code_size);

    std::vector<float> fd(nq * 10);
    std::vector<faiss::Index::idx_t> fl(nq * 10);
    auto faiss_qps = [&](int threads) {
      omp_set_num_threads(threads);
      return double(nq) /
             best_seconds([&] { fidx.search(faiss::Index::idx_t(nq), queries.data(), 10, fd.data(), fl.data()); },
                          o.min_time);
    };
    rvq::search_options so;
    so.k = 10;
    rvq::search_result res;
    auto rvq_qps = [&](const auto& ix) { return search_qps(ix, queries, nq, d, so, o.min_time, res); };
    const bool faiss_can = norm != "tables" && o.faiss_search;  // FAISS 1.7.3: "search type 2 not supported"
    r.faiss_qps1 = faiss_can ? faiss_qps(1) : -1;
    r.rvq_qps1 = rvq_qps(i1);
    if (faiss_can)
      std::tie(r.faiss_r1, r.faiss_r10) = recall(fl, truth, nq);
    else
      r.faiss_r1 = r.faiss_r10 = r.faiss_bytes = -1;
    std::vector<faiss::Index::idx_t> rl(res.labels.begin(), res.labels.end());
    std::tie(r.rvq_r1, r.rvq_r10) = recall(rl, truth, nq);
    std::size_t same = 0;
    for (std::size_t j = 0; j < rl.size(); ++j) same += rl[j] == fl[j];
    r.same_labels = faiss_can ? double(same) / double(rl.size()) : -1;
    r.faiss_qps2 = faiss_can ? faiss_qps(2) : -1;
    r.rvq_qps2 = rvq_qps(i2);
    rows.push_back(r);

    // Inverted lists on the same codes and norms: the first layer's codewords are the lists.
    if (!o.nprobe.empty() && ivf_rows.empty()) {
      io.ivf = true;
      auto v1 = rvq::code_index<decltype(q1)>::create(q1, io).value();
      auto v2 = rvq::code_index<decltype(q2)>::create(q2, io).value();
      if (!levels.empty() &&
          (!v1.set_norm_levels(rvq::span<const float>(levels)) || !v2.set_norm_levels(rvq::span<const float>(levels))))
        return 1;
      if (!v1.add_codes(rvq::matrix_view<const std::uint8_t>(codes8.data(), n, o.l)) ||
          !v2.add_codes(rvq::matrix_view<const std::uint8_t>(codes8.data(), n, o.l)))
        return 1;
      for (std::size_t np : o.nprobe) {
        ivf_row v;
        v.nprobe = so.nprobe = std::min(np, o.k);
        v.qps1 = rvq_qps(v1);
        std::vector<faiss::Index::idx_t> vl(res.labels.begin(), res.labels.end());
        std::tie(v.r1, v.r10) = recall(vl, truth, nq);
        v.qps2 = rvq_qps(v2);
        double scanned = 0;  // codes in the probed lists, averaged over the queries
        for (std::size_t i = 0; i < nq; ++i) {
          std::vector<std::pair<float, std::size_t>> coarse;
          for (std::size_t c = 0; c < o.k; ++c) {
            double e = 0;
            for (std::size_t t = 0; t < d; ++t) {
              const double diff = double(queries[i * d + t]) - fidx.rq.codebooks[c * d + t];
              e += diff * diff;
            }
            coarse.emplace_back(float(e), c);
          }
          std::sort(coarse.begin(), coarse.end());
          for (std::size_t p = 0; p < v.nprobe; ++p)
            scanned += double(v1.list_begin()[coarse[p].second + 1] - v1.list_begin()[coarse[p].second]);
        }
        v.scanned = scanned / double(nq) / double(n);
        ivf_rows.push_back(v);
      }
      if (o.l >= 2 && o.faiss_ivf) {  // FAISS's IVF index at the same bit budget (its own codebooks)
        omp_set_num_threads(2);
        faiss::IndexFlatL2 coarse{static_cast<faiss::Index::idx_t>(d)};
        faiss::IndexIVFResidualQuantizer fivf(&coarse, d, o.k, o.l - 1, nbits, faiss::METRIC_L2, faiss_norm(norm));
        fivf.rq.max_beam_size = 1;
        fivf.rq.cp.niter = o.quick ? 4 : 10;
        const auto t1 = clock_type::now();
        fivf.train(faiss::Index::idx_t(ntrain), train.data());
        fivf.add(faiss::Index::idx_t(n), base.data());
        std::fprintf(stderr,
                     "  FAISS IndexIVFResidualQuantizer (%zu lists, %zu x %zu bits) trained and filled in %.1f s\n",
                     o.k, o.l - 1, nbits, std::chrono::duration<double>(clock_type::now() - t1).count());
        for (ivf_row& v : ivf_rows) {  // fd, fl: FAISS's results, as above
          fivf.nprobe = v.nprobe;
          auto qps = [&](int threads) {
            omp_set_num_threads(threads);
            return double(nq) /
                   best_seconds([&] { fivf.search(faiss::Index::idx_t(nq), queries.data(), 10, fd.data(), fl.data()); },
                                o.min_time);
          };
          v.faiss_qps1 = qps(1);
          std::tie(v.faiss_r1, v.faiss_r10) = recall(fl, truth, nq);
          v.faiss_qps2 = qps(2);
        }
      }
    }
  }

  std::printf("search over codes: D=%zu K=%zu L=%zu, N=%zu, %zu queries, k=10 (%s)\n", d, o.k, o.l, n, nq,
              o.base.empty() ? "generated clustered data" : o.base.c_str());
  std::printf("%-7s %12s %12s %7s %12s %12s %7s %8s %8s %8s %8s %6s %6s %6s\n", "norm", "rvq q/s 1c", "FAISS q/s 1c",
              "ratio", "rvq q/s 2t", "FAISS q/s 2t", "ratio", "rvq R@1", "FAISS", "rvq R@10", "FAISS", "B/vec", "FAISS",
              "same");
  for (const row& r : rows)
    if (r.faiss_qps1 > 0)
      std::printf("%-7s %12.0f %12.0f %6.2fx %12.0f %12.0f %6.2fx %8.4f %8.4f %8.4f %8.4f %6.1f %6.1f %6.3f\n",
                  r.norm.c_str(), r.rvq_qps1, r.faiss_qps1, r.rvq_qps1 / r.faiss_qps1, r.rvq_qps2, r.faiss_qps2,
                  r.rvq_qps2 / r.faiss_qps2, r.rvq_r1, r.faiss_r1, r.rvq_r10, r.faiss_r10, r.rvq_bytes, r.faiss_bytes,
                  r.same_labels);
    else  // FAISS 1.7.3 cannot search this encoding
      std::printf("%-7s %12.0f %12s %7s %12.0f %12s %7s %8.4f %8s %8.4f %8s %6.1f %6s %6s\n", r.norm.c_str(),
                  r.rvq_qps1, "n/a", "", r.rvq_qps2, "n/a", "", r.rvq_r1, "n/a", r.rvq_r10, "n/a", r.rvq_bytes, "n/a",
                  "");
  if (!ivf_rows.empty()) {
    const row& f = rows.front();
    std::printf("\ninverted lists from the first layer (%zu lists), %s norms, against rvq's flat search above\n", o.k,
                f.norm.c_str());
    std::printf("(FAISS: IndexIVFResidualQuantizer, %zu lists and %zu residual layers, its own codebooks)\n", o.k,
                o.l - 1);
    std::printf("%-7s %12s %7s %12s %8s %8s %9s %12s %7s %12s %8s %8s\n", "nprobe", "q/s 1c", "vs flat", "q/s 2t",
                "R@1", "R@10", "scanned", "FAISS q/s 1c", "ratio", "FAISS q/s 2t", "FAISS R@1", "R@10");
    std::printf("%-7s %12.0f %6.2fx %12.0f %8.4f %8.4f %9.4f\n", "flat", f.rvq_qps1, 1.0, f.rvq_qps2, f.rvq_r1,
                f.rvq_r10, 1.0);
    for (const ivf_row& v : ivf_rows)
      std::printf("%-7zu %12.0f %6.2fx %12.0f %8.4f %8.4f %9.4f %12.0f %6.2fx %12.0f %8.4f %8.4f\n", v.nprobe, v.qps1,
                  v.qps1 / f.rvq_qps1, v.qps2, v.r1, v.r10, v.scanned, v.faiss_qps1,
                  v.faiss_qps1 > 0 ? v.qps1 / v.faiss_qps1 : 0.0, v.faiss_qps2, v.faiss_r1, v.faiss_r10);
  }
  if (!o.json.empty()) {
    std::ostringstream js;
    js << "{\"d\": " << d << ", \"k\": " << o.k << ", \"l\": " << o.l << ", \"n\": " << n << ", \"queries\": " << nq
       << ", \"data\": \"" << (o.base.empty() ? "generated" : o.base) << "\", \"rows\": [";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const row& r = rows[i];
      js << (i ? ", " : "") << "{\"norm\": \"" << r.norm << "\", \"rvq_qps_1core\": " << r.rvq_qps1
         << ", \"faiss_qps_1core\": " << r.faiss_qps1 << ", \"rvq_qps_2threads\": " << r.rvq_qps2
         << ", \"faiss_qps_2threads\": " << r.faiss_qps2 << ", \"rvq_recall1\": " << r.rvq_r1
         << ", \"faiss_recall1\": " << r.faiss_r1 << ", \"rvq_recall10\": " << r.rvq_r10
         << ", \"faiss_recall10\": " << r.faiss_r10 << ", \"rvq_bytes_per_vector\": " << r.rvq_bytes
         << ", \"faiss_bytes_per_vector\": " << r.faiss_bytes << ", \"same_labels\": " << r.same_labels << "}";
    }
    js << "], \"ivf\": [";
    for (std::size_t i = 0; i < ivf_rows.size(); ++i) {
      const ivf_row& v = ivf_rows[i];
      js << (i ? ", " : "") << "{\"nprobe\": " << v.nprobe << ", \"rvq_qps_1core\": " << v.qps1
         << ", \"rvq_qps_2threads\": " << v.qps2 << ", \"rvq_recall1\": " << v.r1 << ", \"rvq_recall10\": " << v.r10
         << ", \"scanned_fraction\": " << v.scanned << ", \"faiss_ivf_qps_1core\": " << v.faiss_qps1
         << ", \"faiss_ivf_qps_2threads\": " << v.faiss_qps2 << ", \"faiss_ivf_recall1\": " << v.faiss_r1
         << ", \"faiss_ivf_recall10\": " << v.faiss_r10 << "}";
    }
    js << "]}\n";
    write_json(o.json, js.str());
  }
  return 0;
}
