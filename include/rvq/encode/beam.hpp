/// @file beam.hpp
/// @brief Beam search over the store interface: the B best partial codes per layer, on residuals
/// or assembled from the codebook cross-product tables, ranked through the backend's lane
/// operations. B = 1 gives the greedy codes bit for bit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include "../config.hpp"
#include "icm.hpp"
#include "workspace.hpp"

namespace rvq::encoders {

/// Beam state in the workspace: ranked candidates of the current layer and the surviving codes.
struct beam_state {
  float* cum_cur;             ///< accumulated scores of the surviving partial codes
  float* cum_next;            ///< the same for the next layer
  float* top_score;           ///< the layer's ranked candidates: own score
  float* top_total;           ///< accumulated score
  std::uint32_t* codes_cur;   ///< surviving partial codes (layers values each)
  std::uint32_t* codes_next;  ///< the same for the next layer
  std::uint32_t* spare;       ///< unused scratch of the layout
  std::uint32_t* top_parent;  ///< ranked candidates: parent
  std::uint32_t* top_code;    ///< ranked candidates: codeword
  std::size_t layers;         ///< L

  /// The state laid over `f` (4 beam floats) and `u` (2 beam L + 3 beam indices).
  static beam_state in(float* f, std::uint32_t* u, std::size_t beam, std::size_t nl) noexcept {
    return {f,
            f + beam,
            f + 2 * beam,
            f + 3 * beam,
            u,
            u + beam * nl,
            u + 2 * beam * nl,
            u + 2 * beam * nl + beam,
            u + 2 * beam * nl + 2 * beam,
            nl};
  }
};

namespace detail {
struct any_lane_ops {
  template <class Ops>
  void operator()(Ops) const noexcept {}
};
template <class K, class = void>
struct has_on_target : std::false_type {};
template <class K>
struct has_on_target<K, std::void_t<decltype(K::on_target(std::declval<any_lane_ops&>()))>> : std::true_type {};
}  // namespace detail

/// Runs `f(ops)` with the lane operations beam search ranks with: the backend's own (`Kernels`),
/// or, when the backend picks its target at run time (an `on_target` member, rvq::dispatch), that
/// target's, called from a function compiled for it.
template <class Kernels, class F>
RVQ_ALWAYS_INLINE void with_lane_ops(F&& f) {
  if constexpr (detail::has_on_target<Kernels>::value)
    Kernels::on_target(f);
  else
    f(Kernels{});
}

/// Inserts candidate (b, c) into the layer's top `beam`, ranked by total, then parent, then own
/// score (lower first); candidates arrive in (parent, index) order, so ties keep that order.
RVQ_ALWAYS_INLINE void insert_candidate(float total, float score, std::size_t b, std::size_t c, std::size_t beam,
                                        beam_state& st, std::size_t& ntop) noexcept {
  auto better = [&](std::size_t e) {  // does (total, b, score, c) rank before entry e?
    return total < st.top_total[e] || (total == st.top_total[e] && st.top_parent[e] == b && score < st.top_score[e]);
  };
  if (ntop == beam && !better(ntop - 1)) return;
  std::size_t pos = ntop < beam ? ntop++ : ntop - 1;
  while (pos > 0 && better(pos - 1)) {
    st.top_total[pos] = st.top_total[pos - 1];
    st.top_score[pos] = st.top_score[pos - 1];
    st.top_parent[pos] = st.top_parent[pos - 1];
    st.top_code[pos] = st.top_code[pos - 1];
    --pos;
  }
  st.top_total[pos] = total;
  st.top_score[pos] = score;
  st.top_parent[pos] = static_cast<std::uint32_t>(b);
  st.top_code[pos] = static_cast<std::uint32_t>(c);
}

/// Offers candidate (b, c) with score `score` (accumulated: `cum + score`) to the layer's top list
/// if it is at most `bound`; `bound` tightens to the list's last entry once the list is full.
RVQ_ALWAYS_INLINE void offer(float score, float cum, std::size_t b, std::size_t c, float& bound, std::size_t beam,
                             beam_state& st, std::size_t& ntop) noexcept {
  const float total = cum + score;
  if (!(total <= bound)) return;
  insert_candidate(total, score, b, c, beam, st, ntop);
  if (ntop == beam && st.top_total[beam - 1] < bound) bound = st.top_total[beam - 1];
}

/**
 * @brief Ranks a layer's candidates, parent b's k scores at s + b * stride, into its top `beam`
 * by accumulated score, then parent (earlier first), then the parent's own order (lower score,
 * then lower index): the order of "each parent's best B by score, merged by accumulated score",
 * so B = 1 is exactly greedy. No sort. The group minima of each parent (`mins`, the lane
 * operations' select_groups per parent) are disjoint, so the beam-th smallest bounds the beam-th best
 * candidate; the backend's scan then compares a vector of candidates at a time with that bound,
 * tightened as the top list fills, and only those at or under it are ranked.
 */
template <class Ops>
void select_layer(const float* s, std::size_t stride, std::size_t nb, std::size_t k, std::size_t beam,
                  const float* mins, float* scratch, beam_state& st, std::size_t& ntop) noexcept {
  constexpr float inf = std::numeric_limits<float>::infinity();
  constexpr std::size_t groups = Ops::select_groups, lanes = Ops::select_lanes;
  float* kth = scratch;  // sorted, the beam smallest group minima so far
  std::size_t nk = 0;
  auto bound_by = [&](float m) {
    if (!(m < inf) || (nk == beam && !(m < kth[beam - 1]))) return;
    std::size_t pos = nk < beam ? nk++ : nk - 1;
    for (; pos > 0 && m < kth[pos - 1]; --pos) kth[pos] = kth[pos - 1];
    kth[pos] = m;
  };
  for (std::size_t b = 0; b < nb; ++b) {
    const float cum = st.cum_cur[b];
    const float* mb = mins + b * groups;
    Ops::bound_lanes(mb, cum, b == 0, beam, kth, nk, bound_by);
    bound_by(cum + mb[lanes]);
  }
  float bound = nk == beam ? kth[beam - 1] : inf;
  for (std::size_t b = 0; b < nb; ++b) {
    const float* sb = s + b * stride;
    const float cum = st.cum_cur[b];
    const std::size_t c2 =
        Ops::scan_at_most(sb, k, cum, bound, [&](std::size_t i) { offer(sb[i], cum, b, i, bound, beam, st, ntop); });
    for (std::size_t c = c2; c < k; ++c) offer(sb[c], cum, b, c, bound, beam, st, ntop);
  }
}

/// The layer's top entries become the beam: codes and accumulated scores (buffers swap).
inline void advance(beam_state& st, std::size_t l, std::size_t ntop) noexcept {
  const std::size_t nl = st.layers;
  for (std::size_t i = 0; i < ntop; ++i) {
    for (std::size_t j = 0; j < l; ++j) st.codes_next[i * nl + j] = st.codes_cur[st.top_parent[i] * nl + j];
    st.codes_next[i * nl + l] = st.top_code[i];
    st.cum_next[i] = st.top_total[i];
  }
  std::swap(st.cum_cur, st.cum_next);
  std::swap(st.codes_cur, st.codes_next);
}

/// Beam search of one vector on residuals (`ws`: float_workspace(beam, ..., true)). Each layer's
/// selection runs on the backend's target (with_lane_ops()), with that target's lane operations.
template <class Kernels, class Store, class Code>
void beam_one(const Store& s, const float* x, std::size_t beam, Code* codes, workspace_view ws) noexcept {
  const std::size_t d = s.dim(), nl = s.layers(), kmax = s.max_codewords();
  float* res_cur = ws.floats.data();
  float* res_next = res_cur + beam * d;
  float* scores = res_next + beam * d;
  float* sel = scores + beam * kmax;
  beam_state st = beam_state::in(sel + select_scratch<Kernels>(beam), ws.indices.data(), beam, nl);

  for (std::size_t t = 0; t < d; ++t) res_cur[t] = x[t];
  st.cum_cur[0] = 0.0f;
  std::size_t nb = 1;
  for (std::size_t l = 0; l < nl; ++l) {
    const std::size_t k = s.codewords(l);
    for (std::size_t b0 = 0; b0 < nb; b0 += Store::block_rows) {
      const std::size_t n = nb - b0 < Store::block_rows ? nb - b0 : Store::block_rows;
      const float* rows[Store::block_rows];
      for (std::size_t j = 0; j < n; ++j) rows[j] = res_cur + (b0 + j) * d;
      s.scores(l, rows, n, scores + b0 * kmax, kmax);
    }
    std::size_t ntop = 0;
    with_lane_ops<Kernels>([&](auto ops) {  // the selection alone, on the backend's target
      using Ops = decltype(ops);
      constexpr std::size_t groups = Ops::select_groups;
      for (std::size_t b = 0; b < nb; ++b) Ops::group_minima(scores + b * kmax, k, sel + b * groups);
      select_layer<Ops>(scores, kmax, nb, k, beam, sel, sel + beam * groups, st, ntop);
    });
    for (std::size_t i = 0; i < ntop; ++i) {
      float* r = res_next + i * d;
      copy_row(res_cur + st.top_parent[i] * d, r, d);
      s.subtract_codeword(l, st.top_code[i], r);
    }
    advance(st, l, ntop);
    std::swap(res_cur, res_next);
    nb = ntop;
  }
  for (std::size_t l = 0; l < nl; ++l) codes[l] = static_cast<Code>(st.codes_cur[l]);
}

/// Table rows subtracted per pass of table_scores() (their addresses stay on the stack).
inline constexpr std::size_t table_group = 16;

/**
 * @brief The scores of layer l's k candidates under one partial code (`code`: its codes of layers
 * 0 .. l-1), from the tables: `out[c] = bias[c] - scale[c] * (x_l[c] - sum_{j<l} <C_j[code_j], c>)`,
 * subtracted in layer order, and their group minima (`mins`). More than table_group earlier
 * layers are first folded into `partial` (k floats); the lane operations `Ops` score the vector
 * part.
 */
template <class Ops, class Store>
void table_scores(const Store& s, const float* xl, const float* RVQ_RESTRICT bias, const float* RVQ_RESTRICT scale,
                  std::size_t l, std::size_t k, const std::uint32_t* code, float* RVQ_RESTRICT out,
                  float* RVQ_RESTRICT mins, float* RVQ_RESTRICT partial) noexcept {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const float* t[table_group];
  const float* start = xl;
  std::size_t j0 = 0;
  for (; l - j0 > table_group; j0 += table_group) {
    for (std::size_t g = 0; g < table_group; ++g) t[g] = s.cross(j0 + g, l, code[j0 + g]);
    for (std::size_t c = 0; c < k; ++c) {
      float a = start[c];
      for (std::size_t g = 0; g < table_group; ++g) a -= t[g][c];
      partial[c] = a;
    }
    start = partial;
  }
  const std::size_t nt = l - j0;
  for (std::size_t g = 0; g < nt; ++g) t[g] = s.cross(j0 + g, l, code[j0 + g]);
  std::size_t c = Ops::table_scores(start, t, nt, bias, scale, k, out, mins);
  float tail = inf;
  for (; c < k; ++c) {
    float a = start[c];
    for (std::size_t g = 0; g < nt; ++g) a -= t[g][c];
    out[c] = bias[c] - scale[c] * a;
    tail = out[c] < tail ? out[c] : tail;
  }
  mins[Ops::select_lanes] = tail;
}

/**
 * @brief Beam search of up to block_rows rows through the cross-product tables: `<x, c>` for
 * every codeword of every layer in one blocked pass, then per layer and partial code
 * `<r, c> = <x, c> - sum_{j<l} <C_j[i_j], c>` (one table row per earlier layer), scored and
 * ranked exactly as in beam_one(). Codes equal the residual path's except at near-ties.
 * `ws`: table_beam_workspace(), plus icm_row_floats() after it with `icm_rounds` (ICM rounds run
 * on each row from the same `<x, c>`). Only stores with tables (a dots() member) take this path.
 */
template <class Kernels, class Store, class Code>
void beam_tables_block(const Store& s, const float* const* rows, std::size_t n, std::size_t beam, Code* codes,
                       std::size_t code_stride, workspace_view ws, std::size_t icm_rounds = 0) noexcept {
  if constexpr (detail::has_dots<Store>::value) {
    const std::size_t nl = s.layers();
    const std::size_t total = s.total_codewords();
    float* xd = ws.floats.data();
    const std::size_t kmax = s.max_codewords();
    float* sc = xd + Store::block_rows * total;
    float* mins = sc + beam * kmax + kmax;
    beam_state st = beam_state::in(mins + select_scratch<Kernels>(beam), ws.indices.data(), beam, nl);
    for (std::size_t l = 0; l < nl; ++l) s.dots(l, rows, n, xd + s.first_codeword(l), total);
    with_lane_ops<Kernels>([&](auto ops) {  // the rows' selection, on the backend's target
      using Ops = decltype(ops);
      constexpr std::size_t groups = Ops::select_groups;
      for (std::size_t i = 0; i < n; ++i) {
        const float* xi = xd + i * total;
        st.cum_cur[0] = 0.0f;
        std::size_t nb = 1;
        for (std::size_t l = 0; l < nl; ++l) {
          const std::size_t k = s.codewords(l);
          const float* RVQ_RESTRICT xl = xi + s.first_codeword(l);
          const float* RVQ_RESTRICT bias = s.bias(l);
          const float* RVQ_RESTRICT scale = s.scale(l);
          std::size_t ntop = 0;
          for (std::size_t b = 0; b < nb; ++b) {
            if (b + 1 < nb)  // the heads of the next parent's table rows (the hardware prefetches the rest)
              for (std::size_t j = 0; j < l; ++j) prefetch_row(s.cross(j, l, st.codes_cur[(b + 1) * nl + j]), 32);
            table_scores<Ops>(s, xl, bias, scale, l, k, st.codes_cur + b * nl, sc + b * kmax, mins + b * groups,
                              sc + beam * kmax);
          }
          select_layer<Ops>(sc, kmax, nb, k, beam, mins, mins + beam * groups, st, ntop);
          advance(st, l, ntop);
          nb = ntop;
        }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push  // GCC 12 -O3 (aarch64): a false "region of size 0" for small code arrays
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
        for (std::size_t l = 0; l < nl; ++l) codes[i * code_stride + l] = static_cast<Code>(st.codes_cur[l]);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
      }
    });
    if (icm_rounds)  // ICM from the same <x, c>, scratch past the beam's (workspace_for(options))
      for (std::size_t i = 0; i < n; ++i)
        icm_tables_row(s, rows[i], xd + i * total, codes + i * code_stride, icm_rounds,
                       ws.floats.data() + table_beam_workspace<Kernels>(s, beam).floats);
  } else {
    (void)s, (void)rows, (void)n, (void)beam, (void)codes, (void)code_stride, (void)ws, (void)icm_rounds;
  }
}

}  // namespace rvq::encoders
