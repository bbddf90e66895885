/// @file calibrate.hpp
/// @brief Post-training quantization (PTQ): float codebooks to int8/q15/q7/int4/int2/binary (or
/// f16/bf16), calibrated on sample data; optional refitting in the quantized domain.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>
#include "../element/quantized.hpp"
#include "../quantizer.hpp"

namespace rvq {

/// @ingroup element
/// @brief How a group's clipping range is chosen.
enum class calibration : std::uint8_t {
  minmax,      ///< the group's extreme values (no clipping)
  percentile,  ///< the `percentile`-th percentile of |value| (symmetric) or of each tail (asymmetric)
  mse          ///< the clipping range that minimizes the group's quantization MSE
};

/// Names of the calibration methods (reports, the CLI's --calibration).
inline constexpr named<calibration> calibration_names[] = {
    {"minmax", calibration::minmax}, {"percentile", calibration::percentile}, {"mse", calibration::mse}};

/// Name of a calibration method.
constexpr const char* to_string(calibration c) noexcept { return name_of(calibration_names, c); }

/// @ingroup element
/// @brief Options of quantize_codebooks().
struct quantize_options {
  element_id element = element_id::int8;      ///< target element
  calibration method = calibration::mse;      ///< clipping of codeword values and activations
  granularity group = granularity::codeword;  ///< which values share a scale
  bool symmetric = true;                      ///< zero points 0 (q7, q15 and binary always are)
  bool pow2 = false;                          ///< round scales to powers of two (q7, q15 always do)
  double percentile = 99.99;                  ///< for calibration::percentile
  std::size_t refit = 0;                      ///< k-means steps in the quantized domain afterwards
  rounding mode = rounding::half_up;          ///< rounding of every rescale of the integer encode
  std::size_t calibration_rows = 20000;       ///< rows of the calibration data used at most (evenly spaced)
};

/// @ingroup element
/// @brief What quantize_codebooks() measured (data figures on the calibration rows; -1: not measured).
struct quantize_report {
  double weight_mse = 0;              ///< mean squared error of the codeword values
  double weight_mse_unrounded = -1;   ///< the same with scales not rounded to powers of two (when pow2)
  double data_mse_float = -1;         ///< reconstruction MSE of the float model (greedy)
  double data_mse = -1;               ///< reconstruction MSE of the quantized model, its own encoder
  double data_mse_unrounded = -1;     ///< the same without power-of-two rounding (int8/int4/int2 with pow2)
  double data_mse_before_refit = -1;  ///< data_mse before refitting (when refit > 0)
  double code_agreement = -1;         ///< fraction of codes equal to the float model's
  std::size_t float_bytes = 0;        ///< codeword bytes in f32
  std::size_t quantized_bytes = 0;    ///< codeword bytes quantized, plus scales and zero points
};

namespace detail::calib {

struct qparams {
  float scale = 1.0f;
  std::int32_t zero = 0;
};

/// Symmetric integer limit: values in [-qsym, qsym] (int8: 127, int4: 7, int2: 1, q15: 32767).
inline int qsym(element_id e) { return info_of(e).qmax; }

/// The element's quantization rule (integer elements other than binary).
inline std::int32_t quantize_value(float v, const qparams& p, int qmin, int qmax) {
  return rvq::detail::quantize(element_id::int8, v, p.scale, p.zero, qmin, qmax);
}

inline double group_mse(const std::vector<float>& v, const qparams& p, int qmin, int qmax) {
  double e = 0;
  for (float x : v) {
    const double d = x - static_cast<double>(p.scale) * (quantize_value(x, p, qmin, qmax) - p.zero);
    e += d * d;
  }
  return e;
}

/// Percentile (0..100) of a copy of v.
inline float percentile_of(std::vector<float> v, double pct) {
  if (v.empty()) return 0.0f;
  const double last = static_cast<double>(v.size() - 1);
  const std::size_t i = static_cast<std::size_t>(std::min(last, std::floor(pct / 100.0 * last + 0.5)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

inline float round_pow2_up(float s) {
  return std::ldexp(1.0f, std::ilogb(s) + (std::ldexp(1.0f, std::ilogb(s)) < s ? 1 : 0));
}
inline float round_pow2_down(float s) { return std::ldexp(1.0f, std::ilogb(s)); }

/// Scale and zero point of a group of values.
inline qparams params_for(const std::vector<float>& v, const quantize_options& o, bool pow2, bool symmetric) {
  const element_info in = info_of(o.element);
  if (o.element == element_id::binary) {  // L2-optimal scale of sign quantization: mean |v|
    double s = 0;
    for (float x : v) s += std::fabs(x);
    s = v.empty() ? 1.0 : s / static_cast<double>(v.size());
    return {s > 0 ? static_cast<float>(s) : 1.0f, 0};
  }
  const int qs = qsym(o.element);
  float lo = 0, hi = 0, amax = 0;
  for (float x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    amax = std::max(amax, std::fabs(x));
  }
  auto make = [&](float clip_lo, float clip_hi) -> qparams {
    qparams p;
    if (symmetric) {
      const float c = std::max(std::fabs(clip_lo), std::fabs(clip_hi));
      p.scale = c > 0 ? c / static_cast<float>(qs) : 1.0f;
    } else {
      const float w = clip_hi - clip_lo;
      p.scale = w > 0 ? w / static_cast<float>(in.qmax - in.qmin) : 1.0f;
      p.zero = static_cast<std::int32_t>(
          std::min<double>(in.qmax, std::max<double>(in.qmin, std::nearbyint(static_cast<double>(in.qmin) -
                                                                             static_cast<double>(clip_lo / p.scale)))));
    }
    return p;
  };
  auto mse = [&](const qparams& p) { return group_mse(v, p, symmetric ? -qs : in.qmin, symmetric ? qs : in.qmax); };
  auto to_pow2 = [&](qparams p, bool pick_best) {
    const float up = round_pow2_up(p.scale), down = round_pow2_down(p.scale);
    qparams a = p, b = p;
    a.scale = up;
    b.scale = down;
    if (!symmetric) {
      const float clip_lo = -p.scale * static_cast<float>(p.zero - in.qmin);
      a = make(clip_lo, clip_lo + up * static_cast<float>(in.qmax - in.qmin));
      a.scale = up;
      b = make(clip_lo, clip_lo + down * static_cast<float>(in.qmax - in.qmin));
      b.scale = down;
    }
    if (!pick_best) return a;
    return mse(a) <= mse(b) ? a : b;
  };
  qparams best;
  switch (o.method) {
    case calibration::minmax:
      best = make(lo, hi);
      break;
    case calibration::percentile: {
      if (symmetric) {
        std::vector<float> a(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
        const float c = percentile_of(a, o.percentile);
        best = make(-c, c);
      } else {
        best = make(percentile_of(v, 100.0 - o.percentile), percentile_of(v, o.percentile));
      }
      break;
    }
    case calibration::mse: {
      double be = std::numeric_limits<double>::infinity();
      const float mid = symmetric ? 0.0f : 0.5f * (lo + hi);
      for (int i = 0; i <= 60; ++i) {
        const float a = 1.0f - 0.0125f * static_cast<float>(i);  // 1.0 down to 0.25
        const qparams p = make(mid - a * (mid - lo), mid + a * (hi - mid));
        const double e = mse(p);
        if (e < be) be = e, best = p;
      }
      break;
    }
  }
  if (!(amax > 0)) best = {1.0f, 0};
  if (pow2) best = to_pow2(best, o.method == calibration::mse);
  return best;
}

/// Quantizes codebooks (floats) into q's values/scales/zeros with options o.
inline void quantize_values(const float* cw, quantized_codebooks& q, const quantize_options& o, bool pow2) {
  const element_info in = info_of(q.element);
  const std::size_t d = q.dim;
  const std::size_t ng = q.groups();
  std::vector<std::vector<float>> groups(ng);
  std::size_t gk = 0;
  for (std::size_t l = 0; l < q.k.size(); ++l)
    for (std::size_t c = 0; c < q.k[l]; ++c, ++gk)
      for (std::size_t t = 0; t < d; ++t) groups[q.group_of(l, gk, t)].push_back(cw[gk * d + t]);
  q.scales.assign(ng, 1.0f);
  q.zeros.assign(ng, 0);
  for (std::size_t g = 0; g < ng; ++g) {
    const qparams p = params_for(groups[g], o, pow2, q.symmetric);
    q.scales[g] = p.scale;
    q.zeros[g] = p.zero;
  }
  const int qs = qsym(q.element);
  q.values.assign(gk * d, 0);
  gk = 0;
  for (std::size_t l = 0; l < q.k.size(); ++l)
    for (std::size_t c = 0; c < q.k[l]; ++c, ++gk)
      for (std::size_t t = 0; t < d; ++t) {
        const float v = cw[gk * d + t];
        const std::size_t g = q.group_of(l, gk, t);
        if (q.element == element_id::binary)
          q.values[gk * d + t] = rvq::detail::quantize(element_id::binary, v, q.scales[g], 0, 0, 1);
        else
          q.values[gk * d + t] =
              quantize_value(v, {q.scales[g], q.zeros[g]}, q.symmetric ? -qs : in.qmin, q.symmetric ? qs : in.qmax);
      }
}

inline double weight_mse(const float* cw, const quantized_codebooks& q) {
  const std::vector<float> deq = q.dequantize();
  double e = 0;
  for (std::size_t i = 0; i < deq.size(); ++i)
    e += (static_cast<double>(cw[i]) - deq[i]) * (static_cast<double>(cw[i]) - deq[i]);
  return deq.empty() ? 0.0 : e / static_cast<double>(deq.size());
}

/// Evenly spaced rows of x, at most n.
inline std::vector<float> sample_rows(matrix_view<const float> x, std::size_t n) {
  const std::size_t rows = x.rows(), take = n && rows > n ? n : rows;
  std::vector<float> out(take * x.cols());
  for (std::size_t i = 0; i < take; ++i) {
    const std::size_t r = take == rows ? i : i * rows / take;
    std::copy(x.row(r), x.row(r) + x.cols(), out.begin() + static_cast<std::ptrdiff_t>(i * x.cols()));
  }
  return out;
}

/// Fixed-point grid and per-layer activation shifts, from residuals of the float model of the
/// dequantized codebooks on the sample (or from the codebooks alone when there is no sample).
template <class Metric>
status calibrate_activations(const std::vector<float>& sample, std::size_t rows, quantized_codebooks& q,
                             const quantize_options& o) {
  const std::size_t d = q.dim, nl = q.k.size();
  const std::vector<float> deq = q.dequantize();
  double maxabs = 0;
  for (float v : sample) maxabs = std::max(maxabs, static_cast<double>(std::fabs(v)));
  for (std::size_t i = 0; i < q.k[0] * d; ++i) maxabs = std::max(maxabs, static_cast<double>(std::fabs(deq[i])));
  if (rows == 0) {  // no data: the input is bounded by the sum of each layer's largest value
    maxabs = 0;
    std::size_t off = 0;
    for (std::size_t l = 0; l < nl; ++l) {
      double m = 0;
      for (std::size_t i = 0; i < q.k[l] * d; ++i) m = std::max(m, static_cast<double>(std::fabs(deq[off + i])));
      maxabs += m;
      off += q.k[l] * d;
    }
  }
  if (!(maxabs > 0)) maxabs = 1;
  q.input_frac = 23 - std::ilogb(maxabs);  // |x| * 2^input_frac < 2^24: 7 bits of headroom in int32
  q.act_shift.assign(nl, 0);
  if (q.element == element_id::binary) return {};
  const element_info in = info_of(q.element);
  const double amax = in.act_bits == 16 ? 32767.0 : 127.0;
  const bool per_dim = q.group == granularity::dim;
  const double fscale = per_dim && !in.pow2_scale ? 32768.0 : 1.0;

  using fq = quantizer<config<f32, Metric, dense, sequential, scalar>>;
  auto model = fq::from_codebooks(span<const float>(deq), span<const std::size_t>(q.k), d);
  if (!model) return model.error();
  std::vector<float> res(sample);
  std::vector<std::uint16_t> codes(rows * nl);
  if (rows)
    RVQ_TRY(model->encode_batch(matrix_view<const float>(res.data(), rows, d),
                                matrix_view<std::uint16_t>(codes.data(), rows, nl)));
  std::size_t off = 0;
  for (std::size_t l = 0; l < nl; ++l) {
    // effective activation magnitudes: |r_t| (per-dimension groups: times s_t / max s)
    std::vector<float> e;
    e.reserve(rows * d);
    double smax = 0;
    if (per_dim)
      for (std::size_t t = 0; t < d; ++t) smax = std::max(smax, static_cast<double>(q.scales[l * d + t]));
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t t = 0; t < d; ++t)
        e.push_back(static_cast<float>(res[i * d + t] * (per_dim ? q.scales[l * d + t] / smax : 1.0)));
    double m = 0;
    if (rows == 0) {
      for (std::size_t j = l; j < nl; ++j) {  // bound: the remaining layers' largest values
        std::size_t o2 = 0;
        for (std::size_t jj = 0; jj < j; ++jj) o2 += q.k[jj] * d;
        double mm = 0;
        for (std::size_t i = 0; i < q.k[j] * d; ++i) mm = std::max(mm, static_cast<double>(std::fabs(deq[o2 + i])));
        m += mm;
      }
    } else if (o.method == calibration::minmax) {
      for (float v : e) m = std::max(m, static_cast<double>(std::fabs(v)));
    } else {
      std::vector<float> a(e.size());
      for (std::size_t i = 0; i < e.size(); ++i) a[i] = std::fabs(e[i]);
      m = percentile_of(a, o.method == calibration::percentile ? o.percentile : 100.0);
    }
    if (!(m > 0)) m = std::ldexp(1.0, -q.input_frac);
    int shift = static_cast<int>(std::ceil(std::log2(m * std::ldexp(fscale, q.input_frac) / amax)));
    if (o.method == calibration::mse && rows) {  // finer shifts clip more, round less
      double best = std::numeric_limits<double>::infinity();
      const int top = shift;
      for (int s = top; s >= top - 6; --s) {
        const double unit = std::ldexp(1.0, s) / std::ldexp(fscale, q.input_frac);
        double err = 0;
        for (std::size_t i = 0; i < e.size(); i += 1 + e.size() / 200000) {
          const double a = std::min(amax, std::max(-amax - 1, std::nearbyint(e[i] / unit)));
          err += (e[i] - a * unit) * (e[i] - a * unit);
        }
        if (err < best) best = err, shift = s;
      }
    }
    q.act_shift[l] = shift;
    for (std::size_t i = 0; i < rows; ++i) {  // residual after this layer
      const float* c = deq.data() + (off + codes[i * nl + l]) * d;
      for (std::size_t t = 0; t < d; ++t) res[i * d + t] -= c[t];
    }
    off += q.k[l];
  }
  return {};
}

/// MSE and codes of an integer quantizer on the sample.
template <class Element, class Metric>
status measure(const quantized_codebooks& q, const std::vector<float>& sample, std::size_t rows,
               std::vector<std::uint16_t>& codes, double& mse) {
  using iq = quantizer<config<Element, Metric, dense, sequential, scalar>>;
  auto m = iq::from_quantized(q);
  if (!m) return m.error();
  const std::size_t d = q.dim, nl = q.k.size();
  codes.assign(rows * nl, 0);
  RVQ_TRY(m->encode_batch(matrix_view<const float>(sample.data(), rows, d),
                          matrix_view<std::uint16_t>(codes.data(), rows, nl)));
  std::vector<float> out(d);
  double e = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    RVQ_TRY(m->decode(span<const std::uint16_t>(codes.data() + i * nl, nl), span<float>(out)));
    for (std::size_t t = 0; t < d; ++t) e += (sample[i * d + t] - out[t]) * (sample[i * d + t] - out[t]);
  }
  mse = rows ? e / static_cast<double>(rows) : 0.0;
  return {};
}

template <class Metric>
status measure_any(const quantized_codebooks& q, const std::vector<float>& s, std::size_t rows,
                   std::vector<std::uint16_t>& codes, double& mse) {
  switch (q.element) {
    case element_id::int8:
      return measure<int8, Metric>(q, s, rows, codes, mse);
    case element_id::q15:
      return measure<q15, Metric>(q, s, rows, codes, mse);
    case element_id::q7:
      return measure<q7, Metric>(q, s, rows, codes, mse);
    case element_id::int4:
      return measure<int4, Metric>(q, s, rows, codes, mse);
    case element_id::int2:
      return measure<int2, Metric>(q, s, rows, codes, mse);
    default:
      return {errc::unsupported, "not an integer element"};
  }
}

/// Measures data MSE with the right encoder for q's element (float search for f16/bf16).
template <class Metric>
status measure_model(const quantized_codebooks& q, const std::vector<float>& s, std::size_t rows,
                     std::vector<std::uint16_t>& codes, double& mse) {
  if (q.element == element_id::binary) return measure<binary, hamming>(q, s, rows, codes, mse);
  if (info_of(q.element).is_integer) return measure_any<Metric>(q, s, rows, codes, mse);
  using fq = quantizer<config<f32, Metric, dense, sequential, scalar>>;
  const std::vector<float> deq = q.dequantize();
  auto m = fq::from_codebooks(span<const float>(deq), span<const std::size_t>(q.k), q.dim);
  if (!m) return m.error();
  const std::size_t d = q.dim, nl = q.k.size();
  codes.assign(rows * nl, 0);
  RVQ_TRY(
      m->encode_batch(matrix_view<const float>(s.data(), rows, d), matrix_view<std::uint16_t>(codes.data(), rows, nl)));
  std::vector<float> out(d);
  double e = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    RVQ_TRY(m->decode(span<const std::uint16_t>(codes.data() + i * nl, nl), span<float>(out)));
    for (std::size_t t = 0; t < d; ++t) e += (s[i * d + t] - out[t]) * (s[i * d + t] - out[t]);
  }
  mse = rows ? e / static_cast<double>(rows) : 0.0;
  return {};
}

/// The quantization of cw (no refit): values, then activations.
template <class Metric>
status quantize_once(const float* cw, const std::vector<std::size_t>& k, std::size_t dim,
                     const std::vector<float>& sample, std::size_t rows, const quantize_options& o, bool pow2,
                     quantized_codebooks& q) {
  q = quantized_codebooks{};
  q.element = o.element;
  q.group = o.group;
  q.mode = o.mode;
  q.dim = dim;
  q.k = k;
  const element_info in = info_of(o.element);
  q.symmetric = o.symmetric || !in.affine;
  std::size_t total = 0;
  for (auto v : k) total += v;
  if (!in.is_integer) {
    q.values.resize(total * dim);
    for (std::size_t i = 0; i < q.values.size(); ++i)
      q.values[i] = o.element == element_id::f16 ? float_to_f16(cw[i]) : float_to_bf16(cw[i]);
    return {};
  }
  quantize_values(cw, q, o, pow2);
  if (o.element == element_id::binary) return calibrate_activations<l2>(sample, rows, q, o);
  return calibrate_activations<Metric>(sample, rows, q, o);
}

/// One k-means step in the quantized domain: assignments by the quantized encoder, each codeword
/// moved to the mean of the residuals (before its layer, under the quantized model) it was chosen for.
inline void refit_step(std::vector<float>& cw, const quantized_codebooks& q, const std::vector<float>& s,
                       std::size_t rows, const std::vector<std::uint16_t>& codes) {
  const std::size_t d = q.dim, nl = q.k.size();
  const std::vector<float> deq = q.dequantize();
  std::vector<float> res(s);
  std::size_t off = 0;
  for (std::size_t l = 0; l < nl; ++l) {
    std::vector<double> sum(q.k[l] * d, 0.0);
    std::vector<std::size_t> cnt(q.k[l], 0);
    for (std::size_t i = 0; i < rows; ++i) {
      const std::size_t c = codes[i * nl + l];
      ++cnt[c];
      for (std::size_t t = 0; t < d; ++t) sum[c * d + t] += res[i * d + t];
    }
    for (std::size_t c = 0; c < q.k[l]; ++c)
      if (cnt[c])
        for (std::size_t t = 0; t < d; ++t)
          cw[(off + c) * d + t] = static_cast<float>(sum[c * d + t] / static_cast<double>(cnt[c]));
    for (std::size_t i = 0; i < rows; ++i) {
      const float* c = deq.data() + (off + codes[i * nl + l]) * d;
      for (std::size_t t = 0; t < d; ++t) res[i * d + t] -= c[t];
    }
    off += q.k[l];
  }
}

}  // namespace detail::calib

/**
 * @ingroup element
 * @brief Post-training quantization of float codebooks to `opt.element`.
 * @param model       the float model (its metric must be l2 or ip; hamming is implied for binary)
 * @param calibration sample rows (N x D) for the activation ranges and the report; may be empty
 *                    (activation ranges then come from the codebooks' magnitudes, and the
 *                    report has no data figures)
 * @param opt         element, method, granularity, symmetric, pow2, refit, rounding
 * @param out         the quantized codebooks
 * @param report      optional: weight and data MSE, the cost of power-of-two rounding, the
 *                    refit's gain, code agreement with the float model, bytes
 * @return invalid_argument (an option that does not apply: asymmetric q7/q15/binary, per-dimension
 * binary, f32 target), dimension_mismatch, non_finite, or an encode error.
 */
template <class Config>
status quantize_codebooks(const quantizer<Config>& model, matrix_view<const float> calibration,
                          const quantize_options& opt, quantized_codebooks& out, quantize_report* report = nullptr) {
  using Metric = typename Config::metric;
  static_assert(!quantizer<Config>::is_integer, "rvq::quantize_codebooks: the input model is a float model");
  static_assert(std::is_same<Metric, l2>::value || std::is_same<Metric, ip>::value,
                "rvq::quantize_codebooks: models with the l2 or ip metric");
  if (model.layers() == 0) return {errc::empty_input, msg::model_no_codebooks};
  const element_info in = info_of(opt.element);
  if (opt.element == element_id::f32)
    return {errc::invalid_argument, "the model is already f32; choose another element"};
  if (in.bits == 0) return {errc::invalid_argument, "unknown element"};
  if (in.is_integer && !opt.symmetric && !in.affine)
    return {errc::invalid_argument, "q7, q15 and binary are symmetric (zero point 0); drop --asymmetric"};
  if (opt.element == element_id::binary && opt.group == granularity::dim)
    return {errc::invalid_argument, "binary codewords take one scale per codeword, layer or tensor, not per dimension"};
  if (!calibration.valid()) return {errc::invalid_argument, "malformed calibration view"};
  if (!calibration.empty() && calibration.cols() != model.dim())
    return {errc::dimension_mismatch, "calibration rows differ from the model dimension"};
  for (std::size_t i = 0; i < calibration.rows(); ++i)
    if (detail::first_non_finite(calibration.row(i), calibration.cols()) != calibration.cols())
      return {errc::non_finite, "calibration data contains NaN or Inf", i, "row"};
  if (!(opt.percentile > 50.0 && opt.percentile <= 100.0))
    return {errc::invalid_argument, "percentile must be in (50, 100]"};

  const std::size_t d = model.dim(), nl = model.layers();
  std::vector<std::size_t> k(nl);
  std::size_t total = 0;
  for (std::size_t l = 0; l < nl; ++l) total += (k[l] = model.codewords(l));
  std::vector<float> cw(model.codebook_data(), model.codebook_data() + total * d);
  const std::vector<float> sample =
      calibration.empty() ? std::vector<float>{} : detail::calib::sample_rows(calibration, opt.calibration_rows);
  const std::size_t rows = sample.size() / d;
  const bool pow2 = opt.pow2 || in.pow2_scale;

  quantized_codebooks q;
  RVQ_TRY(detail::calib::quantize_once<Metric>(cw.data(), k, d, sample, rows, opt, pow2, q));
  quantize_report rep;
  rep.weight_mse = detail::calib::weight_mse(cw.data(), q);
  rep.float_bytes = total * d * 4;
  if (pow2 && in.is_integer && opt.element != element_id::binary) {
    quantized_codebooks u;
    RVQ_TRY(detail::calib::quantize_once<Metric>(cw.data(), k, d, sample, rows, opt, false, u));
    rep.weight_mse_unrounded = detail::calib::weight_mse(cw.data(), u);
    if (rows && !in.pow2_scale) {
      std::vector<std::uint16_t> c;
      RVQ_TRY(detail::calib::measure_model<Metric>(u, sample, rows, c, rep.data_mse_unrounded));
    }
  }
  if (rows) {
    std::vector<std::uint16_t> fcodes(rows * nl), qcodes;
    RVQ_TRY(model.encode_batch(matrix_view<const float>(sample.data(), rows, d),
                               matrix_view<std::uint16_t>(fcodes.data(), rows, nl)));
    std::vector<float> dec(d);
    double e = 0;
    for (std::size_t i = 0; i < rows; ++i) {
      RVQ_TRY(model.decode(span<const std::uint16_t>(fcodes.data() + i * nl, nl), span<float>(dec)));
      for (std::size_t t = 0; t < d; ++t) e += (sample[i * d + t] - dec[t]) * (sample[i * d + t] - dec[t]);
    }
    rep.data_mse_float = e / static_cast<double>(rows);
    RVQ_TRY(detail::calib::measure_model<Metric>(q, sample, rows, qcodes, rep.data_mse));
    if (opt.refit) {
      rep.data_mse_before_refit = rep.data_mse;
      std::vector<float> fit = cw;
      for (std::size_t step = 0; step < opt.refit; ++step) {
        detail::calib::refit_step(fit, q, sample, rows, qcodes);
        quantized_codebooks r;
        RVQ_TRY(detail::calib::quantize_once<Metric>(fit.data(), k, d, sample, rows, opt, pow2, r));
        std::vector<std::uint16_t> rc;
        double m = 0;
        RVQ_TRY(detail::calib::measure_model<Metric>(r, sample, rows, rc, m));
        if (!(m < rep.data_mse)) break;  // keep the best
        q = std::move(r);
        qcodes = std::move(rc);
        rep.data_mse = m;
        rep.weight_mse = detail::calib::weight_mse(fit.data(), q);
      }
    }
    std::size_t same = 0;
    for (std::size_t i = 0; i < fcodes.size(); ++i) same += fcodes[i] == qcodes[i];
    rep.code_agreement = static_cast<double>(same) / static_cast<double>(fcodes.size());
  }
  rep.quantized_bytes = q.value_bytes() + q.param_bytes();
  RVQ_TRY(q.validate());
  out = std::move(q);
  if (report) *report = rep;
  return {};
}

}  // namespace rvq
