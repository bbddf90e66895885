/// @file fork_join.hpp
/// @brief The `fork_join<Platform>` strategy for clusters of cores that a controller forks
/// together and joins at a barrier (PULP/GAP9 `pi_cl_team_fork` style). Freestanding: no heap,
/// no exceptions, no threads of its own.
#pragma once
#include <cstddef>

#include "parallel_traits.hpp"

namespace rvq {

namespace detail {
/// The platform's own `min_split_macs` if it has one, else 4096.
template <class P>
constexpr std::size_t min_split_of(decltype(&P::min_split_macs)) noexcept {
  return P::min_split_macs;
}
template <class P>
constexpr std::size_t min_split_of(...) noexcept {
  return 4096;
}
}  // namespace detail

/**
 * @ingroup parallel
 * @brief Runs work on the `Platform::cores` cores of a cluster.
 *
 * The platform is a type that supplies three static members, which is what cluster SDKs offer:
 * @code
 * struct gap9_cluster {
 *   static constexpr std::size_t cores = 8;                      // worker cores
 *   static void fork(std::size_t n, void (*entry)(void*), void* arg) {
 *     pi_cl_team_fork(n, entry, arg);                             // run on n cores, then barrier
 *   }
 *   static std::size_t core_id() { return pi_core_id(); }        // 0 .. n-1 on the calling core
 * };
 * using cluster_config = rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::fork_join<gap9_cluster>>;
 * @endcode
 * `fork` must call `entry(arg)` once on each of `n` cores and return when all have returned.
 * rvq::host_cluster (<rvq/parallel/host_cluster.hpp>) emulates such a platform with host threads.
 * @tparam Platform the cluster's fork/barrier and core id
 */
template <class Platform>
struct fork_join {};

/// @ingroup parallel
/// @brief fork_join<Platform>: contiguous chunks of the tasks, one per core, then a barrier.
template <class Platform>
struct parallel_traits<fork_join<Platform>> {
  static constexpr const char* name = "fork_join";  ///< name in reports
  /// Multiply-adds below which one vector's layer is not split across cores (a cluster fork
  /// costs a few hundred cycles; a platform may override with its own `min_split_macs`).
  static constexpr std::size_t min_split_macs = detail::min_split_of<Platform>(nullptr);
  /// Number of workers: the platform's cores.
  static constexpr std::size_t concurrency() noexcept { return Platform::cores; }
  /// Calls f(i) for i in [0, n): core c runs the c-th contiguous chunk.
  template <class F>
  static void for_each(std::size_t n, F&& f) {
    if (n == 0) return;
    if (n == 1 || Platform::cores == 1) {
      for (std::size_t i = 0; i < n; ++i) f(i);
      return;
    }
    context<F> ctx{&f, n};
    Platform::fork(Platform::cores, &run<F>, &ctx);
  }

 private:
  template <class F>
  struct context {
    F* f;
    std::size_t n;
  };
  template <class F>
  static void run(void* arg) {
    auto& ctx = *static_cast<context<F>*>(arg);
    const std::size_t c = Platform::core_id(), cores = Platform::cores;
    const std::size_t first = ctx.n * c / cores, last = ctx.n * (c + 1) / cores;
    for (std::size_t i = first; i < last; ++i) (*ctx.f)(i);
  }
};

}  // namespace rvq
