// rvq compress: pq/rpq sub-codebooks for a model or a pipeline.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace compress_command_impl {

/// `rvq compress` of a pipeline: every stage's codebooks, and with --projections its projections.
int compress_pipeline(const args& a, const std::string& mp, const std::string& out, const rvq::compress_options& o,
                      rvq::product_search mode, const rvq::io::model_info& info) {
  if (info.product || info.element != rvq::element_id::f32)
    throw data_error{mp + ": compress takes a pipeline of dense f32 stages (this one is " +
                     std::string(rvq::to_string(info.storage)) + ", " + std::string(rvq::to_string(info.element)) +
                     ")"};
  rvq::io::ndarray<float> x;
  const std::string calib = a.get("calibrate-on");
  if (!calib.empty()) x = read_matrix(calib);
  return with_metric(info.metric, [&](auto m) {
    using M = decltype(m);
    const auto p = load_pipeline<rvq::config<rvq::f32, M>>(mp);
    if (!calib.empty()) check_dim(p, x, calib);
    const rvq::compress_options* po = a.flag("projections") ? &o : nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    rvq::pipeline_compress_report rep;
    auto finish = [&](auto r) {
      if (!r) fail_file(calib.empty() ? mp : calib, r.error());
      const double secs = seconds_since(t0);
      // The stages' search mode (--search) is a load-time choice; rebuild each stage with it.
      auto cp = std::move(r).value();
      std::vector<typename std::decay_t<decltype(cp)>::stage_type> stages;
      for (std::size_t s = 0; s < cp.stages(); ++s) {
        auto st = cp.stage(s);
        auto q = std::decay_t<decltype(st.q)>::from_product(st.q.store().model(), mode);
        if (!q) fail_file(mp, q.error());
        st.q = std::move(q).value();
        stages.push_back(std::move(st));
      }
      auto rebuilt = std::decay_t<decltype(cp)>::make(cp.dim(), std::move(stages));
      if (!rebuilt) fail_file(mp, rebuilt.error());
      const rvq::status ws = rvq::io::save_pipeline(*rebuilt, out);
      if (!ws) fail_file(out, ws);
      const std::size_t before = p.memory_footprint().codebook_bytes,
                        after = rebuilt->memory_footprint().codebook_bytes;
      std::size_t kept = 0, compressed = 0;
      for (std::size_t i = 0; i < rep.projection_compressed.size(); ++i) {
        const auto& st = p.stage(i / 2);
        const bool present = (i % 2 == 0) ? bool(st.in) : bool(st.out);
        if (present) (rep.projection_compressed[i] ? compressed : kept) += 1;
      }
      double mse = -1, dense_mse = -1;
      if (!calib.empty()) {
        auto measure = [&](const auto& pp) {
          std::vector<std::uint16_t> c(x.rows() * pp.layers());
          std::vector<float> y(x.rows() * pp.dim());
          rvq::status s = pp.encode_batch(x.view(), rvq::matrix_view<std::uint16_t>(c.data(), x.rows(), pp.layers()));
          if (s)
            s = pp.decode_batch(rvq::matrix_view<const std::uint16_t>(c.data(), x.rows(), pp.layers()),
                                rvq::matrix_view<float>(y.data(), x.rows(), pp.dim()));
          if (!s) fail_file(calib, s);
          double e = 0;
          for (std::size_t i = 0; i < y.size(); ++i) e += std::pow(double(x.values[i]) - double(y[i]), 2);
          return e / double(x.rows());
        };
        mse = measure(*rebuilt);
        dense_mse = measure(p);
      }
      if (a.flag("json")) {
        say("{\"pipeline\": true, \"stages\": %zu, \"storage\": \"%s\", \"dense_bytes\": %zu, "
            "\"stored_bytes\": %zu, \"projections_compressed\": %zu, \"projections_kept_dense\": %zu, "
            "\"dense_mse\": %.9g, \"mse\": %.9g, \"seconds\": %.3f}\n",
            cp.stages(), rvq::to_string(o.storage), before, after, compressed, kept, dense_mse, mse, secs);
      } else if (!a.flag("quiet")) {
        say("compressed the %zu stages of %s to %s in %.1f s\n", cp.stages(), mp.c_str(), rvq::to_string(o.storage),
            secs);
        say("  stored bytes     %zu -> %zu (%.1fx smaller; codebooks and projections)\n", before, after,
            double(before) / double(after));
        if (po)
          say("  projections      %zu compressed, %zu kept dense (their compressed form was not smaller)\n", compressed,
              kept);
        if (!calib.empty())
          say("  data mse         %.6g vs dense %.6g (%+.1f%%) on %s\n", mse, dense_mse,
              100.0 * (mse / dense_mse - 1.0), calib.c_str());
        say("wrote %s\n", out.c_str());
      }
      return 0;
    };
    const rvq::matrix_view<const float> data = calib.empty() ? rvq::matrix_view<const float>() : x.view();
    if (o.storage == rvq::storage_id::pq) return finish(rvq::compress_pipeline<rvq::pq>(p, o, po, data, &rep));
    return finish(rvq::compress_pipeline<rvq::rpq>(p, o, po, data, &rep));
  });
}

int run(const args& a) {
  const std::string mp = a.need("model"), out = a.need("output");
  rvq::compress_options o;
  o.storage = parse_choice(a, "storage", rvq::storage_names, {rvq::storage_id::pq, rvq::storage_id::rpq});
  o.bits = static_cast<unsigned>(a.number("bits", 1, 8));
  o.subspaces = a.number_or("subspaces", 0, 1, 65535);
  o.iterations = a.number("iterations", 0, 1000);
  o.seed = a.number("seed", 0, std::numeric_limits<std::uint32_t>::max());
  o.seeded = a.flag("seeded") != 0;
  o.shared = a.flag("shared") != 0;
  o.element = parse_choice(a, "element", rvq::element_names, {rvq::element_id::f32, rvq::element_id::int8});
  if (o.seeded && o.storage == rvq::storage_id::pq)
    throw usage_error{"compress: --seeded indices are rpq's (--storage rpq --seeded); pq stores its indices"};
  const rvq::product_search mode = parse_choice(a, "search", rvq::product_search_names);
  const rvq::io::model_info info = model_header(mp);
  if (info.pipeline) return compress_pipeline(a, mp, out, o, mode, info);
  if (a.flag("projections")) throw usage_error{"compress: --projections is for pipelines (" + mp + " is not one)"};
  if (info.product || info.element != rvq::element_id::f32)
    throw data_error{mp + ": compress takes a dense f32 model (this one is " +
                     std::string(rvq::to_string(info.storage)) + ", " + std::string(rvq::to_string(info.element)) +
                     ")"};
  if (o.subspaces && info.dim % o.subspaces != 0)
    throw usage_error{"compress: --subspaces " + std::to_string(o.subspaces) + " does not divide the dimension " +
                      std::to_string(info.dim) + " of " + mp};
  rvq::io::ndarray<float> x;
  const std::string calib = a.get("calibrate-on");
  if (!calib.empty()) x = read_matrix(calib);
  return with_metric(info.metric, [&](auto m) {
    using M = decltype(m);
    using dense_t = rvq::quantizer<rvq::config<rvq::f32, M>>;
    const dense_t q = load<typename dense_t::config_type>(mp);
    if (!calib.empty()) check_dim(q, x, calib);
    const auto t0 = std::chrono::steady_clock::now();
    rvq::compress_report rep;
    auto pc = rvq::compress(q, o, calib.empty() ? rvq::matrix_view<const float>() : x.view(), &rep);
    if (!pc) fail_file(calib.empty() ? mp : calib, pc.error());
    const double secs = seconds_since(t0);
    auto describe = [&](const auto& cq) {
      const auto f = cq.memory_footprint();
      const rvq::status ws = rvq::io::save_model(cq, out);
      if (!ws) fail_file(out, ws);
      const char* how = cq.store().uses_tables() ? "tables" : "expand";
      if (a.flag("json")) {
        say("{\"storage\": \"%s\", \"element\": \"%s\", \"subspaces\": %zu, \"bits\": %u, \"seeded\": %s, "
            "\"shared\": %s, \"dense_bytes\": %zu, \"stored_bytes\": %zu, \"codeword_error\": %.9g, "
            "\"data_fit\": %s, \"dense_mse\": %.9g, \"codeword_fit_mse\": %.9g, \"mse\": %.9g, "
            "\"search\": \"%s\", \"macs_per_vector\": %zu, \"lookups_per_vector\": %zu, \"seconds\": %.3f}\n",
            rvq::to_string(o.storage), rvq::to_string(o.element), pc->subspaces, pc->bits, o.seeded ? "true" : "false",
            o.shared ? "true" : "false", rep.dense_bytes, rep.stored_bytes, rep.codeword_error,
            rep.data_fit ? "true" : "false", calib.empty() ? -1.0 : rep.dense_mse,
            calib.empty() ? -1.0 : rep.codeword_fit_mse, calib.empty() ? -1.0 : rep.mse, how, f.macs_per_vector,
            f.lookups_per_vector, secs);
      } else if (!a.flag("quiet")) {
        say("compressed %s to %s in %.1f s: M = %zu sub-spaces of %zu dims, 2^%u entries, %s values%s%s\n", mp.c_str(),
            rvq::to_string(o.storage), secs, pc->subspaces, pc->sub_dim(), pc->bits, rvq::to_string(o.element),
            o.seeded ? ", seeded indices" : ", stored indices", o.shared ? ", shared by all layers" : "");
        say("  stored bytes     %zu -> %zu (%.1fx smaller; %zu sub-codebook, %zu index)\n", rep.dense_bytes,
            rep.stored_bytes, double(rep.dense_bytes) / double(rep.stored_bytes), pc->sub_codebook_bytes(),
            pc->index_bytes());
        say("  codeword error   %.4g (relative, sum ||c - c'||^2 / sum ||c||^2)\n", rep.codeword_error);
        if (!calib.empty()) {
          say("  data mse         %.6g vs dense %.6g (%+.1f%%) on %s\n", rep.mse, rep.dense_mse,
              100.0 * (rep.mse / rep.dense_mse - 1.0), calib.c_str());
          if (rep.data_fit)
            say("  data fit         %.6g -> %.6g (codeword fit -> fitted to the data)\n", rep.codeword_fit_mse,
                rep.mse);
          else
            say("  data fit         none: shared sub-codebooks keep the codeword fit\n");
        } else {
          say("  data mse         not measured (--calibrate-on X.npy fits the sub-codebooks to X)\n");
        }
        say("  search           %s: %zu MACs and %zu lookups per vector (dense: %zu MACs)\n", how, f.macs_per_vector,
            f.lookups_per_vector, q.memory_footprint().macs_per_vector);
        say("wrote %s\n", out.c_str());
      }
      return 0;
    };
    if (o.storage == rvq::storage_id::pq) {
      auto cq = rvq::quantizer<rvq::config<rvq::f32, M, rvq::pq>>::from_product(pc.value(), mode);
      if (!cq) fail_file(mp, cq.error());
      return describe(cq.value());
    }
    auto cq = rvq::quantizer<rvq::config<rvq::f32, M, rvq::rpq>>::from_product(pc.value(), mode);
    if (!cq) fail_file(mp, cq.error());
    return describe(cq.value());
  });
}

}  // namespace compress_command_impl
}  // namespace

const command compress_command{
    "compress",
    "store codebooks as pq/rpq sub-codebooks (docs/storage.md)",
    compress_command_impl::run,
    {
        opt::model("a dense f32 model or pipeline"),
        {"storage", "pq|rpq", "", "product quantization, or reverse pq (indices may be seeded)", true},
        opt::output("M2.rvq"),
        {"subspaces", "M", "", "sub-spaces; must divide D (default D/4)"},
        {"bits", "8|4", "8", "bits per sub-codeword index"},
        opt::flag("seeded", "rpq: regenerate the indices from the seed instead of storing them"),
        opt::flag("shared", "one set of sub-codebooks for all layers"),
        {"element", "f32|int8", "f32", "sub-codebook element"},
        opt::calibrate_on("fit the sub-codebooks to the codewords X uses"),
        opt::iterations("10"),
        opt::seed(),
        {"search", "auto|tables|expand", "auto", "lookup tables or just-in-time expansion"},
        opt::flag("projections", "pipelines: compress the projection weights as rpq too, where smaller"),
        opt::json(),
        opt::quiet(),
    }};

}  // namespace rvq_cli
