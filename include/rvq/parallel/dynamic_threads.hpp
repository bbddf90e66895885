/// @file dynamic_threads.hpp
/// @brief The `dynamic_threads` strategy: the process-wide thread pool, with the number of
/// threads chosen at run time by each calling thread (hosted builds). For front ends whose users
/// pick a thread count per call, such as the Python package's `threads=` keyword.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error \
    "rvq/parallel/dynamic_threads.hpp needs a hosted build (std::thread); firmware uses rvq::sequential or rvq::fork_join"
#endif
#include <cstddef>
#include <mutex>
#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

#include "parallel_traits.hpp"
#include "thread_pool.hpp"

namespace rvq {

namespace detail {
/// The calling process's id (0 where the platform has none): fork() changes it.
inline long process_id() noexcept {
#if __has_include(<unistd.h>)
  return static_cast<long>(::getpid());
#else
  return 0;
#endif
}
}  // namespace detail

/**
 * @ingroup parallel
 * @brief Batches split over at most `dynamic_threads::limit()` threads of one process-wide pool
 * (one thread per hardware thread), a limit each calling thread sets for itself.
 *
 * - The limit is per calling thread: `dynamic_threads::scope s(4);` for the calls of a block,
 *   or `dynamic_threads::limit() = n`. 0, the default, means every thread of the pool; 1 runs
 *   on the calling thread alone and never touches the pool.
 * - A call made while another thread's call holds the pool runs on its own thread instead of
 *   waiting (rvq::thread_pool::run_shared()). Two threads that encode at once both progress.
 * - As with every strategy, codes and trained codebooks do not depend on the thread count.
 */
struct dynamic_threads {
  /**
   * @brief The pool this policy runs on (created on first use).
   *
   * A process made by fork() has none of its parent's threads: its first call makes a pool of its
   * own, and the parent's copy, whose workers do not exist here, is left untouched (a child of a
   * Python `multiprocessing` or PyTorch DataLoader fork encodes as its parent does).
   */
  static thread_pool& pool() {
    static thread_pool* p = nullptr;
    static long owner = 0;
    static std::mutex m;
    std::lock_guard<std::mutex> lock(m);
    const long pid = detail::process_id();
    if (!p || owner != pid) {
      p = new thread_pool(0);  // never deleted: the workers live as long as the process
      owner = pid;
    }
    return *p;
  }
  /// The calling thread's limit (0: every thread of the pool).
  static std::size_t& limit() noexcept {
    thread_local std::size_t n = 0;
    return n;
  }
  /// Threads the calling thread's next call runs on: limit(), at most the pool's size.
  static std::size_t threads() {
    const std::size_t n = limit(), all = thread_pool::hardware_threads();
    return n == 0 || n > all ? all : n;
  }
  /// Sets the calling thread's limit for its lifetime, then restores the previous one.
  class scope {
   public:
    /// @param n threads of the calls made in this scope (0: all)
    explicit scope(std::size_t n) noexcept : previous_(limit()) { limit() = n; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    ~scope() { limit() = previous_; }

   private:
    std::size_t previous_;
  };
};

/// @ingroup parallel
/// @brief dynamic_threads: the shared pool, as many workers as the caller's limit.
template <>
struct parallel_traits<dynamic_threads> {
  static constexpr const char* name = "dynamic_threads";  ///< name in reports
  /// Multiply-adds below which one vector's layer is not split across threads.
  static constexpr std::size_t min_split_macs = 1u << 18;
  /// Workers of the calling thread's calls (dynamic_threads::threads()).
  static std::size_t concurrency() { return dynamic_threads::threads(); }
  /// Calls f(i) for i in [0, n), split over concurrency() threads of the pool, or on the calling
  /// thread when the limit is 1 or the pool is busy.
  template <class F>
  static void for_each(std::size_t n, F&& f) {
    const std::size_t w = dynamic_threads::threads();
    if (w <= 1) {
      for (std::size_t i = 0; i < n; ++i) f(i);
      return;
    }
    dynamic_threads::pool().run_shared(n, w, f);
  }
};

}  // namespace rvq
