// pq/rpq with static extents (rvq::product_extents, firmware): the codes of the dense static
// quantizer over the expanded codebook (bit for bit where the search sums as the dense reference;
// near-ties only through lookup tables), constexpr footprints, and bad values caught by validate().
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <cstring>
#include <random>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_storage_product_static_test {

namespace {

/// Random sub-codebooks and indices in the shape of Ext, as the host holds them.
template <class Ext>
rvq::product_codebooks random_product(rvq::storage_id kind, unsigned seed) {
  rvq::product_codebooks pc;
  pc.kind = kind;
  pc.dim = Ext::dim;
  pc.k.assign(Ext::layers, Ext::codewords);
  pc.subspaces = Ext::subspaces;
  pc.bits = Ext::bits;
  pc.seeded = Ext::seeded;
  pc.shared = Ext::shared;
  pc.seed = 1000 + seed;
  pc.values = rvq_test::gaussian(pc.value_count(), 1, seed);
  if (!pc.seeded) {
    std::mt19937 g(seed);
    pc.indices.resize(pc.index_offset(pc.layers()));
    for (auto& i : pc.indices) i = static_cast<std::uint8_t>(g() % pc.entries());
  }
  REQUIRE(pc.validate().ok());
  return pc;
}

template <class Ext, class Storage, class Metric>
void check_static_product(unsigned seed, bool exact) {
  using cfg = rvq::config<rvq::f32, Metric, Storage, rvq::sequential, rvq::scalar>;
  using sq_t = rvq::quantizer<cfg, Ext>;
  using dense_t = rvq::quantizer<rvq::config<rvq::f32, Metric, rvq::dense, rvq::sequential, rvq::scalar>,
                                 rvq::extents<Ext::layers, Ext::codewords, Ext::dim>>;
  const auto pc = random_product<Ext>(rvq::storage_traits<Storage>::id, seed);
  static float sub[Ext::sub_values];
  std::memcpy(sub, pc.values.data(), sizeof sub);
  sq_t q = [&] {
    if constexpr (Ext::seeded) {
      return sq_t(sub, pc.seed);
    } else {
      static std::uint8_t idx[Ext::index_count];
      std::memcpy(idx, pc.indices.data(), sizeof idx);
      return sq_t(sub, idx);
    }
  }();
  REQUIRE(q.validate().ok());
  static float expanded[Ext::layers * Ext::codewords * Ext::dim];
  const auto all = pc.expand_all();
  std::memcpy(expanded, all.data(), sizeof expanded);
  const dense_t d(expanded);
  // Every codeword expands to the host's.
  std::vector<float> c(Ext::dim);
  for (std::size_t l = 0; l < Ext::layers; ++l)
    for (std::size_t k = 0; k < Ext::codewords; k += 7) {
      q.expand_codeword(l, k, c.data());
      CHECK(std::memcmp(c.data(), expanded + (l * Ext::codewords + k) * Ext::dim, Ext::dim * 4) == 0);
    }
  const std::size_t n = 200;
  const auto x = rvq_test::gaussian(n, Ext::dim, seed + 1, 2.0f);
  std::size_t diff = 0;
  using code = typename sq_t::code_type;
  for (std::size_t i = 0; i < n; ++i) {
    code a[Ext::layers], b[Ext::layers];
    const rvq::span<const float> xi(x.data() + i * Ext::dim, Ext::dim);
    REQUIRE(q.encode(xi, rvq::span<code>(a)).ok());
    REQUIRE(d.encode(xi, rvq::span<code>(b)).ok());
    for (std::size_t l = 0; l < Ext::layers; ++l) diff += a[l] != b[l];
    // Decode is the sum of the expanded codewords.
    float y[Ext::dim], z[Ext::dim];
    REQUIRE(q.decode(rvq::span<const code>(a), rvq::span<float>(y)).ok());
    REQUIRE(d.decode(rvq::span<const code>(a), rvq::span<float>(z)).ok());
    CHECK(std::memcmp(y, z, sizeof y) == 0);
    // Beam search (stack-free path: a workspace sized by the static constant).
    if (i % 20 == 0) {
      constexpr auto w = sq_t::static_workspace(4);
      std::vector<float> f(w.floats);
      std::vector<std::uint32_t> ix(w.indices);
      code bb[Ext::layers], bd[Ext::layers];
      const rvq::workspace_view wv{rvq::span<float>(f), rvq::span<std::uint32_t>(ix)};
      REQUIRE(q.encode(xi, rvq::span<code>(bb), rvq::encode_options{4}, wv).ok());
      REQUIRE(d.encode(xi, rvq::span<code>(bd), rvq::encode_options{4}, wv).ok());
      if (exact) CHECK(std::memcmp(bb, bd, sizeof bb) == 0);
    }
  }
  if (exact)
    CHECK(diff == 0);
  else
    CHECK(diff <= n * Ext::layers / 100);  // near-ties of the table sums
  // The footprint is a constant.
  constexpr rvq::footprint_info f = sq_t::static_footprint();
  STATIC_REQUIRE(f.codebook_bytes == Ext::sub_values * 4 + Ext::index_count);
  STATIC_REQUIRE(f.constant_bytes == 2 * Ext::layers * Ext::codewords * 4);
  CHECK(q.memory_footprint().codebook_bytes == f.codebook_bytes);
  CHECK(q.memory_footprint().macs_per_vector == f.macs_per_vector);
  CHECK(q.memory_footprint().scratch_bytes == f.scratch_bytes);
  CHECK(f.codebook_bytes == pc.stored_bytes());
}

// A constexpr model, as a generated firmware header holds it.
constexpr float fw_sub[2 * 4 * 2] = {1, 0, 0, 1, -1, 0, 0, -1, 0.5f, 0.5f, -0.5f, 0.5f, 0.5f, -0.5f, -0.5f, -0.5f};
constexpr std::uint8_t fw_idx[1 * 2 * 4] = {0, 1, 2, 3, 3, 2, 1, 0};
using fw_ext = rvq::product_extents<1, 4, 4, 2, 2>;
using fw_q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq, rvq::sequential, rvq::scalar>, fw_ext>;
constexpr fw_q fw_model(fw_sub, fw_idx);

}  // namespace

TEST_CASE("static pq/rpq: codes of the dense static quantizer over the expanded codebook", "[product][static]") {
  SECTION("rpq, seeded indices, per-layer sub-codebooks, l2 (sub-codeword search)") {
    check_static_product<rvq::product_extents<4, 64, 16, 4, 4, true, false>, rvq::rpq, rvq::l2>(1, true);
  }
  SECTION("pq, stored indices, ip") {
    check_static_product<rvq::product_extents<3, 100, 12, 3, 8>, rvq::pq, rvq::ip>(2, true);
  }
  SECTION("rpq, stored indices, shared sub-codebooks, cosine") {
    check_static_product<rvq::product_extents<2, 128, 24, 6, 3, false, true>, rvq::rpq, rvq::cosine>(3, true);
  }
  SECTION("rpq, seeded, lookup tables (wide sub-spaces)") {
    using ext = rvq::product_extents<2, 256, 64, 2, 4, true, false>;
    using q_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::rpq, rvq::sequential, rvq::scalar>, ext>;
    STATIC_REQUIRE(q_t::store_type::tables);
    STATIC_REQUIRE(q_t::static_footprint().lookups_per_vector == 2 * 256 * 2);
    STATIC_REQUIRE(q_t::static_footprint().macs_per_vector == 2 * 16 * 64);
    STATIC_REQUIRE(q_t::static_footprint().scratch_bytes == 64 * 4 + 2 * 16 * 4);
    check_static_product<ext, rvq::rpq, rvq::l2>(4, false);
  }
}

TEST_CASE("static pq/rpq: a constexpr model, and bad values caught by validate()", "[product][static]") {
  STATIC_REQUIRE(fw_q::static_footprint().codebook_bytes == 16 * 4 + 8);
  STATIC_REQUIRE(fw_model.layers() == 1);
  REQUIRE(fw_model.validate().ok());
  std::uint8_t codes[1];
  const float x[4] = {-0.6f, 0.2f, -0.4f, 0.4f};  // nearest: codeword 2 = (-1, 0, -0.5, 0.5)
  REQUIRE(fw_model.encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(codes)).ok());
  CHECK(codes[0] == 2);
  static float sub[16];
  static std::uint8_t idx[8];
  std::memcpy(sub, fw_sub, sizeof sub);
  std::memcpy(idx, fw_idx, sizeof idx);
  idx[5] = 4;  // not below 2^2: reported by validate(), and never read out of bounds
  const fw_q bad(sub, idx);
  CHECK(bad.validate().code() == rvq::errc::invalid_argument);
  CHECK(bad.encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(codes)).ok());
  idx[5] = 2;
  sub[3] = std::numeric_limits<float>::infinity();
  const auto s = fw_q(sub, idx).validate();
  CHECK(s.code() == rvq::errc::non_finite);
  CHECK(s.where() == 3);
}

}  // namespace rvq_test_storage_product_static_test
