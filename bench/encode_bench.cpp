// Encode throughput of the current backend on the shapes users bring: sensor latents
// (D=100, K=128, L=8), (D=128, K=1024, L=8) and Fashion-MNIST-sized (D=784, K=256, L=8).
// Codebooks are random (speed does not depend on their values).
//   build/bench/bin/rvq-bench-encode --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <rvq/rvq.hpp>

#include "peak.hpp"

#include <random>
#include <string>
#include <vector>

namespace {

struct shape {
  std::size_t d, k, l;
};
constexpr shape shapes[] = {{100, 128, 8}, {128, 1024, 8}, {784, 256, 8}};

std::vector<float> random_values(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(n);
  for (auto& x : v) x = nd(g);
  return v;
}

rvq::quantizer<> make(const shape& s) {
  const auto cb = random_values(s.l * s.k * s.d, 1);
  return std::move(rvq::quantizer<>::from_codebooks(rvq::span<const float>(cb), s.l, s.k, s.d)).value();
}

double peak() {
  static const double p = rvq_bench::fma_peak_gflops();
  return p;
}

void counters(benchmark::State& state, const shape& s, std::size_t vectors) {
  const double macs = double(vectors) * double(s.d * s.k * s.l);
  state.counters["vectors/s"] = benchmark::Counter(double(vectors), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GMAC/s"] = benchmark::Counter(macs / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  // Share of the measured FMA peak, as a rate: (MACs / peak) per second of run time.
  state.counters["peak"] = benchmark::Counter(macs / (peak() * 1e9), benchmark::Counter::kIsIterationInvariantRate);
}

/// The kernel alone: block_rows rows (or one) against one layer's panels, fused argmin.
void kernel_argmin(benchmark::State& state) {
  const shape s = shapes[state.range(0)];
  const bool one = state.range(1) == 1;
  using kernels = rvq::simd_traits<rvq::default_simd>::kernels;
  constexpr std::size_t br = kernels::block_rows;
  const std::size_t rows_n = one ? 1 : br;
  const auto cw = random_values(s.k * s.d, 1);
  std::vector<float, rvq::detail::aligned_allocator<float, kernels::panel_alignment>> panels(
      kernels::panel_floats(s.k, s.d));
  kernels::pack_panels(cw.data(), s.k, s.d, panels.data());
  std::vector<float> bias(kernels::padded_codewords(s.k), 1.0f), scale(bias.size(), 2.0f);
  const auto x = random_values(br * s.d, 2);
  const float* rows[br];
  for (std::size_t i = 0; i < br; ++i) rows[i] = x.data() + i * s.d;
  std::uint32_t idx[br];
  float score[br];
  for (auto _ : state) {
    kernels::argmin_panels(rows, rows_n, s.d, panels.data(), s.k, bias.data(), scale.data(), idx, score);
    benchmark::DoNotOptimize(idx);
  }
  counters(state, shape{s.d, s.k, 1}, rows_n);
}

void batch_encode(benchmark::State& state) {
  const shape s = shapes[state.range(0)];
  const std::size_t n = 4096, beam = static_cast<std::size_t>(state.range(1));
  const auto q = make(s);
  const auto x = random_values(n * s.d, 2);
  std::vector<std::uint16_t> codes(n * s.l);
  rvq::workspace ws(q.workspace_for(beam));
  for (auto _ : state) {
    const auto st =
        q.encode_batch(rvq::matrix_view<const float>(x.data(), n, s.d),
                       rvq::matrix_view<std::uint16_t>(codes.data(), n, s.l), rvq::encode_options{beam}, ws.view());
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(codes.data());
  }
  counters(state, s, n);
}

void single_encode(benchmark::State& state) {
  const shape s = shapes[state.range(0)];
  const auto q = make(s);
  const auto x = random_values(s.d, 3);
  std::vector<std::uint16_t> codes(s.l);
  rvq::workspace ws(q.workspace_for(1));
  for (auto _ : state) {
    const auto st = q.encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes), {}, ws.view());
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(codes.data());
  }
  counters(state, s, 1);
}

}  // namespace

BENCHMARK(batch_encode)->ArgsProduct({{0, 1, 2}, {1, 8}})->ArgNames({"shape", "beam"})->Unit(benchmark::kMillisecond);
BENCHMARK(kernel_argmin)->ArgsProduct({{0, 1, 2}, {0, 1}})->ArgNames({"shape", "one_row"});
BENCHMARK(single_encode)->DenseRange(0, 2)->ArgName("shape")->Unit(benchmark::kMicrosecond);
int main(int argc, char** argv) {
  benchmark::AddCustomContext("rvq_simd_backend", rvq::simd_traits<rvq::default_simd>::name);
  benchmark::AddCustomContext("fp32_fma_peak_gflops", std::to_string(peak()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
