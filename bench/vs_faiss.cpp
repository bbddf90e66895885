// rvq against FAISS's ResidualQuantizer in one process, on the same data and the same codebooks:
// FAISS trains, rvq loads FAISS's codebooks, then both encode the same vectors.
//   build/bench/bin/rvq-bench-vs-faiss [--quick] [--json FILE] [--shapes 100x128x8,128x1024x8,784x256x8]
//                                      [--min-time S]   (seconds per timed run, default 0.3)
//                                      [--isa all|auto|sse2,avx2,avx512]  (rvq's kernel targets, in turn;
//                                                        default: the active one, RVQ_ISA or the best)
// Shapes are D x K x L. Reports batch encode vectors/s on one core (greedy and beam 8), single-vector
// latency, two-thread scaling on 10k-vector batches, reconstruction error of both, and rvq's
// greedy rate as a share of the core's fp32 FMA peak (measured here, bench/peak.hpp).
#include <faiss/impl/ResidualQuantizer.h>
#include <omp.h>
#include <rvq/parallel/thread_pool.hpp>
#include <rvq/rvq.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "data.hpp"
#include "peak.hpp"

namespace {

struct shape {
  std::size_t d, k, l;
};

struct result {
  shape s;
  double peak_gflops = 0;
  double faiss_greedy = 0, rvq_greedy = 0;        // vectors/s, one core
  double faiss_beam = 0, rvq_beam = 0;            // vectors/s, one core, beam 8 (FAISS: its faster mode)
  double faiss_beam_default = 0;                  // FAISS beam 8 with its default use_beam_LUT = 0
  int faiss_beam_lut = 0;                         // FAISS's faster beam mode (use_beam_LUT)
  double faiss_single_us = 0, rvq_single_us = 0;  // one vector, one call
  double faiss_greedy2 = 0, rvq_greedy2 = 0;      // vectors/s, two threads (whole batch)
  double faiss_mse = 0, rvq_mse = 0;              // relative MSE, greedy
  double faiss_beam_mse = 0, rvq_beam_mse = 0;    // relative MSE, beam 8
  double rvq_peak_share = 0;                      // rvq greedy MACs/s over the FMA peak
  double single_compute_ratio = 0;                // rvq single-vector time over 2*D*K*L flops at peak
  std::string isa;                                // the kernel target rvq ran (rvq::active_isa())
};

using clock_type = std::chrono::steady_clock;

/// Best time of `repeats` runs of f (each at least `min_s` long, by repeating f), per call of f.
double min_time = 0.3;  // seconds per timed run (--min-time)

double best_seconds(const std::function<void()>& f, double min_s = -1, int repeats = 3) {
  if (min_s < 0) min_s = min_time;
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    int calls = 0;
    const auto t0 = clock_type::now();
    double el = 0;
    do {
      f();
      ++calls;
      el = std::chrono::duration<double>(clock_type::now() - t0).count();
    } while (el < min_s);
    best = std::min(best, el / calls);
  }
  return best;
}

double rel_mse(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, n = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    e += double(x[i] - y[i]) * double(x[i] - y[i]);
    n += double(x[i]) * double(x[i]);
  }
  return e / n;
}

/// OpenBLAS's thread count, when the BLAS behind FAISS is OpenBLAS (else nothing to set).
void set_blas_threads(int n) {
  using fn = void (*)(int);
  if (auto f = reinterpret_cast<fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(n);
}

void set_threads(int n) {
  omp_set_num_threads(n);
  set_blas_threads(n);
}

/// The backend measured: on x86-64 the dispatch backend (what a build without flags runs, and
/// --isa forces each target in turn), elsewhere the build's default.
#if RVQ_DISPATCH_X86
using bench_simd = rvq::dispatch;
#else
using bench_simd = rvq::default_simd;
#endif

template <class Parallel>
using rvq_q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, Parallel, bench_simd>>;

template <class Q>
double rvq_batch_rate(const Q& q, const std::vector<float>& x, std::size_t n, std::size_t beam,
                      std::vector<std::uint16_t>& codes) {
  const std::size_t d = q.dim(), l = q.layers();
  codes.assign(n * l, 0);
  const auto per = q.workspace_for(beam);
  const std::size_t w = rvq::parallel_traits<typename Q::parallel>::concurrency();
  rvq::workspace ws(rvq::workspace_size{per.floats * w, per.indices * w});
  const double s = best_seconds([&] {
    const auto st =
        q.encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                       rvq::matrix_view<std::uint16_t>(codes.data(), n, l), rvq::encode_options{beam}, ws.view());
    if (!st) std::abort();
  });
  return double(n) / s;
}

template <class Q>
double rvq_mse(const Q& q, const std::vector<float>& x, std::size_t n, const std::vector<std::uint16_t>& codes) {
  std::vector<float> y(n * q.dim());
  if (!q.decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), n, q.layers()),
                      rvq::matrix_view<float>(y.data(), n, q.dim())))
    std::abort();
  return rel_mse(std::vector<float>(x.begin(), x.begin() + std::ptrdiff_t(n * q.dim())), y);
}

/// One shape: FAISS once, then rvq on each kernel target of `isas` (set_isa), one result each.
void run(const shape& s, bool quick, double peak, const std::vector<rvq::isa>& isas, std::vector<result>& out) {
  result r;
  r.s = s;
  r.peak_gflops = peak;
  const std::size_t n_train = quick ? std::max<std::size_t>(4 * s.k, 2000) : std::max<std::size_t>(16 * s.k, 10000);
  const std::size_t n = quick ? 2000 : 10000;
  const auto train = rvq_bench::clustered_data(n_train, s.d, 1);
  const auto x = rvq_bench::clustered_data(n, s.d, 2);
  std::size_t nbits = 0;
  while ((std::size_t{1} << nbits) < s.k) ++nbits;

  // FAISS trains (greedy, progressive-dimension k-means, its defaults otherwise), on both cores.
  set_threads(2);
  faiss::ResidualQuantizer rq(s.d, s.l, nbits);
  rq.max_beam_size = 1;
  rq.cp.niter = quick ? 4 : 10;
  rq.verbose = false;
  const auto t0 = clock_type::now();
  rq.train(n_train, train.data());
  std::fprintf(stderr, "  FAISS trained %zux%zux%zu on %zu vectors in %.1f s\n", s.d, s.k, s.l, n_train,
               std::chrono::duration<double>(clock_type::now() - t0).count());
  const auto q1 =
      std::move(rvq_q<rvq::sequential>::from_codebooks(rvq::span<const float>(rq.codebooks), s.l, s.k, s.d)).value();
  const auto q2 =
      std::move(rvq_q<rvq::threads<2>>::from_codebooks(rvq::span<const float>(rq.codebooks), s.l, s.k, s.d)).value();

  std::vector<std::uint8_t> fcodes(n * rq.code_size);
  std::vector<float> y(n * s.d);
  auto faiss_rate = [&](std::size_t rows) {
    return double(rows) / best_seconds([&] { rq.compute_codes(x.data(), fcodes.data(), rows); });
  };

  // FAISS, one core: greedy, beam 8 (its better mode), single vectors; then two threads.
  set_threads(1);
  rq.max_beam_size = 1;
  r.faiss_greedy = faiss_rate(n);
  rq.decode(fcodes.data(), y.data(), n);
  r.faiss_mse = rel_mse(x, y);
  const std::size_t nb = quick ? 200 : 1000;  // beam search is slower: fewer vectors
  rq.max_beam_size = 8;
  for (int lut : {0, 1}) {
    rq.use_beam_LUT = lut;
    const double rate = faiss_rate(nb);
    if (lut == 0) r.faiss_beam_default = rate;
    if (rate > r.faiss_beam) {
      r.faiss_beam = rate;
      r.faiss_beam_lut = lut;
    }
  }
  rq.use_beam_LUT = r.faiss_beam_lut;
  rq.compute_codes(x.data(), fcodes.data(), nb);
  rq.decode(fcodes.data(), y.data(), nb);
  r.faiss_beam_mse = rel_mse(std::vector<float>(x.begin(), x.begin() + std::ptrdiff_t(nb * s.d)),
                             std::vector<float>(y.begin(), y.begin() + std::ptrdiff_t(nb * s.d)));
  rq.max_beam_size = 1;
  rq.use_beam_LUT = 0;
  const std::size_t ns = quick ? 50 : 200;
  r.faiss_single_us = 1e6 / double(ns) * best_seconds([&] {
                        for (std::size_t i = 0; i < ns; ++i) rq.compute_codes(x.data() + i * s.d, fcodes.data(), 1);
                      });
  omp_set_num_threads(2);  // FAISS's better of two OpenMP threads with one or two BLAS threads
  for (int blas : {1, 2}) {
    set_blas_threads(blas);
    r.faiss_greedy2 = std::max(r.faiss_greedy2, faiss_rate(n));
  }
  set_threads(1);

  for (rvq::isa t : isas) {
    if (!rvq::set_isa(t)) continue;  // checked in main
    result m = r;
    m.isa = rvq::to_string(rvq::active_isa());
    std::vector<std::uint16_t> codes;
    m.rvq_greedy = rvq_batch_rate(q1, x, n, 1, codes);
    m.rvq_mse = rvq_mse(q1, x, n, codes);
    m.rvq_peak_share = m.rvq_greedy * double(s.d * s.k * s.l) / (peak * 1e9);
    m.rvq_beam = rvq_batch_rate(q1, x, nb, 8, codes);
    m.rvq_beam_mse = rvq_mse(q1, x, nb, codes);
    rvq::workspace ws(q1.workspace_for(1));
    std::vector<std::uint16_t> c(s.l);
    m.rvq_single_us =
        1e6 / double(ns) * best_seconds([&] {
          for (std::size_t i = 0; i < ns; ++i)
            if (!q1.encode(rvq::span<const float>(x.data() + i * s.d, s.d), rvq::span<std::uint16_t>(c), {}, ws.view()))
              std::abort();
        });
    m.single_compute_ratio = m.rvq_single_us * 1e-6 / (double(s.d * s.k * s.l) / (peak * 1e9));
    m.rvq_greedy2 = rvq_batch_rate(q2, x, n, 1, codes);
    out.push_back(m);
  }
}

std::string fmt(double v, int prec = 0) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

void print(const std::vector<result>& rs) {
  std::printf("\nfp32 FMA peak of one core (measured): %.1f GFMA/s\n\n", rs.empty() ? 0.0 : rs[0].peak_gflops);
  std::printf("%-19s %-28s %12s %12s %9s\n", "shape DxKxL target", "measure", "rvq", "FAISS", "rvq/FAISS");
  for (const auto& r : rs) {
    const std::string sh =
        std::to_string(r.s.d) + "x" + std::to_string(r.s.k) + "x" + std::to_string(r.s.l) + " " + r.isa;
    auto row = [&](const char* m, double a, double b, int prec = 0, bool lower_better = false) {
      std::printf("%-19s %-28s %12s %12s %8.2fx\n", sh.c_str(), m, fmt(a, prec).c_str(), fmt(b, prec).c_str(),
                  lower_better ? b / a : a / b);
    };
    row("greedy vec/s, 1 core", r.rvq_greedy, r.faiss_greedy);
    row(r.faiss_beam_lut ? "beam 8 vec/s, 1 core (LUT)" : "beam 8 vec/s, 1 core", r.rvq_beam, r.faiss_beam);
    row("beam 8 vs FAISS default", r.rvq_beam, r.faiss_beam_default);
    row("single vector us", r.rvq_single_us, r.faiss_single_us, 2, true);
    row("greedy vec/s, 2 threads", r.rvq_greedy2, r.faiss_greedy2);
    row("2-thread scaling", r.rvq_greedy2 / r.rvq_greedy, r.faiss_greedy2 / r.faiss_greedy, 2);
    row("rel. MSE greedy", r.rvq_mse, r.faiss_mse, 6, true);
    row("rel. MSE beam 8", r.rvq_beam_mse, r.faiss_beam_mse, 6, true);
    std::printf("%-19s %-28s %11s%%\n", sh.c_str(), "rvq greedy share of peak", fmt(100 * r.rvq_peak_share, 1).c_str());
    std::printf("%-19s %-28s %11sx\n", sh.c_str(), "rvq single / compute limit",
                fmt(r.single_compute_ratio, 2).c_str());
  }
}

void write_json(const std::vector<result>& rs, const std::string& path) {
  std::ostringstream o;
  o << "{\n  \"peak_gflops\": " << (rs.empty() ? 0.0 : rs[0].peak_gflops) << ",\n  \"backend\": \""
    << rvq::simd_traits<bench_simd>::name << "\",\n  \"shapes\": [\n";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    o << "    {\"d\": " << r.s.d << ", \"k\": " << r.s.k << ", \"l\": " << r.s.l << ", \"isa\": \"" << r.isa << "\""
      << ", \"rvq_greedy_vps\": " << r.rvq_greedy << ", \"faiss_greedy_vps\": " << r.faiss_greedy
      << ", \"rvq_beam8_vps\": " << r.rvq_beam << ", \"faiss_beam8_vps\": " << r.faiss_beam
      << ", \"faiss_beam8_use_lut\": " << r.faiss_beam_lut << ", \"faiss_beam8_default_vps\": " << r.faiss_beam_default
      << ", \"rvq_single_us\": " << r.rvq_single_us << ", \"faiss_single_us\": " << r.faiss_single_us
      << ", \"rvq_greedy_2t_vps\": " << r.rvq_greedy2 << ", \"faiss_greedy_2t_vps\": " << r.faiss_greedy2
      << ", \"rvq_rel_mse\": " << r.rvq_mse << ", \"faiss_rel_mse\": " << r.faiss_mse
      << ", \"rvq_beam8_rel_mse\": " << r.rvq_beam_mse << ", \"faiss_beam8_rel_mse\": " << r.faiss_beam_mse
      << ", \"rvq_peak_share\": " << r.rvq_peak_share
      << ", \"rvq_single_over_compute_limit\": " << r.single_compute_ratio << "}" << (i + 1 < rs.size() ? "," : "")
      << "\n";
  }
  o << "  ]\n}\n";
  if (path == "-") {
    std::fputs(o.str().c_str(), stdout);
    return;
  }
  std::ofstream f(path);
  f << o.str();
  if (!f) std::fprintf(stderr, "rvq-bench-vs-faiss: cannot write %s\n", path.c_str());
}

bool parse_shapes(const std::string& arg, std::vector<shape>& out) {
  out.clear();
  std::stringstream ss(arg);
  std::string item;
  while (std::getline(ss, item, ',')) {
    shape s{};
    if (std::sscanf(item.c_str(), "%zux%zux%zu", &s.d, &s.k, &s.l) != 3 || !s.d || s.k < 2 || !s.l || s.k > 65536)
      return false;
    out.push_back(s);
  }
  return !out.empty();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<shape> shapes = {{100, 128, 8}, {128, 1024, 8}, {784, 256, 8}};
  bool quick = false;
  std::string json;
  std::vector<rvq::isa> isas = {rvq::active_isa()};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--min-time" && i + 1 < argc) {
      min_time = std::atof(argv[++i]);
    } else if (a == "--json" && i + 1 < argc) {
      json = argv[++i];
    } else if (a == "--shapes" && i + 1 < argc) {
      if (!parse_shapes(argv[++i], shapes)) {
        std::fprintf(stderr, "rvq-bench-vs-faiss: --shapes wants DxKxL[,DxKxL...], e.g. 100x128x8\n");
        return 2;
      }
    } else if (a == "--isa" && i + 1 < argc) {
      isas.clear();
      std::stringstream ss(argv[++i]);
      std::string item;
      while (std::getline(ss, item, ',')) {
        rvq::isa t = rvq::isa::baseline;
        if (item == "all") {
          for (rvq::isa u : rvq::all_isas)
            if (rvq::isa_supported(u)) isas.push_back(u);
        } else if (item == "auto") {
          isas.push_back(rvq::best_isa());
        } else if (!rvq::parse_name(rvq::isa_names, item.c_str(), t) || !rvq::isa_supported(t)) {
          std::fprintf(stderr,
                       "rvq-bench-vs-faiss: --isa %s: not a target this CPU runs (all, auto, " RVQ_ISA_LIST ")\n",
                       item.c_str());
          return 2;
        } else {
          isas.push_back(t);
        }
      }
    } else {
      std::fprintf(stderr,
                   "usage: rvq-bench-vs-faiss [--quick] [--json FILE|-] [--shapes DxKxL,...] [--min-time S] "
                   "[--isa all|auto|" RVQ_ISA_LIST ",...]\n");
      return 2;
    }
  }
  set_threads(1);
  const double peak = rvq_bench::fma_peak_gflops();
  if (const char* note = rvq::isa_env_note()) std::fprintf(stderr, "rvq-bench-vs-faiss: RVQ_ISA: %s\n", note);
  std::string names;
  for (rvq::isa t : isas) names += std::string(names.empty() ? "" : ",") + rvq::to_string(t);
  std::fprintf(stderr,
               "rvq-bench-vs-faiss: rvq %s (simd %s, kernel targets %s; CPU best %s), FAISS ResidualQuantizer; "
               "peak %.1f GFMA/s\n",
               RVQ_VERSION_STRING, rvq::simd_traits<bench_simd>::name, names.c_str(), rvq::to_string(rvq::best_isa()),
               peak);
  std::vector<result> rs;
  for (const auto& s : shapes) run(s, quick, peak, isas, rs);
  print(rs);
  if (!json.empty()) write_json(rs, json);
  return 0;
}
