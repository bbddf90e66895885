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
 * @param s      the store (an l2 float store)
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

/// True when ICM on store `s` scores candidates from the cross-product tables (icm_tables_block()).
template <class Store>
constexpr bool icm_uses_tables(const Store& s) noexcept {
  if constexpr (detail::has_dots<Store>::value)
    return s.has_cross();
  else
    return (void)s, false;
}

/// Floats of scratch of ICM on store `s`: icm_tables_block()'s when it has tables, else icm_refine()'s.
template <class Store>
constexpr std::size_t icm_workspace_floats(const Store& s) noexcept {
  if (icm_uses_tables(s)) return Store::block_rows * s.total_codewords() + s.max_codewords() + 2 * s.dim() + s.layers();
  return icm_floats(s.dim());
}

namespace detail {
/// `||x - sum_l C_l[codes_l]||^2` in double (y: d floats of scratch), summed as decode sums.
template <class Store, class Code>
double row_error(const Store& s, const float* x, const Code* codes, float* y) noexcept {
  for (std::size_t t = 0; t < s.dim(); ++t) y[t] = 0.0f;
  for (std::size_t l = 0; l < s.layers(); ++l) s.add_codeword(l, static_cast<std::size_t>(codes[l]), y);
  double e = 0;
  for (std::size_t t = 0; t < s.dim(); ++t) {
    const double v = static_cast<double>(x[t]) - static_cast<double>(y[t]);
    e += v * v;
  }
  return e;
}
}  // namespace detail

/// Floats of scratch of icm_tables_row(): one layer's scores, a decoded row and the starting codes.
template <class Store>
constexpr std::size_t icm_row_floats(const Store& s) noexcept {
  return s.max_codewords() + s.dim() + s.layers();
}

/**
 * @brief ICM over one row through the codebook cross-product tables (the tables beam search
 * uses), given the row's `<x, c>` for every codeword (`xi`, total_codewords() values, as
 * `dots()` lays them out): each layer's candidates are scored as
 * `bias - scale * (<x, c> - sum_{j != l} <C_j[i_j], c>)`, one table row or column per other
 * layer instead of `D` multiply-adds. A candidate replaces the current code when it scores
 * strictly lower (ties to the lowest index, then to the current code). If the row's exact error
 * (in double, decoded as decode() does) would end above its starting codes', it keeps its
 * starting codes, so no row gets worse.
 * @param s      the store (with dots() and cross-product tables)
 * @param x      the row, dim() values
 * @param xi     `<x, c>` for every codeword, total_codewords() values in dots() layout
 * @param c      layers() codes in and out
 * @param rounds rounds at most
 * @param ws     at least icm_row_floats(s) floats
 */
template <class Store, class Code>
void icm_tables_row(const Store& s, const float* x, const float* xi, Code* c, std::size_t rounds, float* ws) noexcept {
  if constexpr (detail::has_dots<Store>::value) {
    const std::size_t nl = s.layers();
    float* sc = ws;
    float* y = sc + s.max_codewords();
    float* saved = y + s.dim();
    for (std::size_t l = 0; l < nl; ++l) saved[l] = static_cast<float>(c[l]);  // codes < 2^16: exact
    bool any = false;
    for (std::size_t round = 0; round < rounds; ++round) {
      bool changed = false;
      for (std::size_t l = 0; l < nl; ++l) {
        const std::size_t k = s.codewords(l);
        const float* xl = xi + s.first_codeword(l);
        for (std::size_t b = 0; b < k; ++b) sc[b] = xl[b];
        for (std::size_t j = 0; j < l; ++j) {
          const float* t = s.cross(j, l, static_cast<std::size_t>(c[j]));
          for (std::size_t b = 0; b < k; ++b) sc[b] -= t[b];
        }
        for (std::size_t j = l + 1; j < nl; ++j) {  // <C_l[b], C_j[c_j]>: column c_j of table (l, j)
          const std::size_t cj = static_cast<std::size_t>(c[j]);
          for (std::size_t b = 0; b < k; ++b) sc[b] -= s.cross(l, j, b)[cj];
        }
        const float* bias = s.bias(l);
        const float* scale = s.scale(l);
        std::size_t best = 0;
        float best_score = bias[0] - scale[0] * sc[0];
        for (std::size_t b = 1; b < k; ++b) {
          const float v = bias[b] - scale[b] * sc[b];
          if (v < best_score) best_score = v, best = b;
        }
        const std::size_t cur = static_cast<std::size_t>(c[l]);
        if (best != cur && best_score < bias[cur] - scale[cur] * sc[cur]) {
          c[l] = static_cast<Code>(best);
          changed = true;
        }
      }
      if (!changed) break;
      any = true;
    }
    if (!any) return;
    // Exact errors, decoded as decode does: the refined codes, then the starting ones (saved).
    const double after = detail::row_error(s, x, c, y);
    const double before = detail::row_error(s, x, saved, y);
    if (after > before)
      for (std::size_t l = 0; l < nl; ++l) c[l] = static_cast<Code>(saved[l]);
  } else {
    (void)s, (void)x, (void)xi, (void)c, (void)rounds, (void)ws;
  }
}

/**
 * @brief icm_tables_row() over up to `Store::block_rows` rows: `<x, c>` for every codeword of
 * every layer in one blocked pass (as beam search through the tables computes them), then each
 * row's rounds.
 * @param s           the store (with dots() and cross-product tables)
 * @param rows        n row pointers, dim() values each
 * @param n           rows, at most Store::block_rows
 * @param codes       n rows of layers() codes in and out, `code_stride` apart
 * @param code_stride codes between rows
 * @param rounds      rounds at most
 * @param ws          at least icm_workspace_floats(s) floats
 */
template <class Store, class Code>
void icm_tables_block(const Store& s, const float* const* rows, std::size_t n, Code* codes, std::size_t code_stride,
                      std::size_t rounds, float* ws) noexcept {
  if constexpr (detail::has_dots<Store>::value) {
    const std::size_t total = s.total_codewords();
    float* xd = ws;
    for (std::size_t l = 0; l < s.layers(); ++l) s.dots(l, rows, n, xd + s.first_codeword(l), total);
    for (std::size_t i = 0; i < n; ++i)
      icm_tables_row(s, rows[i], xd + i * total, codes + i * code_stride, rounds, xd + Store::block_rows * total);
  } else {
    (void)s, (void)rows, (void)n, (void)codes, (void)code_stride, (void)rounds, (void)ws;
  }
}

}  // namespace rvq::encoders
