// Shared test helpers: generated data, metric lists, small utilities.
#pragma once
#include <rvq/rvq.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>
#include <unistd.h>

namespace rvq_test {

using metrics = std::tuple<rvq::l2, rvq::ip, rvq::cosine>;

/// N x D standard normal values.
inline std::vector<float> gaussian(std::size_t n, std::size_t d, unsigned seed = 1, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> x(n * d);
  for (auto& v : x) v = nd(g);
  return x;
}

/// Points around `c` well-separated centres of equal norm 100 in distinct directions (+-e_i),
/// noise 0.1, so that every metric separates them; needs c <= 2 d. Labels out.
inline std::vector<float> clusters(std::size_t c, std::size_t per, std::size_t d, std::vector<std::size_t>& label,
                                   unsigned seed = 7) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> centre(c * d);
  for (std::size_t i = 0; i < c; ++i) centre[i * d + i % d] = i < d ? 100.0f : -100.0f;
  std::vector<float> x;
  label.clear();
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < per; ++j) {
      for (std::size_t t = 0; t < d; ++t) x.push_back(centre[i * d + t] + 0.1f * nd(g));
      label.push_back(i);
    }
  return x;
}

/// Training options for small tests: `layers` layers of `k` codewords, `iterations` Lloyd steps.
inline rvq::train_options options(std::size_t layers, std::size_t k, std::size_t iterations) {
  rvq::train_options opt;
  opt.layers = layers;
  opt.codewords = {k};
  opt.iterations = iterations;
  return opt;
}

/// Test MSE per vector of q on the n rows of x (rvq::evaluate()); -1 when the encode fails.
template <class Q>
double mse(const Q& q, const std::vector<float>& x, std::size_t n, std::size_t beam = 1) {
  rvq::eval_options o;
  o.beam = beam;
  o.per_layer = false;
  const auto r = rvq::evaluate(q, rvq::matrix_view<const float>(x.data(), n, q.dim()), o);
  return r ? r->mse : -1;
}

/// Restores the process's kernel target (rvq::set_isa) when a test that forces one ends.
struct isa_guard {
  rvq::isa saved = rvq::active_isa();
  ~isa_guard() { (void)rvq::set_isa(saved); }
};

/// Prefix of this process's scratch files (tests run as parallel processes).
inline std::string temp_prefix() { return std::to_string(static_cast<long>(::getpid())) + "_"; }

/// A unique scratch path under the build's temporary folder.
inline std::string temp_path(const std::string& name) {
  static unsigned counter = 0;
  return std::string(RVQ_TEST_TMPDIR) + "/" + temp_prefix() + std::to_string(counter++) + "_" + name;
}

}  // namespace rvq_test
