// When does exact pruning (rvq::scalar_pruned) pay on the firmware (rows) search? Single-vector
// encode of a static sensor-latent model (D=100, K=128, L=8), plain scalar against pruned, with
// codebooks trained by rvq on clustered data and with random codebooks.
//   build/bench/bin/rvq-bench-prune
#include <benchmark/benchmark.h>
#include <rvq/rvq.hpp>
#include <rvq/simd/scalar/pruned.hpp>

#include <array>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "data.hpp"

namespace {

constexpr std::size_t L = 8, K = 128, D = 100;
using books_t = std::array<float, L * K * D>;
template <class Simd>
using static_q =
    rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, Simd>, rvq::extents<L, K, D>>;

const books_t& trained_books() {
  static const std::unique_ptr<books_t> books = [] {
    const auto x = rvq_bench::clustered_data(20000, D, 1);
    rvq::train_options opt;
    opt.layers = L;
    opt.codewords = {K};
    opt.iterations = 10;
    auto q = rvq::train(rvq::matrix_view<const float>(x.data(), 20000, D), opt);
    if (!q) std::abort();
    auto b = std::make_unique<books_t>();
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t c = 0; c < K; ++c)
        for (std::size_t t = 0; t < D; ++t) (*b)[(l * K + c) * D + t] = q.value().codeword(l, c)[t];
    return b;
  }();
  return *books;
}

const books_t& random_books() {
  static const std::unique_ptr<books_t> books = [] {
    auto b = std::make_unique<books_t>();
    std::mt19937 g(3);
    std::normal_distribution<float> nd;
    for (auto& v : *b) v = nd(g) * 0.3f;
    return b;
  }();
  return *books;
}

template <class Simd>
void encode_one(benchmark::State& state) {
  const books_t& books = state.range(0) ? trained_books() : random_books();
  const static_q<Simd> q(books);
  const auto x = rvq_bench::clustered_data(256, D, 2);
  std::array<std::uint8_t, L> codes{};
  std::size_t i = 0;
  for (auto _ : state) {
    const auto st = q.encode(rvq::span<const float>(x.data() + (i++ % 256) * D, D), rvq::span<std::uint8_t>(codes));
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(codes.data());
  }
  state.counters["vectors/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_TEMPLATE(encode_one, rvq::scalar)->Arg(1)->Arg(0)->ArgName("trained");
BENCHMARK_TEMPLATE(encode_one, rvq::scalar_pruned)->Arg(1)->Arg(0)->ArgName("trained");
BENCHMARK_MAIN();
