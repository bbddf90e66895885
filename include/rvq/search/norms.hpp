/// @file norms.hpp
/// @brief How a code index keeps the norm `||x_hat||^2` of each reconstruction, which squared-L2
/// search adds to the lookup-table inner products: as floats, as 8- or 4-bit levels (uniform
/// between the smallest and largest norm, or from a 1-D k-means of the norms), computed from
/// the codebook cross-products at search time (no storage), or not at all (inner product).
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include "../core/names.hpp"
#include "../core/span.hpp"

namespace rvq {

/// @ingroup search
/// How a code index stores the norm of each reconstruction (ids as in .rvqi files).
enum class norm_encoding : std::uint32_t {
  f32 = 1,     ///< 4 bytes: the float
  int8 = 2,    ///< 1 byte: 256 equal bins between the smallest and largest norm
  cint8 = 3,   ///< 1 byte: 256 levels from a 1-D k-means of the norms
  int4 = 4,    ///< half a byte: 16 equal bins
  cint4 = 5,   ///< half a byte: 16 k-means levels
  tables = 6,  ///< nothing stored: computed exactly from each code and the codebook cross-products
  none = 7     ///< nothing stored: inner-product search, or cosine over unit-norm data
};

/// @ingroup search
/// Names of the norm encodings in the CLI, files and reports.
inline constexpr named<norm_encoding> norm_encoding_names[] = {
    {"f32", norm_encoding::f32},   {"int8", norm_encoding::int8},   {"cint8", norm_encoding::cint8},
    {"int4", norm_encoding::int4}, {"cint4", norm_encoding::cint4}, {"tables", norm_encoding::tables},
    {"none", norm_encoding::none}};

/// @ingroup search
/// Name of a norm encoding.
constexpr const char* to_string(norm_encoding e) noexcept { return name_of(norm_encoding_names, e); }

/// @ingroup search
/// Levels of a quantized encoding (256 or 16), 0 for f32, tables and none.
constexpr std::size_t norm_levels(norm_encoding e) noexcept {
  return e == norm_encoding::int8 || e == norm_encoding::cint8   ? 256
         : e == norm_encoding::int4 || e == norm_encoding::cint4 ? 16
                                                                 : 0;
}

/// @ingroup search
/// Bytes the norms of `n` vectors take (4-bit levels: two per byte).
constexpr std::size_t norm_bytes(norm_encoding e, std::size_t n) noexcept {
  switch (e) {
    case norm_encoding::f32:
      return 4 * n;
    case norm_encoding::int8:
    case norm_encoding::cint8:
      return n;
    case norm_encoding::int4:
    case norm_encoding::cint4:
      return (n + 1) / 2;
    default:
      return 0;
  }
}

/// @ingroup search
/// True for the encodings that store something per vector.
constexpr bool stores_norms(norm_encoding e) noexcept { return norm_bytes(e, 2) != 0; }

/**
 * @ingroup search
 * @brief The levels of a quantized norm encoding and the conversions between norms and bytes.
 * A level index is the nearest level (ties: the lower); decoding is one table lookup, so the
 * uniform and k-means encodings differ only in how fit() places the levels.
 */
class norm_codec {
 public:
  constexpr norm_codec() noexcept = default;
  /// A codec of `e` with no levels yet (fit() or set_levels() places them).
  constexpr explicit norm_codec(norm_encoding e) noexcept : enc_(e) {}

  constexpr norm_encoding encoding() const noexcept { return enc_; }  ///< the encoding
  /// The levels (norm_levels(encoding()) values, ascending).
  constexpr span<const float> levels() const noexcept { return {levels_.data(), norm_levels(enc_)}; }
  /// Sets the levels (ascending, finite; as read from a file). Returns false when they are not.
  bool set_levels(span<const float> v) noexcept {
    if (v.size() != norm_levels(enc_)) return false;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!(v[i] - v[i] == 0.0f) || (i && v[i] < v[i - 1])) return false;
    std::copy(v.begin(), v.end(), levels_.begin());
    return true;
  }

  /**
   * @brief Places the levels for the norms `v` (finite, at least one): at the centres of 2^b
   * equal bins between their minimum and maximum (int8, int4: a norm's level is its bin), or by
   * 1-D k-means (cint8, cint4: Lloyd's iterations from the even bins, deterministic, never
   * worse in squared error than the bins; at most 2^b distinct values are kept exactly). `sorted` is scratch of
   * v.size() floats.
   */
  void fit(span<const float> v, float* sorted) noexcept {
    const std::size_t m = norm_levels(enc_);
    if (m == 0 || v.empty()) return;
    std::copy(v.begin(), v.end(), sorted);
    std::sort(sorted, sorted + v.size());
    const std::size_t n = v.size();
    const float lo = sorted[0], hi = sorted[n - 1];
    for (std::size_t i = 0; i < m; ++i)  // the centres of m equal bins between the extremes
      levels_[i] = lo + (hi - lo) * (static_cast<float>(i) + 0.5f) / static_cast<float>(m);
    if (enc_ == norm_encoding::int8 || enc_ == norm_encoding::int4) return;
    // k-means: every distinct value when there are at most m; else Lloyd's iterations from the
    // even bins, which never raise their squared error.
    std::size_t distinct = 1;
    for (std::size_t i = 1; i < n; ++i) distinct += sorted[i] != sorted[i - 1];
    if (distinct <= m) {
      std::size_t next = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (i == 0 || sorted[i] != sorted[i - 1]) levels_[next++] = sorted[i];
      for (; next < m; ++next) levels_[next] = hi;
      return;
    }
    lloyd(sorted, n, m);
  }

  /// The level index nearest to `v` (ties: the lower index; values outside the levels clamp).
  std::uint8_t index(float v) const noexcept {
    const std::size_t m = norm_levels(enc_);
    const float* first = levels_.data();
    const float* it = std::lower_bound(first, first + m, v);
    if (it == first) return 0;
    if (it == first + m) return static_cast<std::uint8_t>(m - 1);
    const std::size_t i = static_cast<std::size_t>(it - first);
    return static_cast<std::uint8_t>(v - levels_[i - 1] <= levels_[i] - v ? i - 1 : i);
  }

  /// Writes the norms `v[0, n)` of vectors `first, first + n` into `out` (norm_bytes() layout).
  void encode(const float* v, std::size_t first, std::size_t n, std::uint8_t* out) const noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = first + i;
      switch (enc_) {
        case norm_encoding::f32:
          std::memcpy(out + 4 * at, v + i, 4);
          break;
        case norm_encoding::int8:
        case norm_encoding::cint8:
          out[at] = index(v[i]);
          break;
        case norm_encoding::int4:
        case norm_encoding::cint4: {
          const std::uint8_t q = index(v[i]);
          std::uint8_t& b = out[at / 2];
          b = at % 2 ? static_cast<std::uint8_t>((b & 0x0F) | (q << 4)) : static_cast<std::uint8_t>((b & 0xF0) | q);
          break;
        }
        default:
          break;
      }
    }
  }

  /// The norms of vectors `first, first + n` from `bytes` (norm_bytes() layout) into `out`.
  void decode(const std::uint8_t* bytes, std::size_t first, std::size_t n, float* out) const noexcept {
    switch (enc_) {
      case norm_encoding::f32:
        std::memcpy(out, bytes + 4 * first, 4 * n);
        break;
      case norm_encoding::int8:
      case norm_encoding::cint8:
        for (std::size_t i = 0; i < n; ++i) out[i] = levels_[bytes[first + i]];
        break;
      case norm_encoding::int4:
      case norm_encoding::cint4:
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t at = first + i;
          out[i] = levels_[(bytes[at / 2] >> (at % 2 ? 4 : 0)) & 0x0F];
        }
        break;
      default:
        break;
    }
  }

 private:
  // 1-D k-means on sorted values: each level takes the values nearer to it than to its
  // neighbours (boundaries at midpoints), then moves to their mean; an empty level keeps its place.
  void lloyd(const float* s, std::size_t n, std::size_t m) noexcept {
    for (int it = 0; it < 100; ++it) {
      std::size_t begin = 0;
      bool moved = false;
      for (std::size_t j = 0; j < m; ++j) {
        const float upper = j + 1 < m ? 0.5f * (levels_[j] + levels_[j + 1]) : std::numeric_limits<float>::infinity();
        std::size_t end = static_cast<std::size_t>(std::upper_bound(s + begin, s + n, upper) - s);
        if (end < begin) end = begin;
        if (end > begin) {
          double sum = 0;
          for (std::size_t i = begin; i < end; ++i) sum += s[i];
          const float mean = static_cast<float>(sum / static_cast<double>(end - begin));
          moved = moved || mean != levels_[j];
          levels_[j] = mean;
        }
        begin = end;
      }
      std::sort(levels_.begin(), levels_.begin() + static_cast<std::ptrdiff_t>(m));
      if (!moved) break;
    }
  }

  norm_encoding enc_ = norm_encoding::f32;
  std::array<float, 256> levels_{};
};

}  // namespace rvq
