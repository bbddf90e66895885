// The pq and rpq storages: the codes of the dense search over the expanded codebook, by lookup
// tables and by expansion, every metric, greedy and beam; compress(); files; every error.
#include <catch2/catch.hpp>
#include "../helpers.hpp"
#include <rvq/parallel/thread_pool.hpp>

#include <cstring>
#include <fstream>
#include <random>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_storage_product_test {

using rvq::span;

namespace {

/// Random product codebooks: `k` per layer, dimension d, M sub-spaces, b bits.
rvq::product_codebooks random_product(rvq::storage_id kind, std::vector<std::size_t> k, std::size_t d, std::size_t m,
                                      unsigned bits, bool seeded, bool shared, rvq::element_id element,
                                      unsigned seed = 3) {
  rvq::product_codebooks pc;
  pc.kind = kind;
  pc.element = element;
  pc.dim = d;
  pc.k = std::move(k);
  pc.subspaces = m;
  pc.bits = bits;
  pc.seeded = seeded;
  pc.shared = shared;
  pc.seed = 0x1234u + seed;
  std::mt19937 g(seed);
  std::normal_distribution<float> nd;
  if (element == rvq::element_id::int8) {
    pc.qvalues.resize(pc.value_count());
    for (auto& v : pc.qvalues) v = static_cast<std::int8_t>(static_cast<int>(g() % 255) - 127);
    pc.scales.assign(pc.sets() * m, 0.0f);
    for (auto& s : pc.scales) s = 0.01f + 0.02f * static_cast<float>(g() % 8);
  } else {
    pc.values.resize(pc.value_count());
    for (auto& v : pc.values) v = nd(g);
  }
  if (!seeded) {
    pc.indices.resize(pc.index_offset(pc.layers()));
    for (auto& i : pc.indices) i = static_cast<std::uint8_t>(g() % pc.entries());
  }
  return pc;
}

template <class Q>
std::vector<std::uint16_t> encode_all(const Q& q, const std::vector<float>& x, std::size_t n, std::size_t beam) {
  std::vector<std::uint16_t> codes(n * q.layers());
  REQUIRE(q.encode_batch(rvq::matrix_view<const float>(x.data(), n, q.dim()),
                         rvq::matrix_view<std::uint16_t>(codes.data(), n, q.layers()), rvq::encode_options{beam})
              .ok());
  return codes;
}

std::size_t differences(const std::vector<std::uint16_t>& a, const std::vector<std::uint16_t>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("pq and rpq encode to the codes of the dense expanded codebook", "[storage][pq]",
                        rvq_test::metrics) {
  using M = TestType;
  const std::size_t d = 24, n = 300;
  const auto x = rvq_test::gaussian(n, d, 5, 2.0f);
  for (bool seeded : {false, true})
    for (bool shared : {false, true})
      for (auto element : {rvq::element_id::f32, rvq::element_id::int8}) {
        const auto pc =
            random_product(rvq::storage_id::rpq, {300, 40, 1000}, d, 6, seeded ? 4 : 8, seeded, shared, element);
        REQUIRE(pc.validate().ok());
        const auto cw = pc.expand_all();
        auto dense = rvq::quantizer<rvq::config<rvq::f32, M>>::from_codebooks(span<const float>(cw),
                                                                              span<const std::size_t>(pc.k), d);
        REQUIRE(dense.ok());
        for (auto mode : {rvq::product_search::tables, rvq::product_search::expand}) {
          INFO("seeded " << seeded << " shared " << shared << " int8 " << (element == rvq::element_id::int8)
                         << " tables " << (mode == rvq::product_search::tables));
          auto q = rvq::quantizer<rvq::config<rvq::f32, M, rvq::rpq>>::from_product(pc, mode);
          REQUIRE(q.ok());
          CHECK(q->store().uses_tables() == (mode == rvq::product_search::tables));
          for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
            const auto a = encode_all(*dense, x, n, beam), b = encode_all(*q, x, n, beam);
            CHECK(differences(a, b) <= a.size() / 200);  // near-ties only: sums in another order
            CHECK(rvq_test::mse(*q, x, n, beam) == Approx(rvq_test::mse(*dense, x, n, beam)).epsilon(1e-4));
          }
          // Single vectors and decode: the expanded codewords.
          std::vector<std::uint16_t> c1(3), c2(3);
          REQUIRE(q->encode(span<const float>(x.data(), d), span<std::uint16_t>(c1)).ok());
          REQUIRE(dense->encode(span<const float>(x.data(), d), span<std::uint16_t>(c2)).ok());
          CHECK(c1 == c2);
          std::vector<float> y1(d), y2(d), e(d);
          REQUIRE(q->decode(span<const std::uint16_t>(c1), span<float>(y1)).ok());
          REQUIRE(dense->decode(span<const std::uint16_t>(c1), span<float>(y2)).ok());
          CHECK(y1 == y2);
          q->expand_codeword(2, 999, e.data());
          CHECK(std::memcmp(e.data(), cw.data() + (340 + 999) * d, d * sizeof(float)) == 0);
        }
      }
}

TEST_CASE("pq and rpq: footprint counts stored bytes, tables count lookups", "[storage][pq]") {
  const auto pc = random_product(rvq::storage_id::pq, {1024, 1024}, 32, 8, 4, false, false, rvq::element_id::int8);
  // Sub-codebooks 2 x 8 x 16 x 4 int8 values + 16 scales, indices 8 x 2048 bytes.
  CHECK(pc.stored_bytes() == 2 * 8 * 16 * 4 + 16 * 4 + 8 * 2048);
  auto t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>::from_product(pc, rvq::product_search::tables);
  REQUIRE(t.ok());
  const auto f = t->memory_footprint();
  CHECK(f.codebook_bytes == pc.stored_bytes());
  CHECK(f.macs_per_vector == 2 * 16 * 32);
  CHECK(f.lookups_per_vector == 2 * 1024 * 8);
  auto e = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>::from_product(pc, rvq::product_search::expand);
  REQUIRE(e.ok());
  CHECK(e->memory_footprint().macs_per_vector == 2 * 1024 * 32);
  CHECK(e->memory_footprint().lookups_per_vector == 0);
  // Seeded: no index bytes.
  const auto s = random_product(rvq::storage_id::rpq, {1024, 1024}, 32, 8, 4, true, true, rvq::element_id::int8);
  CHECK(s.stored_bytes() == 8 * 16 * 4 + 8 * 4);
}

TEST_CASE("seeded indices are the documented counter-based function", "[storage][rpq]") {
  // splitmix64 of seed ^ (((l << 32) | (m << 16) | c) * 0xD1B54A32D192ED03), top b bits: fixed values,
  // the same on every target (a firmware regenerates them).
  auto reference = [](std::uint64_t seed, std::uint64_t l, std::uint64_t m, std::uint64_t c, unsigned b) {
    std::uint64_t z = (seed ^ (((l << 32) | (m << 16) | c) * 0xD1B54A32D192ED03ull)) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<unsigned>((z ^ (z >> 31)) >> (64 - b));
  };
  for (std::uint64_t l : {0u, 3u})
    for (std::uint64_t m : {0u, 7u})
      for (std::uint64_t c : {0u, 1u, 1023u})
        for (unsigned b : {4u, 8u}) CHECK(rvq::seeded_index(42, l, m, c, b) == reference(42, l, m, c, b));
  static_assert(rvq::seeded_index(1, 0, 0, 0, 8) == rvq::seeded_index(1, 0, 0, 0, 8), "constexpr");
  std::vector<std::size_t> hist(16, 0);
  for (std::size_t c = 0; c < 16000; ++c) ++hist[rvq::seeded_index(7, 1, 2, c, 4)];
  for (std::size_t h : hist) CHECK((h > 850 && h < 1150));  // uniform enough
}

TEST_CASE("product codebooks are validated with the reason", "[storage][errors]") {
  auto good = random_product(rvq::storage_id::pq, {16}, 8, 2, 4, false, false, rvq::element_id::f32);
  REQUIRE(good.validate().ok());
  auto bad = good;
  bad.subspaces = 3;
  CHECK(bad.validate().code() == rvq::errc::invalid_argument);
  bad = good;
  bad.bits = 9;
  CHECK(bad.validate().code() == rvq::errc::invalid_argument);
  bad = good;
  bad.indices[5] = 16;
  CHECK(bad.validate().code() == rvq::errc::code_out_of_range);
  CHECK(bad.validate().where() == 5);
  bad = good;
  bad.values[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(bad.validate().code() == rvq::errc::non_finite);
  bad = good;
  bad.seeded = true;
  bad.indices.clear();
  CHECK(std::string(bad.validate().message()).find("seeded is rpq") != std::string::npos);
  bad = good;
  bad.values.pop_back();
  CHECK(bad.validate().code() == rvq::errc::dimension_mismatch);
  // The other product storage's quantizer refuses it.
  auto r = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::rpq>>::from_product(good);
  CHECK(r.error().code() == rvq::errc::invalid_argument);
}

TEST_CASE("compress: pq k-means, rpq least squares, data fits", "[storage][compress]") {
  const std::size_t d = 16, n = 2000;
  const auto x = rvq_test::gaussian(n, d, 9);
  auto opt = rvq_test::options(3, 64, 8);
  opt.refine = 0;
  auto q = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), opt);
  REQUIRE(q.ok());
  const auto xv = rvq::matrix_view<const float>(x.data(), n, d);

  SECTION("pq with at least as many entries as codewords is exact") {
    rvq::compress_options o;
    o.storage = rvq::storage_id::pq;
    o.subspaces = 4;
    o.bits = 6;  // 64 entries, 64 codewords
    rvq::compress_report rep;
    auto pc = rvq::compress(*q, o, {}, &rep);
    REQUIRE(pc.ok());
    CHECK(rep.codeword_error < 1e-12);
    CHECK(rep.stored_bytes == pc->stored_bytes());
    CHECK(rep.dense_bytes == 3 * 64 * 16 * 4);
  }
  SECTION("rpq seeded: no indices, the data fit lowers the MSE") {
    rvq::compress_options o;
    o.storage = rvq::storage_id::rpq;
    o.seeded = true;
    o.bits = 4;
    rvq::compress_report rep;
    auto pc = rvq::compress(*q, o, xv, &rep);
    REQUIRE(pc.ok());
    CHECK(pc->indices.empty());
    CHECK(pc->subspaces == 4);  // default: sub-vectors of 4 values
    CHECK(rep.data_fit);
    CHECK(rep.mse < rep.codeword_fit_mse);
    CHECK(rep.mse > rep.dense_mse * 0.5);
    auto cq = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::rpq>>::from_product(*pc);
    REQUIRE(cq.ok());
    CHECK(rvq_test::mse(*cq, x, n) == Approx(rep.mse).epsilon(1e-6));
  }
  SECTION("rpq shared int8: one set of sub-codebooks, the joint fit lowers the MSE") {
    rvq::compress_options o;
    o.storage = rvq::storage_id::rpq;
    o.seeded = true;
    o.shared = true;
    o.element = rvq::element_id::int8;
    rvq::compress_report rep;
    auto pc = rvq::compress(*q, o, xv, &rep);
    REQUIRE(pc.ok());
    CHECK(pc->sets() == 1);
    CHECK(pc->qvalues.size() == 4 * 256 * 4);
    CHECK(rep.mse <= rep.codeword_fit_mse);
  }
  SECTION("rpq stored: re-assignment beats seeded indices on the codewords") {
    rvq::compress_options o;
    o.storage = rvq::storage_id::rpq;
    o.bits = 4;
    rvq::compress_report stored, seeded;
    REQUIRE(rvq::compress(*q, o, {}, &stored).ok());
    o.seeded = true;
    REQUIRE(rvq::compress(*q, o, {}, &seeded).ok());
    CHECK(stored.codeword_error < seeded.codeword_error);
  }
  SECTION("bad options and data are refused with the reason") {
    rvq::compress_options o;
    o.seeded = true;  // pq
    CHECK(rvq::compress(*q, o).error().code() == rvq::errc::invalid_argument);
    o = {};
    o.subspaces = 5;
    CHECK(std::string(rvq::compress(*q, o).error().message()).find("must divide") != std::string::npos);
    o = {};
    o.bits = 0;
    CHECK(rvq::compress(*q, o).error().code() == rvq::errc::invalid_argument);
    const auto x5 = rvq_test::gaussian(10, 5, 1);
    CHECK(rvq::compress(*q, {}, rvq::matrix_view<const float>(x5.data(), 10, 5)).error().code() ==
          rvq::errc::dimension_mismatch);
    auto xn = x;
    xn[3 * d + 1] = std::numeric_limits<float>::infinity();
    auto r = rvq::compress(*q, {}, rvq::matrix_view<const float>(xn.data(), n, d));
    CHECK(r.error().code() == rvq::errc::non_finite);
    CHECK(r.error().where() == 3);
  }
}

TEST_CASE("pq/rpq files: round trip, expansion into dense quantizers, corrupt files", "[storage][io]") {
  for (bool seeded : {false, true})
    for (auto element : {rvq::element_id::f32, rvq::element_id::int8}) {
      const auto pc =
          random_product(rvq::storage_id::rpq, {40, 20}, 12, 3, 4, seeded, !seeded, element, seeded ? 5u : 6u);
      const std::string path = rvq_test::temp_path("product.rvq");
      REQUIRE(rvq::io::save_product(pc, rvq::metric_id::ip, path).ok());
      auto read = rvq::io::read_model_info(path);
      REQUIRE(read.ok());
      const rvq::io::model_info& info = *read;
      CHECK(info.version == 3);
      CHECK(info.product);
      CHECK(info.storage == rvq::storage_id::rpq);
      CHECK(info.subspaces == 3);
      CHECK(info.seeded == seeded);
      CHECK(info.payload_bytes == pc.stored_bytes() - (element == rvq::element_id::int8 ? 4 * pc.scales.size() : 0));
      using q_t = rvq::quantizer<rvq::config<rvq::f32, rvq::ip, rvq::rpq>>;
      auto q = rvq::io::load_model<q_t::config_type>(path);
      REQUIRE(q.ok());
      auto orig = q_t::from_product(pc);
      const auto x = rvq_test::gaussian(50, 12, 2);
      CHECK(encode_all(*q, x, 50, 1) == encode_all(*orig, x, 50, 1));
      // Saved again: the same bytes.
      const std::string again = rvq_test::temp_path("product2.rvq");
      REQUIRE(rvq::io::save_model(*q, again).ok());
      std::vector<unsigned char> a, b;
      REQUIRE(rvq::io::read_file(path, a).ok());
      REQUIRE(rvq::io::read_file(again, b).ok());
      CHECK(a == b);
      // A dense quantizer loads the expanded codewords; a pq one and an l2 one refuse.
      auto dense = rvq::io::load_model<rvq::config<rvq::f32, rvq::ip>>(path);
      REQUIRE(dense.ok());
      CHECK(encode_all(*dense, x, 50, 1) == encode_all(*q, x, 50, 1));
      CHECK(rvq::io::load_model<rvq::config<rvq::f32, rvq::ip, rvq::pq>>(path).error().code() ==
            rvq::errc::invalid_argument);
      CHECK(rvq::io::load_model<rvq::config<rvq::f32, rvq::l2, rvq::rpq>>(path).error().code() ==
            rvq::errc::invalid_argument);
      rvq::io::mapped_model<rvq::config<rvq::f32, rvq::ip>> mm;
      CHECK(rvq::io::map_model(path, mm).code() == rvq::errc::unsupported);
    }

  const auto pc = random_product(rvq::storage_id::pq, {40}, 12, 3, 4, false, false, rvq::element_id::f32);
  const std::string path = rvq_test::temp_path("pq.rvq");
  REQUIRE(rvq::io::save_product(pc, rvq::metric_id::l2, path).ok());
  std::vector<unsigned char> good;
  REQUIRE(rvq::io::read_file(path, good).ok());
  using q_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>;
  auto load = [](std::vector<unsigned char> bytes) { return rvq::io::load_model_memory<q_t::config_type>(bytes); };
  REQUIRE(load(good).ok());
  const std::size_t ps = 48 + 4;  // product section
  auto patch32 = [&](std::size_t at, std::uint32_t v) {
    auto b = good;
    rvq::io::detail::put_u32le(&b[at], v);
    return b;
  };
  auto r = load(patch32(ps, 5));  // M does not divide D
  CHECK(r.error().code() == rvq::errc::corrupt_file);
  CHECK(r.error().where() == ps);
  CHECK(load(patch32(ps + 4, 9)).error().where() == ps + 4);  // bits
  CHECK(load(patch32(ps + 8, 1)).error().where() == ps + 8);  // pq cannot be seeded
  CHECK(load(patch32(ps + 12, 1)).error().where() == ps + 12);
  CHECK(load(patch32(24, 7)).error().where() == 24);  // storage
  CHECK(load(patch32(16, 5)).error().where() == 16);  // element
  auto trunc = good;
  trunc.resize(trunc.size() - 5);
  CHECK(load(trunc).error().code() == rvq::errc::corrupt_file);
  auto flipped = good;
  flipped[ps + 30] ^= 1;
  CHECK(std::string(load(flipped).error().message()).find("checksum") != std::string::npos);
  // An index at or above 2^b, with a valid checksum: its byte is named.
  auto bad_index = good;
  const std::size_t header = ps + 24, at = header + 4 * pc.value_count() + 7;
  bad_index[at] = 16;
  const std::size_t body = bad_index.size() - 4;
  rvq::io::detail::put_u32le(&bad_index[body], rvq::detail::crc32_update(0, bad_index.data(), body));
  r = load(bad_index);
  CHECK(r.error().code() == rvq::errc::corrupt_file);
  CHECK(r.error().where() == at);
  // Dense files do not load into a pq quantizer.
  const auto cw = pc.expand_all();
  auto dq = rvq::quantizer<>::from_codebooks(span<const float>(cw), span<const std::size_t>(pc.k), 12);
  const std::string dense_path = rvq_test::temp_path("dense.rvq");
  REQUIRE(rvq::io::save_model(*dq, dense_path).ok());
  CHECK(std::string(rvq::io::load_model<q_t::config_type>(dense_path).error().message()).find("rvq compress") !=
        std::string::npos);
}

TEST_CASE("pq/rpq with the thread pool: the codes of sequential", "[storage][parallel]") {
  const auto pc = random_product(rvq::storage_id::pq, {512, 512}, 32, 8, 8, false, false, rvq::element_id::f32);
  const auto x = rvq_test::gaussian(500, 32, 4);
  auto seq = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>::from_product(pc, rvq::product_search::expand);
  auto par = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq, rvq::threads<3>>>::from_product(
      pc, rvq::product_search::expand);
  REQUIRE((seq.ok() && par.ok()));
  CHECK(encode_all(*seq, x, 500, 1) == encode_all(*par, x, 500, 1));
  CHECK(encode_all(*seq, x, 500, 4) == encode_all(*par, x, 500, 4));
  std::vector<std::uint16_t> a(2), b(2);
  REQUIRE(seq->encode(span<const float>(x.data(), 32), span<std::uint16_t>(a)).ok());
  REQUIRE(par->encode(span<const float>(x.data(), 32), span<std::uint16_t>(b)).ok());
  CHECK(a == b);
}

}  // namespace rvq_test_storage_product_test
