// rvq sweep: report.md, the best configuration per budget and the Pareto fronts.
#include "sweep.hpp"

#include <algorithm>
#include <cmath>

namespace rvq_cli::sweep {
namespace {

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

}  // namespace

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
      return x.codewords == k && x.bits <= target && x.element == "f32" && x.storage == "dense" && x.beam == 1 &&
             x.icm == 0;
    });
    std::size_t lmax = 0;
    for (const point& x : r)
      if (x.codewords == k && x.bits <= target && x.element == "f32" && x.beam == 1 && x.icm == 0)
        lmax = std::max(lmax, x.layers);
    if (!f || lmax == 0) continue;
    auto at = [&](const std::string& e, bool widest) {
      const point* best = nullptr;
      for (const point& x : r)
        if (x.codewords == k && x.layers == lmax && x.element == e && x.storage == "dense" && x.icm == 0 &&
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
                      (p->beam > 1 ? " B=" + std::to_string(p->beam) : "") +
                      (p->icm ? " ICM=" + std::to_string(p->icm) : "") + ") |"
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

}  // namespace rvq_cli::sweep
