/// @file quantized.hpp
/// @brief rvq::quantized_codebooks: codebooks after post-training quantization (PTQ).
///
/// A layer's codewords are integers `q` (or 16-bit float bits) with a scale and zero point per
/// *group*: one group for the whole model (granularity `tensor`), one per layer, one per codeword
/// or one per (layer, dimension). Value `t` of codeword `k` in group `g` means
/// `scale[g] * (q - zero[g])` (binary: `scale[g] * (2 q - 1)`). Integer encode also needs the
/// fixed-point grid of the residual (`input_frac` fractional bits) and, per layer, the shift that
/// takes a residual to that layer's activations (`act_shift`); calibration sets both from data.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <cmath>
#include <cstdint>
#include <vector>
#include "../core/status.hpp"
#include "element_traits.hpp"
#include "half.hpp"
#include "srs.hpp"

namespace rvq {

/// @ingroup element
/// @brief Which values share one scale and zero point.
enum class granularity : std::uint8_t {
  tensor = 0,    ///< one for the whole model
  layer = 1,     ///< one per layer
  codeword = 2,  ///< one per codeword
  dim = 3        ///< one per (layer, dimension)
};

/// Names of the granularities (files, reports, the CLI's --granularity).
inline constexpr named<granularity> granularity_names[] = {{"tensor", granularity::tensor},
                                                           {"layer", granularity::layer},
                                                           {"codeword", granularity::codeword},
                                                           {"dim", granularity::dim}};

/// Name of a granularity.
constexpr const char* to_string(granularity g) noexcept { return name_of(granularity_names, g); }

/// @ingroup element
/// @brief Codebooks of a non-f32 element type, with their quantization parameters.
struct quantized_codebooks {
  element_id element = element_id::int8;      ///< element type
  granularity group = granularity::codeword;  ///< scale/zero-point granularity
  bool symmetric = true;                      ///< zero points are all 0
  rounding mode = rounding::half_up;          ///< rounding of every integer rescale of the encode path
  std::size_t dim = 0;                        ///< D
  std::vector<std::size_t> k;                 ///< codewords per layer
  /// sum(k) * dim values, unpacked: integers in [qmin, qmax] (binary 0/1); f16/bf16: the bits.
  std::vector<std::int32_t> values;
  std::vector<float> scales;        ///< one per group
  std::vector<std::int32_t> zeros;  ///< one per group
  int input_frac = 0;               ///< fractional bits of the integer residual grid
  std::vector<int> act_shift;       ///< per layer: residual grid -> activation shift (integer elements)

  /// Layers.
  std::size_t layers() const noexcept { return k.size(); }
  /// Codewords of all layers.
  std::size_t total_codewords() const noexcept {
    std::size_t t = 0;
    for (auto v : k) t += v;
    return t;
  }
  /// Index of layer l's first codeword.
  std::size_t first_codeword(std::size_t l) const noexcept {
    std::size_t t = 0;
    for (std::size_t j = 0; j < l; ++j) t += k[j];
    return t;
  }
  /// Number of scale groups of a granularity for this shape.
  std::size_t groups() const noexcept { return group_count(group, k, dim); }
  /// Group of value t of the global codeword index gk in layer l.
  std::size_t group_of(std::size_t l, std::size_t gk, std::size_t t) const noexcept {
    switch (group) {
      case granularity::tensor:
        return 0;
      case granularity::layer:
        return l;
      case granularity::codeword:
        return gk;
      case granularity::dim:
        return l * dim + t;
    }
    return 0;
  }
  /// Groups of a granularity.
  static std::size_t group_count(granularity g, const std::vector<std::size_t>& k, std::size_t dim) noexcept {
    std::size_t total = 0;
    for (auto v : k) total += v;
    return g == granularity::tensor     ? 1
           : g == granularity::layer    ? k.size()
           : g == granularity::codeword ? total
                                        : k.size() * dim;
  }

  /// Bytes of one codeword's values in memory and files (each codeword starts on a byte).
  std::size_t row_bytes() const noexcept { return (dim * info_of(element).bits + 7) / 8; }
  /// Bytes of all codeword values.
  std::size_t value_bytes() const noexcept { return row_bytes() * total_codewords(); }
  /// Bytes of the scales and zero points.
  std::size_t param_bytes() const noexcept { return scales.size() * 4 + (symmetric ? 0 : zeros.size() * 4); }

  /// The real value of element t of global codeword gk (in layer l).
  float value(std::size_t l, std::size_t gk, std::size_t t) const noexcept {
    const std::int32_t q = values[gk * dim + t];
    switch (element) {
      case element_id::f32:
        return 0.0f;
      case element_id::f16:
        return f16_to_float(static_cast<std::uint16_t>(q));
      case element_id::bf16:
        return bf16_to_float(static_cast<std::uint16_t>(q));
      default: {
        const std::size_t g = group_of(l, gk, t);
        return detail::dequantize(element, q, scales[g], zeros[g]);
      }
    }
  }
  /// Every codeword as floats, layer after layer (sum(k) * dim values).
  std::vector<float> dequantize() const {
    std::vector<float> out(total_codewords() * dim);
    std::size_t gk = 0;
    for (std::size_t l = 0; l < k.size(); ++l)
      for (std::size_t c = 0; c < k[l]; ++c, ++gk)
        for (std::size_t t = 0; t < dim; ++t) out[gk * dim + t] = value(l, gk, t);
    return out;
  }

  /// Checks shapes, value ranges, scales (positive, finite; powers of two for q7/q15) and shifts.
  status validate() const {
    const element_info in = info_of(element);
    if (element == element_id::f32 || in.bits == 0) return {errc::invalid_argument, "not a quantized element type"};
    if (k.empty() || dim == 0) return {errc::empty_input, "quantized codebooks without layers or dimensions"};
    for (std::size_t l = 0; l < k.size(); ++l)
      if (k[l] == 0 || k[l] > 65536) return {errc::invalid_argument, msg::k_out_of_range, l, "layer"};
    if (values.size() != total_codewords() * dim)
      return {errc::dimension_mismatch, "quantized values differ from the sum over layers of K x D"};
    if (!in.is_integer) {
      for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i] < 0 || values[i] > 0xffff)
          return {errc::invalid_argument, "16-bit float value out of range", i, "element"};
      return {};
    }
    if (group == granularity::dim && element == element_id::binary)
      return {errc::invalid_argument,
              "binary codewords take one scale per codeword, layer or tensor, not per dimension"};
    if (scales.size() != groups() || zeros.size() != groups())
      return {errc::dimension_mismatch, "scales and zero points differ from the number of groups"};
    for (std::size_t i = 0; i < values.size(); ++i)
      if (values[i] < in.qmin || values[i] > in.qmax)
        return {errc::invalid_argument, "quantized value out of the element's range", i, "element"};
    for (std::size_t g = 0; g < scales.size(); ++g) {
      if (!(scales[g] > 0.0f) || !std::isfinite(scales[g]))
        return {errc::invalid_argument, "scale not positive and finite", g, "group"};
      if (in.pow2_scale) {
        int e = 0;
        if (std::frexp(scales[g], &e) != 0.5f)
          return {errc::invalid_argument, "q7/q15 scales must be powers of two", g, "group"};
      }
      if (zeros[g] < in.qmin || zeros[g] > in.qmax)
        return {errc::invalid_argument, "zero point out of the element's range", g, "group"};
      if ((symmetric || !in.affine) && zeros[g] != 0)
        return {errc::invalid_argument, "a symmetric element has a nonzero zero point", g, "group"};
    }
    if (act_shift.size() != k.size()) return {errc::dimension_mismatch, "one activation shift per layer is needed"};
    if (input_frac < -64 || input_frac > 64)
      return {errc::invalid_argument, "input fractional bits out of range (-64 to 64)"};
    for (std::size_t l = 0; l < k.size(); ++l)
      if (act_shift[l] < -64 || act_shift[l] > 64)
        return {errc::invalid_argument, "activation shift out of range (-64 to 64)", l, "layer"};
    return {};
  }

  /// Packs codeword gk's values into row_bytes() bytes (little-end first, two's complement).
  void pack_row(std::size_t gk, unsigned char* out) const noexcept {
    const unsigned bits = info_of(element).bits;
    const std::int32_t* v = values.data() + gk * dim;
    if (bits >= 8) {
      const std::size_t b = bits / 8;
      for (std::size_t t = 0; t < dim; ++t)
        for (std::size_t j = 0; j < b; ++j)
          out[t * b + j] = static_cast<unsigned char>((static_cast<std::uint32_t>(v[t]) >> (8 * j)) & 0xffu);
      return;
    }
    for (std::size_t i = 0; i < row_bytes(); ++i) out[i] = 0;
    const std::uint32_t mask = (1u << bits) - 1;
    for (std::size_t t = 0; t < dim; ++t) {
      const std::size_t bit = t * bits;
      out[bit / 8] =
          static_cast<unsigned char>(out[bit / 8] | ((static_cast<std::uint32_t>(v[t]) & mask) << (bit % 8)));
    }
  }
  /// Inverse of pack_row (sign-extends signed elements).
  void unpack_row(std::size_t gk, const unsigned char* in) noexcept {
    const element_info info = info_of(element);
    std::int32_t* v = values.data() + gk * dim;
    if (info.bits >= 8) {
      const std::size_t b = info.bits / 8;
      for (std::size_t t = 0; t < dim; ++t) {
        std::uint32_t u = 0;
        for (std::size_t j = 0; j < b; ++j) u |= static_cast<std::uint32_t>(in[t * b + j]) << (8 * j);
        const bool is_signed = info.is_integer;
        const std::uint32_t sign = 1u << (info.bits - 1);
        v[t] = is_signed && (u & sign) ? static_cast<std::int32_t>(u) - static_cast<std::int32_t>(sign << 1)
                                       : static_cast<std::int32_t>(u);
      }
      return;
    }
    const std::uint32_t mask = (1u << info.bits) - 1, sign = 1u << (info.bits - 1);
    for (std::size_t t = 0; t < dim; ++t) {
      const std::size_t bit = t * info.bits;
      const std::uint32_t u = (static_cast<std::uint32_t>(in[bit / 8]) >> (bit % 8)) & mask;
      v[t] = element == element_id::binary
                 ? static_cast<std::int32_t>(u)
                 : (u & sign ? static_cast<std::int32_t>(u) - static_cast<std::int32_t>(mask + 1)
                             : static_cast<std::int32_t>(u));
    }
  }
};

}  // namespace rvq
