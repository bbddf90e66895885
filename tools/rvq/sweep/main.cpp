// rvq sweep: trains and evaluates a grid of RVQ configurations (layers x codewords x element x
// storage x beam) on one data set, and says which configuration fits which budget.
//
// Work is grouped by trained model: without --refine, residual k-means makes the first l layers
// of an L-layer model exactly the l-layer model, so each K is trained once at the grid's largest
// L and every shorter L is a prefix of it; with --refine R every (L, K) is trained on its own
// (joint refinement changes all layers). Each model's points (beam widths, quantized elements)
// are evaluated on the test rows. results.csv is rewritten atomically after every point, so an
// interrupted sweep resumes where it stopped (points already in the file are skipped).
#include "sweep.hpp"

#include <rvq/parallel/thread_pool.hpp>

#include <algorithm>
#include <filesystem>

namespace rvq_cli {

using namespace sweep;

namespace {
int run(const args& a) {
  const std::string in = a.need("input"), test_path = a.need("test"), dir = a.need("out");
  grid g;
  g.layers = a.number_list("layers", 1, 256);
  g.codewords = a.number_list("codewords", 2, 65536);
  g.beams = a.number_list("beams", 1, 1024);
  g.icms = a.number_list("icm", 0, 1000);
  g.elements = split(a.get("elements"), ',');
  g.storages = split(a.get("storages"), ',');
  for (const auto& e : g.elements) {
    rvq::element_id id{};
    if (!rvq::parse_element(e.c_str(), id) || id == rvq::element_id::binary || id == rvq::element_id::f16 ||
        id == rvq::element_id::bf16)
      throw usage_error{"sweep: --elements takes f32, int8, q15, q7, int4, int2; got '" + e + "'"};
  }
  for (const auto& s : g.storages)
    if (s != "dense" && s != "pq" && s != "rpq")
      throw usage_error{"sweep: --storages takes dense, pq, rpq; got '" + s + "'"};
  g.max_bits = a.number_or("max-bits", 0, 1, 1u << 20);
  g.budget_bytes = a.number_or("budget-bytes", 0, 1, ~std::size_t{0} >> 1);
  const std::size_t jobs = a.number("jobs", 1, 256);
  settings st;
  st.iterations = a.number("iterations", 0, 100000);
  st.refine = a.number("refine", 0, 1000);
  st.seed = a.number("seed", 0, ~std::size_t{0} >> 1);
  const std::size_t train_rows = a.number("train-rows", 1, ~std::size_t{0} >> 1);
  const std::size_t test_rows = a.number("test-rows", 1, ~std::size_t{0} >> 1);
  const std::size_t calib_rows = a.number("calibration-rows", 1, ~std::size_t{0} >> 1);

  const auto train = read_matrix(in);
  const auto test_all = read_matrix(test_path);
  if (test_all.cols() != train.cols())
    throw data_error{test_path + ": vectors have " + std::to_string(test_all.cols()) + " dimensions, " + in + " has " +
                     std::to_string(train.cols())};
  const std::size_t d = train.cols();
  st.train_name = base_name(in);
  st.test_name = base_name(test_path);
  st.train_shape[0] = train.rows(), st.train_shape[1] = d;
  st.test_shape[0] = test_all.rows(), st.test_shape[1] = d;
  st.train_rows = std::min(train_rows, train.rows());
  st.test_rows = std::min(test_rows, test_all.rows());
  st.calibration_rows = std::min(calib_rows, st.train_rows);
  for (std::size_t k : g.codewords)
    if (k > st.train_rows)
      throw data_error{in + ": K = " + std::to_string(k) + " is above the training rows used (" +
                       std::to_string(st.train_rows) + "); lower --codewords or raise --train-rows"};

  // Evenly spaced test and calibration rows.
  auto spaced = [&](const rvq::io::ndarray<float>& x, std::size_t m) {
    rvq::io::ndarray<float> out;
    out.shape = {m, d};
    out.values.resize(m * d);
    for (std::size_t i = 0; i < m; ++i) {
      const float* row = x.values.data() + (i * x.rows() / m) * d;
      std::copy(row, row + d, out.values.begin() + static_cast<std::ptrdiff_t>(i * d));
    }
    return out;
  };
  const auto test = spaced(test_all, st.test_rows);
  const auto calib = spaced(train, st.calibration_rows);

  // The output folder, its settings and the points already measured.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) throw data_error{dir + ": cannot create the output folder"};
  const std::string settings_path = dir + "/settings.txt", csv_path = dir + "/results.csv";
  for (const std::string& own : {settings_path, csv_path, dir + "/report.md"})
    for (const std::string& input : {in, test_path})
      if (rvq::io::same_file(own, input))
        throw data_error{input + ": is " + own + ", which the sweep writes; give another --out"};
  run_state rs;
  rs.csv_path = csv_path;
  rs.results = read_results(csv_path);
  if (file_exists(settings_path)) {
    const std::string old = read_text(settings_path);
    if (old != st.text())
      throw data_error{settings_path + ": the results in " + dir + " were measured with other data or options:\n" +
                       old + "now:\n" + st.text() + "rerun with the same options to resume, or give another --out"};
  } else if (!rs.results.empty()) {
    throw data_error{csv_path + ": results without " + settings_path + "; delete the folder or give another --out"};
  }
  write_text(settings_path, st.text());

  // The points left to run, grouped by trained model.
  std::set<std::string> done;
  for (const point& p : rs.results) done.insert(p.key());
  std::vector<unit> units;
  std::size_t skipped_beam = 0, skipped_budget = 0, skipped_storage = 0;
  for (std::size_t k : g.codewords)
    for (std::size_t l : g.layers) {
      std::vector<point> todo;
      for (const auto& e : g.elements)
        for (const auto& s : g.storages)
          for (std::size_t b : g.beams)
            for (std::size_t icm : g.icms) {
              point p;
              p.layers = l, p.codewords = k, p.element = e, p.storage = s, p.beam = b, p.icm = icm;
              if (s != "dense" && e != "f32" && e != "int8") {
                ++skipped_storage;
                continue;
              }
              if (b > k || (s == "dense" && e != "f32" && (b > 1 || icm > 0)) || (e != "f32" && icm > 0)) {
                ++skipped_beam;
                continue;
              }
              if ((g.max_bits && l * rvq::code_bits(k) > g.max_bits) ||
                  (g.budget_bytes && estimated_bytes(p, d) > g.budget_bytes)) {
                ++skipped_budget;
                continue;
              }
              if (!done.count(p.key())) todo.push_back(p);
            }
      if (todo.empty()) continue;
      if (st.refine == 0 && !units.empty() && units.back().codewords == k) {
        units.back().layers = std::max(units.back().layers, l);
        units.back().todo.insert(units.back().todo.end(), todo.begin(), todo.end());
      } else {
        units.push_back(unit{k, l, todo});
      }
    }
  // Largest models first, so parallel jobs finish together.
  std::stable_sort(units.begin(), units.end(),
                   [](const unit& x, const unit& y) { return x.codewords * x.layers > y.codewords * y.layers; });
  for (const unit& u : units) rs.total += u.todo.size();
  rs.quiet = a.flag("quiet") != 0;
  rs.tty = RVQ_CLI_ISATTY(2) != 0;
  if (!rs.quiet)
    std::fprintf(stderr, "sweep: %zu points to run (%zu already in %s), %zu trainings, %zu job%s\n", rs.total,
                 rs.results.size(), csv_path.c_str(), units.size(), jobs, jobs > 1 ? "s" : "");

  // Each job trains and evaluates whole models, taking the next one when done (the thread pool of
  // the rvq::threads<N> strategy); training and encoding inside a job are sequential.
  if (!units.empty()) {
    rvq::thread_pool pool(std::min(jobs, units.size()));
    std::atomic<std::size_t> next{0};
    pool.run(pool.size(), [&](std::size_t) {
      for (;;) {
        const std::size_t u = next++;
        if (u >= units.size() || rs.failed) return;
        try {
          run_unit(units[u], st, train, calib, test, in, rs);
        } catch (...) {
          rs.failed = true;
          throw;
        }
      }
    });
  }
  if (rs.tty && !rs.quiet) std::fputs("\r\033[K", stderr);

  std::string note;
  if (a.flag("no-plots"))
    note = "Plots were not drawn (--no-plots). Draw them with `python3 tools/plot_sweep.py " + dir + "`.";
  else
    note = draw_plots(dir);
  std::string command = "rvq sweep";
  for (const std::string& w : a.words) command += " " + w;
  write_report(dir, st, rs.results, g, note, command);
  if (!rs.quiet) {
    std::printf("sweep: %zu points in %s/results.csv (%zu run now", rs.results.size(), dir.c_str(), rs.finished);
    if (skipped_beam)
      std::printf(", %zu grid points skipped: integer elements encode greedily without ICM, and beam is at most K",
                  skipped_beam);
    if (skipped_storage)
      std::printf(", %zu grid points skipped: pq/rpq sub-codebooks are f32 or int8", skipped_storage);
    if (skipped_budget) std::printf(", %zu over the budget", skipped_budget);
    std::printf("); report: %s/report.md\n", dir.c_str());
    if (!note.empty()) std::printf("%s\n", note.c_str());
  }
  return 0;
}

}  // namespace

const command sweep_command{
    "sweep",
    "train and evaluate a design-space grid on one data set: DIR/results.csv, plots, report.md; resumable "
    "(docs/design-space.md)",
    run,
    {
        opt::input("TRAIN.npy", "training vectors"),
        opt::reads("test", "TEST.npy", "test vectors", true),
        {"out", "DIR", "", "the folder of results.csv, report.md and plots", true},
        {"budget-bytes", "N", "", "report the best configuration within N stored bytes"},
        {"max-bits", "B", "", "skip points above B bits per vector"},
        {"jobs", "J", "1", "points evaluated at once"},
        {"layers", "L1,L2,..", "1,2,3,4,6,8,12,16", "layer counts"},
        {"codewords", "K1,K2,..", "16,64,256,1024", "codewords per layer"},
        {"elements", "E1,E2,..", "f32,int8,q15,int4", "element types (f32, int8, q15, q7, int4, int2)"},
        {"storages", "S1,S2,..", "dense", "storages (dense, pq, rpq)"},
        {"beams", "B1,B2,..", "1,4,8", "beam widths"},
        {"icm", "N1,N2,..", "0", "rounds of ICM after the search (rvq encode --icm; f32 points only)"},
        {"train-rows", "N", "100000", "training rows used"},
        {"test-rows", "N", "5000", "test rows used"},
        opt::iterations("10"),
        {"refine", "R", "0", "rounds of joint refinement (each (L, K) then trains on its own)"},
        opt::seed(),
        {"calibration-rows", "N", "5000", "calibration rows of quantized elements"},
        opt::flag("no-plots", "skip the plots (matplotlib)"),
        opt::quiet("no progress"),
    }};

}  // namespace rvq_cli
