/// @file topk.hpp
/// @brief The k smallest (distance, id) pairs of a scan, over caller buffers: a bounded max-heap
/// ordered by distance, then id, so the result is exact and ties go to the lowest id however the
/// scan was split (rvq::topk::merge of partial lists gives the list of the whole scan).
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>

namespace rvq {

/// @ingroup search
/// @brief A bounded list of the k smallest `(distance, id)` pairs: a max-heap over caller buffers
/// (no allocation), ordered by distance then id, so ties keep the lowest id. NaN distances are
/// never kept.
class topk {
 public:
  /// An empty list of at most `k` entries held in `dist[0, k)` and `ids[0, k)`.
  constexpr topk(float* dist, std::int64_t* ids, std::size_t k) noexcept : d_(dist), id_(ids), k_(k) {}

  /// The largest distance a new entry may have to be kept (+inf until the list is full).
  constexpr float bound() const noexcept {
    return n_ < k_ ? std::numeric_limits<float>::infinity() : (k_ ? d_[0] : -std::numeric_limits<float>::infinity());
  }
  constexpr std::size_t size() const noexcept { return n_; }      ///< entries held
  constexpr std::size_t capacity() const noexcept { return k_; }  ///< k

  /// Offers (d, id): kept when the list is not full or it ranks before the current worst.
  constexpr void push(float d, std::int64_t id) noexcept {
    if (!(d == d)) return;  // NaN
    if (n_ < k_) {
      std::size_t i = n_++;
      while (i > 0) {  // sift up
        const std::size_t p = (i - 1) / 2;
        if (!after(d, id, d_[p], id_[p])) break;
        d_[i] = d_[p], id_[i] = id_[p];
        i = p;
      }
      d_[i] = d, id_[i] = id;
      return;
    }
    if (k_ == 0 || !after(d_[0], id_[0], d, id)) return;
    sift_down(0, n_, d, id);
  }

  /// Sorts the entries in place, best first; slots past size() get id -1 and distance +inf.
  constexpr void finish() noexcept {
    for (std::size_t end = n_; end > 1; --end) {  // heap sort: the max goes to the end
      const float d = d_[end - 1];
      const std::int64_t id = id_[end - 1];
      d_[end - 1] = d_[0], id_[end - 1] = id_[0];
      sift_down(0, end - 1, d, id);
    }
    for (std::size_t i = n_; i < k_; ++i) d_[i] = std::numeric_limits<float>::infinity(), id_[i] = -1;
  }

  /// Ranks (da, ia) after (db, ib): larger distance, or equal distance and larger id.
  static constexpr bool after(float da, std::int64_t ia, float db, std::int64_t ib) noexcept {
    return da > db || (da == db && ia > ib);
  }

 private:
  // Places (d, id) at hole i of a heap of n entries, moving larger children up.
  constexpr void sift_down(std::size_t i, std::size_t n, float d, std::int64_t id) noexcept {
    for (;;) {
      std::size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && after(d_[c + 1], id_[c + 1], d_[c], id_[c])) ++c;
      if (!after(d_[c], id_[c], d, id)) break;
      d_[i] = d_[c], id_[i] = id_[c];
      i = c;
    }
    d_[i] = d, id_[i] = id;
  }

  float* d_;
  std::int64_t* id_;
  std::size_t k_;
  std::size_t n_ = 0;
};

}  // namespace rvq
