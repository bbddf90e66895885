/// @file row_group.hpp
/// @brief Where a training run's rows live, and sums over them that do not depend on order.
///
/// Training sums over rows: centroid sums, errors, k-means++ potentials, the PCA mean. It adds
/// every term through an exact_grid, whose sums are exact, so their result is the same bit for bit
/// in any order and any grouping: over one process's rows in sequence, over threads, or over the
/// ranks of an MPI run. The row group says which rows this process holds:
/// - local_rows (here): all of them, every collective is the identity;
/// - rvq::mpi::row_group (`<rvq/parallel/mpi.hpp>`): a contiguous shard of each rank.
///
/// The training functions take a row group as a template parameter and call the same members on
/// each; a model trained on shards is the model one process trains on all rows.
#pragma once
#include "../config.hpp"
#if !RVQ_HOSTED
#error "rvq: this header needs a hosted build (RVQ_HOSTED=1)"
#endif
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>
#include "../core/messages.hpp"
#include "../core/span.hpp"
#include "../core/status.hpp"
#include "../detail/exact_sum.hpp"

namespace rvq {

namespace msg {
/// The status every other rank of a distributed run returns when one rank fails: the failing
/// rank's own status names the cause (rvq::mpi::communicator::agree() reports that one).
inline constexpr const char peer_failed[] = "another process of the distributed run failed";
}  // namespace msg

/**
 * @brief The row group of a training run whose rows all live in this process: the default of
 * every training function. Its collectives return their input.
 *
 * A row group (this one, rvq::mpi::row_group) offers:
 * - `offset()`, `local()`, `total()`: the global index of this process's first row, its rows,
 *   and the rows of all processes; `part()`, `parts()`: this process's index and the number of
 *   processes (to share work that is not split by rows); `regroup(m)`: the same processes holding
 *   `m` rows here;
 * - `sum(v, n)` over processes, in place (of exact sums and counts, so the order is free);
 *   `before(mine, out, n)`: the sums of the processes before this one (for running sums);
 * - `max(v)`, `min_index(i)`, `max_index(i)`, `all(b)`;
 * - `row(x, g, out)`: global row `g` of the local view `x`, from the process that holds it;
 *   `share(g, v, n)`: the n values the process holding row `g` put in `v`, on every process;
 * - `gather(items)`: every process's items in process order;
 * - `every(x, step, buffer)`: the rows whose global index is a multiple of `step`, in order;
 * - `agree(s)`: a status every process returns: `s` where it failed, msg::peer_failed elsewhere.
 */
class local_rows {
 public:
  /// A group of `rows` rows, all here.
  explicit local_rows(std::size_t rows = 0) noexcept : rows_(rows) {}
  std::size_t offset() const noexcept { return 0; }     ///< global index of the first local row
  std::size_t local() const noexcept { return rows_; }  ///< rows in this process
  std::size_t total() const noexcept { return rows_; }  ///< rows in all processes
  std::size_t part() const noexcept { return 0; }       ///< this process's index among the group's
  std::size_t parts() const noexcept { return 1; }      ///< processes in the group
  local_rows regroup(std::size_t rows) const noexcept { return local_rows(rows); }  ///< other rows here
  template <class T>
  void sum(T*, std::size_t) const noexcept {}  ///< sums over processes: here, the input
  /// The sums of `mine` of the processes before this one: none, so zeros.
  void before(const double*, double* out, std::size_t n) const noexcept { std::fill(out, out + n, 0.0); }
  float max(float v) const noexcept { return v; }                    ///< largest over processes
  std::size_t min_index(std::size_t v) const noexcept { return v; }  ///< smallest over processes
  std::size_t max_index(std::size_t v) const noexcept { return v; }  ///< largest over processes
  bool all(bool v) const noexcept { return v; }                      ///< true when true everywhere
  /// Row `g` (global index) of `x`, copied to `out` (x.cols() values).
  void row(matrix_view<const float> x, std::size_t g, float* out) const noexcept {
    std::copy(x.row(g), x.row(g) + x.cols(), out);
  }
  /// The values the process holding row `g` put in `v`: here, they are already there.
  void share(std::size_t, float*, std::size_t) const noexcept {}
  /// Every process's items, in process order.
  template <class T>
  std::vector<T> gather(const std::vector<T>& v) const {
    return v;
  }
  /// The rows of `x` whose index is a multiple of `step`: a strided view, no copy.
  matrix_view<const float> every(matrix_view<const float> x, std::size_t step, std::vector<float>&) const noexcept {
    if (x.rows() == 0) return x;
    return matrix_view<const float>(x.data(), (x.rows() + step - 1) / step, x.cols(), x.stride() * step);
  }
  /// The status every process returns.
  status agree(status s) const noexcept { return s; }

 private:
  std::size_t rows_;
};

namespace detail {

/// The exact sum of every value of the processes' rows (x.rows() x x.cols()), each squared when
/// `square` is set; one max and one sum over the group.
template <class Group>
double exact_total(matrix_view<const float> x, bool square, const Group& grp) {
  float m = 0.0f;
  for (std::size_t i = 0; i < x.rows(); ++i) m = std::max(m, max_abs(x.row(i), x.cols()));
  const double b = static_cast<double>(grp.max(m));
  const exact_grid g = exact_grid::make(square ? b * b : b, grp.total() * (x.cols() ? x.cols() : 1));
  double acc[2] = {0.0, 0.0};
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const float* r = x.row(i);
    for (std::size_t t = 0; t < x.cols(); ++t) {
      const double v = static_cast<double>(r[t]);
      g.add(square ? v * v : v, acc[0], acc[1]);
    }
  }
  grp.sum(acc, 2);
  return acc[0] + acc[1];
}

/// The `count` largest of the processes' values `v` (local rows), as (value, global row) pairs in
/// descending order, ties by ascending row: the order one process would sort all rows in.
template <class Group>
std::vector<std::pair<float, std::size_t>> largest_rows(const std::vector<float>& v, std::size_t count,
                                                        const Group& grp) {
  auto before = [](const std::pair<float, std::size_t>& a, const std::pair<float, std::size_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::vector<std::pair<float, std::size_t>> mine(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) mine[i] = {v[i], grp.offset() + i};
  const std::size_t keep = std::min(count, mine.size());
  std::partial_sort(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(keep), mine.end(), before);
  mine.resize(keep);
  std::vector<std::pair<float, std::size_t>> all = grp.gather(mine);
  const std::size_t out = std::min(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(out), all.end(), before);
  all.resize(out);
  return all;
}

/// The width of the group's rows, agreed: a process without rows may pass 0 x 0 (or 0 x D), and
/// leaves with 0 x D; the processes with rows must give the same D. A malformed view or another
/// width fails on every process alike (collective: no process returns early alone). D is 0 when
/// no process has rows, or when they have no columns.
template <class Group>
status agree_width(matrix_view<const float>& data, const Group& grp) {
  status local = data.valid() ? status{} : status{errc::invalid_argument, msg::malformed_view};
  const float mine = local.ok() && data.rows() != 0 ? static_cast<float>(data.cols()) : 0.0f;
  const std::size_t d = static_cast<std::size_t>(grp.max(mine));
  if (local.ok() && data.rows() != 0 && data.cols() != d)
    local = status{errc::dimension_mismatch, "the processes' rows have different lengths"};
  RVQ_TRY(grp.agree(local));
  if (data.rows() == 0) data = matrix_view<const float>(data.data(), 0, d);
  return {};
}

}  // namespace detail
}  // namespace rvq
