/// @file mpi.hpp
/// @brief The distributed policy: the rows of a data set split over the ranks of an MPI
/// communicator, each rank working on its own contiguous shard with its own in-process parallel
/// policy (threads, OpenMP), and the few collectives rvq needs to make the ranks agree.
///
/// Optional, like xsimd and Highway: it needs `<mpi.h>` (Debian: `libopenmpi-dev`) and links
/// MPI (CMake: `rvq::mpi`, from `find_package(rvq COMPONENTS mpi)`). The core stays header-only
/// and free of dependencies. The caller initializes MPI and passes a communicator in: nothing here
/// calls `MPI_Init` or `MPI_Finalize`.
///
/// Determinism: a result that one process computes by summing rows in order is computed over
/// the ranks by ordered_sum() in the same order (rank 0's rows first), so it is the same bit for
/// bit whatever the number of ranks.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq/parallel/mpi.hpp needs a hosted build"
#endif
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "../exceptions.hpp"

namespace rvq::mpi {

/// @ingroup parallel
/// Rows [begin, end) of one rank.
struct shard {
  std::size_t begin = 0;                                               ///< first row
  std::size_t end = 0;                                                 ///< one past the last row
  constexpr std::size_t size() const noexcept { return end - begin; }  ///< rows in the shard
};

/// @ingroup parallel
/// The shard of `rank` among `ranks` (1 or more) for `rows` rows: contiguous, in rank order, and
/// of sizes that differ by at most one row (the first `rows % ranks` ranks take one more).
constexpr shard shard_of(std::size_t rows, std::size_t rank, std::size_t ranks) noexcept {
  const std::size_t q = rows / ranks, m = rows % ranks;
  const std::size_t b = rank * q + (rank < m ? rank : m);
  return {b, b + q + (rank < m ? 1 : 0)};
}

/**
 * @ingroup parallel
 * @brief A communicator the caller owns (MPI initialized, not finalized while in use), with the
 * collectives rvq's distributed commands use. Every member function except the accessors is
 * collective: every rank of the communicator calls it, in the same order.
 */
class communicator {
 public:
  /// Wraps `c` (MPI_COMM_WORLD, or any communicator of the caller's).
  explicit communicator(MPI_Comm c = MPI_COMM_WORLD) noexcept : c_(c) {
    MPI_Comm_rank(c_, &rank_);
    MPI_Comm_size(c_, &size_);
  }

  MPI_Comm handle() const noexcept { return c_; }                   ///< the MPI communicator
  std::size_t rank() const noexcept { return std::size_t(rank_); }  ///< this rank
  std::size_t size() const noexcept { return std::size_t(size_); }  ///< number of ranks
  bool root() const noexcept { return rank_ == 0; }                 ///< true on rank 0
  /// This rank's shard of `rows` rows (shard_of()).
  shard rows(std::size_t rows) const noexcept { return shard_of(rows, rank(), size()); }

  /**
   * @brief The outcome all ranks agree on: "" when `error` is empty on every rank; else, on every
   * rank, the error of the lowest failing rank prefixed with `rank R: `, so that whichever rank
   * reports it names the rank and the cause.
   */
  std::string agree(const std::string& error) const {
    const int mine = error.empty() ? size_ : rank_;
    int first = size_;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c_);
    if (first == size_) return {};
    return "rank " + std::to_string(first) + ": " + broadcast(error, std::size_t(first));
  }
  /// agree() on a status (its describe() text when it failed).
  std::string agree(const status& s) const { return agree(s.ok() ? std::string() : describe(s)); }

  /**
   * @brief Sums over the ranks in rank order: `acc` (n values, the same on every rank on entry)
   * goes to rank 0, which calls `add(acc)` to add its rows' terms in order, then to rank 1, which
   * continues, and so on; the last rank's sums are then given to every rank. The result is the
   * one process's loop over all the rows, bit for bit. `add` must not call collectives.
   */
  template <class Add>
  void ordered_sum(double* acc, std::size_t n, Add&& add) const {
    const int count = static_cast<int>(n);
    if (rank_ > 0) MPI_Recv(acc, count, MPI_DOUBLE, rank_ - 1, tag, c_, MPI_STATUS_IGNORE);
    add(acc);
    if (rank_ + 1 < size_) MPI_Send(acc, count, MPI_DOUBLE, rank_ + 1, tag, c_);
    MPI_Bcast(acc, count, MPI_DOUBLE, size_ - 1, c_);
  }

  /// The exact sum of `v` over the ranks.
  std::uint64_t sum(std::uint64_t v) const {
    std::uint64_t out = 0;
    MPI_Allreduce(&v, &out, 1, MPI_UINT64_T, MPI_SUM, c_);
    return out;
  }

  /// Rank `from`'s string, on every rank.
  std::string broadcast(std::string s, std::size_t from = 0) const {
    std::uint64_t len = s.size();
    MPI_Bcast(&len, 1, MPI_UINT64_T, static_cast<int>(from), c_);
    s.resize(std::size_t(len));
    MPI_Bcast(s.data(), static_cast<int>(len), MPI_CHAR, static_cast<int>(from), c_);
    return s;
  }

  /// Waits for every rank.
  void barrier() const { MPI_Barrier(c_); }

 private:
  static constexpr int tag = 0x7271;  // 'rq'
  MPI_Comm c_;
  int rank_ = 0, size_ = 1;
};

}  // namespace rvq::mpi
