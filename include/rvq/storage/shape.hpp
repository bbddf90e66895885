/// @file shape.hpp
/// @brief The shape of a store's codebooks (L, K per layer, D), read through one accessor for
/// static and dynamic extents.
///
/// A store is written once over this accessor, as `mdspan`'s extents give `constexpr` values when
/// they are static: rvq::detail::static_shape answers with constants and holds nothing, so a
/// firmware store keeps its compile-time sizes; rvq::detail::dynamic_shape holds the K list and
/// each layer's first codeword. The static or dynamic store class then supplies only storage
/// (a pointer to flash, or owned vectors) and what its kernels need.
#pragma once
#include <cstddef>
#include "../config.hpp"
#include "../core/span.hpp"
#include "../detail/meta.hpp"
#if !RVQ_NO_HEAP
#include <vector>
#endif

namespace rvq::detail {

/// Static extents: L layers of K codewords of dimension D, all constant.
template <std::size_t L, std::size_t K, std::size_t D>
class static_shape {
 public:
  static constexpr std::size_t dim() noexcept { return D; }
  static constexpr std::size_t codewords(std::size_t) noexcept { return K; }
  static constexpr std::size_t max_codewords() noexcept { return K; }
  static constexpr std::size_t min_codewords() noexcept { return K; }
  /// Index of layer l's first codeword among all layers'.
  static constexpr std::size_t first_codeword(std::size_t l) noexcept { return l * K; }
  static constexpr std::size_t total_codewords() noexcept { return L * K; }
};

#if !RVQ_NO_HEAP
/// Dynamic extents: K may differ per layer.
class dynamic_shape {
 public:
  std::size_t layers() const noexcept { return k_.size(); }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t codewords(std::size_t l) const noexcept { return k_[l]; }
  std::size_t max_codewords() const noexcept { return extreme_of(k_, true); }
  std::size_t min_codewords() const noexcept { return extreme_of(k_, false); }
  /// Index of layer l's first codeword among all layers'.
  std::size_t first_codeword(std::size_t l) const noexcept { return first_[l]; }
  std::size_t total_codewords() const noexcept { return first_.empty() ? 0 : first_.back(); }

 protected:
  /// Takes the K of each layer and the dimension.
  void set_shape(span<const std::size_t> k, std::size_t dim) {
    dim_ = dim;
    k_.assign(k.begin(), k.end());
    first_.assign(k.size() + 1, 0);
    for (std::size_t l = 0; l < k.size(); ++l) first_[l + 1] = first_[l] + k[l];
  }

  std::size_t dim_ = 0;
  std::vector<std::size_t> k_, first_;
};
#endif

}  // namespace rvq::detail
