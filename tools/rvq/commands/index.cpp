// rvq index: encode a database into a searchable index of codes (.rvqi; rvq::code_index).
#include "../common.hpp"

#include <rvq/parallel/dynamic_threads.hpp>

namespace rvq_cli {
namespace {

/// --norm: a name of rvq::norm_encoding_names, or "auto" (f32 for l2 and cos, none for ip).
rvq::norm_encoding norm_option(const args& a, rvq::metric_id m) {
  if (a.get("norm") == "auto") return rvq::default_norm(m);
  return parse_choice(a, "norm", rvq::norm_encoding_names);
}

/// `rvq index --from faiss FILE`: a FAISS IndexResidualQuantizer with its vectors, as it is.
int from_faiss(const args& a) {
  if (a.get("from") != "faiss") throw usage_error{"index: --from must be faiss, got '" + a.get("from") + "'"};
  for (const char* o : {"model", "norm", "metric", "ivf", "fast-scan", "beam", "icm"})
    if (a.has(o) || a.flag(o))
      throw usage_error{
          std::string("index: --from faiss takes the model, metric and norms of the FAISS file; drop --") + o};
  if (a.positional.size() > 1) throw usage_error{"index: unexpected argument '" + a.positional[1] + "'"};
  const std::string in = a.get_or("input", a.positional.empty() ? "" : a.positional[0]), out = a.need("output");
  if (in.empty()) throw usage_error{"index: give the FAISS file (--from faiss FILE)"};
  rvq::io::faiss_rq rq;
  const rvq::status rs = rvq::io::read_faiss_rq(in, rq);
  if (!rs) fail_file(in, rs);
  auto finish = [&](auto metric) {
    using Q = rvq::quantizer<rvq::config<rvq::f32, decltype(metric), rvq::dense, rvq::dynamic_threads>>;
    auto ix = rvq::io::index_from_faiss<Q>(rq);
    if (!ix) fail_file(in, ix.error());
    const rvq::status s = rvq::io::save_index(*ix, out);
    if (!s) fail_file(out, s);
    if (!a.flag("quiet"))
      say("imported %zu vectors (%zu layers, %s, %s norms) from FAISS into %s\n", ix->size(), ix->layers(),
          rvq::to_string(ix->options().metric), rvq::to_string(ix->options().norm), out.c_str());
    return 0;
  };
  return rq.inner_product ? finish(rvq::ip{}) : finish(rvq::l2{});
}

int run(const args& a) {
  if (a.has("from")) return from_faiss(a);
  if (!a.positional.empty()) throw usage_error{"index: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  const rvq::metric_id metric = parse_metric(a);
  const rvq::norm_encoding norm = norm_option(a, metric);
  if (metric == rvq::metric_id::l2 && norm == rvq::norm_encoding::none)
    throw usage_error{"index: --metric l2 needs norms (--norm f32, int8, cint8, int4, cint4 or tables)"};
  rvq::dynamic_threads::scope threads(a.number("threads", 0, 4096));
  refuse_pipeline(mp, model_header(mp));
  row_source<float> x(in);  // a tile at a time: the index holds codes, never the vectors
  x.need_matrix();
  int rc = 0;
  const rvq::status vs = rvq::io::visit_single_model<rvq::dynamic_threads>(mp, [&](auto&& q) {
    using Q = std::decay_t<decltype(q)>;
    if constexpr (std::is_same<typename Q::element, rvq::binary>::value) {
      throw data_error{mp + ": a binary (hamming) model: search over codes needs float codewords"};
    } else {
      if (x.cols() != q.dim())
        throw data_error{in + ": vectors have " + std::to_string(x.cols()) + " dimensions, the model has " +
                         std::to_string(q.dim())};
      rvq::index_options o;
      o.metric = metric;
      o.norm = norm;
      o.encode = {beam_option(a, q), a.number("icm", 0, 1000)};
      o.ivf = a.flag("ivf");
      o.fast_scan = a.flag("fast-scan");
      auto made = rvq::code_index<Q>::create(std::move(q), o);
      if (!made) fail_file(mp, made.error());
      auto& ix = *made;
      progress_meter progress(!a.flag("quiet") && !a.flag("json") && RVQ_CLI_ISATTY(2), x.rows(), "encode");
      const auto t0 = std::chrono::steady_clock::now();
      // Encoded in chunks (for the progress bar), then added at once: the norm levels of 8- and
      // 4-bit encodings are placed on every vector's norm.
      std::vector<std::uint8_t> c8(ix.wide() ? 0 : x.rows() * ix.layers());
      std::vector<std::uint16_t> c16(ix.wide() ? x.rows() * ix.layers() : 0);
      const std::size_t chunk = tile_rows(x.cols());
      for (std::size_t i = 0; i < x.rows(); i += chunk) {
        const std::size_t m = std::min(chunk, x.rows() - i);
        const auto rows = x.tile(i, m);
        const rvq::status s =
            ix.wide()
                ? ix.model().encode_batch(
                      rows, rvq::matrix_view<std::uint16_t>(c16.data() + i * ix.layers(), m, ix.layers()), o.encode)
                : ix.model().encode_batch(
                      rows, rvq::matrix_view<std::uint8_t>(c8.data() + i * ix.layers(), m, ix.layers()), o.encode);
        if (!s) progress.clear(), fail_file(in, at_row(s, i));
        progress.update(i + m);
      }
      const rvq::status added =
          ix.wide() ? ix.add_codes(rvq::matrix_view<const std::uint16_t>(c16.data(), x.rows(), ix.layers()))
                    : ix.add_codes(rvq::matrix_view<const std::uint8_t>(c8.data(), x.rows(), ix.layers()));
      progress.clear();
      if (!added) fail_file(in, added);
      const double secs = seconds_since(t0);
      const rvq::status s = rvq::io::save_index(ix, out);
      if (!s) fail_file(out, s);
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
              rvq::to_string(metric), rvq::to_string(norm), per, ix.code_size(), per - double(ix.code_size()),
              out.c_str());
        }
      }
    }
  });
  return visit_result(mp, vs, rc);
}

}  // namespace

const command index_command{
    "index",
    "encode a database into a searchable index of codes (.rvqi)",
    run,
    {
        opt::reads("model", "M.rvq", "the model (a single model; not binary)"),
        opt::reads("input", "X.npy", "the database vectors (N x D); their ids are their row numbers"),
        {"from", "faiss", "", "import a FAISS IndexResidualQuantizer with its vectors (codes, norms) as it is"},
        opt::output("I.rvqi", "the index to write"),
        opt::metric("what nearest means at search time"),
        {"norm", "auto|f32|int8|cint8|int4|cint4|tables|none", "auto",
         "how the norm of each reconstruction is kept: f32 (4 bytes), int8/int4 (even levels), cint8/cint4 (k-means "
         "levels), tables (exact, computed from the codebooks, no bytes), none (ip); auto: f32 for l2 and cos, none "
         "for ip"},
        opt::flag("ivf",
                  "inverted lists: group the vectors by their first code, so that search scans only the "
                  "--nprobe lists nearest to each query"),
        opt::flag("fast-scan",
                  "fast scan, for models of 4-bit layers (at most 16 codewords each) and l2 or ip: search sums "
                  "8-bit tables in SIMD registers to skip the codes that cannot enter the top k, and returns the "
                  "same results (half a byte per layer more per vector)"),
        opt::beam(),
        opt::icm(),
        {"threads", "T", "0", "threads (0: all cores)"},
        opt::json(),
        opt::quiet("no progress and no summary"),
    },
    "Labels are row numbers of the database file. --from faiss FILE reads a faiss.write_index file "
    "(IndexResidualQuantizer): the same codes, norms and answers as FAISS.",
    "(--model M.rvq --input X.npy | --from faiss FILE) --output I.rvqi [options]",
    true};

}  // namespace rvq_cli
