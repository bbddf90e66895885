/// @file int_ops.hpp
/// @brief Integer operations of the scalar backend: the integer kernels an integer store searches
/// with, whether the int8 panel kernels serve it, and the float-to-grid conversion of an input.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../fast_scan.hpp"
#include "../int8_panels.hpp"
#include "../q15_panels.hpp"
#include "int_kernels.hpp"

namespace rvq::simd::scalar {

/// @brief The integer entry points every backend inherits unless it brings its own.
struct int_ops {
  /// The integer kernels of an element (activations, argmin, subtract, grid values).
  template <class Element>
  using int_kernels = simd::scalar::int_kernels<Element>;
  /// True when an int8 panel kernel (AVX-512 VNNI, AVX-VNNI, AVX2, sdot) serves int8 and int4 layers.
  static constexpr bool use_int8_panels = simd::int8_panels::static_kernel != simd::int8_panels::kernel::reference;
  /// The int8 panel kernel: the best one the compile flags enable (no dispatch).
  static constexpr simd::int8_panels::kernel int8_kernel() noexcept { return simd::int8_panels::static_kernel; }
  /// True when a q15 dot-product kernel (AVX2, AVX-512) serves q15 layers.
  static constexpr bool use_q15_panels = simd::q15_panels::static_kernel != simd::q15_panels::kernel::reference;
  /// The q15 dot-product kernel: the best one the compile flags enable (no dispatch).
  static constexpr simd::q15_panels::kernel q15_kernel() noexcept { return simd::q15_panels::static_kernel; }
  /// The fast-scan kernel (rvq::code_index with index_options::fast_scan): the best one the
  /// compile flags enable (no dispatch).
  static constexpr simd::fast_scan::kernel fast_scan_kernel() noexcept { return simd::fast_scan::static_kernel; }
  /// Leading values of `x * unit` (a power of two) rounded to nearest even and saturated to int32,
  /// vectorized where the target allows; returns how many it converted (the caller does the rest).
  static std::size_t float_to_grid(const float* x, std::size_t d, float unit, std::int32_t* r) noexcept {
    return simd::int8_panels::float_to_grid(int8_kernel(), x, d, unit, r);
  }
};

}  // namespace rvq::simd::scalar
