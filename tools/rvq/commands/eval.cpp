// rvq eval: error, bits, bytes and speed of a model on test vectors (rvq::evaluate).
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {

int run(const args& a) {
  const std::string mp = a.need("model"), in = a.need("input");
  const rvq::io::model_info info = model_header(mp);
  const auto t_load = std::chrono::steady_clock::now();
  auto body = [&](const auto& q) {
    const double load_s = seconds_since(t_load);
    const std::size_t beam = beam_option(a, q);
    row_source<float> x(in);
    x.need_matrix();
    if (x.cols() != q.dim())
      throw data_error{in + ": vectors have " + std::to_string(x.cols()) + " dimensions, the model has " +
                       std::to_string(q.dim())};
    const std::size_t n = x.rows(), d = q.dim(), nl = q.layers();
    rvq::eval_options eo;
    eo.beam = beam;
    eo.icm_rounds = a.number("icm", 0, 1000);
    // A tile at a time: the figures are those of rvq::evaluate() on all the rows at once.
    auto ev = rvq::evaluation<std::decay_t<decltype(q)>>::start(q, eo);
    if (!ev) fail_file(in, ev.error());
    {
      progress_meter progress(!a.flag("quiet") && !a.flag("json") && RVQ_CLI_ISATTY(2), n, "eval");
      const std::size_t tile = tile_rows(d);
      for (std::size_t first = 0; first < n; first += tile) {
        const std::size_t m = std::min(tile, n - first);
        const rvq::status s = ev->add(x.tile(first, m));
        if (!s) progress.clear(), fail_file(in, s);
        progress.update(first + m);
      }
    }
    const auto r = ev->report();
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
    return 0;
  };
  return a.flag("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

}  // namespace

const command eval_command{"eval",
                           "measure a model on vectors: mse, rel_mse per layer, bits, bytes and speed",
                           run,
                           {
                               opt::model(),
                               opt::input("X.npy", "test vectors (N x D)"),
                               opt::beam("beam width (1: greedy)"),
                               opt::icm(),
                               opt::json(),
                               opt::mmap(),
                               opt::quiet("no progress line"),
                           }};

}  // namespace rvq_cli
