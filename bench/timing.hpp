// Benchmark timing shared by the bench programs: the best encode rate over repeated passes.
#pragma once
#include <rvq/rvq.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace rvq_bench {

/// Best vectors per second of a greedy encode_batch of the first n rows of x over passes lasting
/// at least min_time seconds in total (at least 3, at most 51); the codes of the last pass in codes.
template <class Q>
double encode_speed(const Q& q, const std::vector<float>& x, std::size_t n, double min_time,
                    std::vector<std::uint16_t>& codes) {
  using seconds = std::chrono::duration<double>;
  const std::size_t d = q.dim(), l = q.layers();
  codes.assign(n * l, 0);
  rvq::workspace ws(q.workspace_for(1));
  double best = 0, spent = 0;
  for (int pass = 0; pass < 3 || spent < min_time; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    const rvq::status s = q.encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                                         rvq::matrix_view<std::uint16_t>(codes.data(), n, l), {}, ws.view());
    const double t = seconds(std::chrono::steady_clock::now() - t0).count();
    if (!s) {
      std::fprintf(stderr, "encode: %s\n", rvq::describe(s).c_str());
      std::exit(1);
    }
    spent += t;
    best = std::max(best, double(n) / t);
    if (pass > 50) break;
  }
  return best;
}

}  // namespace rvq_bench
