// One set of limits (core/limits.hpp): every way to build a model checks the same shape limits as
// the .rvq parser, so that whatever rvq writes, it reads back, and whatever it refuses to read,
// it refuses to build. A property test over random shapes, the edges included.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <random>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_limits_test {

using rvq::span;
using rvq_test::temp_path;

namespace {
using cfg = rvq::config<rvq::f32, rvq::l2>;

/// Builds a model of the shape from seeded values, saves it, loads it, and compares every codeword.
void round_trip(const std::vector<std::size_t>& k, std::size_t dim, unsigned seed) {
  std::size_t total = 0;
  for (std::size_t v : k) total += v;
  const auto values = rvq_test::gaussian(total, dim, seed);
  auto q = rvq::quantizer<cfg>::from_codebooks(span<const float>(values), span<const std::size_t>(k), dim);
  REQUIRE(q.ok());
  const std::string p = temp_path("limits.rvq");
  REQUIRE(rvq::io::save_model(*q, p).ok());
  auto back = rvq::io::load_model<cfg>(p);
  REQUIRE(back.ok());
  REQUIRE(back->layers() == k.size());
  REQUIRE(back->dim() == dim);
  for (std::size_t l = 0, row = 0; l < k.size(); ++l) {
    REQUIRE(back->codewords(l) == k[l]);
    for (std::size_t c = 0; c < k[l]; ++c, ++row)
      REQUIRE(std::equal(back->codeword(l, c), back->codeword(l, c) + dim, values.begin() + std::ptrdiff_t(row * dim)));
  }
  // The parser's own view of the file agrees.
  auto info = rvq::io::read_model_info(p);
  REQUIRE(info.ok());
  CHECK(info->codewords == k);
}
}  // namespace

TEST_CASE("limits: what rvq builds it writes, and what it writes it reads (random shapes)", "[io][limits]") {
  std::mt19937 rng(2026);
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t layers = 1 + rng() % 12, dim = 1 + rng() % 64;
    std::vector<std::size_t> k(layers);
    for (auto& v : k) v = 1 + rng() % 300;
    INFO("trial " << trial << ": L=" << layers << " D=" << dim);
    round_trip(k, dim, unsigned(trial));
  }
  // The edges: the most layers, the largest K.
  round_trip(std::vector<std::size_t>(rvq::max_layers, 1), 1, 1);
  round_trip({rvq::max_codewords}, 1, 2);
}

TEST_CASE("limits: past any limit, building fails with the reason and nothing is written", "[io][limits]") {
  struct bad {
    std::vector<std::size_t> k;
    std::size_t dim;
    const char* message;
  };
  for (const bad& b :
       {bad{std::vector<std::size_t>(rvq::max_layers + 1, 1), 1, rvq::msg::layers_out_of_range},
        bad{{rvq::max_codewords + 1}, 1, rvq::msg::k_out_of_range}, bad{{4, 0}, 1, rvq::msg::k_out_of_range},
        bad{{4}, 0, rvq::msg::dim_out_of_range}, bad{{}, 1, "a model needs at least one layer"}}) {
    INFO(b.message);
    const rvq::status s = rvq::check_shape(b.k.size(), b.k.data(), b.dim);
    CHECK(s.message() == std::string(b.message));
    std::size_t total = 0;
    for (std::size_t v : b.k) total += v;
    const std::vector<float> values(total * b.dim, 0.5f);
    auto q = rvq::quantizer<cfg>::from_codebooks(span<const float>(values), span<const std::size_t>(b.k), b.dim);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error().message() == std::string(b.message));
  }
  // The total: 2^26 codewords in all layers, checked without building them.
  const std::vector<std::size_t> many(2048, 65536);  // 2^27
  CHECK(rvq::check_shape(many.size(), many.data(), 1).message() == std::string(rvq::msg::total_out_of_range));
  // Training refuses the same shapes before it allocates.
  const auto x = rvq_test::gaussian(64, 4, 1);
  rvq::train_options o = rvq_test::options(rvq::max_layers + 1, 2, 1);
  auto t = rvq::train<cfg>(rvq::matrix_view<const float>(x.data(), 64, 4), o);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message() == std::string(rvq::msg::layers_out_of_range));
}

TEST_CASE("limits: a model file may not claim more memory than it backs", "[io][limits]") {
  // Seeded, shared rpq sub-codebooks: the writer refuses what the reader would refuse.
  rvq::product_codebooks pc;
  pc.kind = rvq::storage_id::rpq;
  pc.dim = 2;
  pc.k.assign(64, 65536);
  pc.subspaces = 1;
  pc.bits = 1;
  pc.seeded = pc.shared = true;
  pc.values = {0.f, 1.f, 2.f, 3.f};
  std::vector<unsigned char> bytes;
  const rvq::status s = rvq::io::product_bytes(pc, rvq::metric_id::l2, bytes);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message() == std::string(rvq::msg::model_expands));
  CHECK(rvq::io::memory_bound(16 * 1024) == std::uint64_t{64} << 20);
  CHECK(rvq::io::memory_bound(std::uint64_t{1} << 20) == std::uint64_t{1} << 30);
}

}  // namespace rvq_test_io_limits_test
