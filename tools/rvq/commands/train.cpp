// rvq train: residual k-means and joint refinement of a model on training vectors.
#include "train.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace train_command_impl {

int run(const args& a) {
  const std::string in = a.need("input"), out = a.need("output");
  train_setup setup = read_train_options(a);
  rvq::train_options& opt = setup.opt;

  // Only the rows train() would keep are read (rvq::sample_rows()), so a file larger than memory
  // trains on its sample with the same result as if it were read whole.
  row_source<float> src(in);
  src.need_matrix();
  const std::size_t rows = training_rows(opt, src.rows());
  check_codewords(opt, rows, src.rows(), in);
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
  const bool progress = setup.progress;
  if (progress) opt.progress = print_train_progress;
  return with_metric(setup.metric, [&](auto m) {
    using config = rvq::config<rvq::f32, decltype(m)>;
    const auto t0 = std::chrono::steady_clock::now();
    rvq::train_report report;
    auto q = rvq::train<config>(x.view(), opt, &report);
    if (progress) std::fputs("\r\033[K", stderr);
    if (!q) fail_file(in, q.error());
    save(*q, out);
    if (!a.flag("quiet")) {
      const double norm = rvq::detail::exact_total(x.view(), true, rvq::local_rows(x.rows())) / double(x.rows());
      print_train_summary(*q, report, opt, norm, seconds_since(t0), out);
    }
    return 0;
  });
}

}  // namespace train_command_impl
}  // namespace

const command train_command{
    "train",
    "train a model on vectors X: residual k-means layer by layer, then joint refinement",
    train_command_impl::run,
    {
        opt::input("X.npy", "training vectors (N x D)"),
        opt::output(),
        {"layers", "L", "8", "layers"},
        {"codewords", "K|K1,K2,..", "256", "codewords per layer: one K, or one per layer"},
        opt::beam("beam width of the encoder the model is trained and refined for"),
        {"beam-entries", "E", "0",
         "with --beam: each layer trains on the residuals of every row's best E beam entries; 0: all (within --sample "
         "rows in all)"},
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
