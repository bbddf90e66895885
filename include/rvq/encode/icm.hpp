/// @file icm.hpp
/// @brief ICM refinement of codes (iterated conditional modes, as LSQ encodes): starting from the
/// codes of greedy or beam search, each layer's code is picked again given all the others, for a
/// few rounds. The codes still decode as the sum of one codeword per layer, so decoders and
/// firmware do not change; only the error goes down.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../config.hpp"
#include "workspace.hpp"

namespace rvq::encoders {

/// Floats of scratch icm_refine() needs: the residual and one candidate's residual.
constexpr std::size_t icm_floats(std::size_t d) noexcept { return 2 * d; }

namespace detail {
/// `||r - c||^2` in double, with c codeword `code` of layer l (tmp: d floats of scratch).
template <class Store>
double residual_after(const Store& s, std::size_t l, std::size_t code, const float* r, float* tmp) noexcept {
  copy_row(r, tmp, s.dim());
  s.subtract_codeword(l, code, tmp);
  double e = 0;
  for (std::size_t t = 0; t < s.dim(); ++t) e += static_cast<double>(tmp[t]) * static_cast<double>(tmp[t]);
  return e;
}
}  // namespace detail

/**
 * @brief Up to `rounds` rounds of ICM over the layers of one row's codes (l2 float stores).
 *
 * In each round, layer by layer: the residual without layer l's codeword, `r = x - sum_{j != l}
 * c_j`, is searched over layer l's codewords with the store's own argmin (ties to the lowest
 * index). The found codeword replaces the current one only when it leaves a strictly smaller
 * `||r - c||^2`, measured in double, so the error never grows from the codes it starts from and
 * equal errors keep the current code. A round that changes nothing ends the refinement.
 *
 * The search works from the residual directly (`K_l D` multiply-adds per layer and round, the
 * cost of a greedy layer), so it needs no cross-product tables and works for every store.
 * @param x      dim() values
 * @param codes  layers() codes in and out
 * @param rounds rounds at most
 * @param ws     at least icm_floats(dim()) floats
 * @return the rounds that changed a code
 */
template <class Store, class Code>
std::size_t icm_refine(const Store& s, const float* x, Code* codes, std::size_t rounds, float* ws) noexcept {
  const std::size_t d = s.dim(), nl = s.layers();
  float* r = ws;
  float* tmp = ws + d;
  copy_row(x, r, d);
  for (std::size_t l = 0; l < nl; ++l) s.subtract_codeword(l, codes[l], r);
  std::size_t changed_rounds = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    bool changed = false;
    for (std::size_t l = 0; l < nl; ++l) {
      s.add_codeword(l, codes[l], r);  // r: the residual of every layer but l
      const float* row = r;
      std::uint32_t idx = 0;
      float score = 0.0f;
      s.argmin(l, &row, 1, &idx, &score);
      if (idx != static_cast<std::uint32_t>(codes[l]) &&
          detail::residual_after(s, l, idx, r, tmp) < detail::residual_after(s, l, codes[l], r, tmp)) {
        codes[l] = static_cast<Code>(idx);
        changed = true;
      }
      s.subtract_codeword(l, codes[l], r);
    }
    if (!changed) break;
    ++changed_rounds;
  }
  return changed_rounds;
}

}  // namespace rvq::encoders
