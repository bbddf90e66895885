// rvq index: encode a database into a searchable index of codes (.rvqi; rvq::code_index).
#include "index.hpp"

#include <rvq/parallel/dynamic_threads.hpp>

namespace rvq_cli {
namespace {
namespace index_command_impl {

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
  const auto chosen = index_metric_and_norm(a);  // no structured binding: lambdas capture these
  const rvq::metric_id metric = chosen.first;
  const rvq::norm_encoding norm = chosen.second;
  rvq::dynamic_threads::scope threads(a.number("threads", 0, 4096));
  refuse_pipeline(mp, model_header(mp));
  row_source<float> x(in);  // a tile at a time: the index holds codes, never the vectors
  x.need_matrix();
  return with_index_model(mp, [&](auto& q) {
    using Q = std::decay_t<decltype(q)>;
    if (x.cols() != q.dim())
      throw data_error{in + ": vectors have " + std::to_string(x.cols()) + " dimensions, the model has " +
                       std::to_string(q.dim())};
    const rvq::index_options o = index_options_of(a, q, metric, norm);
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
          ix.wide() ? ix.model().encode_batch(
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
    print_index_summary(a, ix, o, secs, out);
  });
}

}  // namespace index_command_impl
}  // namespace

const command index_command{
    "index",
    "encode a database into a searchable index of codes (.rvqi)",
    index_command_impl::run,
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
