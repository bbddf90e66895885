// rvq sweep: trains and evaluates a grid of RVQ configurations (layers x codewords x element x
// storage x beam) on one data set, and says which configuration fits which budget.
//
// Work is grouped by trained model: without --refine, residual k-means makes the first l layers
// of an L-layer model exactly the l-layer model, so each K is trained once at the grid's largest
// L and every shorter L is a prefix of it; with --refine R every (L, K) is trained on its own
// (joint refinement changes all layers). Each model's points (beam widths, quantized elements)
// are evaluated on the test rows. results.csv is rewritten atomically after every point, so an
// interrupted sweep resumes where it stopped (points already in the file are skipped).
#include "common.hpp"

#include <rvq/parallel/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <filesystem>
#include <sstream>
#if __has_include(<sys/wait.h>)
#include <sys/wait.h>
#endif

namespace rvq_cli {
namespace {

const char* const csv_header =
    "layers,codewords,element,storage,beam,bits_per_vector,codebook_bytes,scratch_bytes,macs_per_vector,"
    "lookups_per_vector,mse,rel_mse,encode_us_per_vector,train_seconds";
constexpr std::size_t csv_fields = 14;

/// One configuration of the grid and, once run, what it measured.
struct point {
  std::size_t layers = 0, codewords = 0, beam = 1;
  std::string element = "f32", storage = "dense";
  std::size_t bits = 0, codebook_bytes = 0, scratch_bytes = 0, macs = 0, lookups = 0;
  double mse = 0, rel_mse = 0, encode_us = 0, train_seconds = 0;

  std::string key() const {
    return std::to_string(layers) + "," + std::to_string(codewords) + "," + element + "," + storage + "," +
           std::to_string(beam);
  }
  std::string label() const {
    return "L=" + std::to_string(layers) + " K=" + std::to_string(codewords) + " " + element + " " + storage +
           (beam > 1 ? " beam " + std::to_string(beam) : "");
  }
  std::string csv() const {
    char buf[256];
    std::snprintf(buf, sizeof buf, ",%zu,%zu,%zu,%zu,%zu,%.9g,%.9g,%.6g,%.3f", bits, codebook_bytes, scratch_bytes,
                  macs, lookups, mse, rel_mse, encode_us, train_seconds);
    return key() + buf;
  }
  /// Grid order: layers, codewords, element, storage, beam.
  bool operator<(const point& o) const {
    if (layers != o.layers) return layers < o.layers;
    if (codewords != o.codewords) return codewords < o.codewords;
    if (element != o.element) return element < o.element;
    if (storage != o.storage) return storage < o.storage;
    return beam < o.beam;
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

std::string base_name(const std::string& p) {
  const std::size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool file_exists(const std::string& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec);
}

/// The whole file as text (rvq::io::read_file; a file that cannot be read is an error naming it).
std::string read_text(const std::string& p) {
  std::vector<unsigned char> bytes;
  const rvq::status s = rvq::io::read_file(p, bytes);
  if (!s) fail_file(p, s);
  return std::string(bytes.begin(), bytes.end());
}

void write_text(const std::string& path, const std::string& text) {
  rvq::io::atomic_writer w;
  rvq::status s = w.open(path);
  if (s) {
    w.write(text.data(), text.size());
    s = w.commit();
  }
  if (!s) fail_file(path, s);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t at = s.find(sep, pos);
    out.push_back(s.substr(pos, at == std::string::npos ? std::string::npos : at - pos));
    if (at == std::string::npos) return out;
    pos = at + 1;
  }
}

/// Reads the points of an earlier run; any malformed line is an error naming the file and line.
std::vector<point> read_results(const std::string& path) {
  std::vector<point> out;
  if (!file_exists(path)) return out;
  std::istringstream in(read_text(path));
  std::string line;
  std::size_t no = 0;
  auto bad = [&](const std::string& why) -> data_error {
    return data_error{path + ":" + std::to_string(no) + ": " + why + " (delete the file to start over)"};
  };
  while (std::getline(in, line)) {
    ++no;
    if (no == 1) {
      if (line != csv_header) throw bad("not a results file of this rvq version (unexpected header)");
      continue;
    }
    if (line.empty()) continue;
    const auto f = split(line, ',');
    if (f.size() != csv_fields) throw bad("expected " + std::to_string(csv_fields) + " fields");
    point p;
    try {
      std::size_t used = 0;
      auto whole = [&](const std::string& v) {
        const unsigned long long n = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return static_cast<std::size_t>(n);
      };
      auto real = [&](const std::string& v) {
        const double d = std::stod(v, &used);
        if (used != v.size() || !std::isfinite(d)) throw std::invalid_argument(v);
        return d;
      };
      p.layers = whole(f[0]);
      p.codewords = whole(f[1]);
      p.element = f[2];
      p.storage = f[3];
      p.beam = whole(f[4]);
      p.bits = whole(f[5]);
      p.codebook_bytes = whole(f[6]);
      p.scratch_bytes = whole(f[7]);
      p.macs = whole(f[8]);
      p.lookups = whole(f[9]);
      p.mse = real(f[10]);
      p.rel_mse = real(f[11]);
      p.encode_us = real(f[12]);
      p.train_seconds = real(f[13]);
    } catch (const std::exception&) {
      throw bad("a field is not a number");
    }
    out.push_back(p);
  }
  return out;
}

/// The grid and the filters given on the command line.
struct grid {
  std::vector<std::size_t> layers, codewords, beams;
  std::vector<std::string> elements, storages;
  std::size_t max_bits = 0, budget_bytes = 0;  // 0: no limit
};

/// Bytes of a point's codebooks before it is run (exact for f32; integer elements add their scales).
/// Options of the pq/rpq points: 16 entries (b = 4) of 4-value sub-vectors; pq stores its
/// indices, rpq regenerates them from the seed; sub-codebooks f32 or int8 as the point's element.
rvq::compress_options product_options(const point& p) {
  rvq::compress_options o;
  o.storage = p.storage == "pq" ? rvq::storage_id::pq : rvq::storage_id::rpq;
  o.seeded = p.storage == "rpq";
  o.bits = 4;
  o.element = p.element == "int8" ? rvq::element_id::int8 : rvq::element_id::f32;
  return o;
}

std::size_t estimated_bytes(const point& p, std::size_t dim) {
  rvq::element_id e{};
  rvq::parse_element(p.element.c_str(), e);
  if (p.storage == "dense") return p.layers * p.codewords * dim * rvq::info_of(e).bits / 8;
  const std::size_t m = rvq::detail::default_subspaces(dim);
  return p.layers * (16 * dim * rvq::info_of(e).bits / 8 + (p.storage == "pq" ? p.codewords * m : 0));
}

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

using f32_quantizer = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential>>;

/// Test MSE, encode time (best of a few runs of at least 0.2 s) and cost of one quantizer at one beam width.
template <class Q>
void measure(const Q& q, const rvq::io::ndarray<float>& test, std::size_t beam, point& p) {
  rvq::eval_options o;
  o.beam = beam;
  o.per_layer = false;
  o.repeats = 5;
  o.min_seconds = 0.2;
  const auto r = rvq::evaluate(q, test.view(), o);
  if (!r) throw data_error{"evaluation of " + p.label() + " failed: " + rvq::describe(r.error())};
  p.mse = r->mse;
  p.rel_mse = r->rel_mse;
  p.encode_us = r->encode_seconds * 1e6 / double(r->vectors);
  p.codebook_bytes = r->footprint.codebook_bytes;
  p.scratch_bytes = r->footprint.scratch_bytes;
  p.macs = r->footprint.macs_per_vector;
  p.lookups = r->footprint.lookups_per_vector;
  p.bits = r->bits_per_vector;
}

/// Calls f(quantizer) with the integer quantizer of a quantized model.
template <class F>
void with_integer(const rvq::quantized_codebooks& qc, F&& f) {
  auto as = [&](auto e) {
    using iq = rvq::quantizer<rvq::config<decltype(e), rvq::l2, rvq::dense, rvq::sequential>>;
    auto q = iq::from_quantized(qc);
    if (!q) throw data_error{std::string("the ") + rvq::to_string(qc.element) + " model: " + rvq::describe(q.error())};
    f(*q);
  };
  if (!with_integer_element(qc.element, as))
    throw data_error{std::string("the sweep does not evaluate ") + rvq::to_string(qc.element)};
}

/// Trains the unit's model and evaluates its points.
void run_unit(const unit& u, const settings& st, const rvq::io::ndarray<float>& train,
              const rvq::io::ndarray<float>& calib, const rvq::io::ndarray<float>& test, const std::string& train_path,
              run_state& rs) {
  rvq::train_options o;
  o.layers = u.layers;
  o.codewords = {u.codewords};
  o.iterations = st.iterations;
  o.seed = st.seed;
  o.refine = st.refine;
  o.sample = st.train_rows;
  const auto t0 = std::chrono::steady_clock::now();
  auto model = rvq::train<f32_quantizer::config_type>(train.view(), o);
  if (!model) fail_file(train_path, model.error());
  const double train_s = seconds_since(t0);
  const std::size_t d = model->dim();

  std::vector<std::size_t> ls;
  for (const point& p : u.todo) ls.push_back(p.layers);
  std::sort(ls.begin(), ls.end());
  ls.erase(std::unique(ls.begin(), ls.end()), ls.end());
  for (std::size_t nl : ls) {
    if (rs.failed) return;
    const std::vector<std::size_t> ks(nl, u.codewords);
    auto prefix = f32_quantizer::from_codebooks(rvq::span<const float>(model->codeword(0, 0), nl * u.codewords * d),
                                                rvq::span<const std::size_t>(ks), d);
    if (!prefix) throw data_error{"the " + std::to_string(nl) + "-layer prefix: " + rvq::describe(prefix.error())};
    for (const point& todo : u.todo) {
      if (todo.layers != nl) continue;
      point p = todo;
      p.train_seconds = train_s;
      if (p.storage != "dense") {  // sub-codebooks fitted to the calibration rows
        auto pc = rvq::compress(*prefix, product_options(p), calib.view());
        if (!pc) throw data_error{"compressing " + p.label() + ": " + rvq::describe(pc.error())};
        if (p.storage == "pq") {
          auto q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>::from_product(*pc);
          if (!q) throw data_error{p.label() + ": " + rvq::describe(q.error())};
          measure(*q, test, p.beam, p);
        } else {
          auto q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::rpq>>::from_product(*pc);
          if (!q) throw data_error{p.label() + ": " + rvq::describe(q.error())};
          measure(*q, test, p.beam, p);
        }
      } else if (p.element == "f32") {
        measure(*prefix, test, p.beam, p);
      } else {
        rvq::quantize_options qo;
        rvq::parse_element(p.element.c_str(), qo.element);
        qo.calibration_rows = st.calibration_rows;
        rvq::quantized_codebooks qc;
        rvq::quantize_report rep;
        const rvq::status s = rvq::quantize_codebooks(*prefix, calib.view(), qo, qc, &rep);
        if (!s) throw data_error{"quantizing " + p.label() + ": " + rvq::describe(s)};
        with_integer(qc, [&](const auto& q) { measure(q, test, 1, p); });
        p.codebook_bytes = rep.quantized_bytes;  // values as stored, with their scales and zero points
      }
      rs.record(p);
    }
  }
}

// ---- report -------------------------------------------------------------------------------

std::string human_bytes(std::size_t b) {
  char buf[32];
  if (b >= (std::size_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1u << 20));
  else if (b >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%zu B", b);
  return buf;
}

std::string num(double v, const char* f = "%.4g") {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

/// The point of lowest MSE among those `keep` accepts (nullptr when none).
template <class Keep>
const point* best_of(const std::vector<point>& r, Keep&& keep) {
  const point* b = nullptr;
  for (const point& p : r)
    if (keep(p) && (!b || p.rel_mse < b->rel_mse)) b = &p;
  return b;
}

/// rel_mse values this close (relative) count as equal: an int8 or q15 model often matches its f32
/// original to the fifth digit, and the front should then show the smaller one, not the noise.
constexpr double mse_tolerance = 1e-4;

/// Points no other point beats on both `cost` and MSE, by increasing cost; among equal cost and
/// equal MSE the one with the fewest codebook bytes.
template <class Cost>
std::vector<const point*> pareto(const std::vector<point>& r, Cost&& cost) {
  std::vector<const point*> all;
  for (const point& p : r) all.push_back(&p);
  std::sort(all.begin(), all.end(), [&](const point* a, const point* b) {
    if (cost(*a) != cost(*b)) return cost(*a) < cost(*b);
    if (std::fabs(a->rel_mse - b->rel_mse) > mse_tolerance * std::max(a->rel_mse, b->rel_mse))
      return a->rel_mse < b->rel_mse;
    return a->codebook_bytes < b->codebook_bytes;
  });
  std::vector<const point*> front;
  for (const point* p : all)
    if (front.empty() || p->rel_mse < front.back()->rel_mse * (1.0 - mse_tolerance)) front.push_back(p);
  return front;
}

std::string row_of(const point& p) {
  return "| " + p.label() + " | " + std::to_string(p.bits) + " | " + human_bytes(p.codebook_bytes) + " | " +
         num(p.rel_mse) + " | " + num(p.encode_us, "%.2f") + " |";
}

void write_report(const std::string& dir, const settings& st, const std::vector<point>& r, const grid& g,
                  const std::string& plot_note, const std::string& command) {
  std::string m;
  m += "# RVQ design-space sweep\n\n";
  m += "Written by `" + command + "`.\n\n";
  m += "- training data: `" + st.train_name + "` (" + std::to_string(st.train_shape[0]) + " x " +
       std::to_string(st.train_shape[1]) + "), " +
       (st.train_rows < st.train_shape[0] ? std::to_string(st.train_rows) + " rows used (seeded subsample)"
                                          : std::string("every row used")) +
       "\n";
  m += "- test data: `" + st.test_name + "`, " + std::to_string(st.test_rows) + " rows evaluated\n";
  m += "- training: residual k-means, " + std::to_string(st.iterations) + " Lloyd iterations per layer, " +
       (st.refine ? std::to_string(st.refine) + " rounds of joint refinement (each (L, K) trained on its own)"
                  : std::string("no joint refinement (shorter models are prefixes of the longest)")) +
       ", seed " + std::to_string(st.seed) + "\n";
  m += "- integer elements: post-training quantization (mse calibration, per-codeword scales, " +
       std::to_string(st.calibration_rows) + " calibration rows), integer-only greedy encode\n";
  m += "- " + std::to_string(r.size()) +
       " points. `rel_mse` is the test MSE over the mean squared norm of the test vectors; `bytes` are "
       "the codebook values as stored (with scales); `us/vector` is one-core batch encode time on this machine.\n\n";
  std::size_t kmax = 0;
  for (const point& p : r) kmax = std::max(kmax, p.codewords);
  if (kmax && st.train_rows / kmax < 50)
    m += "**Note:** K = " + std::to_string(kmax) + " has only " + std::to_string(st.train_rows / kmax) +
         " training rows per codeword: large-K points may be limited by the data rather than by their shape "
         "(give more rows with --train-rows, or more data).\n\n";
  if (r.empty()) {
    m += "No results yet.\n";
    write_text(dir + "/report.md", m);
    return;
  }
  const std::string th =
      "| configuration | bits/vector | codebook bytes | rel_mse | us/vector |\n|---|---|---|---|---|\n";

  std::size_t max_bits = 0, max_bytes = 0;
  for (const point& p : r) max_bits = std::max(max_bits, p.bits), max_bytes = std::max(max_bytes, p.codebook_bytes);
  m += "## Best configuration for each budget of bits per vector\n\n" + th;
  std::vector<std::size_t> bit_budgets = {8, 16, 24, 32, 48, 64, 96, 128, 192, 256};
  if (g.max_bits) bit_budgets.push_back(g.max_bits);
  std::sort(bit_budgets.begin(), bit_budgets.end());
  bit_budgets.erase(std::unique(bit_budgets.begin(), bit_budgets.end()), bit_budgets.end());
  for (std::size_t b : bit_budgets) {
    const point* p = best_of(r, [&](const point& x) { return x.bits <= b; });
    if (p) m += "| **<= " + std::to_string(b) + " bits:** " + row_of(*p).substr(2) + "\n";
    if (b >= max_bits) break;  // every point fits: larger budgets repeat this row
  }
  m += "\n## Best configuration for each budget of codebook bytes\n\n" + th;
  std::vector<std::size_t> byte_budgets;
  for (std::size_t b = 1024; b <= (std::size_t{1} << 30); b *= 4) byte_budgets.push_back(b);
  if (g.budget_bytes) byte_budgets.push_back(g.budget_bytes);
  std::sort(byte_budgets.begin(), byte_budgets.end());
  byte_budgets.erase(std::unique(byte_budgets.begin(), byte_budgets.end()), byte_budgets.end());
  for (std::size_t b : byte_budgets) {
    const point* p = best_of(r, [&](const point& x) { return x.codebook_bytes <= b; });
    if (p) m += "| **<= " + human_bytes(b) + ":** " + row_of(*p).substr(2) + "\n";
    if (b >= max_bytes) break;
  }

  // A fixed bit budget: for each K, the longest model within it.
  const std::size_t target = g.max_bits ? g.max_bits : 64;
  m += "\n## At " + std::to_string(target) + " bits per vector: layers against codewords\n\n";
  m += "For each K, the most layers within " + std::to_string(target) +
       " bits (f32, dense; greedy and the widest beam; int8 greedy).\n\n";
  m += "| K | L | bits | f32 greedy rel_mse | f32 beam rel_mse | int8 rel_mse | f32 bytes | us/vector (greedy) |\n"
       "|---|---|---|---|---|---|---|---|\n";
  for (std::size_t k : g.codewords) {
    const point* f = best_of(r, [&](const point& x) {
      return x.codewords == k && x.bits <= target && x.element == "f32" && x.storage == "dense" && x.beam == 1;
    });
    std::size_t lmax = 0;
    for (const point& x : r)
      if (x.codewords == k && x.bits <= target && x.element == "f32" && x.beam == 1) lmax = std::max(lmax, x.layers);
    if (!f || lmax == 0) continue;
    auto at = [&](const std::string& e, bool widest) {
      const point* best = nullptr;
      for (const point& x : r)
        if (x.codewords == k && x.layers == lmax && x.element == e && x.storage == "dense" &&
            (widest ? (!best || x.beam > best->beam) : x.beam == 1))
          best = &x;
      return best;
    };
    const point* g1 = at("f32", false);
    const point* gb = at("f32", true);
    const point* i8 = at("int8", false);
    m += "| " + std::to_string(k) + " | " + std::to_string(lmax) + " | " + std::to_string(g1->bits) + " | " +
         num(g1->rel_mse) + " | " +
         (gb && gb->beam > 1 ? num(gb->rel_mse) + " (B=" + std::to_string(gb->beam) + ")" : "-") + " | " +
         (i8 ? num(i8->rel_mse) : "-") + " | " + human_bytes(g1->codebook_bytes) + " | " + num(g1->encode_us, "%.2f") +
         " |\n";
  }

  // A fixed flash budget: which element and storage win.
  std::vector<std::string> kinds;
  for (const point& p : r) {
    const std::string k = p.element + " " + p.storage;
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  m += "\n## At a codebook byte budget: element types and storages\n\n";
  m += "Lowest rel_mse of each element and storage within the budget (any L, K and beam), with its configuration.\n\n";
  m += "| budget |";
  for (const auto& k : kinds) m += " " + k + " |";
  m += "\n|---|";
  for (std::size_t i = 0; i < kinds.size(); ++i) m += "---|";
  m += "\n";
  for (std::size_t b : byte_budgets) {
    if (b > max_bytes && b / 4 >= max_bytes) break;
    std::string line = "| " + human_bytes(b) + " |";
    bool any = false;
    for (const auto& k : kinds) {
      const point* p =
          best_of(r, [&](const point& x) { return x.codebook_bytes <= b && x.element + " " + x.storage == k; });
      if (p) any = true;
      line += p ? " " + num(p->rel_mse) + " (L=" + std::to_string(p->layers) + " K=" + std::to_string(p->codewords) +
                      (p->beam > 1 ? " B=" + std::to_string(p->beam) : "") + ") |"
                : " - |";
    }
    if (any) m += line + "\n";
  }

  m += "\n## Pareto fronts\n\nNo other point has both a lower cost and a lower rel_mse.\n\n";
  auto front = [&](const char* title, auto cost, auto show) {
    m += "**" + std::string(title) + ":** ";
    bool first = true;
    for (const point* p : pareto(r, cost)) {
      m += (first ? "" : "; ") + p->label() + " (" + show(*p) + ", " + num(p->rel_mse) + ")";
      first = false;
    }
    m += "\n\n";
  };
  front(
      "bits per vector", [](const point& p) { return double(p.bits); },
      [](const point& p) { return std::to_string(p.bits) + " bits"; });
  front(
      "codebook bytes", [](const point& p) { return double(p.codebook_bytes); },
      [](const point& p) { return human_bytes(p.codebook_bytes); });
  front(
      "encode time", [](const point& p) { return p.encode_us; },
      [](const point& p) { return num(p.encode_us, "%.2f") + " us"; });

  m += "## Plots\n\n";
  if (plot_note.empty()) {
    m += "![rel_mse against bits per vector](mse_vs_bits.png)\n\n";
    m += "![rel_mse against bits per vector, f32 greedy, one line per K](mse_vs_bits_by_k.png)\n\n";
    m += "![rel_mse against codebook bytes](mse_vs_bytes.png)\n\n";
    m += "![rel_mse against multiply-accumulates per vector](mse_vs_macs.png)\n\n";
    m += "![encode time against rel_mse](time_vs_mse.png)\n";
  } else {
    m += plot_note + "\n";
  }
  write_text(dir + "/report.md", m);
}

// ---- plots --------------------------------------------------------------------------------

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs tools/plot_sweep.py on DIR; returns "" when the plots were drawn, else the reason.
std::string draw_plots(const std::string& dir) {
  std::vector<std::string> candidates;
  if (const char* e = std::getenv("RVQ_SWEEP_PLOT")) {
    candidates.push_back(e);  // the user's choice, and only it
  } else {
#ifdef RVQ_TOOLS_INSTALL_DIR
    candidates.push_back(std::string(RVQ_TOOLS_INSTALL_DIR) + "/plot_sweep.py");
#endif
#ifdef RVQ_TOOLS_SOURCE_DIR
    candidates.push_back(std::string(RVQ_TOOLS_SOURCE_DIR) + "/plot_sweep.py");
#endif
  }
  std::string script;
  for (const auto& c : candidates)
    if (file_exists(c)) {
      script = c;
      break;
    }
  if (script.empty())
    return "Plots were not drawn: tools/plot_sweep.py was not found" +
           (candidates.empty() ? std::string() : " (" + candidates.front() + ")") + "; set RVQ_SWEEP_PLOT to its path.";
  std::string python = "python3";
  if (const char* e = std::getenv("RVQ_PYTHON"))
    python = e;
  else if (file_exists("/usr/bin/python3"))
    python = "/usr/bin/python3";
  const std::string log = dir + "/plots.log";
  const std::string cmd =
      shell_quote(python) + " " + shell_quote(script) + " " + shell_quote(dir) + " > " + shell_quote(log) + " 2>&1";
  int rc = std::system(cmd.c_str());
#ifdef WEXITSTATUS
  rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
#endif
  const std::string again = "python3 " + script + " " + dir;
  if (rc == 0) return "";
  if (rc == 3)
    return "Plots were not drawn: matplotlib is not installed (Debian: `apt install python3-matplotlib`); the "
           "CSV and this report are complete. Draw them later with `" +
           again + "`.";
  return "Plots were not drawn: the plotting script failed (exit " + std::to_string(rc) + ", see " + log +
         "). Retry with `" + again + "`.";
}

}  // namespace

int cmd_sweep(int argc, char** argv) {
  const args a =
      parse(argc, argv,
            {"input", "test", "out", "layers", "codewords", "elements", "storages", "beams", "budget-bytes", "max-bits",
             "jobs", "train-rows", "test-rows", "iterations", "refine", "seed", "calibration-rows"},
            {"quiet", "no-plots"});
  if (!a.positional.empty()) throw usage_error{"sweep: unexpected argument '" + a.positional[0] + "'"};
  const std::string in = a.need("input"), test_path = a.need("test"), dir = a.need("out");
  grid g;
  g.layers = a.number_list("layers", "1,2,3,4,6,8,12,16", 1, 256);
  g.codewords = a.number_list("codewords", "16,64,256,1024", 2, 65536);
  g.beams = a.number_list("beams", "1,4,8", 1, 1024);
  g.elements = split(a.get("elements", "f32,int8,q15,int4"), ',');
  g.storages = split(a.get("storages", "dense"), ',');
  for (const auto& e : g.elements) {
    rvq::element_id id{};
    if (!rvq::parse_element(e.c_str(), id) || id == rvq::element_id::binary || id == rvq::element_id::f16 ||
        id == rvq::element_id::bf16)
      throw usage_error{"sweep: --elements takes f32, int8, q15, q7, int4, int2; got '" + e + "'"};
  }
  for (const auto& s : g.storages)
    if (s != "dense" && s != "pq" && s != "rpq")
      throw usage_error{"sweep: --storages takes dense, pq, rpq; got '" + s + "'"};
  g.max_bits = a.number("max-bits", 0, 1, 1u << 20);
  g.budget_bytes = a.number("budget-bytes", 0, 1, ~std::size_t{0} >> 1);
  const std::size_t jobs = a.number("jobs", 1, 1, 256);
  settings st;
  st.iterations = a.number("iterations", 10, 0, 100000);
  st.refine = a.number("refine", 0, 0, 1000);
  st.seed = a.number("seed", 1, 0, ~std::size_t{0} >> 1);
  const std::size_t train_rows = a.number("train-rows", 100000, 1, ~std::size_t{0} >> 1);
  const std::size_t test_rows = a.number("test-rows", 5000, 1, ~std::size_t{0} >> 1);
  const std::size_t calib_rows = a.number("calibration-rows", 5000, 1, ~std::size_t{0} >> 1);

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
          for (std::size_t b : g.beams) {
            point p;
            p.layers = l, p.codewords = k, p.element = e, p.storage = s, p.beam = b;
            if (s != "dense" && e != "f32" && e != "int8") {
              ++skipped_storage;
              continue;
            }
            if (b > k || (s == "dense" && e != "f32" && b > 1)) {
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
  rs.quiet = a.flags.count("quiet") != 0;
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
  if (a.flags.count("no-plots"))
    note = "Plots were not drawn (--no-plots). Draw them with `python3 tools/plot_sweep.py " + dir + "`.";
  else
    note = draw_plots(dir);
  std::string command = "rvq sweep";
  for (int i = 2; i < argc; ++i) command += std::string(" ") + argv[i];
  write_report(dir, st, rs.results, g, note, command);
  if (!rs.quiet) {
    std::printf("sweep: %zu points in %s/results.csv (%zu run now", rs.results.size(), dir.c_str(), rs.finished);
    if (skipped_beam)
      std::printf(", %zu grid points skipped: integer elements encode greedily, and beam is at most K", skipped_beam);
    if (skipped_storage)
      std::printf(", %zu grid points skipped: pq/rpq sub-codebooks are f32 or int8", skipped_storage);
    if (skipped_budget) std::printf(", %zu over the budget", skipped_budget);
    std::printf("); report: %s/report.md\n", dir.c_str());
    if (!note.empty()) std::printf("%s\n", note.c_str());
  }
  return 0;
}

}  // namespace rvq_cli
