// Parallel strategies: every one gives the codes (and trained codebooks) of `sequential`, for
// batches (split by vectors) and single vectors (split by codewords); the pool's own contract.
#include <catch2/catch.hpp>
#include "../helpers.hpp"

#include <rvq/parallel/dynamic_threads.hpp>
#include <rvq/parallel/fork_join.hpp>
#include <rvq/parallel/host_cluster.hpp>
#include <rvq/parallel/thread_pool.hpp>
#if defined(RVQ_TEST_OPENMP)
#include <rvq/parallel/openmp.hpp>
#endif

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <stdexcept>
#include <tuple>

using rvq::matrix_view;
using rvq::span;

namespace {

#if defined(RVQ_TEST_OPENMP)
using strategies = std::tuple<rvq::openmp>;
#else
using strategies = std::tuple<rvq::threads<2>, rvq::threads<3>, rvq::fork_join<rvq::host_cluster<8>>,
                              rvq::fork_join<rvq::host_cluster<3>>, rvq::dynamic_threads>;
#endif

template <class Parallel, class Metric = rvq::l2>
using par_q = rvq::quantizer<rvq::config<rvq::f32, Metric, rvq::dense, Parallel>>;
template <class Metric = rvq::l2>
using seq_q = rvq::quantizer<rvq::config<rvq::f32, Metric>>;

template <class Q>
Q build(const std::vector<float>& cb, const std::vector<std::size_t>& k, std::size_t d) {
  auto q = Q::from_codebooks(span<const float>(cb), span<const std::size_t>(k), d);
  REQUIRE(q.ok());
  return std::move(q).value();
}

template <class Q>
std::vector<std::uint16_t> batch_codes(const Q& q, const std::vector<float>& x, std::size_t n, std::size_t beam) {
  std::vector<std::uint16_t> codes(n * q.layers());
  REQUIRE(q.encode_batch(matrix_view<const float>(x.data(), n, q.dim()),
                         matrix_view<std::uint16_t>(codes.data(), n, q.layers()), rvq::encode_options{beam})
              .ok());
  return codes;
}

template <class Q>
std::vector<std::uint16_t> single_codes(const Q& q, const std::vector<float>& x, std::size_t n) {
  std::vector<std::uint16_t> codes(n * q.layers());
  rvq::workspace ws(q.workspace_for(1));
  for (std::size_t i = 0; i < n; ++i)
    REQUIRE(q.encode(span<const float>(x.data() + i * q.dim(), q.dim()),
                     span<std::uint16_t>(codes.data() + i * q.layers(), q.layers()), {}, ws.view())
                .ok());
  return codes;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("batches encode to the sequential codes", "[parallel]", strategies) {
  const std::size_t d = 37, n = 1001;
  const std::vector<std::size_t> k = {64, 200, 33};  // 200 and 33: partial panels
  const auto cb = rvq_test::gaussian(64 + 200 + 33, d, 5);
  const auto x = rvq_test::gaussian(n, d, 6);
  const auto seq = build<seq_q<>>(cb, k, d);
  const auto par = build<par_q<TestType>>(cb, k, d);
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(beam);
    CHECK(batch_codes(par, x, n, beam) == batch_codes(seq, x, n, beam));
  }
  CHECK(batch_codes(par, x, 1, 1) == batch_codes(seq, x, 1, 1));  // fewer rows than workers
  CHECK(batch_codes(par, x, 5, 1) == batch_codes(seq, x, 5, 1));
}

TEMPLATE_LIST_TEST_CASE("single vectors split by codewords encode to the sequential codes", "[parallel]", strategies) {
  // K * D above every policy's min_split_macs, so each layer is split across workers.
  const std::size_t d = 300, n = 40;
  const std::vector<std::size_t> k = {1000, 900};
  const auto cb = rvq_test::gaussian(1900, d, 8);
  auto x = rvq_test::gaussian(n, d, 9);
  std::copy(cb.begin(), cb.begin() + static_cast<std::ptrdiff_t>(d), x.begin());  // an exact codeword
  const auto seq = build<seq_q<>>(cb, k, d);
  const auto par = build<par_q<TestType>>(cb, k, d);
  CHECK(single_codes(par, x, n) == single_codes(seq, x, n));
  CHECK(single_codes(par, x, n) == batch_codes(seq, x, n, 1));
}

TEMPLATE_LIST_TEST_CASE("ties go to the lowest index across workers", "[parallel]", strategies) {
  // Every codeword identical: the only right answer is 0, whichever worker finds it first.
  const std::size_t d = 300;
  const std::vector<std::size_t> k = {1024};
  std::vector<float> cb(1024 * d, 0.5f);
  const auto x = rvq_test::gaussian(3, d, 2);
  const auto par = build<par_q<TestType>>(cb, k, d);
  for (auto c : single_codes(par, x, 3)) CHECK(c == 0);
  for (auto c : batch_codes(par, x, 3, 1)) CHECK(c == 0);
}

TEMPLATE_LIST_TEST_CASE("training gives the sequential codebooks", "[parallel]", strategies) {
  const std::size_t n = 800, d = 12;
  const auto x = rvq_test::gaussian(n, d, 4);
  const auto opt = rvq_test::options(3, 16, 4);
  auto a = rvq::train<rvq::config<rvq::f32, rvq::l2>>(matrix_view<const float>(x.data(), n, d), opt);
  auto b =
      rvq::train<rvq::config<rvq::f32, rvq::l2, rvq::dense, TestType>>(matrix_view<const float>(x.data(), n, d), opt);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const auto& qa = a.value();
  const auto& qb = b.value();
  REQUIRE(qa.layers() == qb.layers());
  for (std::size_t l = 0; l < qa.layers(); ++l)
    for (std::size_t c = 0; c < qa.codewords(l); ++c)
      for (std::size_t t = 0; t < d; ++t) REQUIRE(qa.codeword(l, c)[t] == qb.codeword(l, c)[t]);
}

#if !defined(RVQ_TEST_OPENMP)
namespace {
constexpr std::size_t sL = 2, sK = 64, sD = 16;
struct static_books {
  std::array<float, sL * sK * sD> v{};
  static_books() {
    const auto g = rvq_test::gaussian(sL * sK, sD, 12);
    std::copy(g.begin(), g.end(), v.begin());
  }
};
}  // namespace

TEST_CASE("a static-extent cluster build splits each layer across cores", "[parallel]") {
  using cluster_q = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::fork_join<rvq::host_cluster<4>>>,
                                   rvq::extents<sL, sK, sD>>;
  using seq_static = rvq::quantizer<rvq::config<rvq::f32, rvq::l2>, rvq::extents<sL, sK, sD>>;
  static const static_books books;
  const cluster_q q(books.v);
  const seq_static s(books.v);
  const auto x = rvq_test::gaussian(50, sD, 13);
  for (std::size_t i = 0; i < 50; ++i) {
    std::array<std::uint8_t, sL> a{}, b{};
    REQUIRE(q.encode(span<const float>(x.data() + i * sD, sD), span<std::uint8_t>(a)).ok());
    REQUIRE(s.encode(span<const float>(x.data() + i * sD, sD), span<std::uint8_t>(b)).ok());
    CHECK(a == b);
  }
}

TEST_CASE("thread_pool runs every index once and propagates exceptions", "[parallel]") {
  rvq::thread_pool pool(3);
  CHECK(pool.size() == 3);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{1000}}) {
    std::vector<std::atomic<int>> hits(n);
    pool.run(n, [&](std::size_t i) { hits[i]++; });
    for (auto& h : hits) CHECK(h.load() == 1);
  }
  // A run from inside a task runs inline (no deadlock).
  std::atomic<int> inner{0};
  pool.run(4, [&](std::size_t) { pool.run(3, [&](std::size_t) { inner++; }); });
  CHECK(inner.load() == 12);
  CHECK_THROWS_AS(pool.run(10,
                           [](std::size_t i) {
                             if (i == 7) throw std::runtime_error("task 7");
                           }),
                  std::runtime_error);
  std::atomic<int> after{0};
  pool.run(10, [&](std::size_t) { after++; });  // still usable
  CHECK(after.load() == 10);
}

TEST_CASE("fork_join gives each emulated core its own contiguous chunk", "[parallel]") {
  using traits = rvq::parallel_traits<rvq::fork_join<rvq::host_cluster<8>>>;
  STATIC_REQUIRE(traits::concurrency() == 8);
  std::vector<std::atomic<int>> hits(100);
  std::vector<std::size_t> core(100);
  traits::for_each(100, [&](std::size_t i) {
    hits[i]++;
    core[i] = rvq::host_cluster<8>::core_id();
  });
  for (auto& h : hits) CHECK(h.load() == 1);
  for (std::size_t i = 1; i < 100; ++i) CHECK(core[i] >= core[i - 1]);  // contiguous chunks in core order
  CHECK(core.front() == 0);
  CHECK(core.back() == 7);
}
#endif

TEST_CASE("dynamic_threads: any limit, and callers that share the pool, give the sequential codes", "[parallel]") {
  const std::size_t d = 37, n = 777;
  const std::vector<std::size_t> k = {64, 200, 33};
  const auto cb = rvq_test::gaussian(64 + 200 + 33, d, 5);
  const auto x = rvq_test::gaussian(n, d, 6);
  const auto seq = build<seq_q<>>(cb, k, d);
  const auto dyn = build<par_q<rvq::dynamic_threads>>(cb, k, d);
  const auto want = batch_codes(seq, x, n, 2);
  CHECK(rvq::dynamic_threads::limit() == 0);  // every thread by default
  for (std::size_t t : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{64}}) {
    CAPTURE(t);
    rvq::dynamic_threads::scope s(t);
    CHECK(rvq::parallel_traits<rvq::dynamic_threads>::concurrency() ==
          std::min(t, rvq::thread_pool::hardware_threads()));
    CHECK(batch_codes(dyn, x, n, 2) == want);
  }
  CHECK(rvq::dynamic_threads::limit() == 0);  // the scope restored it
  // Four threads encode at once: whoever finds the pool busy runs on its own thread.
  std::vector<std::vector<std::uint16_t>> got(4);
  std::vector<std::thread> callers;
  for (std::size_t i = 0; i < got.size(); ++i)
    callers.emplace_back([&, i] {
      std::vector<std::uint16_t> c(n * dyn.layers());
      const rvq::status st =
          dyn.encode_batch(matrix_view<const float>(x.data(), n, d),
                           matrix_view<std::uint16_t>(c.data(), n, dyn.layers()), rvq::encode_options{2});
      if (st) got[i] = std::move(c);
    });
  for (auto& t : callers) t.join();
  for (const auto& g : got) CHECK(g == want);
}

TEST_CASE("thread_pool::run_shared covers every index once, on at most `width` threads", "[parallel]") {
  rvq::thread_pool pool(3);
  for (std::size_t width : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{9}}) {
    std::vector<std::atomic<int>> hits(101);
    std::mutex m;
    std::set<std::thread::id> ids;
    pool.run_shared(hits.size(), width, [&](std::size_t i) {
      hits[i]++;
      std::lock_guard<std::mutex> g(m);
      ids.insert(std::this_thread::get_id());
    });
    for (const auto& h : hits) CHECK(h.load() == 1);
    CHECK(ids.size() <= (width == 0 || width > 3 ? 3 : width));
  }
  CHECK_THROWS_AS(pool.run_shared(10, 2,
                                  [](std::size_t i) {
                                    if (i == 7) throw std::runtime_error("x");
                                  }),
                  std::runtime_error);
}

TEST_CASE("a progress callback that throws stops training, and the exception comes through", "[parallel]") {
  const std::size_t n = 300, d = 8;
  const auto x = rvq_test::gaussian(n, d, 4);
  auto opt = rvq_test::options(3, 16, 4);
  std::size_t calls = 0;
  opt.progress = [&](const rvq::train_progress&) {
    if (++calls == 3) throw std::runtime_error("interrupted");
  };
  using dyn_config = rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::dynamic_threads>;
  CHECK_THROWS_WITH(rvq::train<dyn_config>(matrix_view<const float>(x.data(), n, d), opt), "interrupted");
  CHECK(calls == 3);
  opt.progress = nullptr;  // the pool is still usable afterwards
  CHECK(rvq::train<dyn_config>(matrix_view<const float>(x.data(), n, d), opt).ok());
}

TEMPLATE_LIST_TEST_CASE("evaluate and compact give the sequential figures and models", "[parallel]", strategies) {
  // Both hand encode_batch a workspace of their own: it needs a slice for every worker.
  const std::size_t d = 20, n = 600;
  const std::vector<std::size_t> k = {32, 32};
  auto cb = rvq_test::gaussian(64, d, 8);
  std::copy(cb.begin(), cb.begin() + d, cb.begin() + 5 * d);  // a duplicate codeword for compact
  const auto x = rvq_test::gaussian(n, d, 9);
  const auto seq = build<seq_q<>>(cb, k, d);
  const auto par = build<par_q<TestType>>(cb, k, d);
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    rvq::eval_options eo;
    eo.beam = beam;
    const auto a = rvq::evaluate(seq, matrix_view<const float>(x.data(), n, d), eo);
    const auto b = rvq::evaluate(par, matrix_view<const float>(x.data(), n, d), eo);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->mse == b->mse);
    CHECK(a->layer_mse == b->layer_mse);
  }
  seq_q<> cs;
  par_q<TestType> cp;
  REQUIRE(rvq::compact(seq, matrix_view<const float>(x.data(), n, d), cs).ok());
  REQUIRE(rvq::compact(par, matrix_view<const float>(x.data(), n, d), cp).ok());
  REQUIRE(cs.layers() == cp.layers());
  for (std::size_t l = 0; l < cs.layers(); ++l) CHECK(cs.codewords(l) == cp.codewords(l));
}
