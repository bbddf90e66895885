/// @file thread_pool.hpp
/// @brief The `threads<N>` strategy: a persistent pool of std::threads (hosted builds).
///
/// Work is split statically: task range [0, n) is cut into one contiguous chunk per worker, the
/// calling thread runs chunk 0 and the pool's threads the others, and the call returns when all
/// chunks are done. Static chunks keep results independent of timing (each task writes only its
/// own outputs), so every strategy gives the codes of `sequential`.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error \
    "rvq/parallel/thread_pool.hpp needs a hosted build (std::thread); firmware uses rvq::sequential or rvq::fork_join"
#endif
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "parallel_traits.hpp"

namespace rvq {

/**
 * @brief A fixed set of worker threads that runs `f(i)` for i in [0, n), split into one
 * contiguous chunk per thread (the caller takes the first chunk).
 *
 * One run at a time: concurrent run() calls from different threads are serialized; a run()
 * from inside a task runs inline on that thread (no deadlock, no oversubscription). The first
 * exception a task throws is rethrown by run() after every chunk has finished.
 */
class thread_pool {
 public:
  /// A pool of `threads` workers in all (the caller counts as one); 0 means one per hardware thread.
  explicit thread_pool(std::size_t threads = 0) : size_(threads ? threads : hardware_threads()) {
    workers_.reserve(size_ - 1);
    for (std::size_t w = 1; w < size_; ++w) workers_.emplace_back([this, w] { work(w); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  /// Threads that run tasks, the caller included.
  std::size_t size() const noexcept { return size_; }

  /// Calls f(i) for every i in [0, n); returns when all calls have returned.
  template <class F>
  void run(std::size_t n, F&& f) {
    if (n == 0) return;
    if (size_ == 1 || n == 1 || inside_task()) {
      for (std::size_t i = 0; i < n; ++i) f(i);
      return;
    }
    std::unique_lock<std::mutex> one_run(run_m_);
    run_locked(n, size_, f);
  }

  /**
   * @brief As run(), on at most `width` threads (the caller included; 0 or more than size(): all
   * of them), and without waiting for the pool: when another thread's run holds it, the calls
   * run on the calling thread alone. Tasks write only their own outputs, so the results are the
   * same either way; two callers never block each other.
   */
  template <class F>
  void run_shared(std::size_t n, std::size_t width, F&& f) {
    if (n == 0) return;
    const std::size_t w = width == 0 || width > size_ ? size_ : width;
    std::unique_lock<std::mutex> one_run(run_m_, std::defer_lock);
    if (w == 1 || n == 1 || inside_task() || !one_run.try_lock()) {
      for (std::size_t i = 0; i < n; ++i) f(i);
      return;
    }
    run_locked(n, w, f);
  }

  /// One per hardware thread (at least one).
  static std::size_t hardware_threads() noexcept {
    const unsigned h = std::thread::hardware_concurrency();
    return h ? h : 1;
  }

 private:
  struct task_guard {
    task_guard() noexcept { flag() = true; }
    ~task_guard() { flag() = false; }
  };
  static bool& flag() noexcept {
    thread_local bool in_task = false;
    return in_task;
  }
  static bool inside_task() noexcept { return flag(); }

  /// The body of run(): `width` chunks (the caller runs chunk 0), with run_m_ held.
  template <class F>
  void run_locked(std::size_t n, std::size_t width, F& f) {
    auto chunk = [&](std::size_t w) {
      if (w >= width) return;
      const std::size_t first = n * w / width, last = n * (w + 1) / width;
      for (std::size_t i = first; i < last; ++i) f(i);
    };
    job_ = [](void* ctx, std::size_t w) { (*static_cast<decltype(chunk)*>(ctx))(w); };
    ctx_ = &chunk;
    {
      std::lock_guard<std::mutex> lock(m_);
      pending_ = size_ - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    std::exception_ptr mine;
    try {
      task_guard g;
      chunk(0);
    } catch (...) {
      mine = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [&] { return pending_ == 0; });
    if (!mine) mine = error_;
    if (mine) std::rethrow_exception(mine);
  }

  void work(std::size_t w) {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
      }
      std::exception_ptr err;
      try {
        task_guard g;
        job_(ctx_, w);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(m_);
      if (err && !error_) error_ = err;
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::size_t size_;
  std::vector<std::thread> workers_;
  std::mutex run_m_, m_;
  std::condition_variable wake_, done_;
  std::size_t generation_ = 0, pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  void (*job_)(void*, std::size_t) = nullptr;
  void* ctx_ = nullptr;
};

/**
 * @ingroup parallel
 * @brief A process-wide pool of `Threads` threads (0: one per hardware thread), created on first
 * use. Batches are split across its threads; single vectors split a layer's codewords when the
 * layer is large enough to pay for the hand-off.
 * @tparam Threads threads in the pool, the calling thread included
 */
template <std::size_t Threads = 0>
struct threads {
  /// The pool this policy runs on.
  static thread_pool& pool() {
    static thread_pool p(Threads);
    return p;
  }
};

/// @ingroup parallel
/// @brief threads<N>: a persistent std::thread pool, static chunks.
template <std::size_t Threads>
struct parallel_traits<threads<Threads>> {
  static constexpr const char* name = "threads";  ///< name in reports
  /// Multiply-adds below which one vector's layer is not split across threads.
  static constexpr std::size_t min_split_macs = 1u << 18;
  /// Number of workers (each gets its own slice of a batch and of the workspace).
  static std::size_t concurrency() { return threads<Threads>::pool().size(); }
  /// Calls f(i) for i in [0, n), split over the pool's threads.
  template <class F>
  static void for_each(std::size_t n, F&& f) {
    threads<Threads>::pool().run(n, f);
  }
};

}  // namespace rvq
