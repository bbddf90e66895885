// rvq-synth: structured synthetic data for when no real data set is installed: a mixture of
// Gaussian clusters living in a low-dimensional subspace, plus noise, written as float32 .npy.
//   rvq-synth --dim 784 --train 20000 --test 2000 --out-train train.npy --out-test test.npy
#include <rvq/io/npy.hpp>
#include <rvq/exceptions.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::size_t dim = 784, ntrain = 20000, ntest = 2000, seed = 1;
  std::string out_train, out_test;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--dim")
      dim = std::strtoul(v.c_str(), nullptr, 10);
    else if (k == "--train")
      ntrain = std::strtoul(v.c_str(), nullptr, 10);
    else if (k == "--test")
      ntest = std::strtoul(v.c_str(), nullptr, 10);
    else if (k == "--seed")
      seed = std::strtoul(v.c_str(), nullptr, 10);
    else if (k == "--out-train")
      out_train = v;
    else if (k == "--out-test")
      out_test = v;
    else {
      std::fprintf(stderr, "rvq-synth: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (out_train.empty() || out_test.empty() || dim == 0 || ntrain == 0 || ntest == 0) {
    std::fputs("usage: rvq-synth --out-train A.npy --out-test B.npy [--dim D] [--train N] [--test M] [--seed S]\n",
               stderr);
    return 2;
  }
  std::mt19937_64 g(seed);
  std::normal_distribution<float> nd;
  const std::size_t latent = 16, centres = 64;
  std::vector<float> basis(latent * dim), mu(centres * latent);
  for (auto& v : basis) v = nd(g) / 4.0f;
  for (auto& v : mu) v = 2.0f * nd(g);
  auto make = [&](std::size_t n, const std::string& path) {
    std::vector<float> x(n * dim);
    std::uniform_int_distribution<std::size_t> pick(0, centres - 1);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = pick(g);
      float z[latent];
      for (std::size_t j = 0; j < latent; ++j) z[j] = mu[c * latent + j] + nd(g);
      for (std::size_t t = 0; t < dim; ++t) {
        float v = 0.05f * nd(g);
        for (std::size_t j = 0; j < latent; ++j) v += z[j] * basis[j * dim + t];
        x[i * dim + t] = v;
      }
    }
    const std::size_t shape[2] = {n, dim};
    const rvq::status s = rvq::io::write_npy(path, x.data(), rvq::span<const std::size_t>(shape));
    if (!s) {
      std::fprintf(stderr, "rvq-synth: %s: %s\n", path.c_str(), rvq::describe(s).c_str());
      std::exit(1);
    }
  };
  make(ntrain, out_train);
  make(ntest, out_test);
  return 0;
}
