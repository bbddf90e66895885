// rvq eval: error, bits, bytes and speed of a model on test vectors (rvq::evaluate).
#include "eval.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace eval_command_impl {

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
    const std::size_t n = x.rows(), d = q.dim();
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
    print_eval(a, q, info, ev->report(), eo, load_s);
    return 0;
  };
  return a.flag("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

}  // namespace eval_command_impl
}  // namespace

const command eval_command{"eval",
                           "measure a model on vectors: mse, rel_mse per layer, bits, bytes and speed",
                           eval_command_impl::run,
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
