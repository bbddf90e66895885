/// @file adc.hpp
/// @brief Asymmetric distance computation: a query against codes without decoding them. One
/// lookup table per layer holds `<q, C_l[k]>`; a code's inner product with the query is the sum
/// of one entry per layer, and squared L2 adds the stored norm of the reconstruction:
/// `||q - x_hat||^2 = ||q||^2 - 2 sum_l <q, C_l[i_l]> + ||x_hat||^2`.
/// These kernels allocate nothing and run on firmware as on the desktop.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../config.hpp"
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
    const float d = adc_distance<Kind>(adc_sum_fixed<NL>(codes + i * stride, lut), term[i]);
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
 * @param lut  per layer, the table `<q, C_l[k]>` (K_l values)
 * @param term per code: its squared norm (l2), nothing (ip), or 1 / ||x_hat|| (cos; 0 for a zero
 *             reconstruction)
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
    const float d = detail::adc_distance<Kind>(detail::adc_sum(codes + i * stride, lut, nl), term[i]);
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

}  // namespace rvq
