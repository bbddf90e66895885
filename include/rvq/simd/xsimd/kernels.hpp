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

/// The xsimd micro-kernel: two native batches per row, FMA accumulation.
struct xsimd_dots {
  static constexpr std::size_t lanes = batch::size;                              ///< floats per batch
  static constexpr std::size_t panel_width = 2 * batch::size;                    ///< codewords per panel
  static constexpr std::size_t block_rows = simd::scalar::register_rows(lanes);  ///< rows per block

  /// acc[(i * P + q) * panel_width + j] = <r_i, codeword j of panel q>: R rows times P panels.
  template <std::size_t R, std::size_t P>
  static RVQ_ALWAYS_INLINE void dots(const float* const (&r)[R], std::size_t d, const float* RVQ_RESTRICT panel,
                                     float* RVQ_RESTRICT acc) noexcept {
    const std::size_t stride = d * panel_width;
    batch a[R][P][2];
    RVQ_UNROLL
    for (std::size_t i = 0; i < R; ++i) RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) a[i][q][0] = a[i][q][1] = batch(0.0f);
    for (std::size_t t = 0; t < d; ++t) RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) {
      const float* p = panel + q * stride + t * panel_width;  // aligned: panels are panel_alignment-aligned
      const batch p0 = batch::load_aligned(p), p1 = batch::load_aligned(p + lanes);
      RVQ_UNROLL
      for (std::size_t i = 0; i < R; ++i) {
        const batch x(r[i][t]);
        a[i][q][0] = ::xsimd::fma(x, p0, a[i][q][0]);
        a[i][q][1] = ::xsimd::fma(x, p1, a[i][q][1]);
      }
    }
    RVQ_UNROLL
    for (std::size_t i = 0; i < R; ++i) RVQ_UNROLL
    for (std::size_t q = 0; q < P; ++q) {
      a[i][q][0].store_unaligned(acc + (i * P + q) * panel_width);
      a[i][q][1].store_unaligned(acc + (i * P + q) * panel_width + lanes);
    }
  }
};

/// @brief Entry points of the xsimd backend.
struct kernels : simd::scalar::rows_search,
                 simd::scalar::panel_search<xsimd_dots>,
                 simd::scalar::lane_ops,
                 simd::scalar::int_ops {};

}  // namespace simd::xsimd

/// @ingroup simd
/// @brief xsimd: the panel search in xsimd batches with FMA.
template <>
struct simd_traits<xsimd> {
  static constexpr const char* name = "xsimd";  ///< name in reports
  using kernels = simd::xsimd::kernels;         ///< kernel entry points
};

}  // namespace rvq
