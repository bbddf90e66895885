/// @file greedy.hpp
/// @brief Greedy encode over the store interface: per layer the codeword nearest to the running
/// residual, one vector (split across workers when a layer is large) or a tile of rows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include "../config.hpp"
#include "../core/span.hpp"
#include "workspace.hpp"

namespace rvq::encoders {

/// Most workers one vector's layer is split across (their partial results live on the stack).
inline constexpr std::size_t max_split = 64;

/// Workers a single vector's layer l is split across under parallel traits `Par` (1: not split).
template <class Par, class Store>
std::size_t split_workers(const Store& s, std::size_t l) noexcept {
  const std::size_t w = Par::concurrency();
  if (w <= 1 || s.codewords(l) * s.dim() < Par::min_split_macs) return 1;
  const std::size_t g = s.range_granule(), granules = (s.codewords(l) + g - 1) / g;
  const std::size_t n = w < max_split ? w : max_split;
  return n < granules ? n : granules;
}

/// Nearest codeword of layer l to one row, its codewords split across split_workers() workers by
/// ranges of whole granules: per-worker argmin, then a reduction in worker order, which keeps the
/// lowest index on ties (the codes of the sequential search).
template <class Par, class Store>
void split_argmin(const Store& s, std::size_t l, const float* row, std::uint32_t& idx, float& score) noexcept {
  const std::size_t n = split_workers<Par>(s, l), k = s.codewords(l), g = s.range_granule();
  const std::size_t granules = (k + g - 1) / g;
  std::uint32_t part_idx[max_split] = {};  // zeroed: GCC cannot see that worker 0 always runs
  float part_score[max_split] = {};
  Par::for_each(n, [&](std::size_t w) {
    const std::size_t first = granules * w / n * g, last_g = granules * (w + 1) / n * g;
    const std::size_t last = last_g < k ? last_g : k;
    part_score[w] = std::numeric_limits<float>::infinity();
    part_idx[w] = static_cast<std::uint32_t>(first);
    if (first < last) s.argmin_range(l, first, last, &row, 1, &part_idx[w], &part_score[w]);
  });
  idx = part_idx[0];
  score = part_score[0];
  for (std::size_t w = 1; w < n; ++w)
    if (part_score[w] < score) {
      score = part_score[w];
      idx = part_idx[w];
    }
}

/// Greedy encode of one vector (`ws.floats`: dim() floats of residual).
template <class Par, class Store, class Code>
void greedy_one(const Store& s, const float* x, Code* codes, workspace_view ws) noexcept {
  float* res = ws.floats.data();
  copy_row(x, res, s.dim());
  const float* row = res;
  for (std::size_t l = 0; l < s.layers(); ++l) {
    std::uint32_t idx = 0;
    float score = 0.0f;
    if (split_workers<Par>(s, l) > 1)
      split_argmin<Par>(s, l, row, idx, score);
    else
      s.argmin(l, &row, 1, &idx, &score);
    codes[l] = static_cast<Code>(idx);
    s.subtract_codeword(l, idx, res);
  }
}

/// Greedy encode of rows [first, first + n) of x, n <= tile_rows(): layer by layer over the
/// whole tile, block_rows rows per kernel call (a store that shares tiles lays out each tile of
/// its codewords once for all rows).
template <class Store, class Code>
void greedy_tile(const Store& s, matrix_view<const float> x, std::size_t first, std::size_t n, matrix_view<Code> codes,
                 workspace_view ws) noexcept {
  const std::size_t d = s.dim(), tr = tile_rows<Store>(d), br = Store::block_rows;
  float* res = ws.floats.data();
  float* score = res + tr * d;
  std::uint32_t* idx = ws.indices.data();
  for (std::size_t j = 0; j < n; ++j) copy_row(x.row(first + j), res + j * d, d);
  if constexpr (detail::has_argmin_tile<Store>::value) {
    if (s.shares_tiles()) {
      const float* rows[max_tile_rows<Store>];
      for (std::size_t j = 0; j < n; ++j) rows[j] = res + j * d;
      for (std::size_t l = 0; l < s.layers(); ++l) {
        s.argmin_tile(l, rows, n, idx, score);
        for (std::size_t j = 0; j < n; ++j) {
          codes.row(first + j)[l] = static_cast<Code>(idx[j]);
          s.subtract_codeword(l, idx[j], res + j * d);
        }
      }
      return;
    }
  }
  for (std::size_t l = 0; l < s.layers(); ++l) {
    for (std::size_t b = 0; b < n; b += br) {
      const std::size_t m = n - b < br ? n - b : br;
      const float* rows[Store::block_rows];
      for (std::size_t j = 0; j < m; ++j) rows[j] = res + (b + j) * d;
      s.argmin(l, rows, m, idx + b, score + b);
      // The chosen codewords (row-major, rarely cached) arrive while the next block is scored.
      for (std::size_t j = 0; j < m; ++j) s.prefetch_codeword(l, idx[b + j]);
    }
    for (std::size_t j = 0; j < n; ++j) {
      codes.row(first + j)[l] = static_cast<Code>(idx[j]);
      s.subtract_codeword(l, idx[j], res + j * d);
    }
  }
}

}  // namespace rvq::encoders
