// rvq-bench-mpi: what the collectives of distributed training cost on this machine or cluster,
// measured through rvq::mpi::row_group, the group rvq::mpi::train() runs on
// (docs/distributed.md, "Scale").
//
//   mpirun -np 2 rvq-bench-mpi [--reps N]
//
// For each shape K x D it times the sum of one Lloyd step (2 K D doubles: the exact sums'
// coarse and fine parts, then K counts) and the small collectives of each step (a max, a
// two-double sum, an and), and prints the median time per call on rank 0, as a table and as
// JSON lines.
#include <rvq/parallel/mpi.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  std::size_t reps = 50;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::size_t(std::max(1, std::atoi(argv[i + 1])));
  {
    const rvq::mpi::communicator comm;
    const rvq::mpi::row_group grp(comm, 1000);
    struct shape {
      std::size_t k, d;
    };
    const shape shapes[] = {{128, 100}, {256, 128}, {256, 784}, {1024, 128}};
    if (comm.root())
      std::printf(
          "%zu ranks, median of %zu calls\n| K x D | Lloyd sums (2 K D doubles + K counts) | bytes | "
          "small collectives (max, 2-double sum, and) |\n|---|---|---|---|\n",
          comm.size(), reps);
    for (const shape& s : shapes) {
      std::vector<double> sums(2 * s.k * s.d, 1.0);
      std::vector<std::uint64_t> counts(s.k, 1);
      std::vector<double> big, small;
      for (std::size_t r = 0; r < reps + 2; ++r) {
        comm.barrier();
        double t0 = MPI_Wtime();
        grp.sum(sums.data(), sums.size());
        grp.sum(counts.data(), counts.size());
        const double t1 = MPI_Wtime();
        double two[2] = {1.0, 2.0};
        (void)grp.max(1.0f);
        grp.sum(two, 2);
        (void)grp.all(true);
        const double t2 = MPI_Wtime();
        if (r >= 2) big.push_back(t1 - t0), small.push_back(t2 - t1);  // two warm-up calls
      }
      const double b = median(big), m = median(small);
      const std::size_t bytes = sums.size() * sizeof(double) + counts.size() * sizeof(std::uint64_t);
      if (comm.root()) {
        std::printf("| %zu x %zu | %.1f us | %zu | %.1f us |\n", s.k, s.d, b * 1e6, bytes, m * 1e6);
        std::fprintf(stderr,
                     "{\"ranks\": %zu, \"k\": %zu, \"d\": %zu, \"lloyd_sum_us\": %.2f, \"bytes\": %zu, "
                     "\"small_collectives_us\": %.2f}\n",
                     comm.size(), s.k, s.d, b * 1e6, bytes, m * 1e6);
      }
    }
  }
  MPI_Finalize();
  return 0;
}
