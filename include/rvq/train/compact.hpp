/// @file compact.hpp
/// @brief Compaction: drop duplicate codewords and, given data, codewords no vector selects.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>
#include "../quantizer.hpp"

namespace rvq {

/// What compact() removed.
struct compact_report {
  std::vector<std::size_t> codewords_before;  ///< K of each layer before
  std::vector<std::size_t> codewords_after;   ///< K of each layer after
  std::vector<std::size_t> duplicates;        ///< exact copies of a lower-indexed codeword, per layer
  std::vector<std::size_t> dead;              ///< codewords no calibration vector selects, per layer
  std::size_t bytes_before = 0;               ///< codebook bytes before
  std::size_t bytes_after = 0;                ///< codebook bytes after
};

/**
 * @brief Removes from every layer the exact duplicates of a lower-indexed codeword and, when
 * `calibration` has rows, the codewords that the greedy encode of those rows never selects.
 *
 * Greedy encoding picks the lowest index among equal codewords, so a duplicate is never chosen,
 * and a codeword that no calibration vector chose is not needed by any of them: the compacted
 * model encodes every calibration vector to the same codewords (renumbered), hence the same
 * reconstruction, bit for bit. Vectors outside the calibration set may be encoded differently
 * (a dropped codeword might have been nearest for them); beam search may also differ.
 * Kept codewords keep their order; a layer always keeps at least its used codewords.
 *
 * @param q           an f32 model
 * @param calibration rows (N x D) whose codes must survive; empty: duplicates only
 * @param out         the compacted model
 * @param remap       optional: `remap[l][old]` is the new index of old codeword `old` of layer l:
 *                    its kept twin for a duplicate, the nearest kept codeword (squared L2) for a
 *                    dead one, so old codes translate to codes of the compacted model
 * @param report      optional: what was removed and the bytes before and after
 * @return dimension_mismatch or non_finite for bad calibration data, empty_input for an empty model.
 */
template <class Config>
status compact(const quantizer<Config>& q, matrix_view<const float> calibration, quantizer<Config>& out,
               std::vector<std::vector<std::uint32_t>>* remap = nullptr, compact_report* report = nullptr) {
  using q_t = quantizer<Config>;
  static_assert(!q_t::is_integer && !q_t::is_static,
                "rvq::compact: f32 models with dynamic extents (compact before quantizing)");
  if (q.layers() == 0) return {errc::empty_input, msg::no_codebooks};
  if (!calibration.valid()) return {errc::invalid_argument, "malformed calibration view"};
  const std::size_t nl = q.layers(), d = q.dim();
  if (!calibration.empty() && calibration.cols() != d)
    return {errc::dimension_mismatch, "calibration vectors differ from the model dimension"};

  // Greedy usage of the calibration rows (ties already go to the lowest index).
  std::vector<std::vector<std::size_t>> used(nl);
  for (std::size_t l = 0; l < nl; ++l) used[l].assign(q.codewords(l), 0);
  if (!calibration.empty()) {
    const std::size_t chunk = 4096;
    std::vector<std::uint16_t> codes(chunk * nl);
    workspace ws(q.batch_workspace_for(1));
    for (std::size_t i0 = 0; i0 < calibration.rows(); i0 += chunk) {
      const std::size_t n = std::min(chunk, calibration.rows() - i0);
      const matrix_view<const float> part = calibration.row_range(i0, n);
      RVQ_TRY(q.encode_batch(part, matrix_view<std::uint16_t>(codes.data(), n, nl), encode_options{1}, ws.view()));
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t l = 0; l < nl; ++l) ++used[l][codes[i * nl + l]];
    }
  }

  compact_report rep;
  std::vector<float> books;
  std::vector<std::size_t> ks;
  std::vector<std::vector<std::uint32_t>> map(nl);
  for (std::size_t l = 0; l < nl; ++l) {
    const std::size_t k = q.codewords(l);
    // Exact duplicates: sort indices by their values, then compare neighbours.
    std::vector<std::uint32_t> order(k);
    for (std::size_t c = 0; c < k; ++c) order[c] = static_cast<std::uint32_t>(c);
    auto less = [&](std::uint32_t a, std::uint32_t b) {
      const int cmp = std::memcmp(q.codeword(l, a), q.codeword(l, b), d * sizeof(float));
      return cmp < 0 || (cmp == 0 && a < b);
    };
    std::sort(order.begin(), order.end(), less);
    std::vector<std::uint32_t> twin(k);  // lowest index with the same values
    for (std::size_t i = 0; i < k; ++i) {
      const std::uint32_t c = order[i];
      const bool same = i > 0 && std::memcmp(q.codeword(l, order[i - 1]), q.codeword(l, c), d * sizeof(float)) == 0;
      twin[c] = same ? twin[order[i - 1]] : c;
    }
    std::vector<char> keep(k, 1);
    std::size_t dup = 0, dead = 0;
    for (std::size_t c = 0; c < k; ++c)
      if (twin[c] != c) keep[c] = 0, ++dup;
    if (!calibration.empty())
      for (std::size_t c = 0; c < k; ++c)
        if (keep[c] && used[l][c] == 0) keep[c] = 0, ++dead;
    // Never empty: codeword 0 is nobody's duplicate, and with calibration rows some codeword is used.
    // New indices, and where each dropped codeword goes.
    std::vector<std::uint32_t> index(k, 0);
    std::size_t kept = 0;
    for (std::size_t c = 0; c < k; ++c)
      if (keep[c]) {
        index[c] = static_cast<std::uint32_t>(kept++);
        const float* v = q.codeword(l, c);
        books.insert(books.end(), v, v + d);
      }
    map[l].resize(k);
    for (std::size_t c = 0; c < k; ++c) {
      if (keep[c]) {
        map[l][c] = index[c];
      } else if (keep[twin[c]]) {
        map[l][c] = index[twin[c]];
      } else {  // dead (or the twin of a dead one): the nearest kept codeword
        double best = std::numeric_limits<double>::infinity();
        for (std::size_t o = 0; o < k; ++o) {
          if (!keep[o]) continue;
          double e = 0;
          for (std::size_t t = 0; t < d; ++t) {
            const double diff = double(q.codeword(l, c)[t]) - double(q.codeword(l, o)[t]);
            e += diff * diff;
          }
          if (e < best) best = e, map[l][c] = index[o];
        }
      }
    }
    ks.push_back(kept);
    rep.codewords_before.push_back(k);
    rep.codewords_after.push_back(kept);
    rep.duplicates.push_back(dup);
    rep.dead.push_back(dead);
  }
  auto made = q_t::from_codebooks(span<const float>(books), span<const std::size_t>(ks), d);
  if (!made) return made.error();
  rep.bytes_before = q.memory_footprint().codebook_bytes;
  rep.bytes_after = made->memory_footprint().codebook_bytes;
  out = std::move(made).value();
  if (remap) *remap = std::move(map);
  if (report) *report = std::move(rep);
  return {};
}

}  // namespace rvq
