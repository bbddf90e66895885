/// @file dense.hpp
/// @brief The `dense` storage: every codeword held as D values.
///
/// Dynamic extents own their codebooks (row-major, for decode and files) and a panel copy in the
/// layout the SIMD backend's kernels want (for search). Static extents keep a pointer to the
/// caller's codebook array, which may be `constexpr` and live in flash, plus the per-codeword
/// score constants; a `constexpr` quantizer puts those in flash too.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include "../config.hpp"
#include "../core/extents.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../detail/aligned_allocator.hpp"
#include "../detail/meta.hpp"
#include "../metric/metric_traits.hpp"
#include "storage_traits.hpp"
#if !RVQ_NO_HEAP
#include <vector>
#endif

namespace rvq {

/// @ingroup storage
/// @brief Plain codewords: `K x D` values per layer.
struct dense {};

/// @ingroup storage
/// @brief dense: K x D values per layer.
template <>
struct storage_traits<dense> {
  static constexpr const char* name = "dense";         ///< name in files, CLI and reports
  static constexpr storage_id id = storage_id::dense;  ///< id in .rvq files
};

namespace detail {

/// ||c||^2 summed left to right (the same on every target and in constant expressions).
constexpr float norm2(const float* c, std::size_t d) noexcept {
  float s = 0.0f;
  for (std::size_t t = 0; t < d; ++t) s += c[t] * c[t];
  return s;
}

template <class Metric, class Kernels, class Extents>
class dense_store;

/// Static extents: codewords stay where the caller keeps them (flash); constants are computed
/// at construction, at compile time for a constexpr quantizer.
template <class Metric, class Kernels, std::size_t L, std::size_t K, std::size_t D>
class dense_store<Metric, Kernels, extents<L, K, D>> {
 public:
  static constexpr std::size_t block_rows = 1;

  constexpr dense_store() noexcept = default;
  constexpr explicit dense_store(const float* codewords) noexcept : cw_(codewords) {
    for (std::size_t i = 0; i < L * K; ++i) {
      const float n2 = norm2(codewords + i * D, D);
      bias_[i] = metric_traits<Metric>::bias(n2);
      scale_[i] = metric_traits<Metric>::scale(n2);
    }
  }

  constexpr std::size_t layers() const noexcept { return cw_ ? L : 0; }
  constexpr std::size_t dim() const noexcept { return D; }
  constexpr std::size_t codewords(std::size_t) const noexcept { return K; }
  constexpr std::size_t max_codewords() const noexcept { return K; }
  constexpr std::size_t min_codewords() const noexcept { return K; }
  constexpr const float* codeword(std::size_t l, std::size_t c) const noexcept { return cw_ + (l * K + c) * D; }
  constexpr const float* data() const noexcept { return cw_; }
  constexpr std::size_t total_codewords() const noexcept { return L * K; }

  void argmin(std::size_t l, const float* const* rows, std::size_t nrows, std::uint32_t* idx,
              float* score) const noexcept {
    for (std::size_t i = 0; i < nrows; ++i)
      Kernels::argmin_rows(rows[i], D, codeword(l, 0), K, &bias_[l * K], &scale_[l * K], idx[i], score[i]);
  }
  void scores(std::size_t l, const float* const* rows, std::size_t nrows, float* out,
              std::size_t stride) const noexcept {
    for (std::size_t i = 0; i < nrows; ++i)
      Kernels::scores_rows(rows[i], D, codeword(l, 0), K, &bias_[l * K], &scale_[l * K], out + i * stride);
  }

  /// Bytes of codewords (flash) and of per-codeword constants.
  static constexpr std::size_t codebook_bytes() noexcept { return L * K * D * sizeof(float); }
  static constexpr std::size_t aux_bytes() noexcept { return 2 * L * K * sizeof(float); }

 private:
  const float* cw_ = nullptr;
  std::array<float, L * K> bias_{};
  std::array<float, L * K> scale_{};
};

#if !RVQ_NO_HEAP
/// Dynamic extents: owning, K may differ per layer.
template <class Metric, class Kernels>
class dense_store<Metric, Kernels, dynamic_extents> {
 public:
  static constexpr std::size_t block_rows = Kernels::block_rows;

  dense_store() = default;

  /// Copies `sum(k) * dim` row-major floats (layer after layer); checks shapes and finiteness.
  static status build(span<const float> codewords, span<const std::size_t> k, std::size_t dim, dense_store& out) {
    if (k.empty()) return {errc::empty_input, "a model needs at least one layer"};
    if (dim == 0) return {errc::dimension_mismatch, "the codeword dimension must be positive"};
    std::size_t total = 0;
    for (std::size_t l = 0; l < k.size(); ++l) {
      if (k[l] == 0) return {errc::invalid_argument, "a layer has zero codewords", l, "layer"};
      if (k[l] > 65536) return {errc::too_many_codewords, "a layer has more than 65536 codewords", l, "layer"};
      total += k[l];
    }
    std::size_t floats = 0;
    if (!checked_mul(total, dim, floats)) return {errc::invalid_argument, "codebook size overflows"};
    if (codewords.size() != floats)
      return {errc::dimension_mismatch, "codebook array size differs from the sum over layers of K x D"};
    const std::size_t bad = first_non_finite(codewords.data(), floats);
    if (bad != floats) return {errc::non_finite, "codebook contains NaN or Inf", bad, "element"};

    dense_store s;
    s.dim_ = dim;
    s.k_.assign(k.begin(), k.end());
    s.cw_.assign(codewords.begin(), codewords.end());
    s.first_.resize(k.size() + 1);
    s.panel_off_.resize(k.size() + 1);
    s.first_[0] = 0;
    s.panel_off_[0] = 0;
    for (std::size_t l = 0; l < k.size(); ++l) {
      s.first_[l + 1] = s.first_[l] + k[l];
      s.panel_off_[l + 1] = s.panel_off_[l] + Kernels::panel_floats(k[l], dim);
    }
    s.bias_.resize(total);
    s.scale_.resize(total);
    for (std::size_t i = 0; i < total; ++i) {
      const float n2 = norm2(s.cw_.data() + i * dim, dim);
      s.bias_[i] = metric_traits<Metric>::bias(n2);
      s.scale_[i] = metric_traits<Metric>::scale(n2);
    }
    s.panels_.assign(s.panel_off_.back(), 0.0f);
    for (std::size_t l = 0; l < k.size(); ++l)
      Kernels::pack_panels(s.cw_.data() + s.first_[l] * dim, k[l], dim, s.panels_.data() + s.panel_off_[l]);
    out = std::move(s);
    return {};
  }

  std::size_t layers() const noexcept { return k_.size(); }
  std::size_t dim() const noexcept { return dim_; }
  std::size_t codewords(std::size_t l) const noexcept { return k_[l]; }
  std::size_t max_codewords() const noexcept {
    std::size_t m = 0;
    for (auto v : k_) m = v > m ? v : m;
    return m;
  }
  std::size_t min_codewords() const noexcept {
    std::size_t m = k_.empty() ? 0 : k_[0];
    for (auto v : k_) m = v < m ? v : m;
    return m;
  }
  const float* codeword(std::size_t l, std::size_t c) const noexcept { return cw_.data() + (first_[l] + c) * dim_; }
  const float* data() const noexcept { return cw_.data(); }
  std::size_t total_codewords() const noexcept { return cw_.size() / (dim_ ? dim_ : 1); }

  void argmin(std::size_t l, const float* const* rows, std::size_t nrows, std::uint32_t* idx,
              float* score) const noexcept {
    Kernels::argmin_panels(rows, nrows, dim_, panels_.data() + panel_off_[l], k_[l], bias_.data() + first_[l],
                           scale_.data() + first_[l], idx, score);
  }
  void scores(std::size_t l, const float* const* rows, std::size_t nrows, float* out,
              std::size_t stride) const noexcept {
    Kernels::scores_panels(rows, nrows, dim_, panels_.data() + panel_off_[l], k_[l], bias_.data() + first_[l],
                           scale_.data() + first_[l], out, stride);
  }

  std::size_t codebook_bytes() const noexcept { return cw_.size() * sizeof(float); }
  /// Per-codeword constants plus the search copy in panel layout.
  std::size_t aux_bytes() const noexcept { return (bias_.size() + scale_.size() + panels_.size()) * sizeof(float); }

 private:
  std::size_t dim_ = 0;
  std::vector<std::size_t> k_, first_, panel_off_;
  std::vector<float> cw_, bias_, scale_;
  std::vector<float, aligned_allocator<float, Kernels::panel_alignment>> panels_;
};
#endif

}  // namespace detail
}  // namespace rvq
