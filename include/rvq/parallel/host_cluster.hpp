/// @file host_cluster.hpp
/// @brief A fork_join platform emulated by host threads: the cluster of a GAP9-class chip
/// (eight worker cores) on a desktop, for tests and for developing cluster code off target.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq/parallel/host_cluster.hpp emulates a cluster with host threads; on a target, supply the SDK's fork"
#endif
#include <cstddef>

#include "fork_join.hpp"
#include "thread_pool.hpp"

namespace rvq {

/**
 * @ingroup parallel
 * @brief A platform for rvq::fork_join whose `Cores` cores are host threads: `fork(n, entry,
 * arg)` runs `entry(arg)` on n threads, each seeing its own core_id(), and returns when all have
 * (the barrier).
 * @tparam Cores cores of the emulated cluster
 */
template <std::size_t Cores = 8>
struct host_cluster {
  static_assert(Cores >= 1, "rvq::host_cluster needs at least one core");
  /// Cores forked by fork_join.
  static constexpr std::size_t cores = Cores;
  /// Split one vector's layer across cores from this many multiply-adds (as on a cluster).
  static constexpr std::size_t min_split_macs = 4096;

  /// Runs entry(arg) on n (at most Cores) emulated cores, then returns (barrier).
  static void fork(std::size_t n, void (*entry)(void*), void* arg) {
    pool().run(n < Cores ? n : Cores, [&](std::size_t c) {
      id() = c;
      entry(arg);
      id() = 0;
    });
  }
  /// The calling core's id, 0 .. cores-1 (0 outside a fork, as on the controller).
  static std::size_t core_id() noexcept { return id(); }

 private:
  static thread_pool& pool() {
    static thread_pool p(Cores);
    return p;
  }
  static std::size_t& id() noexcept {
    thread_local std::size_t c = 0;
    return c;
  }
};

}  // namespace rvq
