// The parts of `rvq eval` that `rvq-mpi eval` shares: the report, as text or JSON.
#pragma once
#include "../common.hpp"

namespace rvq_cli {

/// Prints `r`, the evaluation of `q` (a model or pipeline whose file header is `info`) with `eo`.
template <class Q>
void print_eval(const args& a, const Q& q, const rvq::io::model_info& info, const rvq::eval_report& r,
                const rvq::eval_options& eo, double load_s) {
  const std::size_t n = r.vectors, d = q.dim(), nl = q.layers(), beam = eo.beam;
  const double mse = r.mse, msn = r.mean_squared_norm, rel = r.rel_mse;
  const double enc_s = r.encode_seconds, vps = r.vectors_per_second;
  const auto& f = r.footprint;
  // As stored (a pipeline: its stages' codebooks and its projections).
  const std::size_t cb_bytes = info.quantized && !info.pipeline ? info.payload_bytes : f.codebook_bytes;
  using mt = typename std::decay_t<decltype(q)>::metric_traits_type;
  if (a.flag("json")) {
    std::string ks, lr;
    char buf[32];
    for (std::size_t l = 0; l < nl; ++l) {
      ks += (l ? "," : "") + std::to_string(q.codewords(l));
      std::snprintf(buf, sizeof buf, "%s%.9g", l ? "," : "", r.layer_rel_mse[l]);
      lr += buf;
    }
    std::printf(
        "{\"vectors\": %zu, \"dim\": %zu, \"layers\": %zu, \"codewords\": %zu, \"codewords_per_layer\": [%s], "
        "\"beam\": %zu, \"icm\": %zu, \"element\": \"%s\", \"metric\": \"%s\", \"storage\": \"%s\", "
        "\"mse\": %.9g, \"rel_mse\": %.9g, \"mean_squared_norm\": %.9g, \"bits_per_vector\": %zu, "
        "\"encode_seconds\": %.6f, \"encode_vectors_per_second\": %.1f, \"codebook_bytes\": %zu, "
        "\"scratch_bytes\": %zu, \"macs_per_vector\": %zu, \"lookups_per_vector\": %zu, \"load_seconds\": %.6f, "
        "\"mapped\": %s, \"layer_rel_mse\": [%s]}\n",
        n, d, nl, q.max_codewords(), ks.c_str(), beam, eo.icm_rounds, rvq::to_string(info.element), mt::name,
        rvq::to_string(info.storage), mse, rel, msn, q.bits_per_vector(), enc_s, vps, cb_bytes, f.scratch_bytes,
        f.macs_per_vector, f.lookups_per_vector, load_s, a.flag("mmap") ? "true" : "false", lr.c_str());
  } else {
    std::printf("vectors          %zu x %zu\n", n, d);
    std::printf("model            %zu layers x %zu codewords (%s, %s, beam %zu%s)\n", nl, q.max_codewords(),
                rvq::to_string(info.element), mt::name, beam,
                eo.icm_rounds ? (", icm " + std::to_string(eo.icm_rounds)).c_str() : "");
    std::printf("mse              %.6g\n", mse);
    std::printf("rel_mse          %.6g\n", rel);
    std::printf("bits per vector  %zu\n", q.bits_per_vector());
    std::printf("encode speed     %.0f vectors/s (%.3f s)\n", vps, enc_s);
    std::printf("codebook bytes   %zu\n", cb_bytes);
    std::printf("model load       %.3f s%s\n", load_s, a.flag("mmap") ? " (memory-mapped, searched in place)" : "");
  }
}

}  // namespace rvq_cli
