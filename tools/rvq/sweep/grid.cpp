// rvq sweep: the grid, a trained model per unit and every point measured on it.
#include "sweep.hpp"

#include <algorithm>
#include <cmath>

namespace rvq_cli::sweep {
namespace {

using f32_quantizer = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential>>;

/// Test MSE, encode time (best of a few runs of at least 0.2 s) and cost of one quantizer at the
/// point's beam width and ICM rounds (beam 1 and no ICM for integer elements).
template <class Q>
void measure(const Q& q, const rvq::io::ndarray<float>& test, point& p, bool integer = false) {
  rvq::eval_options o;
  o.beam = integer ? 1 : p.beam;
  o.icm_rounds = integer ? 0 : p.icm;
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
  if (!rvq::io::visit_grid_element(qc.element, as))
    throw data_error{std::string("the sweep does not evaluate ") + rvq::to_string(qc.element)};
}

}  // namespace

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
          measure(*q, test, p);
        } else {
          auto q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::rpq>>::from_product(*pc);
          if (!q) throw data_error{p.label() + ": " + rvq::describe(q.error())};
          measure(*q, test, p);
        }
      } else if (p.element == "f32") {
        measure(*prefix, test, p);
      } else {
        rvq::quantize_options qo;
        rvq::parse_element(p.element.c_str(), qo.element);
        qo.calibration_rows = st.calibration_rows;
        rvq::quantized_codebooks qc;
        rvq::quantize_report rep;
        const rvq::status s = rvq::quantize_codebooks(*prefix, calib.view(), qo, qc, &rep);
        if (!s) throw data_error{"quantizing " + p.label() + ": " + rvq::describe(s)};
        with_integer(qc, [&](const auto& q) { measure(q, test, p, true); });
        p.codebook_bytes = rep.quantized_bytes;  // values as stored, with their scales and zero points
      }
      rs.record(p);
    }
  }
}

}  // namespace rvq_cli::sweep
