/// @file kernels.hpp
/// @brief The Highway backend: the panel micro-kernel written with Highway's portable vectors and
/// MulAdd, statically dispatched to the target the compiler flags select (header-only use).
///
/// Requires Highway (Debian: libhwy-dev 1.0.3; CMake: rvq::highway or find_package(rvq
/// COMPONENTS highway), which also define HWY_COMPILE_ONLY_STATIC=1 so that Highway 1.0.3 follows
/// the compiler flags: build with -march=native or explicit target flags to get vectors wider
/// than one lane). Fixed-width targets only (x86, NEON, WASM); scalable vectors (SVE, RVV) are
/// refused at compile time. As with xsimd, codes agree with the scalar reference except at
/// near-ties.
#pragma once
#include <hwy/highway.h>

#include "../scalar/kernels.hpp"

namespace rvq {

/// @ingroup simd
/// @brief The Highway backend (static dispatch).
struct highway {};

namespace simd::highway {

namespace hn = hwy::HWY_NAMESPACE;
/// The full-width float descriptor of the static target.
using tag = hn::ScalableTag<float>;
static_assert(!HWY_HAVE_SCALABLE, "rvq::highway supports fixed-width Highway targets; use rvq::scalar here");

/// The Highway micro-kernel: two vectors per row, MulAdd accumulation.
struct highway_dots {
  static constexpr std::size_t lanes = hn::MaxLanes(tag());                      ///< floats per vector
  static constexpr std::size_t panel_width = 2 * lanes;                          ///< codewords per panel
  static constexpr std::size_t block_rows = simd::scalar::register_rows(lanes);  ///< rows per block

  /// acc[(i * P + q) * panel_width + j] = <r_i, codeword j of panel q>: R rows times P panels.
  template <std::size_t R, std::size_t P>
  static HWY_INLINE void dots(const float* const (&r)[R], std::size_t d, const float* RVQ_RESTRICT panel,
                              float* RVQ_RESTRICT acc) noexcept {
    const tag df;
    using vec = hn::Vec<tag>;
    const std::size_t stride = d * panel_width;
    vec a[R][P][2];
    RVQ_UNROLL
    for (std::size_t i = 0; i < R; ++i) RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) a[i][q][0] = a[i][q][1] = hn::Zero(df);
    for (std::size_t t = 0; t < d; ++t) RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) {
      const float* p = panel + q * stride + t * panel_width;  // aligned: panels are panel_alignment-aligned
      const vec p0 = hn::Load(df, p), p1 = hn::Load(df, p + lanes);
      RVQ_UNROLL
      for (std::size_t i = 0; i < R; ++i) {
        const vec x = hn::Set(df, r[i][t]);
        a[i][q][0] = hn::MulAdd(x, p0, a[i][q][0]);
        a[i][q][1] = hn::MulAdd(x, p1, a[i][q][1]);
      }
    }
    RVQ_UNROLL
    for (std::size_t i = 0; i < R; ++i) RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) {
      hn::StoreU(a[i][q][0], df, acc + (i * P + q) * panel_width);
      hn::StoreU(a[i][q][1], df, acc + (i * P + q) * panel_width + lanes);
    }
  }
};

/// @brief Entry points of the Highway backend.
struct kernels : simd::scalar::rows_search,
                 simd::scalar::panel_search<highway_dots>,
                 simd::scalar::lane_ops,
                 simd::scalar::int_ops {};

}  // namespace simd::highway

/// @ingroup simd
/// @brief highway: the panel search in Highway vectors with MulAdd.
template <>
struct simd_traits<highway> {
  static constexpr const char* name = "highway";  ///< name in reports
  using kernels = simd::highway::kernels;         ///< kernel entry points
};

}  // namespace rvq
