// rvq search: k nearest neighbours of queries in an index of codes (rvq::code_index).
#include "../common.hpp"

#include <rvq/parallel/dynamic_threads.hpp>

namespace rvq_cli {
namespace {
namespace search_command_impl {

int run(const args& a) {
  const std::string ip = a.need("index"), qp = a.need("queries"), out = a.need("output");
  const std::string dp = a.get_or("distances", "");
  rvq::search_options so;
  so.k = a.number("k", 1, rvq::max_search_k);
  so.rerank = a.number("rerank", 0, rvq::max_search_k);
  (void)a.number("nprobe", 1, 65536);  // checked as a number here, against K_0 once the index is read
  if (so.rerank && so.rerank < so.k) throw usage_error{"search: --rerank must be 0 or at least --k"};
  rvq::dynamic_threads::scope threads(a.number("threads", 0, 4096));
  const auto q = read_matrix(qp);
  rvq::io::ndarray<float> originals;
  if (a.has("originals")) {
    if (!so.rerank) throw usage_error{"search: --originals re-ranks: give --rerank too"};
    originals = read_matrix(a.get("originals"));
  }
  const auto t_load = std::chrono::steady_clock::now();
  // The index is memory-mapped and searched in place: its codes are paged in as the scan reads them.
  const rvq::status vs = rvq::io::visit_index_mapped<rvq::dynamic_threads>(ip, [&](auto&& ix) {
    const double load_s = seconds_since(t_load);
    if (q.cols() != ix.dim())
      throw data_error{qp + ": queries have " + std::to_string(q.cols()) + " dimensions, the index has " +
                       std::to_string(ix.dim())};
    if (a.has("originals") && (originals.cols() != ix.dim() || originals.rows() <= std::size_t(ix.max_id())))
      throw data_error{a.get("originals") + ": expected the database vectors the index was built from (" +
                       std::to_string(ix.max_id() + 1) + " x " + std::to_string(ix.dim()) + ", row i: id i)"};
    if (ix.is_ivf()) {
      const std::size_t k0 = ix.model().codewords(0);
      so.nprobe = a.number_or("nprobe", std::min<std::size_t>(8, k0), 1, k0);
    } else if (a.has("nprobe")) {
      throw usage_error{"search: --nprobe applies to inverted-list indexes (rvq index --ivf)"};
    }
    if (a.has("originals")) so.originals = originals.view();
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = ix.search(q.view(), so);
    const double secs = seconds_since(t0);
    if (!r) fail_file(qp, r.error());
    const std::size_t shape[2] = {r->queries, r->k};
    rvq::status s = rvq::io::write_npy(out, r->labels.data(), rvq::span<const std::size_t>(shape));
    if (!s) fail_file(out, s);
    if (!dp.empty()) {
      s = rvq::io::write_npy(dp, r->distances.data(), rvq::span<const std::size_t>(shape));
      if (!s) fail_file(dp, s);
    }
    const double qps = double(r->queries) / (secs > 0 ? secs : 1e-9);
    using kernels = typename std::decay_t<decltype(ix)>::quantizer_type::kernels;
    const char* fast_kernel = ix.is_fast_scan() ? rvq::simd::fast_scan::to_string(kernels::fast_scan_kernel()) : "none";
    if (a.flag("json")) {
      std::printf(
          "{\"queries\": %zu, \"k\": %zu, \"nprobe\": %zu, \"ivf\": %s, \"fast_scan\": %s, \"fast_scan_kernel\": "
          "\"%s\", \"rerank\": %zu, \"vectors\": %zu, \"metric\": "
          "\"%s\", "
          "\"norm\": \"%s\", \"code_bytes\": %zu, \"index_bytes\": %zu, \"search_seconds\": %.6f, "
          "\"queries_per_second\": %.1f, \"load_seconds\": %.6f, \"mapped\": %s}\n",
          r->queries, r->k, ix.is_ivf() ? so.nprobe : std::size_t(0), ix.is_ivf() ? "true" : "false",
          ix.is_fast_scan() ? "true" : "false", fast_kernel, so.rerank, ix.size(), rvq::to_string(ix.options().metric),
          rvq::to_string(ix.options().norm), ix.code_size() * ix.size(), ix.memory_bytes(), secs, qps, load_s,
          ix.mapped() ? "true" : "false");
    } else if (!a.flag("quiet")) {
      say("searched %zu vectors (%s, %s norms%s) for %zu queries, k=%zu%s: %.3f s, %.0f queries/s\n", ix.size(),
          rvq::to_string(ix.options().metric), rvq::to_string(ix.options().norm),
          ix.is_fast_scan() ? (std::string(", fast scan: ") + fast_kernel).c_str() : "", r->queries, r->k,
          so.rerank ? (", re-ranked from " + std::to_string(so.rerank)).c_str() : "", secs, qps);
    }
  });
  if (!vs) fail_file(ip, vs);
  return 0;
}

}  // namespace search_command_impl
}  // namespace

const command search_command{
    "search",
    "find the k nearest neighbours of queries in an index of codes",
    search_command_impl::run,
    {
        opt::reads("index", "I.rvqi", "the index (rvq index)", true),
        opt::reads("queries", "Q.npy", "the query vectors (N x D)", true),
        opt::output("LABELS.npy", "the neighbours' ids, int64, N x k, best first (-1: none)"),
        opt::writes("distances", "D.npy",
                    "also write their distances, float32, N x k (l2: squared distances; ip, cos: similarities)"),
        {"k", "K", "10", "neighbours per query"},
        {"nprobe", "N", "8",
         "inverted-list indexes: first-layer lists scanned per query (1 to K of layer 1; default 8, or K when "
         "smaller)"},
        {"rerank", "R", "0",
         "keep R candidates by the table distance, then order them by the exact distance "
         "(0: no re-ranking)"},
        opt::reads("originals", "X.npy", "re-rank on these original database vectors instead of the decoded ones"),
        {"threads", "T", "0", "threads (0: all cores)"},
        opt::json(),
        opt::quiet(),
    }};

}  // namespace rvq_cli
