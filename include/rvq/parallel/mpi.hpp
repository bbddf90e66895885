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
/// Training over the ranks: rvq::mpi::train() and rvq::mpi::refine() run the library's trainers
/// on a row_group, each rank holding a contiguous shard of the rows and no rank the whole set.
/// Their sums are exact (rvq/train/row_group.hpp), so the model is the one process's, bit for bit,
/// whatever the number of ranks.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq/parallel/mpi.hpp needs a hosted build"
#endif
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "../exceptions.hpp"
#include "../eval.hpp"
#include "../train/residual.hpp"
#include "../train/row_group.hpp"

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
  /// agree() on a status (its describe() text when it failed). A msg::peer_failed status (a rank
  /// that stopped because another failed) does not count, so the cause is the one reported.
  std::string agree(const status& s) const {
    return agree(s.ok() || s.message() == msg::peer_failed ? std::string() : describe(s));
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

  /**
   * @brief Every rank's bytes, in rank order, on rank `root` (empty on the others). Sent in
   * messages of at most 1 GiB, so that any size fits MPI's int counts.
   */
  std::vector<unsigned char> gather_bytes(const void* data, std::size_t bytes, std::size_t root = 0) const {
    std::uint64_t mine = bytes;
    std::vector<std::uint64_t> sizes(size());
    MPI_Gather(&mine, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, int(root), c_);
    constexpr std::size_t piece = std::size_t{1} << 30;
    std::vector<unsigned char> out;
    if (rank() != root) {
      const auto* p = static_cast<const unsigned char*>(data);
      for (std::size_t at = 0; at < bytes; at += piece)
        MPI_Send(p + at, int(std::min(piece, bytes - at)), MPI_BYTE, int(root), tag, c_);
      return out;
    }
    std::size_t all = 0;
    for (std::uint64_t z : sizes) all += std::size_t(z);
    out.resize(all);
    std::size_t at = 0;
    for (std::size_t r = 0; r < size(); ++r) {
      const std::size_t z = std::size_t(sizes[r]);
      if (r == root) {
        if (z) std::memcpy(out.data() + at, data, z);
      } else {
        for (std::size_t done = 0; done < z; done += piece)
          MPI_Recv(out.data() + at + done, int(std::min(piece, z - done)), MPI_BYTE, int(r), tag, c_,
                   MPI_STATUS_IGNORE);
      }
      at += z;
    }
    return out;
  }

  /// Waits for every rank.
  void barrier() const { MPI_Barrier(c_); }

 private:
  static constexpr int tag = 0x7271;  // 'rq'
  MPI_Comm c_;
  int rank_ = 0, size_ = 1;
};

/// @ingroup parallel
/// What a row_group's collectives cost this rank: calls, bytes sent, and the wall time inside
/// them (which includes waiting for slower ranks).
struct traffic {
  std::size_t calls = 0;  ///< collective operations
  double bytes = 0;       ///< bytes this rank contributed to them
  double seconds = 0;     ///< wall time inside them
};

/**
 * @ingroup parallel
 * @brief The row group (rvq/train/row_group.hpp) of a data set split over the ranks of a
 * communicator: rank r holds `rows` consecutive rows, after those of ranks 0 .. r-1. Its members
 * are collective, as the communicator's. The communicator must outlive it.
 */
class row_group {
 public:
  /// This rank's `rows` rows (collective: every rank passes its own count). When `cost` is given,
  /// every collective of this group and of its regroup()s adds to it.
  row_group(const communicator& comm, std::size_t rows, traffic* cost = nullptr)
      : comm_(&comm), local_(rows), cost_(cost) {
    const timer t(this, sizeof(std::uint64_t));
    const std::uint64_t mine = rows;
    std::vector<std::uint64_t> all(comm.size());
    MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm.handle());
    starts_.assign(comm.size() + 1, 0);
    for (std::size_t r = 0; r < comm.size(); ++r) starts_[r + 1] = starts_[r] + std::size_t(all[r]);
  }
  std::size_t offset() const noexcept { return starts_[comm_->rank()]; }  ///< global index of the first local row
  std::size_t local() const noexcept { return local_; }                   ///< rows on this rank
  std::size_t total() const noexcept { return starts_.back(); }           ///< rows on all ranks
  std::size_t part() const noexcept { return comm_->rank(); }             ///< this rank
  std::size_t parts() const noexcept { return comm_->size(); }            ///< ranks
  /// Other rows here (collective).
  row_group regroup(std::size_t rows) const { return row_group(*comm_, rows, cost_); }
  /// The rank that holds global row `g`.
  std::size_t owner(std::size_t g) const noexcept {
    std::size_t r = 0;
    while (r + 1 < comm_->size() && starts_[r + 1] <= g) ++r;
    return r;
  }
  /// Sums over the ranks, in place (of exact values: any order gives the same bits).
  void sum(double* v, std::size_t n) const { reduce(v, n, MPI_DOUBLE, MPI_SUM); }
  /// Sums of counts over the ranks, in place.
  void sum(std::uint64_t* v, std::size_t n) const { reduce(v, n, MPI_UINT64_T, MPI_SUM); }
  /// Sums of signed integers (the digits of exact sums) over the ranks, in place.
  void sum(std::int64_t* v, std::size_t n) const { reduce(v, n, MPI_INT64_T, MPI_SUM); }
  /// The sums of `mine` (n values) of the ranks before this one (zeros on rank 0).
  void before(const double* mine, double* out, std::size_t n) const {
    const timer t(this, n * sizeof(double));
    std::vector<double> tmp(mine, mine + n);
    MPI_Exscan(tmp.data(), out, int(n), MPI_DOUBLE, MPI_SUM, comm_->handle());
    if (comm_->root()) std::fill(out, out + n, 0.0);
  }
  float max(float v) const {  ///< largest over the ranks
    reduce(&v, 1, MPI_FLOAT, MPI_MAX);
    return v;
  }
  double max(double v) const {  ///< largest over the ranks
    reduce(&v, 1, MPI_DOUBLE, MPI_MAX);
    return v;
  }
  std::size_t min_index(std::size_t v) const {  ///< smallest over the ranks
    std::uint64_t u = v;
    reduce(&u, 1, MPI_UINT64_T, MPI_MIN);
    return std::size_t(u);
  }
  std::size_t max_index(std::size_t v) const {  ///< largest over the ranks
    std::uint64_t u = v;
    reduce(&u, 1, MPI_UINT64_T, MPI_MAX);
    return std::size_t(u);
  }
  bool all(bool v) const {  ///< true when true on every rank
    int b = v ? 1 : 0;
    reduce(&b, 1, MPI_INT, MPI_LAND);
    return b != 0;
  }
  /// Global row `g` of the ranks' local views `x`, on every rank.
  void row(matrix_view<const float> x, std::size_t g, float* out) const {
    const std::size_t o = owner(g);
    if (o == comm_->rank()) std::copy(x.row(g - offset()), x.row(g - offset()) + x.cols(), out);
    share(g, out, x.cols());
  }
  /// The n values the rank holding row `g` put in `v`, on every rank.
  void share(std::size_t g, float* v, std::size_t n) const {
    const timer t(this, owner(g) == comm_->rank() ? n * sizeof(float) : 0);
    MPI_Bcast(v, int(n), MPI_FLOAT, int(owner(g)), comm_->handle());
  }
  /// Every rank's items (trivially copyable), in rank order, on every rank.
  template <class T>
  std::vector<T> gather(const std::vector<T>& v) const {
    const timer t(this, v.size() * sizeof(T));
    const int mine = int(v.size() * sizeof(T));
    std::vector<int> bytes(comm_->size()), at(comm_->size(), 0);
    MPI_Allgather(&mine, 1, MPI_INT, bytes.data(), 1, MPI_INT, comm_->handle());
    std::size_t all = 0;
    for (std::size_t r = 0; r < bytes.size(); ++r) {
      at[r] = int(all);
      all += std::size_t(bytes[r]);
    }
    std::vector<T> out(all / sizeof(T));
    MPI_Allgatherv(v.data(), mine, MPI_BYTE, out.data(), bytes.data(), at.data(), MPI_BYTE, comm_->handle());
    return out;
  }
  /// The rows whose global index is a multiple of `step`, in order, gathered into `buffer`.
  matrix_view<const float> every(matrix_view<const float> x, std::size_t step, std::vector<float>& buffer) const {
    std::vector<float> mine;
    for (std::size_t i = (step - offset() % step) % step; i < x.rows(); i += step)
      mine.insert(mine.end(), x.row(i), x.row(i) + x.cols());
    buffer = gather(mine);
    return matrix_view<const float>(buffer.data(), x.cols() ? buffer.size() / x.cols() : 0, x.cols());
  }
  /// `s` on the ranks where it failed, msg::peer_failed (where: the first failing rank) on the
  /// others, success when every rank succeeded.
  status agree(status s) const {
    const timer t(this, sizeof(int));
    const int mine = s.ok() ? int(comm_->size()) : int(comm_->rank());
    int first = mine;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_->handle());
    if (std::size_t(first) == comm_->size() || !s.ok()) return s;
    return status{errc::invalid_argument, msg::peer_failed, std::uint64_t(first), "rank"};
  }

 private:
  /// Adds one collective's bytes and time to the group's traffic, if it counts.
  struct timer {
    const row_group* g;
    double t0;
    timer(const row_group* group, std::size_t bytes) : g(group), t0(group->cost_ ? MPI_Wtime() : 0.0) {
      if (g->cost_) {
        ++g->cost_->calls;
        g->cost_->bytes += double(bytes);
      }
    }
    ~timer() {
      if (g->cost_) g->cost_->seconds += MPI_Wtime() - t0;
    }
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;
  };
  template <class T>
  void reduce(T* v, std::size_t n, MPI_Datatype type, MPI_Op op) const {
    const timer t(this, n * sizeof(T));
    if (n) MPI_Allreduce(MPI_IN_PLACE, v, int(n), type, op, comm_->handle());
  }
  const communicator* comm_;
  std::size_t local_;
  traffic* cost_;
  std::vector<std::size_t> starts_;
};

/**
 * @ingroup parallel
 * @brief rvq::train() over the ranks of `comm`: each rank passes its shard of the rows (in rank
 * order: rank 0's rows first), and every rank returns the model one process returns for all the
 * rows with the same options, bit for bit. Collective. `opt.progress` is called on every rank.
 * `cost`, when given, receives what the collectives cost this rank.
 * @return the model, or train()'s errors; a rank whose own data failed returns that error, the
 *         others msg::peer_failed (communicator::agree() names the first failing rank's cause).
 */
template <class Config = default_config>
result<quantizer<Config>> train(const communicator& comm, matrix_view<const float> shard, const train_options& opt,
                                train_report* report = nullptr, traffic* cost = nullptr) {
  return rvq::detail::train_rows<Config>(shard, opt, report, row_group(comm, shard.rows(), cost));
}

/// @ingroup parallel
/// rvq::refine() over the ranks of `comm`, each with its shard of the training rows: the model
/// one process refines on all of them. Collective.
template <class Config>
result<quantizer<Config>> refine(const communicator& comm, const quantizer<Config>& q, matrix_view<const float> shard,
                                 const refine_options& opt, refine_report* report = nullptr) {
  return rvq::detail::refine_rows(q, shard, opt, report, row_group(comm, shard.rows()));
}

/**
 * @ingroup parallel
 * @brief rvq::evaluate() over the ranks of `comm`, each with its shard of the rows: every rank
 * returns the figures of all the rows, bit for bit those of one process (the error sums are
 * exact), with the encode time of the slowest rank. Collective.
 */
template <class Q>
result<eval_report> evaluate(const communicator& comm, const Q& q, matrix_view<const float> shard,
                             const eval_options& opt = {}) {
  const row_group grp(comm, shard.rows());
  auto e = evaluation<Q>::start(q, opt);
  status s = e ? (shard.cols() == q.dim() || shard.rows() == 0
                      ? status{}
                      : status{errc::dimension_mismatch, "input vector length differs from the model dimension"})
               : e.error();
  if (s && shard.rows() != 0) s = e->add(shard);  // a rank without rows may pass 0 x 0
  if (!s && s.has_where() && s.where_unit() && std::string(s.where_unit()) == "row")
    s = status{s.code(), s.message(), s.where() + grp.offset(), s.where_unit()};
  RVQ_TRY(grp.agree(s));
  e->gather(grp);
  return e->report();
}

/// @ingroup parallel
/// rvq::kmeans() over the ranks of `comm`, each with its shard of the rows (`assignment`: the
/// shard's). Collective.
template <class Config = default_config>
status kmeans(const communicator& comm, matrix_view<const float> shard, std::size_t k, const kmeans_options& opt,
              std::vector<float>& centroids, std::vector<std::uint32_t>* assignment = nullptr,
              kmeans_info* info = nullptr, const std::function<void(const kmeans_progress&)>& progress = {}) {
  return rvq::detail::kmeans_rows<Config>(shard, k, opt, centroids, assignment, info, progress,
                                          row_group(comm, shard.rows()));
}

}  // namespace rvq::mpi
