// Benchmark data: clustered vectors with a decaying spectrum (256 centres plus noise, coordinate
// t scaled by 1/sqrt(1+t)), so that every RVQ layer has structure to capture.
#pragma once
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace rvq_bench {

/// n vectors of dimension d; the centres depend only on d, so seeds give train and test sets.
inline std::vector<float> clustered_data(std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937 centres_rng(12345);
  std::normal_distribution<float> nd;
  constexpr std::size_t nc = 256;
  std::vector<float> centre(nc * d);
  for (auto& v : centre) v = nd(centres_rng);
  std::mt19937 g(seed);
  std::vector<float> x(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = g() % nc;
    for (std::size_t t = 0; t < d; ++t) x[i * d + t] = (centre[c * d + t] + 0.5f * nd(g)) / std::sqrt(1.0f + float(t));
  }
  return x;
}

}  // namespace rvq_bench
