// rvq on a GAP9-class cluster: eight worker cores that a controller forks and joins at a barrier.
// On the chip the platform below calls the SDK (pi_cl_team_fork, pi_core_id; see README.md); here
// host threads emulate the cores, so the same code runs and is checked on a desktop.
//
// Two ways to spread an encode over the cores, both giving the sequential codes bit for bit:
//  - one vector (the streaming case: one latent per frame): each layer's codewords are split
//    across the cores, each core finds the nearest in its range, the controller reduces;
//  - a batch: the vectors are split across the cores, each encodes its own.
// The model is the sensor-latent shape D=100, K=256, L=8, as int8 (integer-only encode from
// 16-bit fixed-point input) and as float, with compile-time extents as firmware has them.
#include <rvq/rvq.hpp>
#include <rvq/parallel/host_cluster.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <cstdio>
#include <random>
#include <vector>

namespace {

constexpr std::size_t L = 8, K = 256, D = 100;

/// The cluster as rvq::fork_join sees it. On GAP9: `pi_cl_team_fork(n, entry, arg)` and
/// `pi_core_id()`; here the emulation of rvq::host_cluster, plus a count of the forks.
struct gap9_cluster {
  static constexpr std::size_t cores = 8;              ///< worker cores
  static constexpr std::size_t min_split_macs = 4096;  ///< below this a layer is not split
  static void fork(std::size_t n, void (*entry)(void*), void* arg) {
    forks.fetch_add(1, std::memory_order_relaxed);
    rvq::host_cluster<8>::fork(n, entry, arg);
  }
  static std::size_t core_id() { return rvq::host_cluster<8>::core_id(); }
  static inline std::atomic<std::size_t> forks{0};
};

template <class Element, class Parallel>
using cluster_config = rvq::config<Element, rvq::l2, rvq::dense, Parallel, rvq::scalar>;
using int8_seq = rvq::quantizer<cluster_config<rvq::int8, rvq::sequential>, rvq::extents<L, K, D>>;
using int8_cluster = rvq::quantizer<cluster_config<rvq::int8, rvq::fork_join<gap9_cluster>>, rvq::extents<L, K, D>>;
using f32_seq = rvq::quantizer<cluster_config<rvq::f32, rvq::sequential>, rvq::extents<L, K, D>>;
using f32_cluster = rvq::quantizer<cluster_config<rvq::f32, rvq::fork_join<gap9_cluster>>, rvq::extents<L, K, D>>;

/// Sensor-like latents: a mixture of Gaussian clusters in a 12-dimensional subspace, plus noise.
std::vector<float> latents(std::size_t n, unsigned seed) {
  std::mt19937 g(7);  // the same subspace and centres for every call
  std::normal_distribution<float> nd;
  std::vector<float> basis(12 * D), centre(32 * 12);
  for (auto& v : basis) v = nd(g) / 3.0f;
  for (auto& v : centre) v = 2.0f * nd(g);
  g.seed(seed);
  std::vector<float> x(n * D);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = g() % 32;
    for (std::size_t t = 0; t < D; ++t) {
      float v = 0.05f * nd(g);
      for (std::size_t j = 0; j < 12; ++j) v += (centre[c * 12 + j] + nd(g) * 0.3f) * basis[j * D + t];
      x[i * D + t] = v;
    }
  }
  return x;
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Encodes every row with the sequential and the cluster quantizer, one vector at a time and as
/// one batch; returns the number of vectors whose codes differ from the sequential ones.
template <class Seq, class Cluster, class Encode>
std::size_t compare(const char* what, const Seq& seq, const Cluster& cl, const std::vector<float>& x, Encode&& one) {
  const std::size_t n = x.size() / D;
  std::vector<std::uint8_t> a(n * L), b(n * L), c(n * L);
  gap9_cluster::forks = 0;
  double t_seq = seconds([&] {
    for (std::size_t i = 0; i < n; ++i) one(seq, &x[i * D], &a[i * L]);
  });
  const double t_split = seconds([&] {
    for (std::size_t i = 0; i < n; ++i) one(cl, &x[i * D], &b[i * L]);
  });
  const std::size_t forks_one = gap9_cluster::forks;
  gap9_cluster::forks = 0;
  const double t_batch = seconds([&] {
    if (!cl.encode_batch(rvq::matrix_view<const float>(x.data(), n, D), rvq::matrix_view<std::uint8_t>(c.data(), n, L)))
      std::abort();
  });
  std::size_t differ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t *pa = a.data() + i * L, *pb = b.data() + i * L, *pc = c.data() + i * L;
    differ += !std::equal(pa, pa + L, pb) || !std::equal(pa, pa + L, pc);
  }
  std::printf("%-6s one vector, each layer split over %zu cores: %zu forks per encode (one per layer)\n", what,
              gap9_cluster::cores, forks_one / n);
  std::printf("%-6s a batch of %zu split over %zu cores: %zu fork(s)\n", what, n, gap9_cluster::cores,
              gap9_cluster::forks.load());
  std::printf(
      "%-6s codes equal to sequential on %zu of %zu vectors (host emulation: sequential %.2f ms, "
      "split %.2f ms, batch %.2f ms; threads, not a cluster's timing)\n",
      what, n - differ, n, 1e3 * t_seq, 1e3 * t_split, 1e3 * t_batch);
  return differ;
}

/// `rvq-cluster [TRAIN TEST]`: the numbers of training and test vectors (default 4000 and 500).
std::size_t count_arg(int argc, char** argv, int i, std::size_t fallback) {
  if (argc <= i) return fallback;
  char* end = nullptr;
  const unsigned long v = std::strtoul(argv[i], &end, 10);
  if (*end != '\0' || v < 1 || v > 1000000) {
    std::fprintf(stderr, "rvq-cluster: '%s' is not a vector count (1 .. 1000000)\n", argv[i]);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n_train = std::max<std::size_t>(count_arg(argc, argv, 1, 4000), K);
  const std::size_t n_test = count_arg(argc, argv, 2, 500);
  const std::vector<float> train = latents(n_train, 1), test = latents(n_test, 2);
  rvq::train_options o;
  o.layers = L;
  o.codewords = {K};
  o.iterations = 6;
  o.refine = 0;
  auto model = rvq::train(rvq::matrix_view<const float>(train.data(), train.size() / D, D), o);
  if (!model) {
    std::printf("training failed: %s\n", model.error().message());
    return 1;
  }
  // Float: the codebooks as the static quantizers view them (what `rvq codegen` writes).
  auto books = std::make_unique<std::array<float, L * K * D>>();
  for (std::size_t l = 0; l < L; ++l)
    for (std::size_t c = 0; c < K; ++c) std::copy_n(model->codeword(l, c), D, books->data() + (l * K + c) * D);
  const f32_seq fs(*books);
  const f32_cluster fc(*books);
  std::size_t differ = compare("f32", fs, fc, test, [](const auto& q, const float* x, std::uint8_t* codes) {
    if (!q.encode(rvq::span<const float>(x, D), rvq::span<std::uint8_t>(codes, L))) std::abort();
  });

  // int8, one scale per layer: the integer tables a firmware header holds.
  rvq::quantize_options qo;
  qo.element = rvq::element_id::int8;
  qo.group = rvq::granularity::layer;
  rvq::quantized_codebooks q;
  if (const rvq::status s =
          rvq::quantize_codebooks(*model, rvq::matrix_view<const float>(train.data(), n_train, D), qo, q);
      !s) {
    std::printf("quantization failed: %s\n", s.message());
    return 1;
  }
  auto host = rvq::quantizer<rvq::config<rvq::int8>>::from_quantized(q);
  if (!host) {
    std::printf("integer tables: %s\n", host.error().message());
    return 1;
  }
  const auto& t = host->store().tables();
  rvq::int_layer layers[L];
  for (std::size_t l = 0; l < L; ++l) layers[l] = t.layers[l].view;
  const int8_seq is(layers, t.input_frac, t.mode);
  const int8_cluster ic(layers, t.input_frac, t.mode);
  // The sensor's samples as Q11 fixed point (the batch encodes the same values as floats).
  std::vector<float> q11(test.size());
  for (std::size_t i = 0; i < q11.size(); ++i)
    q11[i] = static_cast<float>(rvq::srs<std::int16_t>(std::lround(test[i] * 2048.0f), 0)) / 2048.0f;
  differ += compare("int8", is, ic, q11, [](const auto& m, const float* x, std::uint8_t* codes) {
    std::int16_t fixed[D];
    for (std::size_t i = 0; i < D; ++i) fixed[i] = static_cast<std::int16_t>(std::lround(x[i] * 2048.0f));
    if (!m.encode_fixed(rvq::span<const std::int16_t>(fixed, D), 11, rvq::span<std::uint8_t>(codes, L))) std::abort();
  });
  std::printf(differ ? "FAILED: the cluster's codes differ from the sequential ones\n"
                     : "the cluster gives the sequential codes, bit for bit\n");
  return differ ? 1 : 0;
}
