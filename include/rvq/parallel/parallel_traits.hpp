/// @file parallel_traits.hpp
/// @brief Parallel policies: how the rows of a batch are spread over cores.
/// @defgroup parallel Parallel policies
/// A parallel_traits specialization provides `name`, `concurrency()` (workers; the quantizer
/// gives each its own slice of a batch and of the workspace), `min_split_macs` (the layer size
/// from which one vector's codewords are split across workers, per-worker argmin then a
/// reduction in worker order) and `for_each(n, f)`, which calls `f(i)` for every i in [0, n)
/// (possibly concurrently) and returns when all are done. Results never depend on the
/// strategy: each call writes only its own outputs, and reductions run in a fixed order.
#pragma once
#include "../detail/meta.hpp"

namespace rvq {

/// @ingroup parallel
template <class Parallel>
struct parallel_traits {
  static_assert(
      detail::always_false<Parallel>,
      "rvq: unknown parallel policy. Valid parallel policies: rvq::sequential (<rvq/parallel/sequential.hpp>), "
      "rvq::threads<N> (<rvq/parallel/thread_pool.hpp>), rvq::dynamic_threads (<rvq/parallel/dynamic_threads.hpp>), "
      "rvq::openmp (<rvq/parallel/openmp.hpp>, needs -fopenmp), "
      "rvq::fork_join<Platform> (<rvq/parallel/fork_join.hpp>; rvq::host_cluster<N> emulates a cluster)");
};

}  // namespace rvq
