// The README's example: train, encode, decode, check the error. (Compiled in CI.)
#include <rvq/rvq.hpp>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  const std::size_t n = 2000, d = 32;
  std::vector<float> x(n * d);
  std::mt19937 gen(42);
  std::normal_distribution<float> normal;
  for (float& v : x) v = normal(gen);

  rvq::train_options opt;  // 4 layers of 64 codewords: 24 bits per vector
  opt.layers = 4;
  opt.codewords = {64};
  auto q = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), opt);
  if (!q) {
    std::fprintf(stderr, "train: %s\n", rvq::describe(q.error()).c_str());
    return 1;
  }

  std::vector<std::uint8_t> codes(q->layers());  // K <= 256: one byte per layer
  std::vector<float> y(d);
  rvq::status s = q->encode(rvq::span<const float>(x.data(), d), rvq::span<std::uint8_t>(codes));
  if (s) s = q->decode(rvq::span<const std::uint8_t>(codes), rvq::span<float>(y));
  if (!s) {
    std::fprintf(stderr, "%s\n", rvq::describe(s).c_str());
    return 1;
  }

  double err = 0, norm = 0;
  for (std::size_t t = 0; t < d; ++t) {
    err += (x[t] - y[t]) * (x[t] - y[t]);
    norm += x[t] * x[t];
  }
  std::printf("codes:");
  for (auto c : codes) std::printf(" %u", unsigned(c));
  std::printf("\nrelative error of vector 0: %.3f (%zu bits)\n", err / norm, q->bits_per_vector());
  return 0;
}
