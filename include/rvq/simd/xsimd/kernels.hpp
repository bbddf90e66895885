/// @file kernels.hpp
/// @brief The xsimd backend: the panel micro-kernel written with xsimd batches and fused
/// multiply-add, at the widest instruction set the compiler targets (SSE2 ... AVX-512, NEON).
///
/// Requires xsimd (Debian: libxsimd-dev 8.1; CMake: rvq::xsimd or find_package(rvq COMPONENTS
/// xsimd)). The rows kernels (firmware layout) and the argmin/score epilogues are the scalar
/// backend's; only the inner product of the panel search differs. Because FMA rounds once where
/// the scalar reference rounds twice, codes agree with the scalar backend except at near-ties,
/// and the reconstruction error agrees to about 1e-6 relative.
#pragma once
#include <xsimd/xsimd.hpp>

#include "../scalar/kernels.hpp"

namespace rvq {

/// @ingroup simd
/// @brief The xsimd backend (portable SIMD through xsimd's batch types).
struct xsimd {};

namespace simd::xsimd {

/// The native float batch of the compile target.
using batch = ::xsimd::batch<float>;

/// The xsimd micro-kernel: two native batches per row, four rows, FMA accumulation.
struct xsimd_dots {
  static constexpr std::size_t lanes = batch::size;            ///< floats per batch
  static constexpr std::size_t panel_width = 2 * batch::size;  ///< codewords per panel
  static constexpr std::size_t block_rows = 4;                 ///< rows per block

  /// acc[i][j] = <r_i, codeword j of the panel> (fused multiply-add over d).
  static RVQ_ALWAYS_INLINE void panel_dots(const float* const (&r)[block_rows], std::size_t d,
                                           const float* RVQ_RESTRICT panel,
                                           float (&acc)[block_rows][panel_width]) noexcept {
    batch a[block_rows][2];
    for (std::size_t i = 0; i < block_rows; ++i) a[i][0] = a[i][1] = batch(0.0f);
    for (std::size_t t = 0; t < d; ++t) {
      const float* p = panel + t * panel_width;  // aligned: panels are panel_alignment-aligned
      const batch p0 = batch::load_aligned(p), p1 = batch::load_aligned(p + lanes);
      for (std::size_t i = 0; i < block_rows; ++i) {
        const batch x(r[i][t]);
        a[i][0] = ::xsimd::fma(x, p0, a[i][0]);
        a[i][1] = ::xsimd::fma(x, p1, a[i][1]);
      }
    }
    for (std::size_t i = 0; i < block_rows; ++i) {
      a[i][0].store_aligned(&acc[i][0]);
      a[i][1].store_aligned(&acc[i][lanes]);
    }
  }
};

/// @brief Entry points of the xsimd backend.
struct kernels : simd::scalar::rows_search,
                 simd::scalar::panel_search<xsimd_dots, xsimd_dots::panel_width, xsimd_dots::block_rows> {};

}  // namespace simd::xsimd

/// @ingroup simd
/// @brief xsimd: the panel search in xsimd batches with FMA.
template <>
struct simd_traits<xsimd> {
  static constexpr const char* name = "xsimd";  ///< name in reports
  using kernels = simd::xsimd::kernels;         ///< kernel entry points
};

}  // namespace rvq
