// rvq sweep: the pieces the sweep's files share (tools/rvq/sweep/). The grid (grid.cpp) trains a
// model per unit and measures its points, the results file (results.cpp) keeps them and makes a
// sweep resumable, the report (report.cpp) and the plots (plots.cpp) present them, and main.cpp
// holds the command.
#pragma once
#include "../common.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace rvq_cli::sweep {

/// The first line of results.csv.
extern const char* const csv_header;
/// Fields of one results.csv line.
constexpr std::size_t csv_fields = 15;
/// The header of results.csv before the icm column (read back as icm 0).
extern const char* const csv_header_without_icm;

/// One configuration of the grid and, once run, what it measured.
struct point {
  std::size_t layers = 0, codewords = 0, beam = 1, icm = 0;  // icm: ICM rounds after the search
  std::string element = "f32", storage = "dense";
  std::size_t bits = 0, codebook_bytes = 0, scratch_bytes = 0, macs = 0, lookups = 0;
  double mse = 0, rel_mse = 0, encode_us = 0, train_seconds = 0;

  /// The grid coordinates: layers, codewords, element, storage, beam (as results.csv begins).
  std::string coordinates() const {
    return std::to_string(layers) + "," + std::to_string(codewords) + "," + element + "," + storage + "," +
           std::to_string(beam);
  }
  /// What identifies a point (a resumed sweep skips the points it has).
  std::string key() const { return coordinates() + "," + std::to_string(icm); }
  std::string label() const {
    return "L=" + std::to_string(layers) + " K=" + std::to_string(codewords) + " " + element + " " + storage +
           (beam > 1 ? " beam " + std::to_string(beam) : "") + (icm ? " icm " + std::to_string(icm) : "");
  }
  std::string csv() const {
    char buf[256];
    std::snprintf(buf, sizeof buf, ",%zu,%zu,%zu,%zu,%zu,%.9g,%.9g,%.6g,%.3f,%zu", bits, codebook_bytes, scratch_bytes,
                  macs, lookups, mse, rel_mse, encode_us, train_seconds, icm);
    return coordinates() + buf;
  }
  /// Grid order: layers, codewords, element, storage, beam, icm.
  bool operator<(const point& o) const {
    if (layers != o.layers) return layers < o.layers;
    if (codewords != o.codewords) return codewords < o.codewords;
    if (element != o.element) return element < o.element;
    if (storage != o.storage) return storage < o.storage;
    if (beam != o.beam) return beam < o.beam;
    return icm < o.icm;
  }
};

/// What a sweep's results depend on besides the grid: a resumed sweep must match it.
struct settings {
  std::string train_name, test_name;
  std::size_t train_shape[2] = {0, 0}, test_shape[2] = {0, 0};
  std::size_t train_rows = 0, test_rows = 0, iterations = 0, refine = 0, seed = 0, calibration_rows = 0;

  std::string text() const {
    std::string s;
    s += "train=" + train_name + " (" + std::to_string(train_shape[0]) + " x " + std::to_string(train_shape[1]) + ")\n";
    s += "test=" + test_name + " (" + std::to_string(test_shape[0]) + " x " + std::to_string(test_shape[1]) + ")\n";
    s += "train-rows=" + std::to_string(train_rows) + "\n";
    s += "test-rows=" + std::to_string(test_rows) + "\n";
    s += "iterations=" + std::to_string(iterations) + "\n";
    s += "refine=" + std::to_string(refine) + "\n";
    s += "seed=" + std::to_string(seed) + "\n";
    s += "calibration-rows=" + std::to_string(calibration_rows) + "\n";
    return s;
  }
};

/// The grid and the filters given on the command line.
struct grid {
  std::vector<std::size_t> layers, codewords, beams, icms;
  std::vector<std::string> elements, storages;
  std::size_t max_bits = 0, budget_bytes = 0;  // 0: no limit
};

/// The last component of a path.
std::string base_name(const std::string& p);
/// True when a file or folder exists at p.
bool file_exists(const std::string& p);
/// The whole file as text (a file that cannot be read is an error naming it).
std::string read_text(const std::string& p);
/// Writes the file atomically (an error names it).
void write_text(const std::string& path, const std::string& text);
/// The fields of s between separators.
std::vector<std::string> split(const std::string& s, char sep);
/// Reads the points of an earlier run; any malformed line is an error naming the file and line.
std::vector<point> read_results(const std::string& path);

/// One trained model and the points evaluated on it.
struct unit {
  std::size_t codewords = 0, layers = 0;
  std::vector<point> todo;
};

struct run_state {
  std::mutex m;
  std::vector<point> results;
  std::string csv_path;
  std::size_t total = 0, finished = 0;
  bool tty = false, quiet = false;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  std::atomic<bool> failed{false};

  void record(const point& p) {
    std::lock_guard<std::mutex> lock(m);
    results.push_back(p);
    std::sort(results.begin(), results.end());
    std::string text = std::string(csv_header) + "\n";
    for (const point& r : results) text += r.csv() + "\n";
    write_text(csv_path, text);
    ++finished;
    show(p.label() + "  rel_mse " + fmt(p.rel_mse));
  }
  void show(const std::string& what) {
    if (quiet) return;
    const double s = seconds_since(t0);
    char clock[32];
    std::snprintf(clock, sizeof clock, "%d:%02d", int(s) / 60, int(s) % 60);
    if (tty) {
      const std::size_t width = 24, fill = total ? finished * width / total : width;
      std::fprintf(stderr, "\r\033[K[%s%s] %zu/%zu %s  %s", std::string(fill, '#').c_str(),
                   std::string(width - fill, '.').c_str(), finished, total, clock, what.c_str());
    } else {
      std::fprintf(stderr, "sweep: %zu/%zu %s  %s\n", finished, total, clock, what.c_str());
    }
    std::fflush(stderr);
  }
  static std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", v);
    return b;
  }
};

/// Options of the pq/rpq points (see grid.cpp).
rvq::compress_options product_options(const point& p);
/// Bytes of a point's codebooks before it is run (exact for f32; integer elements add their scales).
std::size_t estimated_bytes(const point& p, std::size_t dim);
/// Trains the unit's model and evaluates its points.
void run_unit(const unit& u, const settings& st, const rvq::io::ndarray<float>& train,
              const rvq::io::ndarray<float>& calib, const rvq::io::ndarray<float>& test, const std::string& train_path,
              run_state& rs);
/// Writes DIR/report.md for the points r of grid g.
void write_report(const std::string& dir, const settings& st, const std::vector<point>& r, const grid& g,
                  const std::string& plot_note, const std::string& command);
/// Runs tools/plot_sweep.py on DIR; returns "" when the plots were drawn, else the reason.
std::string draw_plots(const std::string& dir);

}  // namespace rvq_cli::sweep
