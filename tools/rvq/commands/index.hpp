// The parts of `rvq index` that `rvq-mpi index` shares: its options and its summary.
#pragma once
#include "../common.hpp"

#include <rvq/parallel/dynamic_threads.hpp>

namespace rvq_cli {

/// --norm: a name of rvq::norm_encoding_names, or "auto" (f32 for l2 and cos, none for ip).
inline rvq::norm_encoding norm_option(const args& a, rvq::metric_id m) {
  if (a.get("norm") == "auto") return rvq::default_norm(m);
  return parse_choice(a, "norm", rvq::norm_encoding_names);
}

/// --metric and --norm, checked together (l2 needs norms).
inline std::pair<rvq::metric_id, rvq::norm_encoding> index_metric_and_norm(const args& a) {
  const rvq::metric_id metric = parse_metric(a);
  const rvq::norm_encoding norm = norm_option(a, metric);
  if (metric == rvq::metric_id::l2 && norm == rvq::norm_encoding::none)
    throw usage_error{"index: --metric l2 needs norms (--norm f32, int8, cint8, int4, cint4 or tables)"};
  return {metric, norm};
}

/// Runs `f(q)` on the single model `mp` with the threads policy, refusing a binary model, whose
/// codewords are not floats; returns the exit code.
template <class F>
int with_index_model(const std::string& mp, F&& f) {
  int rc = 0;
  const rvq::status vs = rvq::io::visit_single_model<rvq::dynamic_threads>(mp, [&](auto&& q) {
    using Q = std::decay_t<decltype(q)>;
    if constexpr (std::is_same<typename Q::element, rvq::binary>::value)
      throw data_error{mp + ": a binary (hamming) model: search over codes needs float codewords"};
    else
      f(q);
  });
  return visit_result(mp, vs, rc);
}

/// The index options of the command line (--metric, --norm as parsed, --beam, --icm, --ivf, --fast-scan).
template <class Q>
rvq::index_options index_options_of(const args& a, const Q& q, rvq::metric_id metric, rvq::norm_encoding norm) {
  rvq::index_options o;
  o.metric = metric;
  o.norm = norm;
  o.encode = {beam_option(a, q), a.number("icm", 0, 1000)};
  o.ivf = a.flag("ivf");
  o.fast_scan = a.flag("fast-scan");
  return o;
}

/// What `rvq index` prints (--json, or a summary unless --quiet) about `ix`, built in `secs`.
template <class Index>
void print_index_summary(const args& a, const Index& ix, const rvq::index_options& o, double secs,
                         const std::string& out) {
  const rvq::metric_id metric = o.metric;
  const rvq::norm_encoding norm = o.norm;
  const double per = double(ix.memory_bytes()) / double(ix.size());
  if (a.flag("json")) {
    std::printf(
        "{\"vectors\": %zu, \"dim\": %zu, \"layers\": %zu, \"ivf\": %s, \"fast_scan\": %s, \"metric\": \"%s\", "
        "\"norm\": \"%s\", "
        "\"beam\": %zu, "
        "\"icm\": %zu, \"code_bytes\": %zu, \"bytes_per_vector\": %.3f, \"index_bytes\": %zu, "
        "\"encode_seconds\": %.6f, \"vectors_per_second\": %.1f}\n",
        ix.size(), ix.dim(), ix.layers(), ix.is_ivf() ? "true" : "false", ix.is_fast_scan() ? "true" : "false",
        rvq::to_string(metric), rvq::to_string(norm), o.encode.beam, o.encode.icm_rounds, ix.code_size(), per,
        ix.memory_bytes(), secs, double(ix.size()) / secs);
  } else if (!a.flag("quiet")) {
    say("indexed %zu vectors of %zu dimensions in %.2f s (%.0f vectors/s)\n", ix.size(), ix.dim(), secs,
        double(ix.size()) / secs);
    if (ix.is_fast_scan()) {  // the codes (and for l2 the norm or its level) are in 4-bit blocks
      namespace fs = rvq::simd::fast_scan;
      const std::size_t norm_tables = metric != rvq::metric_id::l2    ? 0
                                      : rvq::norm_levels(norm) == 256 ? 2
                                                                      : 1;  // as the index keeps them
      const double blocks = double(fs::block_bytes(ix.layers() + norm_tables)) / double(fs::block);
      say("%s search, %s norms, fast scan: %.2f bytes per vector (%.2f in 4-bit blocks + %.2f norm bytes) -> %s\n",
          rvq::to_string(metric), rvq::to_string(norm), per, blocks, per - blocks, out.c_str());
    } else {
      say("%s search, %s norms: %.2f bytes per vector (%zu code bytes + %.2f norm bytes) -> %s\n",
          rvq::to_string(metric), rvq::to_string(norm), per, ix.code_size(), per - double(ix.code_size()), out.c_str());
    }
  }
}

}  // namespace rvq_cli
