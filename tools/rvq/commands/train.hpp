// The parts of `rvq train` that `rvq-mpi train` shares: the options, the progress line and the
// summary (tools/rvq/commands/train.cpp declares the command).
#pragma once
#include "../common.hpp"

namespace rvq_cli {

/// The options of `rvq train`, read from the command line.
struct train_setup {
  rvq::train_options opt;
  rvq::metric_id metric = rvq::metric_id::l2;
  bool progress = false;  ///< a progress line on standard error
};

inline train_setup read_train_options(const args& a) {
  train_setup s;
  rvq::train_options& opt = s.opt;
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
  opt.init = parse_choice(a, "init", rvq::kmeans_init_names);
  opt.beam = beam_option(a, *std::min_element(opt.codewords.begin(), opt.codewords.end()));
  opt.beam_entries = a.number("beam-entries", 0, 65536);
  s.metric = parse_metric(a);
  s.progress = !a.flag("quiet") && RVQ_CLI_ISATTY(2);
  return s;
}

/// The training rows of a file of `rows` rows: all, or the sample train() would keep.
inline std::size_t training_rows(const rvq::train_options& opt, std::size_t rows) {
  return opt.sample != 0 && rows > opt.sample ? opt.sample : rows;
}

/// The data error of a K above the training rows (`rows` of the file's `file_rows`).
inline void check_codewords(const rvq::train_options& opt, std::size_t rows, std::size_t file_rows,
                            const std::string& in) {
  for (std::size_t k : opt.codewords)
    if (k > rows)
      throw data_error{in + ": K = " + std::to_string(k) + " is above the number of training vectors (" +
                       std::to_string(rows) + (rows < file_rows ? ", --sample" : "") + ")"};
}

/// The progress line: one k-means iteration or refinement round.
inline void print_train_progress(const rvq::train_progress& p) {
  if (p.layer == p.layers)
    std::fprintf(stderr, "\rrefinement round %zu/%zu  mse %.6g                    ", p.iteration + 1, p.iterations,
                 p.mse);
  else
    std::fprintf(stderr, "\rlayer %zu/%zu  iteration %zu/%zu  dims %zu  mse %.6g   ", p.layer + 1, p.layers,
                 p.iteration + 1, p.iterations, p.dims, p.mse);
  std::fflush(stderr);
}

/// The summary of a training run; `norm` is the mean squared norm of the training rows.
template <class Q>
void print_train_summary(const Q& q, const rvq::train_report& report, const rvq::train_options& opt, double norm,
                         double seconds, const std::string& out, const char* where = "") {
  say("trained %zu layers x %zu codewords x %zu dims on %zu vectors%s in %.1f s\n", q.layers(), q.max_codewords(),
      q.dim(), report.rows_used, where, seconds);
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
  say("wrote %s (%zu bits per vector)\n", out.c_str(), q.bits_per_vector());
}

}  // namespace rvq_cli
