/// @file simd_traits.hpp
/// @brief SIMD backend policies: which kernel implementation scores codewords.
/// @defgroup simd SIMD backends
/// A simd_traits specialization names `name` and `kernels`, a type with the kernel entry points
/// of rvq::simd::scalar::kernels (the reference every other backend reproduces).
#pragma once
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup simd
template <class Simd>
struct simd_traits {
  static_assert(
      detail::always_false<Simd>,
      "rvq: unknown simd backend. Valid backends: rvq::scalar (<rvq/simd/scalar/kernels.hpp>), rvq::scalar_pruned "
      "(<rvq/simd/scalar/pruned.hpp>), rvq::dispatch (<rvq/simd/dispatch/kernels.hpp>), rvq::xsimd "
      "(<rvq/simd/xsimd/kernels.hpp>, needs xsimd), rvq::highway (<rvq/simd/highway/kernels.hpp>, needs Highway)");
};

}  // namespace rvq
