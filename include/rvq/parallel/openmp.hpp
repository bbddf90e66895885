/// @file openmp.hpp
/// @brief The `openmp` strategy: tasks spread by an OpenMP parallel loop with a static schedule.
#pragma once
#ifndef _OPENMP
#error "rvq/parallel/openmp.hpp needs OpenMP: compile with -fopenmp (CMake: link rvq::openmp)"
#endif
#include <omp.h>

#include <cstddef>

#include "parallel_traits.hpp"

namespace rvq {

/// @ingroup parallel
/// @brief OpenMP threads (omp_get_max_threads() of them; OMP_NUM_THREADS sets it).
struct openmp {};

/// @ingroup parallel
/// @brief openmp: `#pragma omp parallel for schedule(static)`.
template <>
struct parallel_traits<openmp> {
  static constexpr const char* name = "openmp";  ///< name in reports
  /// Multiply-adds below which one vector's layer is not split across threads.
  static constexpr std::size_t min_split_macs = 1u << 18;
  /// Number of workers (each gets its own slice of a batch and of the workspace).
  static std::size_t concurrency() noexcept {
    const int n = omp_get_max_threads();
    return n > 0 ? static_cast<std::size_t>(n) : 1;
  }
  /// Calls f(i) for i in [0, n) in an OpenMP parallel loop (inline when already in one).
  template <class F>
  static void for_each(std::size_t n, F&& f) {
    const long long count = static_cast<long long>(n);
#pragma omp parallel for schedule(static) if (n > 1 && !omp_in_parallel())
    for (long long i = 0; i < count; ++i) f(static_cast<std::size_t>(i));
  }
};

}  // namespace rvq
