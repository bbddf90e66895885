/// @file rows.hpp
/// @brief Loops over one row of floats that stores and encoders share: copy, subtract, add,
/// prefetch. Each sums in index order, the same on every target.
#pragma once
#include <cstddef>
#include "../config.hpp"

namespace rvq::detail {

/// dst = src (d floats).
constexpr void copy_row(const float* RVQ_RESTRICT src, float* RVQ_RESTRICT dst, std::size_t d) noexcept {
  for (std::size_t t = 0; t < d; ++t) dst[t] = src[t];
}
/// r -= c (d floats).
inline void subtract_row(float* RVQ_RESTRICT r, const float* RVQ_RESTRICT c, std::size_t d) noexcept {
  for (std::size_t t = 0; t < d; ++t) r[t] -= c[t];
}
/// out += c (d floats).
inline void add_row(float* RVQ_RESTRICT out, const float* RVQ_RESTRICT c, std::size_t d) noexcept {
  for (std::size_t t = 0; t < d; ++t) out[t] += c[t];
}
/// Asks the cache for the d floats at p.
inline void prefetch_row(const float* p, std::size_t d) noexcept {
#if defined(__GNUC__)
  for (std::size_t t = 0; t < d; t += 64 / sizeof(float)) __builtin_prefetch(p + t);
#else
  (void)p, (void)d;
#endif
}

}  // namespace rvq::detail
