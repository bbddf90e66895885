// rvq train: residual k-means and joint refinement of a model on training vectors.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {

int run(const args& a) {
  const std::string in = a.need("input"), out = a.need("output");
  rvq::train_options opt;
  opt.layers = a.number("layers", 1, rvq::io::model_max_layers);
  opt.codewords = a.number_list("codewords", 1, 65536);
  if (opt.codewords.size() != 1 && opt.codewords.size() != opt.layers)
    throw usage_error{"train: --codewords takes one K or one K per layer (" + std::to_string(opt.layers) + ")"};
  opt.iterations = a.number("iterations", 0, 100000);
  opt.seed = a.number("seed", 0, ~std::size_t{0} >> 1);
  opt.progressive_steps = a.number("progressive", 0, 64);
  opt.progressive_iterations = a.number("progressive-iterations", 0, 100000);
  opt.refine = a.number("refine", 0, 1000);
  opt.icm_rounds = a.number("icm", 0, 1000);
  opt.refine_holdout = a.number("holdout", 0, ~std::size_t{0} >> 1);
  opt.sample = a.number("sample", 0, ~std::size_t{0} >> 1);
  const std::string init = a.get("init");
  if (init == "kmeans++")
    opt.init = rvq::kmeans_init::kmeanspp;
  else if (init == "greedy-kmeans++")
    opt.init = rvq::kmeans_init::greedy_kmeanspp;
  else if (init == "random")
    opt.init = rvq::kmeans_init::random;
  else
    throw usage_error{"train: --init must be kmeans++, greedy-kmeans++ or random, got '" + init + "'"};
  opt.beam = beam_option(a, *std::min_element(opt.codewords.begin(), opt.codewords.end()));
  const rvq::metric_id metric = parse_metric(a);
  const bool progress = !a.flag("quiet") && RVQ_CLI_ISATTY(2);

  // Only the rows train() would keep are read (rvq::sample_rows()), so a file larger than memory
  // trains on its sample with the same result as if it were read whole.
  row_source<float> src(in);
  src.need_matrix();
  const std::size_t rows = opt.sample != 0 && src.rows() > opt.sample ? opt.sample : src.rows();
  for (std::size_t k : opt.codewords)
    if (k > rows)
      throw data_error{in + ": K = " + std::to_string(k) + " is above the number of training vectors (" +
                       std::to_string(rows) + (rows < src.rows() ? ", --sample" : "") + ")"};
  rvq::io::ndarray<float> x;
  x.shape = {rows, src.cols()};
  if (rows < src.rows()) {
    const std::vector<std::size_t> picked = rvq::sample_rows(src.rows(), rows, opt.seed);
    src.gather(picked, x.values);
    for (std::size_t j = 0; j < rows; ++j)  // name the file's row, not the sample's
      if (rvq::detail::first_non_finite(x.values.data() + j * src.cols(), src.cols()) != src.cols())
        fail_file(in, rvq::status{rvq::errc::non_finite, rvq::msg::training_non_finite, picked[j], "row"});
  } else {
    src.take_all(x.values);
  }
  if (progress)
    opt.progress = [](const rvq::train_progress& p) {
      if (p.layer == p.layers)
        std::fprintf(stderr, "\rrefinement round %zu/%zu  mse %.6g                    ", p.iteration + 1, p.iterations,
                     p.mse);
      else
        std::fprintf(stderr, "\rlayer %zu/%zu  iteration %zu/%zu  dims %zu  mse %.6g   ", p.layer + 1, p.layers,
                     p.iteration + 1, p.iterations, p.dims, p.mse);
      std::fflush(stderr);
    };
  return with_metric(metric, [&](auto m) {
    using config = rvq::config<rvq::f32, decltype(m)>;
    const auto t0 = std::chrono::steady_clock::now();
    rvq::train_report report;
    auto q = rvq::train<config>(x.view(), opt, &report);
    if (progress) std::fputs("\r\033[K", stderr);
    if (!q) fail_file(in, q.error());
    save(*q, out);
    if (!a.flag("quiet")) {
      double norm = 0;
      for (float v : x.values) norm += double(v) * double(v);
      norm /= double(x.rows());
      say("trained %zu layers x %zu codewords x %zu dims on %zu vectors in %.1f s\n", q->layers(), q->max_codewords(),
          q->dim(), report.rows_used, seconds_since(t0));
      for (std::size_t l = 0; l < report.layer_mse.size(); ++l)
        say("  layer %zu: train mse %.6g  rel_mse %.6g\n", l + 1, report.layer_mse[l], report.layer_mse[l] / norm);
      if (report.reseeded) say("  re-seeded %zu empty clusters\n", report.reseeded);
      const auto& rf = report.refinement;
      if (!rf.round_mse.empty()) {
        say("  refinement (beam %zu%s): rel_mse %.6g -> %.6g in %zu rounds", opt.beam,
            opt.icm_rounds ? (", icm " + std::to_string(opt.icm_rounds)).c_str() : "", rf.mse_before / norm,
            rf.mse_after / norm, rf.round_mse.size());
        if (rf.holdout_before > 0)
          say(", held-out rel_mse %.6g -> %.6g", rf.holdout_before / norm, rf.holdout_after / norm);
        if (rf.dead_reseeded) say(", %zu dead codewords re-seeded", rf.dead_reseeded);
        say(", %zu dead left\n", rf.dead_remaining);
      }
      say("wrote %s (%zu bits per vector)\n", out.c_str(), q->bits_per_vector());
    }
    return 0;
  });
}

}  // namespace

const command train_command{
    "train",
    "train a model on vectors X: residual k-means layer by layer, then joint refinement",
    run,
    {
        opt::input("X.npy", "training vectors (N x D)"),
        opt::output(),
        {"layers", "L", "8", "layers"},
        {"codewords", "K|K1,K2,..", "256", "codewords per layer: one K, or one per layer"},
        opt::beam("beam width of the encoder the model is refined for"),
        opt::iterations("25", "k-means iterations per layer"),
        opt::seed(),
        opt::metric(),
        {"init", "kmeans++|greedy-kmeans++|random", "kmeans++", "k-means initialisation"},
        {"progressive", "S", "10", "l2: k-means grows through principal dimensions in S steps first; 0 turns it off"},
        {"progressive-iterations", "N", "10", "k-means iterations of each progressive step"},
        {"refine", "R", "20", "rounds of joint least-squares refinement for the --beam encoder (l2); 0 turns it off"},
        {"icm", "N", "0", "refine for the --beam encoder followed by N rounds of ICM (rvq encode --icm N)"},
        {"holdout", "H", "0",
         "every H-th training row stays out of the refinement's fits and judges its rounds (20: 5%); 0: none"},
        {"sample", "N", "500000", "train on a seeded subsample of larger inputs; 0: all rows"},
        opt::quiet("no progress and no summary"),
    }};

}  // namespace rvq_cli
