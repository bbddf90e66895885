// Search over codes (rvq/search/): the top-k against a brute force over the decoded vectors, every
// norm encoding, l2/ip/cos, re-ranking, ids and removal, every parallel strategy against
// sequential, integer and pq models, and every error path.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <rvq/parallel/thread_pool.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_search_search_test {

using rvq::matrix_view;
using rvq::span;

namespace {

constexpr std::size_t d = 12, n = 3000, nq = 25;

template <class Config = rvq::config<rvq::f32, rvq::l2>>
rvq::quantizer<Config> model(std::size_t layers = 4, std::size_t k = 16) {
  const auto x = rvq_test::gaussian(2000, d, 3);
  auto q = rvq::train<Config>(matrix_view<const float>(x.data(), 2000, d), rvq_test::options(layers, k, 5));
  REQUIRE(q.ok());
  return std::move(q).value();
}

const std::vector<float>& database() {
  static const auto x = rvq_test::gaussian(n, d, 11);
  return x;
}
const std::vector<float>& queries() {
  static const auto x = rvq_test::gaussian(nq, d, 12);
  return x;
}
matrix_view<const float> view(const std::vector<float>& x) { return {x.data(), x.size() / d, d}; }
/// The values of an index's section (codes8(), ids(), ...), to compare.
template <class T>
std::vector<T> vec(span<const T> s) {
  return {s.begin(), s.end()};
}

template <class Q>
rvq::code_index<Q> make_index(const Q& q, rvq::index_options o = {}) {
  auto ix = rvq::code_index<Q>::create(q, o);
  REQUIRE(ix.ok());
  REQUIRE(ix->add(view(database())).ok());
  return std::move(ix).value();
}

/// The exact score (smaller first) of every decoded database vector for query i.
template <class Ix>
std::vector<double> brute(const Ix& ix, const float* q, rvq::metric_id m) {
  std::vector<double> s(ix.size());
  std::vector<float> x(d);
  double qn = 0;
  for (std::size_t t = 0; t < d; ++t) qn += double(q[t]) * q[t];
  for (std::size_t i = 0; i < ix.size(); ++i) {
    if (!ix.reconstruct(i, span<float>(x)).ok()) FAIL("reconstruct " << i);
    double dot = 0, xn = 0, l2 = 0;
    for (std::size_t t = 0; t < d; ++t)
      dot += double(q[t]) * x[t], xn += double(x[t]) * x[t], l2 += (q[t] - x[t]) * double(q[t] - x[t]);
    s[i] = m == rvq::metric_id::l2 ? l2 : m == rvq::metric_id::ip ? -dot : -dot / std::sqrt(xn * qn);
  }
  return s;
}

/// The search's neighbours are the brute force's: each reported score is within `tol` of the
/// exact one, and no vector left out scores better than the last one kept by more than `tol`.
template <class Ix>
void check_against_brute(const Ix& ix, const rvq::search_result& r, rvq::metric_id m, double tol) {
  for (std::size_t i = 0; i < r.queries; ++i) {
    const auto s = brute(ix, queries().data() + i * d, m);
    std::vector<char> kept(ix.size(), 0);
    double worst = -1e30;
    for (std::size_t j = 0; j < r.k; ++j) {
      const auto id = r.label(i, j);
      REQUIRE(id >= 0);
      kept[std::size_t(id)] = 1;
      worst = std::max(worst, s[std::size_t(id)]);
      if (j) {  // ordered best first
        if (m == rvq::metric_id::l2)
          REQUIRE(r.distance(i, j) >= r.distance(i, j - 1));
        else
          REQUIRE(r.distance(i, j) <= r.distance(i, j - 1));
      }
    }
    std::size_t better_left_out = 0;  // one assertion per query (the suite also runs under QEMU)
    for (std::size_t v = 0; v < ix.size(); ++v) better_left_out += !kept[v] && s[v] < worst - tol;
    CHECK(better_left_out == 0);
  }
}

}  // namespace

TEST_CASE("topk keeps the k smallest, ties to the lowest id", "[search]") {
  float dist[4];
  std::int64_t ids[4];
  rvq::topk t(dist, ids, 4);
  const float v[] = {5, 1, 3, 1, 7, 3, 0.5f, 3};
  for (std::size_t i = 0; i < 8; ++i) t.push(v[i], std::int64_t(i));
  t.push(std::numeric_limits<float>::quiet_NaN(), 99);
  t.finish();
  CHECK(ids[0] == 6);
  CHECK(ids[1] == 1);
  CHECK(ids[2] == 3);
  CHECK(ids[3] == 2);  // 3.0 at ids 2, 5 and 7: the lowest wins
  CHECK(dist[3] == 3.0f);
  float d2[3];
  std::int64_t i2[3];
  rvq::topk few(d2, i2, 3);
  few.push(2.0f, 4);
  few.finish();
  CHECK(i2[0] == 4);
  CHECK(i2[1] == -1);
  CHECK(std::isinf(d2[2]));
}

TEST_CASE("l2 search with f32 norms finds the nearest reconstructions", "[search]") {
  const auto q = model();
  const auto ix = make_index(q);
  CHECK(ix.size() == n);
  CHECK(ix.memory_bytes() == n * (4 + 4));  // 4 one-byte codes and a float norm per vector
  rvq::search_options so;
  so.k = 10;
  const auto r = ix.search(view(queries()), so);
  REQUIRE(r.ok());
  check_against_brute(ix, *r, rvq::metric_id::l2, 1e-3);
  // The reported distance is the exact squared distance to the reconstruction, up to rounding.
  const auto s = brute(ix, queries().data(), rvq::metric_id::l2);
  CHECK(r->distance(0, 0) == Approx(s[std::size_t(r->label(0, 0))]).epsilon(1e-4).margin(1e-4));
}

TEST_CASE("ip and cosine search", "[search]") {
  const auto q = model();
  for (auto m : {rvq::metric_id::ip, rvq::metric_id::cosine}) {
    rvq::index_options o;
    o.metric = m;
    o.norm = m == rvq::metric_id::ip ? rvq::norm_encoding::none : rvq::norm_encoding::f32;
    const auto ix = make_index(q, o);
    CHECK(ix.memory_bytes() == n * (4 + (m == rvq::metric_id::ip ? 0 : 4)));
    const auto r = ix.search(view(queries()), {});
    REQUIRE(r.ok());
    check_against_brute(ix, *r, m, 1e-4);
  }
}

TEST_CASE("every norm encoding: exact (tables), close (8 and 4 bits)", "[search]") {
  const auto q = model();
  using ne = rvq::norm_encoding;
  for (auto e : {ne::tables, ne::int8, ne::cint8, ne::int4, ne::cint4}) {
    rvq::index_options o;
    o.norm = e;
    const auto ix = make_index(q, o);
    CHECK(ix.memory_bytes() == n * 4 + rvq::norm_bytes(e, n));
    const auto r = ix.search(view(queries()), {});
    REQUIRE(r.ok());
    // The norm error bounds the distance error: tables are exact, 4-bit levels the coarsest.
    const double tol = e == ne::tables ? 1e-3 : e == ne::int8 || e == ne::cint8 ? 0.2 : 2.0;
    check_against_brute(ix, *r, rvq::metric_id::l2, tol);
  }
}

TEST_CASE("cint levels fit the norms better than even ones", "[search]") {
  std::vector<float> v(5000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i % 100 == 0 ? 1000 + i : i % 7);  // skewed
  std::vector<float> scratch(v.size());
  auto err = [&](rvq::norm_encoding e) {
    rvq::norm_codec c(e);
    c.fit(span<const float>(v), scratch.data());
    double s = 0;
    for (float x : v) s += (double(c.levels()[c.index(x)]) - x) * (double(c.levels()[c.index(x)]) - x);
    return s;
  };
  CHECK(err(rvq::norm_encoding::cint4) < err(rvq::norm_encoding::int4));
  CHECK(err(rvq::norm_encoding::cint8) <= err(rvq::norm_encoding::int8));
  std::vector<float> few{3, 1, 3, 2, 1};  // at most 16 distinct values: each is a level, exactly
  rvq::norm_codec c(rvq::norm_encoding::cint4);
  c.fit(span<const float>(few), scratch.data());
  for (float x : few) CHECK(c.levels()[c.index(x)] == x);
}

TEST_CASE("re-ranking orders the shortlist by the exact distance", "[search]") {
  const auto q = model();
  rvq::index_options o;
  o.norm = rvq::norm_encoding::int4;  // coarse norms, corrected by re-ranking
  const auto ix = make_index(q, o);
  rvq::search_options so;
  so.k = 5;
  so.rerank = n;  // the whole database: the answer is the brute force's
  const auto r = ix.search(view(queries()), so);
  REQUIRE(r.ok());
  for (std::size_t i = 0; i < nq; ++i) {
    const auto s = brute(ix, queries().data() + i * d, rvq::metric_id::l2);
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s[a] < s[b]; });
    for (std::size_t j = 0; j < so.k; ++j) CHECK(s[std::size_t(r->label(i, j))] == Approx(s[order[j]]).epsilon(1e-5));
  }
  // On the original vectors: the true nearest neighbours among the shortlist.
  so.rerank = n;
  so.originals = view(database());
  const auto t = ix.search(view(queries()), so);
  REQUIRE(t.ok());
  for (std::size_t i = 0; i < nq; ++i) {
    double best = 1e30;
    for (std::size_t v = 0; v < n; ++v) {
      double e = 0;
      for (std::size_t t2 = 0; t2 < d; ++t2) {
        const double dd = double(queries()[i * d + t2]) - database()[v * d + t2];
        e += dd * dd;
      }
      best = std::min(best, e);
    }
    CHECK(t->distance(i, 0) == Approx(best).epsilon(1e-4));
  }
}

TEST_CASE("ids, removal and fewer vectors than k", "[search]") {
  const auto q = model();
  auto ix = rvq::code_index<decltype(q)>::create(q).value();
  std::vector<std::int64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = std::int64_t(1000 + 2 * i);
  REQUIRE(ix.add_with_ids(view(database()), span<const std::int64_t>(ids)).ok());
  CHECK(ix.has_ids());
  CHECK_FALSE(ix.add(view(database())).ok());  // an index holds ids for all or none
  const auto before = ix.search(view(queries()), {}).value();
  const std::int64_t gone[] = {before.label(0, 0), 5, 1002};
  CHECK(ix.remove_ids(span<const std::int64_t>(gone)) == 2);  // 5 is no id here
  CHECK(ix.size() == n - 2);
  const auto after = ix.search(view(queries()), {}).value();
  CHECK(after.label(0, 0) == before.label(0, 1));
  for (auto l : after.labels) CHECK((l != gone[0] && l != 1002));

  // Positions as ids: removal renumbers.
  auto small = rvq::code_index<decltype(q)>::create(q).value();
  REQUIRE(small.add(matrix_view<const float>(database().data(), 3, d)).ok());
  const std::int64_t first[] = {0};
  CHECK(small.remove_ids(span<const std::int64_t>(first)) == 1);
  rvq::search_options so;
  so.k = 4;
  const auto r = small.search(view(queries()), so).value();
  for (std::size_t i = 0; i < nq; ++i) {
    CHECK(r.label(i, 2) == -1);
    CHECK(std::isinf(r.distance(i, 3)));
    CHECK(r.label(i, 0) >= 0);
    CHECK(r.label(i, 0) <= 1);
  }
}

TEST_CASE("add_codes takes codes encoded elsewhere and checks them", "[search]") {
  const auto q = model();
  std::vector<std::uint8_t> codes(n * q.layers());
  REQUIRE(q.encode_batch(view(database()), matrix_view<std::uint8_t>(codes.data(), n, q.layers())).ok());
  auto a = make_index(q);
  auto b = rvq::code_index<decltype(q)>::create(q).value();
  REQUIRE(b.add_codes(matrix_view<const std::uint8_t>(codes.data(), n, q.layers())).ok());
  CHECK(vec(a.codes8()) == vec(b.codes8()));
  CHECK(vec(a.norm_data()) == vec(b.norm_data()));
  codes[7 * q.layers() + 2] = 200;  // K = 16
  auto c = rvq::code_index<decltype(q)>::create(q).value();
  const rvq::status s = c.add_codes(matrix_view<const std::uint8_t>(codes.data(), n, q.layers()));
  CHECK(s.code() == rvq::errc::code_out_of_range);
  CHECK(s.where() == 7);
  CHECK(c.size() == 0);
}

TEST_CASE("every parallel strategy gives the sequential results", "[search]") {
  using seq = rvq::config<rvq::f32, rvq::l2>;
  using par = rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::threads<3>>;
  const auto qs = model<seq>();
  auto qp = rvq::quantizer<par>::from_codebooks(span<const float>(qs.codebook_data(), 4 * 16 * d), 4, 16, d).value();
  for (auto e : {rvq::norm_encoding::f32, rvq::norm_encoding::tables}) {
    rvq::index_options o;
    o.norm = e;
    const auto a = make_index(qs, o);
    const auto b = make_index(qp, o);
    for (std::size_t rows : {std::size_t(1), std::size_t(2), nq}) {  // fewer queries than workers: split the codes
      for (std::size_t rerank : {std::size_t(0), std::size_t(40)}) {
        rvq::search_options so;
        so.k = 7;
        so.rerank = rerank;
        const auto ra = a.search(matrix_view<const float>(queries().data(), rows, d), so).value();
        const auto rb = b.search(matrix_view<const float>(queries().data(), rows, d), so).value();
        CHECK(ra.labels == rb.labels);
        CHECK(ra.distances == rb.distances);
      }
    }
  }
}

TEST_CASE("integer and pq models are searched through their float tables", "[search]") {
  const auto q = model();
  rvq::quantized_codebooks qc;
  rvq::quantize_options qo;
  qo.element = rvq::element_id::int8;
  REQUIRE(rvq::quantize_codebooks(q, view(database()), qo, qc).ok());
  const auto qi = rvq::quantizer<rvq::config<rvq::int8, rvq::l2>>::from_quantized(qc).value();
  const auto ii = make_index(qi);
  const auto ri = ii.search(view(queries()), {});
  REQUIRE(ri.ok());
  check_against_brute(ii, *ri, rvq::metric_id::l2, 1e-3);

  rvq::compress_options co;
  co.storage = rvq::storage_id::pq;
  co.bits = 4;
  const auto pc = rvq::compress(q, co, view(database()));
  REQUIRE(pc.ok());
  const auto qp = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::pq>>::from_product(*pc).value();
  const auto ip = make_index(qp);
  const auto rp = ip.search(view(queries()), {});
  REQUIRE(rp.ok());
  check_against_brute(ip, *rp, rvq::metric_id::l2, 1e-3);
}

TEST_CASE("search errors are statuses", "[search]") {
  const auto q = model();
  rvq::index_options o;
  o.norm = rvq::norm_encoding::none;
  CHECK(rvq::code_index<decltype(q)>::create(q, o).error().code() == rvq::errc::invalid_argument);  // l2 needs norms
  o = {};
  o.metric = rvq::metric_id::hamming;
  CHECK_FALSE(rvq::code_index<decltype(q)>::create(q, o).ok());
  o = {};
  o.encode.beam = 17;
  CHECK(rvq::code_index<decltype(q)>::create(q, o).error().code() == rvq::errc::bad_beam);
  CHECK(rvq::code_index<decltype(q)>::create(rvq::quantizer<>{}).error().code() == rvq::errc::empty_input);

  auto ix = make_index(q);
  std::vector<float> bad(queries());
  bad[3 * d + 1] = std::numeric_limits<float>::quiet_NaN();
  auto r = ix.search(view(bad), {});
  CHECK(r.error().code() == rvq::errc::non_finite);
  CHECK(r.error().where() == 3);
  CHECK(ix.search(matrix_view<const float>(queries().data(), 2, d - 1), {}).error().code() ==
        rvq::errc::dimension_mismatch);
  rvq::search_options so;
  so.k = 0;
  CHECK(ix.search(view(queries()), so).error().code() == rvq::errc::invalid_argument);
  so.k = 10;
  so.rerank = 5;
  CHECK(ix.search(view(queries()), so).error().code() == rvq::errc::invalid_argument);
  so.rerank = 0;
  so.originals = view(database());
  CHECK(ix.search(view(queries()), so).error().code() == rvq::errc::invalid_argument);  // originals without rerank
  so.rerank = 20;
  so.originals = matrix_view<const float>(database().data(), 10, d);
  CHECK(ix.search(view(queries()), so).error().code() == rvq::errc::dimension_mismatch);
  CHECK(ix.add(matrix_view<const float>(bad.data(), nq, d)).code() == rvq::errc::non_finite);
  CHECK(ix.size() == n);  // nothing added
  std::vector<std::int64_t> neg{-4};
  auto fresh = rvq::code_index<decltype(q)>::create(q).value();
  CHECK(fresh.add_with_ids(matrix_view<const float>(database().data(), 1, d), span<const std::int64_t>(neg)).code() ==
        rvq::errc::invalid_argument);
  float out[12];
  CHECK(ix.reconstruct(n, span<float>(out)).code() == rvq::errc::invalid_argument);
}

TEST_CASE(".rvqi files round-trip and refuse damage", "[search][io]") {
  const auto q = model(3, 300);  // K > 256: two-byte codes
  rvq::index_options o;
  o.norm = rvq::norm_encoding::cint4;
  auto ix = rvq::code_index<decltype(q)>::create(q, o).value();
  std::vector<std::int64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = std::int64_t(7 * i);
  REQUIRE(ix.add_with_ids(view(database()), span<const std::int64_t>(ids)).ok());
  const std::string path = rvq_test::temp_path("x.rvqi");
  REQUIRE(rvq::io::save_index(ix, path).ok());
  const auto back = rvq::io::load_index<std::decay_t<decltype(q)>>(path);
  REQUIRE(back.ok());
  CHECK(back->size() == n);
  CHECK(vec(back->codes16()) == vec(ix.codes16()));
  CHECK(vec(back->ids()) == vec(ix.ids()));
  const auto a = ix.search(view(queries()), {}).value();
  const auto b = back->search(view(queries()), {}).value();
  CHECK(a.labels == b.labels);
  CHECK(a.distances == b.distances);
  // visit_index() gives the model's own type.
  std::size_t visited = 0;
  REQUIRE(rvq::io::visit_index(path, [&](auto&& v) { visited = v.size(); }).ok());
  CHECK(visited == n);

  std::vector<unsigned char> bytes;
  REQUIRE(rvq::io::index_bytes(ix, bytes).ok());
  auto visit = [](const std::vector<unsigned char>& v) { return rvq::io::visit_index_memory(v, [](auto&&) {}); };
  REQUIRE(visit(bytes).ok());
  for (std::size_t at : {std::size_t(20), bytes.size() / 2, bytes.size() - 1}) {
    auto bad = bytes;
    bad[at] ^= 0x10;
    CHECK(visit(bad).code() == rvq::errc::corrupt_file);
  }
  auto cut = bytes;
  cut.resize(bytes.size() - 9);
  CHECK(visit(cut).code() == rvq::errc::corrupt_file);
  cut.resize(30);
  CHECK(visit(cut).code() == rvq::errc::corrupt_file);
  auto ver = bytes;
  ver[8] = 9;
  CHECK(visit(ver).code() == rvq::errc::unsupported_version);
  CHECK(rvq::io::visit_index(path + ".missing", [](auto&&) {}).code() == rvq::errc::io_error);
  // The wrong type for load_index: refused, not reinterpreted.
  CHECK(rvq::io::load_index<rvq::quantizer<rvq::config<rvq::f32, rvq::ip>>>(path).error().code() ==
        rvq::errc::unsupported);
}

TEST_CASE("a mapped .rvqi is searched in place, and copied into memory on change", "[search][io]") {
  struct setup {
    std::size_t k;
    rvq::norm_encoding norm;
    bool ids, ivf, fast;
  };
  for (const setup s : {setup{16, rvq::norm_encoding::f32, false, false, false},
                        setup{300, rvq::norm_encoding::cint4, true, false, false},  // two-byte codes, ids
                        setup{32, rvq::norm_encoding::int8, false, true, false},    // inverted lists
                        setup{16, rvq::norm_encoding::f32, false, false, true},     // fast scan
                        setup{16, rvq::norm_encoding::int8, false, true, true}}) {  // norms in its blocks
    INFO("K " << s.k << ", norm " << int(s.norm) << ", ids " << s.ids << ", ivf " << s.ivf << ", fast " << s.fast);
    const auto q = model(3, s.k);
    using Q = std::decay_t<decltype(q)>;
    rvq::index_options o;
    o.norm = s.norm;
    o.ivf = s.ivf;
    o.fast_scan = s.fast;
    auto ix = rvq::code_index<Q>::create(q, o).value();
    std::vector<std::int64_t> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = std::int64_t(5 * i + 1);
    REQUIRE((s.ids ? ix.add_with_ids(view(database()), span<const std::int64_t>(ids)) : ix.add(view(database()))).ok());
    const std::string path = rvq_test::temp_path("mapped.rvqi");
    REQUIRE(rvq::io::save_index(ix, path).ok());
    auto loaded = rvq::io::load_index<Q>(path).value();
    auto mapped = rvq::io::map_index<Q>(path).value();
    CHECK_FALSE(loaded.mapped());
    CHECK(mapped.mapped());
    CHECK(mapped.memory_bytes() == loaded.memory_bytes());
    CHECK(vec(mapped.codes8()) == vec(loaded.codes8()));
    CHECK(vec(mapped.codes16()) == vec(loaded.codes16()));
    CHECK(vec(mapped.norm_data()) == vec(loaded.norm_data()));
    CHECK(mapped.encoded_norms() == ix.encoded_norms());
    CHECK(vec(mapped.ids()) == vec(loaded.ids()));
    rvq::search_options so;
    so.k = 10;
    so.nprobe = 4;
    so.rerank = 20;
    auto same = [&](const rvq::code_index<Q>& a, const rvq::code_index<Q>& b) {
      const auto ra = a.search(view(queries()), so).value();
      const auto rb = b.search(view(queries()), so).value();
      CHECK(ra.labels == rb.labels);
      CHECK(ra.distances == rb.distances);
    };
    same(loaded, mapped);
    std::vector<float> x(d), y(d);
    REQUIRE(loaded.reconstruct(n - 1, span<float>(x)).ok());
    REQUIRE(mapped.reconstruct(n - 1, span<float>(y)).ok());
    CHECK(x == y);
    // A copy shares the mapping and outlives the original; saving over the file (a rename)
    // leaves the mapping as it was.
    auto copy = std::make_unique<rvq::code_index<Q>>(mapped);
    REQUIRE(rvq::io::save_index(rvq::code_index<Q>::create(q, o).value(), path).ok());
    mapped = rvq::code_index<Q>{};
    CHECK(copy->mapped());
    same(loaded, *copy);
    // A change copies the sections into memory first; the file is not written.
    const std::vector<std::int64_t> more = {9000001, 9000002};
    auto grow = [&](rvq::code_index<Q>& v) {
      const matrix_view<const float> two(queries().data(), 2, d);
      REQUIRE((s.ids ? v.add_with_ids(two, span<const std::int64_t>(more)) : v.add(two)).ok());
      const std::vector<std::int64_t> gone = {1, 6, 11};
      v.remove_ids(span<const std::int64_t>(gone));
    };
    grow(loaded);
    grow(*copy);
    CHECK_FALSE(copy->mapped());
    CHECK(copy->size() == loaded.size());
    same(loaded, *copy);
    CHECK(rvq::io::load_index<Q>(path).value().size() == 0);
  }
  // Errors are those of load_index(), with the file's problem.
  const std::string bad = rvq_test::temp_path("bad.rvqi");
  {
    std::ofstream f(bad, std::ios::binary);
    f << "RVQINDEX and not much else";
  }
  CHECK(rvq::io::map_index<rvq::quantizer<>>(bad).error().code() == rvq::errc::corrupt_file);
  CHECK(rvq::io::map_index<rvq::quantizer<>>(bad + ".missing").error().code() == rvq::errc::io_error);
  const std::string empty = rvq_test::temp_path("empty.rvqi");
  std::ofstream(empty, std::ios::binary).close();
  CHECK(rvq::io::map_index<rvq::quantizer<>>(empty).error().code() == rvq::errc::corrupt_file);
}

TEST_CASE("search_codes: a static model and codes in flash, nothing allocated", "[search]") {
  const auto q = model(4, 16);
  std::array<float, 4 * 16 * d> cb{};
  std::copy(q.codebook_data(), q.codebook_data() + cb.size(), cb.begin());
  const rvq::quantizer<rvq::config<rvq::f32, rvq::l2>, rvq::extents<4, 16, d>> qs(cb);
  const auto ix = make_index(q);
  const std::size_t m = 200;  // the first 200 vectors, as firmware would hold them
  std::vector<float> norms(m), x(d);
  for (std::size_t i = 0; i < m; ++i) {
    REQUIRE(ix.reconstruct(i, span<float>(x)).ok());
    for (float v : x) norms[i] += v * v;
  }
  const matrix_view<const std::uint8_t> codes(ix.codes8().data(), m, 4);
  auto small = rvq::code_index<decltype(q)>::create(q).value();
  REQUIRE(small.add_codes(codes).ok());
  std::array<float, 64> lut;
  for (std::size_t i = 0; i < nq; ++i) {
    float dist[5];
    std::int64_t ids[5];
    rvq::topk best(dist, ids, 5);
    REQUIRE(rvq::search_codes(qs, span<const float>(queries().data() + i * d, d), codes, span<const float>(norms),
                              span<float>(lut), best)
                .ok());
    best.finish();
    rvq::search_options so;
    so.k = 5;
    const auto r = small.search(matrix_view<const float>(queries().data() + i * d, 1, d), so).value();
    for (std::size_t j = 0; j < 5; ++j) CHECK(ids[j] == r.label(0, j));
  }
  float dist[1];
  std::int64_t ids[1];
  rvq::topk one(dist, ids, 1);
  CHECK(rvq::search_codes(qs, span<const float>(queries().data(), d - 1), codes, span<const float>(norms),
                          span<float>(lut), one)
            .code() == rvq::errc::dimension_mismatch);
  CHECK(rvq::search_codes(qs, span<const float>(queries().data(), d), codes, span<const float>(norms),
                          span<float>(lut.data(), 10), one)
            .code() == rvq::errc::dimension_mismatch);
  std::vector<std::uint8_t> bad(ix.codes8().begin(), ix.codes8().begin() + 4 * m);
  bad[4 * 9 + 1] = 16;
  CHECK(rvq::search_codes(qs, span<const float>(queries().data(), d), matrix_view<const std::uint8_t>(bad.data(), m, 4),
                          span<const float>(norms), span<float>(lut), one)
            .where() == 9);
  // ip: no norms, nothing read from them.
  CHECK(rvq::search_codes(qs, span<const float>(queries().data(), d), codes, span<const float>(), span<float>(lut), one)
            .ok());
}

TEST_CASE("inverted lists: nprobe = K_0 is the flat search, fewer lists scan only theirs", "[search][ivf]") {
  const auto q = model(4, 16);
  rvq::index_options o;
  o.ivf = true;
  const auto flat = make_index(q);
  const auto ivf = make_index(q, o);
  REQUIRE(ivf.is_ivf());
  REQUIRE(ivf.list_begin().size() == 17);
  CHECK(ivf.list_begin().back() == n);
  CHECK(ivf.ids().size() == n);
  CHECK_FALSE(ivf.has_ids());
  rvq::search_options so;
  so.k = 10;
  so.nprobe = 16;
  const auto a = flat.search(view(queries()), so).value();
  const auto b = ivf.search(view(queries()), so).value();
  CHECK(a.distances == b.distances);  // the same sums: codes and norms moved, not changed
  for (std::size_t i = 0; i < nq; ++i)
    for (std::size_t j = 0; j < so.k; ++j)
      if (j + 1 < so.k && a.distance(i, j) != a.distance(i, j + 1) &&
          (j == 0 || a.distance(i, j) != a.distance(i, j - 1)))
        CHECK(a.label(i, j) == b.label(i, j));  // ids are the rows of the database
  so.nprobe = 1;
  const auto c = ivf.search(view(queries()), so).value();
  for (std::size_t i = 0; i < nq; ++i) {
    // The one list scanned: the first-layer codeword nearest to the query.
    std::size_t best = 0;
    double bd = 1e30;
    for (std::size_t w = 0; w < 16; ++w) {
      double e = 0;
      for (std::size_t t = 0; t < d; ++t) {
        const double diff = double(queries()[i * d + t]) - q.codeword(0, w)[t];
        e += diff * diff;
      }
      if (e < bd) bd = e, best = w;
    }
    std::vector<std::uint8_t> codes(q.layers());
    for (std::size_t j = 0; j < so.k && c.label(i, j) >= 0; ++j) {
      const std::size_t row = std::size_t(c.label(i, j));
      REQUIRE(q.encode(span<const float>(database().data() + row * d, d), span<std::uint8_t>(codes)).ok());
      CHECK(codes[0] == best);
    }
  }
  so.nprobe = 0;
  CHECK(ivf.search(view(queries()), so).error().code() == rvq::errc::invalid_argument);
  so.nprobe = 17;
  CHECK(ivf.search(view(queries()), so).error().code() == rvq::errc::invalid_argument);
}

TEST_CASE("inverted lists: ids survive removal, files and threads", "[search][ivf]") {
  using par = rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::threads<3>>;
  const auto q = model(4, 16);
  auto qp = rvq::quantizer<par>::from_codebooks(span<const float>(q.codebook_data(), 4 * 16 * d), 4, 16, d).value();
  for (auto e : {rvq::norm_encoding::f32, rvq::norm_encoding::cint4}) {
    rvq::index_options o;
    o.ivf = true;
    o.norm = e;
    auto ix = make_index(q, o);
    const auto px = make_index(qp, o);
    rvq::search_options so;
    so.k = 6;
    so.nprobe = 3;
    const auto a = ix.search(view(queries()), so).value();
    const auto p = px.search(view(queries()), so).value();
    CHECK(a.labels == p.labels);
    CHECK(a.distances == p.distances);
    // Re-ranking on the originals: row i of the originals is id i.
    so.rerank = 30;
    so.originals = view(database());
    REQUIRE(ix.search(view(queries()), so).ok());
    so.rerank = 0;
    so.originals = {};
    // Saved and loaded: the same answers.
    const std::string path = rvq_test::temp_path("ivf.rvqi");
    REQUIRE(rvq::io::save_index(ix, path).ok());
    const auto back = rvq::io::load_index<std::decay_t<decltype(q)>>(path).value();
    CHECK(back.is_ivf());
    CHECK(back.search(view(queries()), so).value().labels == a.labels);
    // Removal keeps the other ids, and a later add() numbers after the largest.
    const std::int64_t gone[] = {a.label(0, 0)};
    CHECK(ix.remove_ids(span<const std::int64_t>(gone)) == 1);
    const auto r = ix.search(view(queries()), so).value();
    CHECK(r.label(0, 0) == a.label(0, 1));
    REQUIRE(ix.add(matrix_view<const float>(database().data(), 2, d)).ok());
    CHECK(ix.max_id() == std::int64_t(n + 1));
  }
  // A file whose lists are out of order is refused.
  rvq::index_options o;
  o.ivf = true;
  const auto ix = make_index(q, o);
  std::vector<unsigned char> bytes;
  REQUIRE(rvq::io::index_bytes(ix, bytes).ok());
  const auto info = rvq::io::index_info_of(bytes).value();
  std::swap(bytes[info.codes_at], bytes[info.codes_at + (n - 1) * 4]);  // first codes of the first and last vectors
  const std::uint32_t crc = rvq::detail::crc32_update(0, bytes.data(), bytes.size() - 4);
  rvq::io::detail::put_u32le(bytes.data() + bytes.size() - 4, crc);
  if (bytes[info.codes_at] != bytes[info.codes_at + (n - 1) * 4])
    CHECK(rvq::io::visit_index_memory(bytes, [](auto&&) {}).code() == rvq::errc::corrupt_file);
}

TEST_CASE("a FAISS IndexResidualQuantizer with its vectors answers as FAISS does", "[search][faiss]") {
  for (const char* name : {"f32", "qint8", "qint4", "cqint4", "decompress", "ip"}) {
    INFO(name);
    const std::string base = std::string(RVQ_TEST_DATA) + "/faiss/ix_" + name;
    rvq::io::faiss_rq rq;
    REQUIRE(rvq::io::read_faiss_rq(base + ".faissindex", rq).ok());
    CHECK(rq.ntotal == 300);
    rvq::io::ndarray<float> q;
    REQUIRE(rvq::io::read_float_matrix(base + "_q.npy", q).ok());
    rvq::io::ndarray<float> expected;  // int64 labels, small enough to read as floats
    REQUIRE(rvq::io::read_float_matrix(base + "_labels.npy", expected).ok());
    auto check = [&](const auto& ix) {
      CHECK(ix.size() == 300);
      rvq::search_options so;
      so.k = 5;
      const auto r = ix.search(q.view(), so).value();
      // Equal labels, or at an exact tie two vectors with the same codes (FAISS's heap does not
      // order ties; rvq puts the lower id first).
      const auto& c = ix.codes8();
      const std::size_t nl = ix.layers();
      std::size_t same = 0;
      for (std::size_t i = 0; i < r.labels.size(); ++i) {
        const auto a = std::size_t(r.labels[i]), b = std::size_t(expected.values[i]);
        same += a == b || std::equal(c.begin() + std::ptrdiff_t(a * nl), c.begin() + std::ptrdiff_t(a * nl + nl),
                                     c.begin() + std::ptrdiff_t(b * nl));
      }
      CHECK(same == r.labels.size());
    };
    if (rq.inner_product) {
      using Q = rvq::quantizer<rvq::config<rvq::f32, rvq::ip>>;
      const auto ix = rvq::io::index_from_faiss<Q>(rq);
      REQUIRE(ix.ok());
      CHECK(ix->options().norm == rvq::norm_encoding::none);
      check(*ix);
      CHECK(rvq::io::index_from_faiss<rvq::quantizer<>>(rq).error().code() == rvq::errc::unsupported);
    } else {
      const auto ix = rvq::io::index_from_faiss<rvq::quantizer<>>(rq);
      REQUIRE(ix.ok());
      check(*ix);
    }
  }
  // A code size that disagrees with the codebooks is refused.
  rvq::io::faiss_rq rq;
  REQUIRE(rvq::io::read_faiss_rq(std::string(RVQ_TEST_DATA) + "/faiss/ix_f32.faissindex", rq).ok());
  rq.code_size -= 1;
  CHECK(rvq::io::index_from_faiss<rvq::quantizer<>>(rq).error().code() == rvq::errc::corrupt_file);
  rq.code_size += 1;
  rq.search_type = 8;
  CHECK(rvq::io::index_from_faiss<rvq::quantizer<>>(rq).error().code() == rvq::errc::unsupported);
}

TEST_CASE("fast scan: every kernel this build and CPU run gives the reference kernel's sums", "[search][simd]") {
  namespace fs = rvq::simd::fast_scan;
  std::vector<fs::kernel> kernels = {fs::kernel::reference};
#if RVQ_FAST_SCAN_X86
  if (rvq::detect_cpu().avx2) kernels.push_back(fs::kernel::avx2);
#endif
  if (fs::compiled(fs::kernel::neon)) kernels.push_back(fs::kernel::neon);
  std::mt19937 g(5);
  for (std::size_t tables : {std::size_t(1), std::size_t(2), std::size_t(9), std::size_t(64), std::size_t(255)}) {
    const std::size_t nb = 5, nv = nb * fs::block - 7;
    std::vector<std::uint8_t> blocks(nb * fs::block_bytes(tables), 0), lut(fs::padded_tables(tables) * 16, 0);
    std::vector<std::uint8_t> codes(nv * tables);
    for (std::size_t i = 0; i < nv; ++i)
      for (std::size_t t = 0; t < tables; ++t) {
        codes[i * tables + t] = std::uint8_t(g() % 16);
        fs::put(blocks.data(), tables, i, t, codes[i * tables + t]);
      }
    std::vector<std::uint8_t> row(tables);
    for (std::size_t i = 0; i < nv; ++i) {  // put() keeps the other nibble; get_row() reads a row
      for (std::size_t t = 0; t < tables; ++t) REQUIRE(fs::get(blocks.data(), tables, i, t) == codes[i * tables + t]);
      fs::get_row(blocks.data(), tables, i, tables, row.data());
      REQUIRE(std::equal(row.begin(), row.end(), codes.begin() + std::ptrdiff_t(i * tables)));
    }
    for (std::size_t c = 0; c < tables * 16; ++c) lut[c] = std::uint8_t(g() % 3 == 0 ? 255 : g() % 256);
    std::vector<std::uint16_t> want(fs::block), got(fs::block);
    for (std::size_t b = 0; b < nb; ++b) {
      const std::uint8_t* blk = blocks.data() + b * fs::block_bytes(tables);
      const std::uint32_t m0 = fs::sums_reference(blk, tables, lut.data(), 0xFFFF, want.data());
      CHECK(m0 == 0xFFFFFFFFu);
      for (std::size_t j = 0; j < fs::block; ++j) {  // the sums are the table entries' sums
        unsigned s = 0;
        const std::size_t i = b * fs::block + j;
        for (std::size_t t = 0; t < tables && i < nv; ++t) s += lut[t * 16 + codes[i * tables + t]];
        if (i >= nv)  // padding: code 0 everywhere
          for (std::size_t t = 0; t < tables; ++t) s += lut[t * 16];
        REQUIRE(want[j] == s);
      }
      for (fs::kernel k : kernels) {
        INFO("kernel " << fs::to_string(k) << ", " << tables << " tables, block " << b);
        for (std::uint16_t thr : {std::uint16_t(0), want[3], want[17], std::uint16_t(0xFFFF)}) {
          std::uint32_t expect = 0;
          for (std::size_t j = 0; j < fs::block; ++j) expect |= (want[j] <= thr ? 1u : 0u) << j;
          CHECK(fs::block_sums(k, blk, tables, lut.data(), thr, got.data()) == expect);
          CHECK(got == want);
          std::uint32_t mask = 7;
          const std::size_t at = fs::find(k, blk, 1, tables, lut.data(), thr, mask);
          CHECK(at == (expect ? 0u : 1u));
          CHECK(mask == expect);
        }
      }
    }
  }
}

TEST_CASE("fast scan gives the plain scan's results bit for bit", "[search][fast_scan]") {
  const auto q = model(6, 16);
  rvq_test::isa_guard guard;  // the target forced below is undone, whatever happens
  struct setup {
    rvq::metric_id metric;
    rvq::norm_encoding norm;
    bool ivf;
  };
  for (const setup s : {setup{rvq::metric_id::l2, rvq::norm_encoding::f32, false},
                        setup{rvq::metric_id::l2, rvq::norm_encoding::cint4, false},
                        setup{rvq::metric_id::l2, rvq::norm_encoding::int4, true},
                        setup{rvq::metric_id::l2, rvq::norm_encoding::int8, false},
                        setup{rvq::metric_id::l2, rvq::norm_encoding::cint8, false},
                        setup{rvq::metric_id::l2, rvq::norm_encoding::tables, false},
                        setup{rvq::metric_id::ip, rvq::norm_encoding::none, false},
                        setup{rvq::metric_id::ip, rvq::norm_encoding::int8, false},
                        setup{rvq::metric_id::l2, rvq::norm_encoding::int8, true}}) {
    rvq::index_options o;
    o.metric = s.metric;
    o.norm = s.norm;
    o.ivf = s.ivf;
    auto plain = rvq::code_index<decltype(q)>::create(q, o).value();
    o.fast_scan = true;
    auto fast = rvq::code_index<decltype(q)>::create(q, o).value();
    REQUIRE(fast.is_fast_scan());
    // In two parts, the second's norms reaching past the levels placed on the first.
    const std::size_t half = n / 2;
    auto scaled = database();
    for (std::size_t i = half * d; i < n * d; ++i) scaled[i] *= 1.5f;
    for (auto* ix : {&plain, &fast}) {
      REQUIRE(ix->add(matrix_view<const float>(scaled.data(), half, d)).ok());
      REQUIRE(ix->add(matrix_view<const float>(scaled.data() + half * d, n - half, d)).ok());
    }
    // The blocks are the fast-scan index's only copy of the codes: 6 one-byte codes fewer per
    // vector, and the blocks' 4-bit codes more. For l2, an 8- or 4-bit norm moves into the blocks
    // (two tables or one); f32 and tables stay and add a 4-bit level (one table).
    const bool l2 = s.metric == rvq::metric_id::l2, in_blocks = l2 && rvq::norm_levels(s.norm) != 0;
    const std::size_t tables = 6 + (!l2 ? 0 : rvq::norm_levels(s.norm) == 256 ? 2 : 1);
    CHECK(fast.codes8().empty());
    CHECK(fast.norm_data().empty() == (in_blocks || !rvq::stores_norms(s.norm)));
    CHECK(fast.memory_bytes() == plain.memory_bytes() - n * 6 - (in_blocks ? rvq::norm_bytes(s.norm, n) : 0) +
                                     (n + 31) / 32 * rvq::simd::fast_scan::block_bytes(tables));
    auto same = [&](const char* what) {
      REQUIRE(fast.size() == plain.size());
      CHECK(fast.encoded_norms() == vec(plain.norm_data()));
      CHECK(plain.encoded_norms() == vec(plain.norm_data()));
      bool codes = true;
      for (std::size_t i = 0; i < plain.size(); ++i)
        for (std::size_t l = 0; l < 6; ++l) codes = codes && fast.code(i, l) == plain.code(i, l);
      CHECK(codes);
      std::vector<float> ra(d), rb(d);
      REQUIRE(plain.reconstruct(plain.size() - 1, span<float>(ra)).ok());
      REQUIRE(fast.reconstruct(fast.size() - 1, span<float>(rb)).ok());
      CHECK(ra == rb);
      rvq::search_options rr;
      rr.k = 5;
      rr.rerank = 20;
      rr.nprobe = 2;
      CHECK(plain.search(view(queries()), rr).value().labels == fast.search(view(queries()), rr).value().labels);
      for (rvq::isa t : rvq::all_isas) {
        if (!rvq::isa_supported(t)) continue;
        REQUIRE(rvq::set_isa(t).ok());
        for (std::size_t k : {std::size_t(1), std::size_t(10), std::size_t(200)}) {
          rvq::search_options so;
          so.k = k;
          so.nprobe = 3;
          const auto a = plain.search(view(queries()), so).value();
          const auto b = fast.search(view(queries()), so).value();
          INFO(what << ", metric " << int(s.metric) << ", norm " << int(s.norm) << ", ivf " << s.ivf << ", k " << k
                    << ", target " << rvq::to_string(t));
          CHECK(a.labels == b.labels);
          CHECK(a.distances == b.distances);
        }
      }
    };
    same("added in two parts");
    std::vector<std::int64_t> gone;
    for (std::int64_t i = 0; i < std::int64_t(n); i += 3) gone.push_back(i);
    CHECK(plain.remove_ids(span<const std::int64_t>(gone)) == fast.remove_ids(span<const std::int64_t>(gone)));
    same("after removing a third");
    // Small additions after that, one through add_codes().
    for (auto* ix : {&plain, &fast}) {
      REQUIRE(ix->add(matrix_view<const float>(scaled.data(), 7, d)).ok());
      const std::vector<std::uint8_t> c = {1, 2, 3, 4, 5, 6, 15, 14, 13, 12, 11, 10};
      REQUIRE(ix->add_codes(matrix_view<const std::uint8_t>(c.data(), 2, 6)).ok());
    }
    same("after small additions");
  }
}

TEST_CASE("fast scan: norms and tables beyond the float range take the plain scan", "[search][fast_scan]") {
  // A codeword near the top of the float range: its squared norm is Inf, and so is the norm term
  // of a vector coded with it; a query of huge values makes Inf tables. No 8-bit level bounds
  // these, so fast scan gives way to the plain scan (for the index, or for that query alone) and
  // the results stay the plain scan's. (Found by the .rvqi fuzzer: a NaN level index.)
  const auto base = model(4, 16);
  std::vector<float> books(base.codebook_data(), base.codebook_data() + 4 * 16 * d);
  for (std::size_t j = 0; j < d; ++j) books[j] = 1e19f;  // layer 0, codeword 0
  const auto q = rvq::quantizer<>::from_codebooks(span<const float>(books), 4, 16, d).value();
  std::vector<float> data(database().begin(), database().begin() + 500 * d);
  data.insert(data.end(), books.begin(), books.begin() + d);
  std::vector<float> qs(queries());
  for (std::size_t j = 0; j < d; ++j) qs[3 * d + j] = 3e37f;  // query 3: Inf tables
  auto bits = [](const std::vector<float>& v) {
    std::vector<std::uint32_t> u(v.size());
    std::memcpy(u.data(), v.data(), v.size() * 4);
    return u;
  };
  for (const auto norm : {rvq::norm_encoding::f32, rvq::norm_encoding::tables, rvq::norm_encoding::int8})
    for (const bool huge : {false, true}) {
      rvq::index_options o;
      o.norm = norm;
      auto plain = rvq::code_index<decltype(q)>::create(q, o).value();
      o.fast_scan = true;
      auto fast = rvq::code_index<decltype(q)>::create(q, o).value();
      const std::size_t rows = huge ? 501 : 500;
      for (auto* ix : {&plain, &fast}) REQUIRE(ix->add(matrix_view<const float>(data.data(), rows, d)).ok());
      rvq::search_options so;
      so.k = 7;
      const auto a = plain.search(view(qs), so).value();
      const auto b = fast.search(view(qs), so).value();
      INFO("norm " << int(norm) << ", huge vector " << huge);
      CHECK(a.labels == b.labels);
      CHECK(bits(a.distances) == bits(b.distances));
    }
}

TEST_CASE("fast scan: ties, duplicates, threads, files and what it refuses", "[search][fast_scan]") {
  using par = rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::threads<3>>;
  const auto qs = model(4, 16);
  auto qp = rvq::quantizer<par>::from_codebooks(span<const float>(qs.codebook_data(), 4 * 16 * d), 4, 16, d).value();
  // Every vector 8 times: exact ties everywhere, which go to the lowest id.
  std::vector<float> dup;
  for (std::size_t r = 0; r < 8; ++r) dup.insert(dup.end(), database().begin(), database().begin() + 400 * d);
  rvq::index_options o;
  auto plain = rvq::code_index<decltype(qs)>::create(qs, o).value();
  o.fast_scan = true;
  auto fast = rvq::code_index<decltype(qp)>::create(qp, o).value();
  REQUIRE(plain.add(view(dup)).ok());
  REQUIRE(fast.add(view(dup)).ok());
  for (std::size_t rows : {std::size_t(1), nq})  // one query: the threads split the database
    for (std::size_t rerank : {std::size_t(0), std::size_t(30)}) {
      rvq::search_options so;
      so.k = 12;
      so.rerank = rerank;
      const auto a = plain.search(matrix_view<const float>(queries().data(), rows, d), so).value();
      const auto b = fast.search(matrix_view<const float>(queries().data(), rows, d), so).value();
      CHECK(a.labels == b.labels);
      CHECK(a.distances == b.distances);
    }

  // The flag survives a file; the blocks are rebuilt.
  const std::string path = rvq_test::temp_path("fast.rvqi");
  REQUIRE(rvq::io::save_index(fast, path).ok());
  const auto back = rvq::io::load_index<decltype(qp)>(path);
  REQUIRE(back.ok());
  CHECK(back->is_fast_scan());
  CHECK(back->memory_bytes() == fast.memory_bytes());
  const auto a = fast.search(view(queries()), {}).value();
  const auto b = back->search(view(queries()), {}).value();
  CHECK(a.labels == b.labels);
  CHECK(a.distances == b.distances);

  // What it refuses: layers of more than 16 codewords (named), cosine.
  const auto wide = model(3, 32);
  const auto e = rvq::code_index<decltype(wide)>::create(wide, o);
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code() == rvq::errc::unsupported);
  CHECK(e.error().where() == 0);
  CHECK(std::string(e.error().message()).find("16 codewords") != std::string::npos);
  o.metric = rvq::metric_id::cosine;
  CHECK(rvq::code_index<decltype(qs)>::create(qs, o).error().code() == rvq::errc::unsupported);
}

}  // namespace rvq_test_search_search_test
