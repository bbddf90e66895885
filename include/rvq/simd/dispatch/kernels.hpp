/// @file kernels.hpp
/// @brief The dispatch backend: the panel search compiled for several instruction sets in one
/// build, the best one the CPU has chosen at run time (rvq/simd/cpu.hpp). A build with no `-m`
/// flags runs AVX2 + FMA or AVX-512 kernels where the CPU has them.
///
/// No dependency: each target is the scalar backend's own kernel body (simd/scalar/kernels.hpp,
/// written in GNU vector extensions of any width) inlined into an entry point compiled with
/// `__attribute__((target(...)))`, so it runs in that target's registers. Every target scores the
/// same panel layout (32 codewords per panel on x86), so a model packed once serves them all, and
/// the target can change between calls. The baseline target is the compile target and gives the
/// scalar backend's sums; the FMA targets round once per multiply-add, so their codes agree with
/// the scalar reference except at near-ties, like rvq::xsimd's.
///
/// The integer stores' int8 panel kernels (rvq/simd/int8_panels.hpp) follow the same target:
/// AVX-512 VNNI, AVX-VNNI or AVX2 (int8_kernel_for()); so do the q15 ones (rvq/simd/q15_panels.hpp:
/// AVX-512 VNNI, AVX-VNNI or AVX2, q15_kernel_for()).
///
/// Beam search's selection (the lane operations: group minima, table scores, the scan under a
/// bound) runs on the same target, at its width (on_target()).
///
/// Off x86 (or without GCC/clang) it has one target, the compile target, and is the scalar backend
/// with a wider panel.
#pragma once
#include "../cpu.hpp"
#include "../scalar/kernels.hpp"

namespace rvq {

/// @ingroup simd
/// @brief The dispatch backend: kernels for several instruction sets, chosen at run time
/// (active_isa(); override with `RVQ_ISA` or set_isa()).
struct dispatch {};

namespace simd::dispatch {

#if RVQ_DISPATCH_X86
/// Codewords per panel: two AVX-512 vectors, four AVX2 vectors, eight SSE vectors.
inline constexpr std::size_t panel_width = 32;
/// Most rows per kernel call: the AVX-512 block (32 registers); narrower targets split it.
inline constexpr std::size_t block_rows = 12;
#else
inline constexpr std::size_t panel_width = scalar::scalar_dots::panel_width;  ///< codewords per panel
inline constexpr std::size_t block_rows = scalar::scalar_dots::block_rows;    ///< rows per kernel call
#endif

/// The panel search of one target: `Lanes` floats per vector, `Rows` rows per register block.
template <std::size_t Lanes, std::size_t Rows>
using target_search = scalar::panel_search<scalar::vector_dots<Lanes, panel_width, Rows>>;

#if defined(RVQ_SCALAR_VECTOR_EXT)
/// The compile target's panel search.
using baseline_search =
    std::conditional_t<(scalar::detail::lanes > 1),
                       target_search<scalar::detail::lanes, scalar::register_rows(scalar::detail::lanes)>,
                       scalar::panel_search<scalar::scalar_dots>>;
#else
using baseline_search = scalar::panel_search<scalar::scalar_dots>;            ///< the compile target's panel search
#endif

/// Greedy search of up to block_rows rows by one target, in blocks of its own register rows.
template <class Search>
RVQ_ALWAYS_INLINE void argmin_blocks(const float* const* rows, std::size_t nrows, std::size_t d, const float* panels,
                                     std::size_t k, const float* bias, const float* scale, std::uint32_t* best_index,
                                     float* best_score, std::size_t base) noexcept {
  for (std::size_t b = 0; b < nrows; b += Search::block_rows) {
    const std::size_t n = nrows - b < Search::block_rows ? nrows - b : Search::block_rows;
    Search::argmin_panels(rows + b, n, d, panels, k, bias, scale, best_index + b, best_score + b, base);
  }
}

/// Scores of up to block_rows rows by one target, in blocks of its own register rows.
template <class Search>
RVQ_ALWAYS_INLINE void scores_blocks(const float* const* rows, std::size_t nrows, std::size_t d, const float* panels,
                                     std::size_t k, const float* bias, const float* scale, float* out,
                                     std::size_t out_stride) noexcept {
  for (std::size_t b = 0; b < nrows; b += Search::block_rows) {
    const std::size_t n = nrows - b < Search::block_rows ? nrows - b : Search::block_rows;
    Search::scores_panels(rows + b, n, d, panels, k, bias, scale, out + b * out_stride, out_stride);
  }
}

#if RVQ_DISPATCH_X86
/// The AVX2 + FMA target: 8 lanes, 6 rows (16 registers).
using avx2_search = target_search<8, 6>;
/// The AVX-512 target: 16 lanes, 12 rows (32 registers).
using avx512_search = target_search<16, 12>;

// Entry points compiled for each target. The kernel bodies are always inlined into them, so they
// run in the target's registers; their vector types never cross a call (no ABI change, -Wpsabi).
/// argmin_blocks for AVX2 + FMA.
__attribute__((target("avx2,fma"))) inline void argmin_avx2(const float* const* rows, std::size_t nrows, std::size_t d,
                                                            const float* panels, std::size_t k, const float* bias,
                                                            const float* scale, std::uint32_t* best_index,
                                                            float* best_score, std::size_t base) noexcept {
  argmin_blocks<avx2_search>(rows, nrows, d, panels, k, bias, scale, best_index, best_score, base);
}
/// argmin_blocks for AVX-512.
__attribute__((target("avx512f,avx2,fma"))) inline void argmin_avx512(const float* const* rows, std::size_t nrows,
                                                                      std::size_t d, const float* panels, std::size_t k,
                                                                      const float* bias, const float* scale,
                                                                      std::uint32_t* best_index, float* best_score,
                                                                      std::size_t base) noexcept {
  argmin_blocks<avx512_search>(rows, nrows, d, panels, k, bias, scale, best_index, best_score, base);
}
/// scores_blocks for AVX2 + FMA.
__attribute__((target("avx2,fma"))) inline void scores_avx2(const float* const* rows, std::size_t nrows, std::size_t d,
                                                            const float* panels, std::size_t k, const float* bias,
                                                            const float* scale, float* out,
                                                            std::size_t out_stride) noexcept {
  scores_blocks<avx2_search>(rows, nrows, d, panels, k, bias, scale, out, out_stride);
}
/// scores_blocks for AVX-512.
__attribute__((target("avx512f,avx2,fma"))) inline void scores_avx512(const float* const* rows, std::size_t nrows,
                                                                      std::size_t d, const float* panels, std::size_t k,
                                                                      const float* bias, const float* scale, float* out,
                                                                      std::size_t out_stride) noexcept {
  scores_blocks<avx512_search>(rows, nrows, d, panels, k, bias, scale, out, out_stride);
}

/// Beam search's selection (`f(ops)`, encoders::with_lane_ops()) on the AVX2 + FMA target, with
/// its lane operations: `flatten` inlines the selection into this function, so it runs in the
/// target's registers.
template <class F>
__attribute__((target("avx2,fma"), flatten)) void select_avx2(F& f) {
  f(scalar::lane_ops_of<8>{});
}
/// The same on the AVX-512 target.
template <class F>
__attribute__((target("avx512f,avx2,fma"), flatten)) void select_avx512(F& f) {
  f(scalar::lane_ops_of<16>{});
}
#endif

/// The int8 panel kernel for target `t` on a CPU with features `f`: AVX-512 VNNI on the avx512
/// target when the CPU has it, else AVX-VNNI or AVX2 on the avx2 and avx512 targets, else none
/// (the reference kernels). Off x86: the compile-time kernel.
inline int8_panels::kernel int8_kernel_for(isa t, const cpu_features& f) noexcept {
#if RVQ_INT8_X86
  using k = int8_panels::kernel;
  if (t == isa::avx512 && f.avx512vnni && f.avx512bw && f.avx512dq && f.avx512vl) return k::avx512_vnni;
  if (t != isa::baseline && f.avx2 && f.fma) return f.avx_vnni ? k::avx_vnni : k::avx2;
  return k::reference;
#else
  (void)t, (void)f;
  return int8_panels::static_kernel;
#endif
}

/// The q15 panel kernel for target `t` on a CPU with features `f`: AVX-512 VNNI on the avx512
/// target when the CPU has it, else AVX-VNNI or AVX2 on the avx2 and avx512 targets, else none
/// (the reference kernels). Off x86: the compile-time kernel.
inline q15_panels::kernel q15_kernel_for(isa t, const cpu_features& f) noexcept {
#if RVQ_Q15_X86
  using k = q15_panels::kernel;
  if (t == isa::avx512 && f.avx512f && f.avx512bw && f.avx512vnni) return k::avx512_vnni;
  if (t != isa::baseline && f.avx2) return f.avx_vnni ? k::avx_vnni : k::avx2;
  return k::reference;
#else
  (void)t, (void)f;
  return q15_panels::static_kernel;
#endif
}

/// The integer entry points of the dispatch backend: the int8 and q15 panel kernels follow active_isa().
struct int_ops : scalar::int_ops {
  /// True when some int8 panel kernel is compiled in (whether one runs depends on the target).
  static constexpr bool use_int8_panels = int8_panels::available;
  /// The int8 panel kernel of the active target (a table lookup; the CPU is probed once).
  static int8_panels::kernel int8_kernel() noexcept {
    static const int8_panels::kernel table[] = {int8_kernel_for(isa::baseline, detect_cpu()),
                                                int8_kernel_for(isa::avx2, detect_cpu()),
                                                int8_kernel_for(isa::avx512, detect_cpu())};
    return table[static_cast<std::size_t>(active_isa())];
  }
  /// True when some q15 panel kernel is compiled in (whether one runs depends on the target).
  static constexpr bool use_q15_panels = q15_panels::available;
  /// The q15 panel kernel of the active target (a table lookup; the CPU is probed once).
  static q15_panels::kernel q15_kernel() noexcept {
    static const q15_panels::kernel table[] = {q15_kernel_for(isa::baseline, detect_cpu()),
                                               q15_kernel_for(isa::avx2, detect_cpu()),
                                               q15_kernel_for(isa::avx512, detect_cpu())};
    return table[static_cast<std::size_t>(active_isa())];
  }
  /// The fast-scan kernel of the active target: AVX2 on the avx2 and avx512 targets (when the
  /// CPU has AVX2), else the reference kernel; off x86, the compile-time one.
  static simd::fast_scan::kernel fast_scan_kernel() noexcept {
#if RVQ_FAST_SCAN_X86
    static const bool avx2 = detect_cpu().avx2;  // the CPU is probed once
    return active_isa() != isa::baseline && avx2 ? simd::fast_scan::kernel::avx2 : simd::fast_scan::kernel::reference;
#else
    return simd::fast_scan::static_kernel;
#endif
  }
  /// scalar::int_ops::float_to_grid() with the active target's vectors.
  static std::size_t float_to_grid(const float* x, std::size_t d, float unit, std::int32_t* r) noexcept {
    return int8_panels::float_to_grid(int8_kernel(), x, d, unit, r);
  }
};

/**
 * @brief Entry points of the dispatch backend: the layout of the panel search with a fixed panel
 * width, its two kernels chosen per call by active_isa(), and the scalar backend's rows search,
 * lane operations and integer kernels.
 */
struct kernels : scalar::rows_search, baseline_search, scalar::lane_ops, dispatch::int_ops {
  static constexpr std::size_t panel_width = dispatch::panel_width;  ///< codewords per panel
  static constexpr std::size_t block_rows = dispatch::block_rows;    ///< most rows per call

  /// Greedy search of up to block_rows rows (scalar::panel_search::argmin_panels), on the active target.
  static void argmin_panels(const float* const* rows, std::size_t nrows, std::size_t d, const float* panels,
                            std::size_t k, const float* bias, const float* scale, std::uint32_t* best_index,
                            float* best_score, std::size_t base = 0) noexcept {
#if RVQ_DISPATCH_X86
    switch (active_isa()) {
      case isa::avx512:
        return argmin_avx512(rows, nrows, d, panels, k, bias, scale, best_index, best_score, base);
      case isa::avx2:
        return argmin_avx2(rows, nrows, d, panels, k, bias, scale, best_index, best_score, base);
      case isa::baseline:
        break;
    }
#endif
    argmin_blocks<baseline_search>(rows, nrows, d, panels, k, bias, scale, best_index, best_score, base);
  }

#if RVQ_DISPATCH_X86
  /// Lane groups of the widest target: sizes beam search's workspace for every target.
  static constexpr std::size_t select_groups = scalar::lane_ops_of<16>::select_groups;
#endif

  /// Runs beam search's selection `f(ops)` on the active target, with that target's lane
  /// operations (scalar::lane_ops_of of its width); the compile target's when it is the baseline.
  template <class F>
  static void on_target(F& f) {
#if RVQ_DISPATCH_X86
    switch (active_isa()) {
      case isa::avx512:
        return select_avx512(f);
      case isa::avx2:
        return select_avx2(f);
      case isa::baseline:
        break;
    }
#endif
    f(scalar::lane_ops{});
  }

  /// Scores of up to block_rows rows (scalar::panel_search::scores_panels), on the active target.
  static void scores_panels(const float* const* rows, std::size_t nrows, std::size_t d, const float* panels,
                            std::size_t k, const float* bias, const float* scale, float* out,
                            std::size_t out_stride) noexcept {
#if RVQ_DISPATCH_X86
    switch (active_isa()) {
      case isa::avx512:
        return scores_avx512(rows, nrows, d, panels, k, bias, scale, out, out_stride);
      case isa::avx2:
        return scores_avx2(rows, nrows, d, panels, k, bias, scale, out, out_stride);
      case isa::baseline:
        break;
    }
#endif
    scores_blocks<baseline_search>(rows, nrows, d, panels, k, bias, scale, out, out_stride);
  }
};

}  // namespace simd::dispatch

/// @ingroup simd
/// @brief The int8 dot-product kernel rvq::dispatch runs on the active target (reports print it:
/// `rvq info --cpu`, rvq.cpu()).
inline simd::int8_panels::kernel active_int8_kernel() noexcept { return simd::dispatch::int_ops::int8_kernel(); }

/// @ingroup simd
/// @brief The q15 dot-product kernel rvq::dispatch runs on the active target (`rvq info --cpu`, rvq.cpu()).
inline simd::q15_panels::kernel active_q15_kernel() noexcept { return simd::dispatch::int_ops::q15_kernel(); }

/// @ingroup simd
/// @brief The fast-scan kernel rvq::dispatch runs on the active target (`rvq info --cpu`, rvq.cpu()).
inline simd::fast_scan::kernel active_fast_scan_kernel() noexcept {
  return simd::dispatch::int_ops::fast_scan_kernel();
}

/// @ingroup simd
/// @brief dispatch: the panel search for several instruction sets, chosen at run time.
template <>
struct simd_traits<dispatch> {
  static constexpr const char* name = "dispatch";  ///< name in reports
  using kernels = simd::dispatch::kernels;         ///< kernel entry points
};

}  // namespace rvq
