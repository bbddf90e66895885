/// @file sequential.hpp
/// @brief The `sequential` strategy: one core, in order (the reference; firmware default).
#pragma once
#include <cstddef>
#include "parallel_traits.hpp"

namespace rvq {

/// @ingroup parallel
/// @brief Runs every task on the calling thread, in index order.
struct sequential {};

/// @ingroup parallel
/// @brief sequential: one worker, tasks in index order.
template <>
struct parallel_traits<sequential> {
  static constexpr const char* name = "sequential";  ///< name in reports
  /// Single vectors are never split across workers.
  static constexpr std::size_t min_split_macs = static_cast<std::size_t>(-1);
  /// Number of workers (each gets its own slice of a batch and of the workspace).
  static constexpr std::size_t concurrency() noexcept { return 1; }
  /// Calls f(i) for i in [0, n), in order, on the calling thread.
  template <class F>
  static void for_each(std::size_t n, F&& f) {
    for (std::size_t i = 0; i < n; ++i) f(i);
  }
};

}  // namespace rvq
