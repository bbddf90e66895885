// rvq::io::visit_model: any .rvq file handed on as the concrete model its ids call for.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "../helpers.hpp"

#include <rvq/parallel/dynamic_threads.hpp>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_io_visit_model_test {

namespace {
/// What a visit saw: the type's policies and the model's shape.
struct seen {
  rvq::element_id element{};
  rvq::metric_id metric{};
  rvq::storage_id storage{};
  bool pipeline = false;
  std::size_t layers = 0, dim = 0, calls = 0;
};

template <class T>
struct is_pipeline : std::false_type {};
template <class C>
struct is_pipeline<rvq::pipeline<C>> : std::true_type {};

template <class Q>
void record(const Q& q, seen& s) {
  s.element = Q::element_traits_type::id;
  s.metric = Q::metric_traits_type::id;
  s.pipeline = is_pipeline<Q>::value;
  if constexpr (!is_pipeline<Q>::value) s.storage = Q::storage_traits_type::id;
  s.layers = q.layers();
  s.dim = q.dim();
  ++s.calls;
}

seen visit(const std::string& path, rvq::status& st) {
  seen s;
  st = rvq::io::visit_model(path, [&](auto&& q) { record(q, s); });
  return s;
}
}  // namespace

TEST_CASE("visit_model hands every kind of model file on as its concrete type", "[io][visit]") {
  const std::size_t n = 400, d = 16;
  const std::vector<float> x = rvq_test::gaussian(n, d, 21);
  rvq::train_options o = rvq_test::options(3, 16, 4);
  auto f32 = rvq::train<rvq::config<rvq::f32, rvq::ip>>(rvq::matrix_view<const float>(x.data(), n, d), o);
  REQUIRE(f32);
  rvq::status st;

  const std::string fp = rvq_test::temp_path("visit_f32.rvq");
  REQUIRE(rvq::io::save_model(*f32, fp).ok());
  seen s = visit(fp, st);
  REQUIRE(st.ok());
  CHECK(s.calls == 1);
  CHECK(s.element == rvq::element_id::f32);
  CHECK(s.metric == rvq::metric_id::ip);
  CHECK(s.storage == rvq::storage_id::dense);
  CHECK(s.layers == 3);
  CHECK(s.dim == d);

  auto l2 = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), o);
  REQUIRE(l2);
  rvq::quantized_codebooks qc;
  rvq::quantize_options qo;
  qo.element = rvq::element_id::int4;
  REQUIRE(rvq::quantize_codebooks(*l2, rvq::matrix_view<const float>(x.data(), n, d), qo, qc).ok());
  const std::string ip = rvq_test::temp_path("visit_int4.rvq");
  REQUIRE(rvq::io::save_quantized(qc, rvq::metric_id::l2, ip).ok());
  s = visit(ip, st);
  REQUIRE(st.ok());
  CHECK(s.element == rvq::element_id::int4);
  CHECK(s.metric == rvq::metric_id::l2);
  CHECK(s.layers == 3);

  rvq::compress_options co;
  co.storage = rvq::storage_id::rpq;
  co.seeded = true;
  auto pc = rvq::compress(*l2, co);
  REQUIRE(pc);
  const std::string pp = rvq_test::temp_path("visit_rpq.rvq");
  REQUIRE(rvq::io::save_product(*pc, rvq::metric_id::l2, pp).ok());
  s = visit(pp, st);
  REQUIRE(st.ok());
  CHECK(s.element == rvq::element_id::f32);
  CHECK(s.storage == rvq::storage_id::rpq);
  CHECK_FALSE(s.pipeline);
  seen single;
  CHECK(rvq::io::visit_single_model(pp, [&](auto&& q) { record(q, single); }).ok());
  CHECK(single.calls == 1);

  // Files that cannot be loaded: f is not called, the status says why.
  s = visit(rvq_test::temp_path("missing.rvq"), st);
  CHECK(st.code() == rvq::errc::io_error);
  CHECK(s.calls == 0);
  std::vector<unsigned char> bytes;
  REQUIRE(rvq::io::read_file(fp, bytes).ok());
  bytes[bytes.size() - 3] ^= 0x40;  // a payload byte: the CRC fails
  const std::string bad = rvq_test::temp_path("visit_bad.rvq");
  {
    std::ofstream out(bad, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  s = visit(bad, st);
  CHECK(st.code() == rvq::errc::corrupt_file);
  CHECK(s.calls == 0);
  for (const std::string& p : {fp, ip, pp, bad}) std::remove(p.c_str());
}

TEST_CASE("visit_model_memory loads the bytes of a file, in the parallel policy asked for", "[io][visit]") {
  const std::size_t n = 400, d = 16;
  const std::vector<float> x = rvq_test::gaussian(n, d, 22);
  auto q = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), rvq_test::options(3, 16, 4));
  REQUIRE(q);
  std::vector<unsigned char> bytes;
  REQUIRE(rvq::io::model_bytes(*q, bytes).ok());
  seen s;
  bool threaded = false;
  std::vector<std::uint16_t> codes(n * 3), want(n * 3);
  REQUIRE(
      q->encode_batch(rvq::matrix_view<const float>(x.data(), n, d), rvq::matrix_view<std::uint16_t>(want.data(), n, 3))
          .ok());
  const rvq::status st = rvq::io::visit_model_memory<rvq::dynamic_threads>(bytes, [&](auto&& m) {
    using M = std::decay_t<decltype(m)>;
    record(m, s);
    if constexpr (!is_pipeline<M>::value)
      threaded = std::is_same<typename M::config_type::parallel, rvq::dynamic_threads>::value;
    REQUIRE(m.encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                           rvq::matrix_view<std::uint16_t>(codes.data(), n, m.layers()))
                .ok());
  });
  REQUIRE(st.ok());
  CHECK(s.calls == 1);
  CHECK(threaded);
  CHECK(s.layers == 3);
  CHECK(codes == want);
  bytes.resize(bytes.size() / 2);  // a cut file: the header's sizes say so
  s = seen{};
  CHECK(rvq::io::visit_model_memory(bytes, [&](auto&& m) { record(m, s); }).code() == rvq::errc::corrupt_file);
  CHECK(s.calls == 0);
}

TEST_CASE("visit_single_model_memory and visit_pipeline_memory split visit_model_memory in two", "[io][visit]") {
  const std::size_t n = 300, d = 6;
  const std::vector<float> x = rvq_test::gaussian(n, d, 23);
  auto q = rvq::train(rvq::matrix_view<const float>(x.data(), n, d), rvq_test::options(2, 8, 3));
  REQUIRE(q);
  std::vector<unsigned char> single;
  REQUIRE(rvq::io::model_bytes(*q, single).ok());
  // A one-stage pipeline: 6 -> 4 dimensions, quantized, and back.
  using cfg = rvq::config<rvq::f32, rvq::l2, rvq::dense>;
  std::vector<float> w_in(4 * 6, 0.2f), w_out(6 * 4, 0.1f);
  auto map_in = rvq::linear_map::dense(rvq::span<const float>(w_in), 4, 6);
  auto map_out = rvq::linear_map::dense(rvq::span<const float>(w_out), 6, 4);
  REQUIRE(map_in.ok());
  REQUIRE(map_out.ok());
  const auto cb = rvq_test::gaussian(8, 4, 5);
  auto sq = rvq::quantizer<cfg>::from_codebooks(rvq::span<const float>(cb), 1, 8, 4);
  REQUIRE(sq.ok());
  std::vector<rvq::pipeline_stage<cfg>> st(1);
  st[0].in = std::move(map_in).value();
  st[0].out = std::move(map_out).value();
  st[0].q = std::move(sq).value();
  auto p = rvq::pipeline<cfg>::make(d, std::move(st));
  REQUIRE(p.ok());
  std::vector<unsigned char> piped;
  REQUIRE(rvq::io::pipeline_bytes(*p, piped).ok());

  seen s1, s2, p1, p2;
  CHECK(rvq::io::visit_single_model_memory(single, [&](auto&& m) { record(m, s1); }).ok());
  CHECK(s1.calls == 1);
  CHECK_FALSE(s1.pipeline);
  CHECK(s1.layers == 2);
  const rvq::status refused = rvq::io::visit_pipeline_memory(single, [&](auto&& m) { record(m, s2); });
  CHECK(refused.code() == rvq::errc::unsupported);
  CHECK(std::string(refused.message()).find("a single model") != std::string::npos);
  CHECK(s2.calls == 0);
  CHECK(rvq::io::visit_pipeline_memory(piped, [&](auto&& m) { record(m, p1); }).ok());
  CHECK(p1.calls == 1);
  CHECK(p1.pipeline);
  const rvq::status refused2 = rvq::io::visit_single_model_memory(piped, [&](auto&& m) { record(m, p2); });
  CHECK(refused2.code() == rvq::errc::unsupported);
  CHECK(std::string(refused2.message()).find("a pipeline") != std::string::npos);
  CHECK(p2.calls == 0);
  // Damaged bytes: the header's error, f not called.
  single.resize(single.size() / 2);
  CHECK(rvq::io::visit_single_model_memory(single, [&](auto&& m) { record(m, s2); }).code() == rvq::errc::corrupt_file);
  CHECK(s2.calls == 0);
}

}  // namespace rvq_test_io_visit_model_test
