/// @file integer.hpp
/// @brief The integer-only greedy encode over an integer store: the input moves to the model's
/// residual grid once (one shift-round-saturate, or one float-to-grid rounding), then every layer
/// is searched with integer arithmetic alone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include "../config.hpp"
#include "greedy.hpp"
#include "workspace.hpp"

namespace rvq::encoders {

/// Scratch of the integer path: the residuals of a tile on the grid and one layer's activations.
template <class Store>
constexpr workspace_size int_workspace(std::size_t d) noexcept {
  return {0, Store::tile_rows, Store::tile_rows * d, Store::block_bytes(d)};
}

/// 2^input_frac of store `s` (the scale from floats to its residual grid), exact.
template <class Store>
double grid_unit(const Store& s) noexcept {
  double unit = 1.0;
  for (int e = s.input_frac(); e > 0; --e) unit *= 2.0;
  for (int e = s.input_frac(); e < 0; ++e) unit *= 0.5;
  return unit;
}

/// x (floats) to the residual grid of store `s`: x * unit (grid_unit(s)) rounded to nearest (ties
/// to even) and saturated to int32; the only floating-point step of a float-input integer encode
/// (encode_fixed() has none). The backend vectorizes what it can, with the same results.
template <class Kernels, class Store>
void float_to_grid(const Store& s, const float* x, double unit, std::int32_t* r) noexcept {
  const std::size_t t0 = Kernels::float_to_grid(x, s.dim(), static_cast<float>(unit), r);
  for (std::size_t t = t0; t < s.dim(); ++t) {
    const double y = static_cast<double>(x[t]) * unit;  // exact: a power-of-two scale
    const double c = y > 2147483647.0 ? 2147483647.0 : (y < -2147483648.0 ? -2147483648.0 : y);
    std::int64_t q = static_cast<std::int64_t>(c);  // toward zero; c - q is exact
    const double f = c - static_cast<double>(q);
    if (f > 0.5 || (f == 0.5 && (q & 1))) ++q;
    if (f < -0.5 || (f == -0.5 && (q & 1))) --q;
    r[t] = static_cast<std::int32_t>(q);
  }
}
/// float_to_grid() of one row.
template <class Kernels, class Store>
void float_to_grid(const Store& s, const float* x, std::int32_t* r) noexcept {
  float_to_grid<Kernels>(s, x, grid_unit(s), r);
}

/// The nearest codeword of integer layer l to residual r, its codewords split across workers:
/// activations once, per-worker integer argmin, then a reduction in worker order (ties to the lowest index).
template <class Par, class Store>
std::uint32_t int_split_argmin(const Store& s, std::size_t l, const std::int32_t* r, unsigned char* act) noexcept {
  const std::size_t n = split_workers<Par>(s, l), k = s.codewords(l);
  const std::int64_t asum = s.activations(l, r, act);
  std::uint32_t part_idx[max_split] = {};  // zeroed: GCC cannot see that worker 0 always runs
  std::int64_t part_score[max_split] = {};
  Par::for_each(n, [&](std::size_t w) {
    const std::size_t first = k * w / n, last = k * (w + 1) / n;
    part_score[w] = std::numeric_limits<std::int64_t>::max();
    part_idx[w] = static_cast<std::uint32_t>(first);
    if (first < last) s.argmin_range(l, act, asum, first, last, part_idx[w], part_score[w]);
  });
  std::uint32_t idx = part_idx[0];
  std::int64_t best = part_score[0];
  for (std::size_t w = 1; w < n; ++w)
    if (part_score[w] < best) {
      best = part_score[w];
      idx = part_idx[w];
    }
  return idx;
}

/// Integer-only greedy encode of the residual in ws.ints (changed in place: it ends as the
/// residual before the last layer's codeword, which no caller needs); a layer large
/// enough for the parallel traits `Par` is split across its workers.
template <class Par, class Store, class Code>
void int_greedy(const Store& s, Code* codes, workspace_view ws) noexcept {
  std::int32_t* rows[1] = {ws.ints.data()};
  for (std::size_t l = 0; l < s.layers(); ++l) {
    std::uint32_t idx = 0;
    if (split_workers<Par>(s, l) > 1)
      idx = int_split_argmin<Par>(s, l, rows[0], ws.bytes.data());
    else
      s.search_block(l, rows, 1, ws.bytes.data(), &idx);
    codes[l] = static_cast<Code>(idx);
    if (l + 1 < s.layers()) s.subtract(l, idx, rows[0]);  // the last residual is not needed
  }
}

/// Integer-only greedy encode of n <= Store::tile_rows residuals (row i at ws.ints + i * dim(),
/// changed in place, up to the last layer's codeword), layer by layer: each layer's codewords are
/// read once for the whole tile.
template <class Store, class Code>
void int_greedy_tile(const Store& s, Code* const* codes, std::size_t n, workspace_view ws) noexcept {
  std::int32_t* rows[Store::tile_rows];
  for (std::size_t i = 0; i < n; ++i) rows[i] = ws.ints.data() + i * s.dim();
  std::uint32_t* idx = ws.indices.data();
  for (std::size_t l = 0; l < s.layers(); ++l) {
    s.search_block(l, rows, n, ws.bytes.data(), idx);
    const bool last = l + 1 == s.layers();  // the last residual is not needed
    for (std::size_t i = 0; i < n; ++i) {
      codes[i][l] = static_cast<Code>(idx[i]);
      if (!last) s.subtract(l, idx[i], rows[i]);
    }
  }
}

/// Integer-only greedy encode of rows [first, last) of x: each tile of Store::tile_rows rows is
/// moved to the grid, then searched layer by layer.
template <class Kernels, class Store, class Code>
void int_encode_rows(const Store& s, matrix_view<const float> x, matrix_view<Code> codes, std::size_t first,
                     std::size_t last, workspace_view ws) noexcept {
  constexpr std::size_t tr = Store::tile_rows;
  const double unit = grid_unit(s);
  for (std::size_t i = first; i < last; i += tr) {
    const std::size_t n = last - i < tr ? last - i : tr;
    Code* rows[tr];
    for (std::size_t j = 0; j < n; ++j) {
      float_to_grid<Kernels>(s, x.row(i + j), unit, ws.ints.data() + j * s.dim());
      rows[j] = codes.row(i + j);
    }
    int_greedy_tile(s, rows, n, ws);
  }
}

}  // namespace rvq::encoders
