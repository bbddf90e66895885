// rvq quantize: post-training quantization of an f32 model.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace quantize_command_impl {

int run(const args& a) {
  const std::string mp = a.need("model"), out = a.need("output"), el = a.need("element");
  rvq::quantize_options o;
  if (!rvq::parse_element(el.c_str(), o.element) || o.element == rvq::element_id::f32)
    throw usage_error{"quantize: --element must be int8, q15, q7, int4, int2, binary, f16 or bf16, got '" + el + "'"};
  o.method = parse_choice(a, "calibration", rvq::calibration_names);
  o.group = parse_choice(a, "granularity", rvq::granularity_names);
  o.pow2 = a.flag("pow2") != 0;
  o.symmetric = a.flag("asymmetric") == 0;
  o.refit = a.number("refit", 0, 100);
  o.calibration_rows = a.number("calibration-rows", 1, ~std::size_t{0} >> 1);
  {
    const std::string p = a.get("percentile");
    char* end = nullptr;
    o.percentile = std::strtod(p.c_str(), &end);
    if (p.empty() || *end != '\0' || !(o.percentile > 50.0 && o.percentile <= 100.0))
      throw usage_error{"quantize: --percentile must be a number in (50, 100], got '" + p + "'"};
  }
  o.mode = parse_choice(a, "rounding", rvq::rounding_names);
  const rvq::io::model_info info = single_model_header(mp);
  if (info.element != rvq::element_id::f32)
    throw data_error{mp + ": the model is already quantized (" + std::string(rvq::to_string(info.element)) +
                     "); quantize its f32 original"};
  if (info.metric != rvq::metric_id::l2 && info.metric != rvq::metric_id::ip)
    throw data_error{mp + ": quantization needs an l2 or ip model (this one is " + rvq::to_string(info.metric) + ")"};
  rvq::io::ndarray<float> x;
  std::string calib;
  if (a.has("calibrate-on")) {
    calib = a.get("calibrate-on");
    x = read_matrix(calib);
  }
  return with_model(mp, [&](const auto& q) -> int {
    using Q = std::decay_t<decltype(q)>;
    if constexpr (Q::is_product) {
      throw data_error{mp + ": a " + std::string(rvq::to_string(info.storage)) +
                       " model: quantize the dense model, or give int8 sub-codebooks with rvq compress --element int8"};
    } else if constexpr (Q::is_integer || std::is_same<typename Q::metric, rvq::cosine>::value) {
      throw data_error{mp + ": quantization needs an f32 model with the l2 or ip metric"};
    } else {
      if (!calib.empty()) check_dim(q, x, calib);
      rvq::quantized_codebooks qc;
      rvq::quantize_report rep;
      const auto t0 = std::chrono::steady_clock::now();
      const rvq::status s =
          rvq::quantize_codebooks(q, calib.empty() ? rvq::matrix_view<const float>() : x.view(), o, qc, &rep);
      if (!s) fail_file(calib.empty() ? mp : calib, s);
      const rvq::metric_id metric = o.element == rvq::element_id::binary ? rvq::metric_id::hamming : info.metric;
      const rvq::status ws = rvq::io::save_quantized(qc, metric, out);
      if (!ws) fail_file(out, ws);
      const double secs = seconds_since(t0);
      if (a.flag("json")) {
        say("{\"element\": \"%s\", \"granularity\": \"%s\", \"calibration\": \"%s\", \"symmetric\": %s, "
            "\"pow2\": %s, \"weight_mse\": %.9g, \"weight_mse_unrounded\": %.9g, \"data_mse_float\": %.9g, "
            "\"data_mse\": %.9g, \"data_mse_unrounded\": %.9g, \"data_mse_before_refit\": %.9g, "
            "\"code_agreement\": %.6f, \"float_bytes\": %zu, \"quantized_bytes\": %zu, \"seconds\": %.3f}\n",
            rvq::to_string(o.element), rvq::to_string(o.group), rvq::to_string(o.method),
            qc.symmetric ? "true" : "false", (o.pow2 || rvq::info_of(o.element).pow2_scale) ? "true" : "false",
            rep.weight_mse, rep.weight_mse_unrounded, rep.data_mse_float, rep.data_mse, rep.data_mse_unrounded,
            rep.data_mse_before_refit, rep.code_agreement, rep.float_bytes, rep.quantized_bytes, secs);
      } else if (!a.flag("quiet")) {
        say("quantized %s to %s (%s scales, %s calibration, %s%s) in %.1f s\n", mp.c_str(), rvq::to_string(o.element),
            rvq::to_string(o.group), rvq::to_string(o.method), qc.symmetric ? "symmetric" : "asymmetric",
            (o.pow2 || rvq::info_of(o.element).pow2_scale) ? ", power-of-two scales" : "", secs);
        say("  codeword bytes   %zu -> %zu (%.2fx smaller, scales included)\n", rep.float_bytes, rep.quantized_bytes,
            double(rep.float_bytes) / double(rep.quantized_bytes));
        say("  weight mse       %.6g", rep.weight_mse);
        if (rep.weight_mse_unrounded >= 0) say("  (%.6g without power-of-two rounding)", rep.weight_mse_unrounded);
        say("\n");
        if (rep.data_mse >= 0) {
          say("  data mse         %.6g vs float %.6g (%+.2f%%) on %s\n", rep.data_mse, rep.data_mse_float,
              100.0 * (rep.data_mse / rep.data_mse_float - 1.0), calib.c_str());
          if (rep.data_mse_unrounded >= 0)
            say("  power-of-two     costs %+.2f%% data mse (%.6g unrounded)\n",
                100.0 * (rep.data_mse / rep.data_mse_unrounded - 1.0), rep.data_mse_unrounded);
          if (rep.data_mse_before_refit >= 0)
            say("  refit            %.6g -> %.6g (%+.2f%%)\n", rep.data_mse_before_refit, rep.data_mse,
                100.0 * (rep.data_mse / rep.data_mse_before_refit - 1.0));
          say("  code agreement   %.2f%% of codes equal the float model's\n", 100.0 * rep.code_agreement);
        } else {
          say("  no --calibrate-on data: activation ranges bounded by the codebooks\n");
        }
        say("wrote %s\n", out.c_str());
      }
      return 0;
    }
  });
}

}  // namespace quantize_command_impl
}  // namespace

const command quantize_command{
    "quantize",
    "post-training quantization of an f32 model's codebooks (docs/quantization.md)",
    quantize_command_impl::run,
    {
        opt::model("an f32 model (l2 or ip)"),
        {"element", "int8|q15|q7|int4|int2|binary|f16|bf16", "", "the element type", true},
        opt::calibrate_on("calibration vectors (integer elements fit activation shifts on them)"),
        opt::output("Mq.rvq"),
        {"calibration", "minmax|percentile|mse", "mse", "how scales are chosen"},
        {"granularity", "tensor|layer|codeword|dim", "codeword", "what shares a scale"},
        opt::flag("pow2", "power-of-two scales (every rescale a shift)"),
        opt::flag("asymmetric", "zero points (default symmetric)"),
        {"percentile", "P", "99.99", "--calibration percentile: the percentile of |values| kept, in (50, 100]"},
        {"refit", "N", "0", "k-means steps in the quantized domain"},
        {"rounding", "half_up|half_to_even|truncate", "half_up", "rounding of every shift"},
        {"calibration-rows", "N", "20000", "calibration vectors used"},
        opt::json(),
        opt::quiet(),
    },
    "Integer models (int8, q15, q7, int4, int2, binary) encode integer-only and greedily (--beam 1)."};

}  // namespace rvq_cli
