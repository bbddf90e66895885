// rvq::mpi::evaluate() and rvq::mpi::train() called in C++ under mpirun (-np 1, 2, 3): every rank
// returns the figures and the model of one process on all the rows, bit for bit, also when a
// rank holds no rows at all (a 0 x 0 view, as a caller with nothing to contribute passes it) or
// 0 x D; and so is the eigendecomposition the ranks share. Exit code 0 when every check holds
// on every rank; else 1, with the failed checks.
#include <rvq/parallel/mpi.hpp>
#include <rvq/rvq.hpp>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

std::vector<float> gaussian(std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(n * d);
  for (auto& x : v) x = nd(g);
  return v;
}

int failures = 0;
void check(bool ok, const char* what, std::size_t rank) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "rank %zu: check failed: %s\n", rank, what);
}

bool same(const rvq::eval_report& a, const rvq::eval_report& b) {
  return a.vectors == b.vectors && a.mse == b.mse && a.rel_mse == b.rel_mse &&
         a.mean_squared_norm == b.mean_squared_norm && a.layer_rel_mse == b.layer_rel_mse;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  {
    const rvq::mpi::communicator comm;
    const std::size_t n = 500, d = 12, me = comm.rank(), last = comm.size() - 1;
    const std::vector<float> x = gaussian(n, d, 3);
    const rvq::matrix_view<const float> all(x.data(), n, d);
    rvq::train_options opt;
    opt.layers = 3;
    opt.codewords = {16};
    opt.iterations = 4;
    opt.refine = 2;
    auto one = rvq::train(all, opt);  // one process, every row: the reference
    check(one.ok(), "rvq::train", me);

    // Rows split by shard_of(); then every row on the ranks before the last, the last with 0 x 0.
    for (int layout = 0; layout < 2 && one.ok(); ++layout) {
      rvq::matrix_view<const float> mine;  // 0 x 0
      if (layout == 0) {
        const rvq::mpi::shard s = comm.rows(n);
        mine = rvq::matrix_view<const float>(x.data() + s.begin * d, s.size(), d);
      } else if (me != last || comm.size() == 1) {
        const rvq::mpi::shard s = rvq::mpi::shard_of(n, me, comm.size() == 1 ? 1 : comm.size() - 1);
        mine = rvq::matrix_view<const float>(x.data() + s.begin * d, s.size(), d);
      }
      const char* name = layout == 0 ? "shards" : "last rank 0 x 0";
      auto ref = rvq::evaluate(*one, all);
      auto got = rvq::mpi::evaluate(comm, *one, mine);
      check(ref.ok() && got.ok(), (std::string(name) + ": evaluate succeeds").c_str(), me);
      if (ref.ok() && got.ok()) check(same(*ref, *got), (std::string(name) + ": evaluate's figures").c_str(), me);
      auto q = rvq::mpi::train(comm, mine, opt);
      check(q.ok(), (std::string(name) + ": train succeeds").c_str(), me);
      if (q.ok()) {
        std::vector<unsigned char> a, b;
        check(rvq::io::model_bytes(*one, a).ok() && rvq::io::model_bytes(*q, b).ok() && a == b,
              (std::string(name) + ": train's model").c_str(), me);
      }
    }
    // Beam-aware training: each rank extends its rows' beams, and every layer's k-means trains on
    // the residuals of all their entries, in the order of one process.
    {
      rvq::train_options bo = opt;
      bo.beam = 3;
      auto ref = rvq::train(all, bo);
      const rvq::mpi::shard s = comm.rows(n);
      auto q = rvq::mpi::train(comm, rvq::matrix_view<const float>(x.data() + s.begin * d, s.size(), d), bo);
      std::vector<unsigned char> a, b;
      check(ref.ok() && q.ok() && rvq::io::model_bytes(*ref, a).ok() && rvq::io::model_bytes(*q, b).ok() && a == b,
            "beam 3: train's model", me);
    }
    // A 0 x D shard on every rank but the first is the same as above; a shard of the wrong width
    // with rows is refused on every rank, naming the rank.
    const std::vector<float> wide = gaussian(4, d + 1, 5);
    const rvq::matrix_view<const float> bad =
        me == last ? rvq::matrix_view<const float>(wide.data(), 4, d + 1) : rvq::matrix_view<const float>();
    if (one.ok()) {
      auto r = rvq::mpi::evaluate(comm, *one, bad);
      check(!r.ok(), "a shard of the wrong width is refused", me);
      const std::string why = comm.agree(r.ok() ? rvq::status{} : r.error());
      check(why.find("rank " + std::to_string(last)) != std::string::npos, "the refusal names the rank", me);
    }
    // The eigendecomposition behind PCA, shared by the ranks, is the one of one process bit for
    // bit, also with fewer columns than ranks (n = 1, 2) and a repeated eigenvalue (n = 5).
    for (const std::size_t m : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{97}}) {
      std::vector<double> a(m * m);
      std::mt19937 g(static_cast<unsigned>(m));
      std::normal_distribution<double> nd;
      for (std::size_t r = 0; r < m; ++r)
        for (std::size_t c = 0; c <= r; ++c) a[r * m + c] = a[c * m + r] = m == 5 && r != c ? 0.0 : nd(g);
      if (m == 5) a[6] = a[12] = 2.5;  // two equal eigenvalues
      std::vector<double> v1, e1, v2, e2;
      const bool ok1 = rvq::symmetric_eigen(a, m, e1, v1).ok();
      const bool ok2 = rvq::detail::symmetric_eigen(a, m, e2, v2, rvq::mpi::row_group(comm, me == 0 ? m : 0)).ok();
      const std::string what = "symmetric_eigen of order " + std::to_string(m) + " over the ranks";
      check(ok1 && ok2 && e1.size() == e2.size() && v1.size() == v2.size() &&
                std::memcmp(e1.data(), e2.data(), e1.size() * sizeof(double)) == 0 &&
                std::memcmp(v1.data(), v2.data(), v1.size() * sizeof(double)) == 0,
            what.c_str(), me);
    }
    int all_ok = failures == 0 ? 1 : 0, every = 0;
    MPI_Allreduce(&all_ok, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (me == 0) std::printf("%s on %zu ranks\n", every ? "ok" : "FAILED", comm.size());
    failures = every ? 0 : 1;
  }
  MPI_Finalize();
  return failures == 0 ? 0 : 1;
}
