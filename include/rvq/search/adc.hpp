/// @file adc.hpp
/// @brief Asymmetric distance computation: a query against codes without decoding them. One
/// lookup table per layer holds `<q, C_l[k]>`; a code's inner product with the query is the sum
/// of one entry per layer, and squared L2 adds the stored norm of the reconstruction:
/// `||q - x_hat||^2 = ||q||^2 - 2 sum_l <q, C_l[i_l]> + ||x_hat||^2`.
/// These kernels allocate nothing and run on firmware as on the desktop.
/// @defgroup search Search over codes
/// k-nearest-neighbour search in the compressed domain: rvq::code_index (a database of codes with
/// the norms of their reconstructions), the scan kernels, norm encodings and top-k lists.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../config.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../encode/checks.hpp"
#include "../encode/workspace.hpp"
#include "topk.hpp"

namespace rvq {

/// @ingroup search
/// What a scan ranks by: the smallest squared L2 distance, or the largest inner product or cosine.
enum class scan_kind : std::uint8_t {
  l2,  ///< `norm - 2 sum` (the query's own norm is added to the reported distances)
  ip,  ///< `-sum`
  cos  ///< `-sum / ||x_hat||` (divided by ||q|| when reported)
};

namespace detail {

/// Sum over layers of `lut[l][code[l]]`, layer 0 first (the same order everywhere).
template <class Code>
RVQ_ALWAYS_INLINE float adc_sum(const Code* code, const float* const* lut, std::size_t nl) noexcept {
  float s = 0.0f;
  for (std::size_t l = 0; l < nl; ++l) s += lut[l][code[l]];
  return s;
}

/// adc_sum() with the layer count a constant, so the loop unrolls.
template <std::size_t NL, class Code>
RVQ_ALWAYS_INLINE float adc_sum_fixed(const Code* code, const float* const* lut) noexcept {
  float s = 0.0f;
  for (std::size_t l = 0; l < NL; ++l) s += lut[l][code[l]];
  return s;
}

template <scan_kind Kind>
RVQ_ALWAYS_INLINE float adc_distance(float sum, float term) noexcept {
  if constexpr (Kind == scan_kind::l2)
    return term - 2.0f * sum;
  else if constexpr (Kind == scan_kind::ip)
    return (void)term, -sum;
  else
    return -sum * term;
}

template <scan_kind Kind, std::size_t NL, class Code>
void adc_scan_fixed(const Code* codes, std::size_t n, std::size_t stride, const float* const* lut, const float* term,
                    std::size_t first, topk& best) noexcept {
  float bound = best.bound();
  for (std::size_t i = 0; i < n; ++i) {
    const float d =
        adc_distance<Kind>(adc_sum_fixed<NL>(codes + i * stride, lut), Kind == scan_kind::ip ? 0.0f : term[i]);
    if (d <= bound) {
      best.push(d, static_cast<std::int64_t>(first + i));
      bound = best.bound();
    }
  }
}

}  // namespace detail

/**
 * @ingroup search
 * @brief Scores `n` codes (rows of `nl` codes, `stride` apart) against one query's tables and
 * offers each to `best` under id `first + i`.
 * @param codes  the first row of codes
 * @param n      rows
 * @param nl     codes per row (layers)
 * @param stride codes between row starts
 * @param lut    per layer, the table `<q, C_l[k]>` (K_l values)
 * @param term   per code: its squared norm (l2), 1 / ||x_hat|| (cos; 0 for a zero reconstruction);
 *               not read for ip (may be null)
 * @param first  the id of row 0
 * @param best   the list the rows are offered to
 * Complexity: `n nl` lookups and at most `n` heap insertions (usually far fewer).
 */
template <scan_kind Kind, class Code>
void adc_scan(const Code* codes, std::size_t n, std::size_t nl, std::size_t stride, const float* const* lut,
              const float* term, std::size_t first, topk& best) noexcept {
  switch (nl) {  // the common layer counts unrolled
    case 4:
      return detail::adc_scan_fixed<Kind, 4>(codes, n, stride, lut, term, first, best);
    case 8:
      return detail::adc_scan_fixed<Kind, 8>(codes, n, stride, lut, term, first, best);
    case 16:
      return detail::adc_scan_fixed<Kind, 16>(codes, n, stride, lut, term, first, best);
    default:
      break;
  }
  float bound = best.bound();
  for (std::size_t i = 0; i < n; ++i) {
    const float d = detail::adc_distance<Kind>(detail::adc_sum(codes + i * stride, lut, nl),
                                               Kind == scan_kind::ip ? 0.0f : term[i]);
    if (d <= bound) {
      best.push(d, static_cast<std::int64_t>(first + i));
      bound = best.bound();
    }
  }
}

/**
 * @ingroup search
 * @brief The exact squared norm of a code's reconstruction from the codebook tables:
 * `sum_l ||C_l[i_l]||^2 + 2 sum_{j<l} <C_j[i_j], C_l[i_l]>`, accumulated in that order.
 * @param code  the code (nl values)
 * @param nl    layers
 * @param norms per layer, `||C_l[k]||^2` (K_l values)
 * @param cross `cross(j, l, a)`: row a of the table `<C_j[a], C_l[b]>`, j < l
 */
template <class Code, class Cross>
float norm_from_tables(const Code* code, std::size_t nl, const float* const* norms, Cross&& cross) noexcept {
  float s = 0.0f;
  for (std::size_t l = 0; l < nl; ++l) {
    float c = 0.0f;
    for (std::size_t j = 0; j < l; ++j) c += cross(j, l, code[j])[code[l]];
    s += norms[l][code[l]] + 2.0f * c;
  }
  return s;
}

/**
 * @ingroup search
 * @brief Firmware-sized search: the k best of `codes` (N x layers(), ids 0 to N-1) for one query,
 * with nothing allocated: for a small fixed set of codes in flash next to a static quantizer.
 * @param q     any quantizer whose codewords read as floats (`codeword(l, c)`: dense f32 and
 *              integer models of any extents), static extents included
 * @param query dim() values
 * @param codes N x layers() codes
 * @param norms l2: the squared norm of each code's reconstruction (N values, e.g. generated with
 *              the codes); ip: empty
 * @param lut   scratch of at least the total codeword count (sum of K_l) floats
 * @param best  receives the results (call best.finish() for them sorted); its distances are
 *              `norm - 2 <q, x_hat>` for l2 (add ||q||^2 for the squared distance) and `-<q, x_hat>` for ip
 * @return dimension_mismatch (query, codes, norms or lut), non_finite (query), code_out_of_range (row)
 */
template <class Q, class Code>
status search_codes(const Q& q, span<const float> query, matrix_view<const Code> codes, span<const float> norms,
                    span<float> lut, topk& best) noexcept {
  const std::size_t nl = q.layers(), d = q.dim();
  if (nl == 0 || nl > 64) return {errc::invalid_argument, "search_codes takes models of 1 to 64 layers"};
  if (query.size() != d) return {errc::dimension_mismatch, "the query must have dim() values"};
  if (!codes.valid() || codes.cols() != nl) return {errc::dimension_mismatch, "codes must be N x layers()"};
  if (!norms.empty() && norms.size() != codes.rows())
    return {errc::dimension_mismatch, "norms must be empty (ip) or one per code (l2)"};
  std::size_t total = 0;
  for (std::size_t l = 0; l < nl; ++l) total += q.codewords(l);
  if (lut.size() < total) return {errc::dimension_mismatch, "lut must hold one float per codeword of every layer"};
  RVQ_TRY(encoders::check_finite_row(query.data(), d, 0));
  for (std::size_t i = 0; i < codes.rows(); ++i)
    for (std::size_t l = 0; l < nl; ++l)
      if (codes(i, l) >= q.codewords(l)) return {errc::code_out_of_range, "code out of range", i, "row"};
  const float* tables[64];
  for (std::size_t l = 0, at = 0; l < nl; at += q.codewords(l), ++l) {
    tables[l] = lut.data() + at;
    for (std::size_t c = 0; c < q.codewords(l); ++c) {
      const float* w = q.codeword(l, c);
      float s = 0.0f;
      for (std::size_t t = 0; t < d; ++t) s += query[t] * w[t];
      lut[at + c] = s;
    }
  }
  if (norms.empty())
    adc_scan<scan_kind::ip>(codes.data(), codes.rows(), nl, codes.stride(), tables, norms.data(), 0, best);
  else
    adc_scan<scan_kind::l2>(codes.data(), codes.rows(), nl, codes.stride(), tables, norms.data(), 0, best);
  return {};
}

}  // namespace rvq
