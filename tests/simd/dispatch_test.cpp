// The dispatch backend: every target this CPU runs, forced in turn, against the scalar reference
// (the same codes except at near-ties, the same error to 1e-6 relative); the target names, the
// RVQ_ISA parser and set_isa()'s errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>
#include <rvq/simd/dispatch/kernels.hpp>
#include "../helpers.hpp"

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_simd_dispatch_test {

using rvq::matrix_view;
using rvq::span;

namespace {
template <class Simd>
using q_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, Simd>>;

std::size_t rows_differ(const std::vector<std::uint16_t>& a, const std::vector<std::uint16_t>& b, std::size_t n,
                        std::size_t l) {
  std::size_t differ = 0;
  for (std::size_t i = 0; i < n; ++i)
    differ += !std::equal(a.begin() + std::ptrdiff_t(i * l), a.begin() + std::ptrdiff_t((i + 1) * l),
                          b.begin() + std::ptrdiff_t(i * l));
  return differ;
}
}  // namespace

TEST_CASE("dispatch: target names and the RVQ_ISA parser", "[simd][dispatch]") {
  for (rvq::isa t : rvq::all_isas) {
    rvq::isa back = rvq::isa::avx512;
    REQUIRE(rvq::parse_name(rvq::isa_names, rvq::to_string(t), back));
    CHECK(back == t);
  }
  rvq::isa t = rvq::isa::avx2;
  CHECK(rvq::detail::isa_from_text("auto", t) == nullptr);
  CHECK(t == rvq::best_isa());
  t = rvq::isa::avx2;
  const char* note = rvq::detail::isa_from_text("avx1024", t);
  REQUIRE(note != nullptr);
  CHECK(std::string(note).find("valid: auto") != std::string::npos);
  CHECK(t == rvq::best_isa());
  CHECK(rvq::detail::isa_from_text("baseline", t) == nullptr);
  CHECK(t == rvq::isa::baseline);
  CHECK(rvq::isa_supported(rvq::isa::baseline));
}

TEST_CASE("dispatch: set_isa refuses unknown names and targets this CPU lacks, changing nothing", "[simd][dispatch]") {
  rvq_test::isa_guard g;
  REQUIRE(rvq::set_isa(rvq::isa::baseline).ok());
  const rvq::status s = rvq::set_isa("avx1024");
  CHECK(s.code() == rvq::errc::invalid_argument);
  CHECK(rvq::active_isa() == rvq::isa::baseline);
  for (rvq::isa t : {rvq::isa::avx2, rvq::isa::avx512})
    if (!rvq::isa_supported(t)) {
      CHECK(rvq::set_isa(t).code() == rvq::errc::unsupported);
      CHECK(rvq::active_isa() == rvq::isa::baseline);
    }
  CHECK(rvq::set_isa("auto").ok());
  CHECK(rvq::active_isa() == rvq::best_isa());
}

TEST_CASE("dispatch: every target this CPU runs gives the scalar reference's codes", "[simd][dispatch]") {
  rvq_test::isa_guard g;
  // Odd sizes: partial panels, partial row blocks (12 rows split into the targets' 6) and tails.
  const std::size_t n = 1501, d = 37, layers = 4, k = 50;
  const auto data = rvq_test::gaussian(n, d, 31);
  auto ref = rvq::train<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, rvq::scalar>>(
      matrix_view<const float>(data.data(), n, d), rvq_test::options(layers, k, 4));
  REQUIRE(ref.ok());
  auto fast = q_t<rvq::dispatch>::from_codebooks(span<const float>(ref->codebook_data(), layers * k * d), layers, k, d);
  REQUIRE(fast.ok());
  auto residual = *fast;  // beam search on residuals: no cross-product tables
  residual.build_beam_tables(0);
  REQUIRE(fast->use_beam_tables(8));
  REQUIRE_FALSE(residual.use_beam_tables(4));
  std::size_t targets = 0;
  for (rvq::isa t : rvq::all_isas) {
    if (!rvq::isa_supported(t)) {
      WARN("this CPU lacks " << rvq::to_string(t) << ": not tested here");
      continue;
    }
    REQUIRE(rvq::set_isa(t).ok());
    ++targets;
    INFO("target " << rvq::to_string(t));
    // Beam search's selection runs on the target too, at its width: through the tables and on
    // residuals, with beams that fill partial lane groups.
    for (std::size_t beam : {std::size_t{3}, std::size_t{8}}) {
      INFO("beam " << beam);
      std::vector<std::uint16_t> a(n * layers), b(n * layers), c(n * layers);
      const matrix_view<const float> x(data.data(), n, d);
      REQUIRE(ref->encode_batch(x, matrix_view<std::uint16_t>(a.data(), n, layers), {beam}).ok());
      REQUIRE(fast->encode_batch(x, matrix_view<std::uint16_t>(b.data(), n, layers), {beam}).ok());
      REQUIRE(residual.encode_batch(x, matrix_view<std::uint16_t>(c.data(), n, layers), {beam}).ok());
      CHECK(rows_differ(a, b, n, layers) <= n / 200);
      CHECK(rows_differ(a, c, n, layers) <= n / 200);
    }
    for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
      INFO("beam " << beam);
      std::vector<std::uint16_t> a(n * layers), b(n * layers), one(layers);
      REQUIRE(ref->encode_batch(matrix_view<const float>(data.data(), n, d),
                                matrix_view<std::uint16_t>(a.data(), n, layers), {beam})
                  .ok());
      REQUIRE(fast->encode_batch(matrix_view<const float>(data.data(), n, d),
                                 matrix_view<std::uint16_t>(b.data(), n, layers), {beam})
                  .ok());
      CHECK(rows_differ(a, b, n, layers) <= n / 200);  // near-ties only (FMA rounds once)
      std::size_t single_differ = 0;                   // the one-row kernel: single vectors as the batch encodes them
      for (std::size_t i = 0; i < 200; ++i) {
        REQUIRE(fast->encode(span<const float>(data.data() + i * d, d), span<std::uint16_t>(one), {beam}).ok());
        single_differ += !std::equal(one.begin(), one.end(), b.begin() + std::ptrdiff_t(i * layers));
      }
      CHECK(single_differ <= 2);
      rvq::eval_options eo;
      eo.beam = beam;
      const auto ea = rvq::evaluate(*ref, matrix_view<const float>(data.data(), n, d), eo);
      const auto eb = rvq::evaluate(*fast, matrix_view<const float>(data.data(), n, d), eo);
      REQUIRE(ea.ok());
      REQUIRE(eb.ok());
      CHECK(std::fabs(ea->mse - eb->mse) <= 1e-6 * ea->mse);
    }
  }
  CHECK(targets >= 1);
}

namespace {
template <class E>
using int_dispatch = rvq::config<E, rvq::l2, rvq::dense, rvq::sequential, rvq::dispatch>;
// The elements the int8 (int8, q7, int4) and q15 panel kernels serve.
using dispatched_int_elements = std::tuple<rvq::int8, rvq::q7, rvq::int4, rvq::q15>;
}  // namespace

TEMPLATE_LIST_TEST_CASE("dispatch: every target's int8 and q15 kernels give the integer reference's codes bit for bit",
                        "[simd][dispatch][integer]", dispatched_int_elements) {
  rvq_test::isa_guard g;
  // Odd shapes: D not a multiple of 4 (nor of 8 or 16), K not a multiple of 16, 203 rows (blocks
  // of 8 and of 4 with tails); a second input 40 times larger saturates the activations.
  constexpr std::size_t d = 37, layers = 2;
  const std::size_t n = 203, ks[] = {50, 19};
  auto x = rvq_test::gaussian(1500, d, 5);
  rvq::train_options o = rvq_test::options(layers, 50, 5);
  o.codewords = {ks[0], ks[1]};
  auto m = rvq::train(matrix_view<const float>(x.data(), 1500, d), o);
  REQUIRE(m.ok());
  std::vector<float> loud(x.begin(), x.begin() + std::ptrdiff_t(n * d));
  for (float& v : loud) v *= 40.0f;
  std::size_t runs = 0;
  for (auto gr : {rvq::granularity::layer, rvq::granularity::codeword, rvq::granularity::dim})
    for (bool sym : {true, false}) {
      if (!sym && !rvq::element_traits<TestType>::affine) continue;
      for (auto mode : {rvq::rounding::half_up, rvq::rounding::truncate, rvq::rounding::half_to_even}) {
        rvq::quantize_options qo;
        qo.element = rvq::element_traits<TestType>::id;
        qo.group = gr;
        qo.symmetric = sym;
        qo.mode = mode;
        rvq::quantized_codebooks q;
        REQUIRE(rvq::quantize_codebooks(*m, matrix_view<const float>(x.data(), 1500, d), qo, q).ok());
        auto fast = rvq::quantizer<int_dispatch<TestType>>::from_quantized(q);
        REQUIRE(fast.ok());
        // the reference: static extents always search with the reference kernels
        const auto& t = fast->store().tables();
        rvq::int_layer views[layers] = {t.layers[0].view, t.layers[1].view};
        const rvq::quantizer<int_dispatch<TestType>, rvq::extents<layers, 64, d>> ref(views, t.input_frac, t.mode);
        for (const std::vector<float>* in : {&x, &loud})
          for (rvq::isa target : rvq::all_isas) {
            if (!rvq::isa_supported(target)) continue;
            REQUIRE(rvq::set_isa(target).ok());
            std::vector<std::uint16_t> a(n * layers), b(layers);
            REQUIRE(fast->encode_batch(matrix_view<const float>(in->data(), n, d),
                                       matrix_view<std::uint16_t>(a.data(), n, layers))
                        .ok());
            std::size_t differ = 0;
            for (std::size_t i = 0; i < n; ++i) {
              REQUIRE(ref.encode(span<const float>(in->data() + i * d, d), span<std::uint16_t>(b)).ok());
              differ += a[layers * i] != b[0] || a[layers * i + 1] != b[1];
            }
            CAPTURE(rvq::to_string(target), rvq::simd::int8_panels::to_string(rvq::active_int8_kernel()),
                    rvq::simd::q15_panels::to_string(rvq::active_q15_kernel()), rvq::to_string(gr), sym,
                    rvq::to_string(mode), in == &loud);
            CHECK(differ == 0);
            ++runs;
          }
      }
    }
  CHECK(runs > 0);
}

TEST_CASE("dispatch: every target's residual update, activations and grid conversion equal the scalar ones",
          "[simd][dispatch][integer]") {
  namespace ip = rvq::simd::int8_panels;
  rvq_test::isa_guard g;
  std::mt19937 rng(17);
  std::uniform_int_distribution<std::int32_t> any(std::numeric_limits<std::int32_t>::min(),
                                                  std::numeric_limits<std::int32_t>::max());
  std::uniform_int_distribution<std::int32_t> near(-300000, 300000);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::size_t runs = 0;
  for (rvq::isa target : rvq::all_isas) {
    if (!rvq::isa_supported(target)) continue;
    REQUIRE(rvq::set_isa(target).ok());
    const ip::kernel kern = rvq::active_int8_kernel();
    // lengths around the 8- and 16-lane widths, the model shapes, and tails of every size
    const std::size_t dims[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 37, 100, 784};
    for (std::size_t d : dims) {
      std::vector<std::int8_t> q(d);
      std::vector<std::int32_t> r0(d), a(d), b(d);
      std::vector<std::uint8_t> act_a(ip::padded_dim(d)), act_b(ip::padded_dim(d));
      for (auto mode : {rvq::rounding::half_up, rvq::rounding::truncate, rvq::rounding::half_to_even})
        for (int shift : {1, 4, 13, 23, 30})
          for (std::int32_t m : {1, 3, -7, 1000, 65537, -4000000})
            for (bool extreme : {false, true}) {
              for (std::size_t t = 0; t < d; ++t) {
                q[t] = static_cast<std::int8_t>(byte(rng));
                r0[t] = extreme ? any(rng) : near(rng);  // extreme: the update saturates at both ends
              }
              if (extreme) {  // int32's ends themselves, first and last (a vector tail's last lane)
                r0[0] = std::numeric_limits<std::int32_t>::max();
                r0[d - 1] = d > 1 ? std::numeric_limits<std::int32_t>::min() : r0[0];
              }
              const std::int32_t z = static_cast<std::int32_t>(byte(rng));
              a = r0;
              b = r0;
              ip::subtract_affine(kern, a.data(), q.data(), d, z, m, shift, mode);
              ip::subtract_affine(ip::kernel::reference, b.data(), q.data(), d, z, m, shift, mode);
              CAPTURE(rvq::to_string(target), ip::to_string(kern), d, rvq::to_string(mode), shift, m, extreme);
              CHECK(a == b);
              const std::int64_t sa = ip::activations(kern, r0.data(), d, shift, mode, act_a.data());
              const std::int64_t sb = ip::activations(ip::kernel::reference, r0.data(), d, shift, mode, act_b.data());
              CHECK(sa == sb);
              CHECK(act_a == act_b);
              ++runs;
            }
      // float_to_grid converts a prefix; it equals round-to-nearest-even with saturation
      std::vector<float> x(d);
      for (float unit : {1.0f, 0.125f, 1024.0f, 1048576.0f, 1099511627776.0f})
        for (float scale : {1.0f, 300.0f, 1.0e9f}) {
          for (std::size_t t = 0; t < d; ++t) x[t] = gauss(rng) * scale;
          x[0] = 2.5f;  // ties go to even
          if (d > 1) x[1] = -3.5f;
          std::fill(a.begin(), a.end(), 0);
          const std::size_t done = ip::float_to_grid(kern, x.data(), d, unit, a.data());
          REQUIRE(done <= d);
          for (std::size_t t = 0; t < done; ++t) {
            const double y = std::nearbyint(static_cast<double>(x[t]) * unit);
            const double c = y > 2147483647.0 ? 2147483647.0 : (y < -2147483648.0 ? -2147483648.0 : y);
            CAPTURE(rvq::to_string(target), d, unit, x[t], t);
            CHECK(a[t] == static_cast<std::int32_t>(c));
          }
        }
    }
  }
  CHECK(runs > 0);
}

namespace {
/// The lowest of k integer scores `score(c)` and its index, ties to the lowest index: the
/// kernels' contract, written plainly.
template <class Score>
[[maybe_unused]] std::pair<std::uint32_t, std::int64_t> exact_argmin(std::size_t k, Score score) {
  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  std::uint32_t at = 0;
  for (std::size_t c = 0; c < k; ++c)
    if (const std::int64_t s = score(c); s < best) {
      best = s;
      at = static_cast<std::uint32_t>(c);
    }
  return {at, best};
}
}  // namespace

#if RVQ_INT8_X86 || defined(RVQ_INT8_PANELS_SDOT)
namespace {
/// The kernels of int8_panels this CPU runs.
std::vector<rvq::simd::int8_panels::kernel> runnable_int8_kernels() {
  using k = rvq::simd::int8_panels::kernel;
  std::vector<k> out;
#if RVQ_INT8_X86
  const rvq::cpu_features f = rvq::detect_cpu();
  if (f.avx2 && f.fma) out.push_back(k::avx2);
  if (f.avx2 && f.fma && f.avx_vnni) out.push_back(k::avx_vnni);
  if (f.avx2 && f.fma && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.avx512vnni)
    out.push_back(k::avx512_vnni);
#else
  out.push_back(k::sdot);
#endif
  return out;
}
}  // namespace

// The kernels' contract, below the stores: the int64 argmin of `bias - mul (<a, q> - z sum(a))`
// (power-of-two elements: `bias - (... << mul)`), the lowest index among equal scores, for every
// row count up to max_rows and codebooks of several hundred codewords (the 256-bit kernels rank
// 256 codewords at a time in float, then rescore exactly). Rows equal to duplicated codewords
// tie exactly, also across those chunks; codewords one unit apart, under a constant large enough
// that float cannot tell them apart, near-tie.
TEMPLATE_TEST_CASE_SIG("int8 panels: every kernel finds the exact argmin, ties to the lowest index",
                       "[simd][dispatch][integer]", ((bool Pow2), Pow2), (false), (true)) {
  namespace ip = rvq::simd::int8_panels;
  std::mt19937 gen(11);
  std::size_t runs = 0;
  for (ip::kernel kern : runnable_int8_kernels())
    for (std::size_t d : {std::size_t{3}, std::size_t{37}, std::size_t{100}})
      for (std::size_t k : {std::size_t{1}, std::size_t{19}, std::size_t{300}, std::size_t{600}})
        for (bool zero : {false, true})
          for (bool large : {false, true}) {
            CAPTURE(ip::to_string(kern), d, k, zero, large);
            std::uniform_int_distribution<int> q8(-127, 127), a8(-128, 127), zd(-20, 20);
            std::uniform_int_distribution<std::int32_t> mul_d(Pow2 ? 0 : 1, Pow2 ? 3 : (1 << 20));
            std::vector<std::int8_t> v(k * d);
            for (auto& x : v) x = static_cast<std::int8_t>(q8(gen));
            std::vector<std::int64_t> bias(k);
            std::vector<std::int32_t> mul(k), z(k, 0);
            for (std::size_t c = 0; c < k; ++c) {
              mul[c] = mul_d(gen);
              if (zero) z[c] = zd(gen);
            }
            // duplicates (exact ties) within and across chunks of 256, near-ties one unit apart
            const std::pair<std::size_t, std::size_t> dup[] = {{2, 5}, {3, 280}, {7, 590}, {260, 520}};
            for (auto [from, to] : dup)
              if (to < k) {
                std::copy_n(v.begin() + std::ptrdiff_t(from * d), d, v.begin() + std::ptrdiff_t(to * d));
                mul[to] = mul[from];
                z[to] = z[from];
              }
            if (k > 12) {
              std::copy_n(v.begin(), d, v.begin() + std::ptrdiff_t(11 * d));
              v[11 * d] = static_cast<std::int8_t>(v[0] + (v[0] < 127 ? 1 : -1));
              mul[11] = mul[0];
              z[11] = z[0];
            }
            for (std::size_t c = 0; c < k; ++c) {
              std::int64_t n2 = 0;
              for (std::size_t t = 0; t < d; ++t) n2 += v[c * d + t] * v[c * d + t];
              // an L2 score, mul (||q||^2 / 2 - <a, q>), shifted by a constant that float cannot resolve
              const std::int64_t m = Pow2 ? std::int64_t{1} << mul[c] : mul[c];
              bias[c] = m * n2 / 2 + (large ? std::int64_t{1000000000000000} : 0);
            }
            ip::layer_tables tab;
            tab.build(v.data(), k, d, bias.data(), mul.data(), zero ? z.data() : nullptr, Pow2);
            const ip::constants cs = tab.view();
            const std::size_t dp = ip::padded_dim(d);
            std::vector<std::uint8_t> acts(ip::max_rows * dp, 128);
            std::vector<std::int64_t> asum(ip::max_rows, 0);
            std::vector<int> a(ip::max_rows * d);
            for (std::size_t r = 0; r < ip::max_rows; ++r)
              for (std::size_t t = 0; t < d; ++t) {
                // rows 0-4 are codewords 2, 3, 7, 260 and 0: their duplicates tie, 0 near-ties with 11
                const std::size_t near[] = {2, 3, 7, 260, 0};
                a[r * d + t] = r < 5 ? v[near[r] % k * d + t] : a8(gen);
                acts[r * dp + t] = static_cast<std::uint8_t>(a[r * d + t] + 128);
                asum[r] += a[r * d + t];
              }
            std::vector<unsigned char> wide(ip::wide_bytes(d) + 64);
            for (std::size_t n = 1; n <= ip::max_rows; n += (n < 9 ? 1 : 7)) {
              const std::uint8_t* ptr[ip::max_rows];
              for (std::size_t r = 0; r < n; ++r) ptr[r] = acts.data() + r * dp;
              std::uint32_t idx[ip::max_rows];
              std::int64_t score[ip::max_rows];
              ip::search<Pow2>(kern, ptr, asum.data(), n, tab.panels.data(), k, d, cs, wide.data(), idx, score);
              for (std::size_t r = 0; r < n; ++r) {
                const auto [at, best] = exact_argmin(k, [&](std::size_t c) {
                  std::int64_t dot = 0;
                  for (std::size_t t = 0; t < d; ++t) dot += std::int64_t{a[r * d + t]} * v[c * d + t];
                  dot -= std::int64_t{z[c]} * asum[r];
                  return Pow2 ? bias[c] - dot * (std::int64_t{1} << mul[c]) : bias[c] - mul[c] * dot;
                });
                CAPTURE(n, r);
                CHECK(idx[r] == at);
                CHECK(score[r] == best);
                ++runs;
              }
            }
          }
  CHECK(runs > 0);
}
#endif

#if RVQ_Q15_X86
namespace {
/// The q15 kernels this CPU runs.
std::vector<rvq::simd::q15_panels::kernel> runnable_q15_kernels() {
  using k = rvq::simd::q15_panels::kernel;
  std::vector<k> out;
  const rvq::cpu_features f = rvq::detect_cpu();
  if (f.avx2) out.push_back(k::avx2);
  if (f.avx2 && f.avx_vnni) out.push_back(k::avx_vnni);
  if (f.avx2 && f.avx512f && f.avx512bw && f.avx512vnni) out.push_back(k::avx512_vnni);
  return out;
}
}  // namespace

// The q15 kernels' contract: the exact int64 argmin of `bias - (<x, q> << shift)`, the lowest index
// among equal scores, for any int16 values (also -32768 on both sides, where a pair of products
// needs 32 bits), dimensions past 256 (the 32-bit lanes are widened every 128 pairs), every row
// count, and codebooks of several panels with duplicated codewords.
TEST_CASE("q15 panels: every kernel finds the exact argmin, ties to the lowest index", "[simd][dispatch][integer]") {
  namespace qp = rvq::simd::q15_panels;
  std::mt19937 gen(17);
  std::size_t runs = 0;
  for (qp::kernel kern : runnable_q15_kernels())
    for (std::size_t d : {std::size_t{1}, std::size_t{37}, std::size_t{100}, std::size_t{600}})
      for (std::size_t k : {std::size_t{1}, std::size_t{19}, std::size_t{300}})
        for (int extreme = 0; extreme < 3; ++extreme) {
          // 0: random; 1: every value and activation -32768; 2: values -32768, activations 32767 (the
          // largest sums of `xl q` a 32-bit lane holds before it is widened: 128 x 2 x 255 x -32768)
          CAPTURE(qp::to_string(kern), d, k, extreme);
          std::uniform_int_distribution<int> q16(-32768, 32767), sh(0, 3);
          std::vector<std::int16_t> v(k * d);
          for (auto& x : v) x = static_cast<std::int16_t>(extreme ? -32768 : q16(gen));
          // duplicates in other lanes (2, 5; 3, 150) and in the same lane of a later panel (7, 263; 4, 20)
          const std::pair<std::size_t, std::size_t> dup[] = {{2, 5}, {3, 150}, {7, 263}, {4, 20}};
          std::vector<std::int64_t> bias(k), shift(k);
          for (std::size_t c = 0; c < k; ++c) shift[c] = sh(gen);
          for (auto [from, to] : dup)
            if (to < k) {
              std::copy_n(v.begin() + std::ptrdiff_t(from * d), d, v.begin() + std::ptrdiff_t(to * d));
              shift[to] = shift[from];
            }
          for (std::size_t c = 0; c < k; ++c) {
            std::int64_t n2 = 0;
            for (std::size_t t = 0; t < d; ++t) n2 += std::int64_t{v[c * d + t]} * v[c * d + t];
            bias[c] = (n2 / 2) << shift[c];  // an L2 score, (||q||^2 / 2 - <x, q>) << shift
          }
          qp::layer_panels lp;
          lp.build(v.data(), k, d, bias.data(), shift.data());
          std::vector<std::int16_t> x(qp::max_rows * d);
          std::vector<std::int16_t> split(qp::max_rows * qp::split_bytes(d) / 2);
          for (std::size_t r = 0; r < qp::max_rows; ++r)
            for (std::size_t t = 0; t < d; ++t) {
              const std::size_t near[] = {2, 3, 7, 4};  // rows 0-3 are codewords: their duplicates tie
              std::int16_t a = static_cast<std::int16_t>(q16(gen));
              if (extreme == 1) a = -32768;
              if (extreme == 2) a = 32767;
              if (extreme == 0 && r < 4) a = v[near[r] % k * d + t];
              x[r * d + t] = a;
            }
          const std::int16_t* xs[qp::max_rows];
          for (std::size_t r = 0; r < qp::max_rows; ++r) {
            xs[r] = split.data() + r * qp::split_bytes(d) / 2;
            qp::split(reinterpret_cast<const unsigned char*>(x.data() + r * d), d,
                      split.data() + r * qp::split_bytes(d) / 2);
          }
          for (std::size_t n = 1; n <= qp::rows_of(kern); ++n) {
            std::uint32_t idx[qp::max_rows];
            std::int64_t score[qp::max_rows];
            qp::search(kern, xs, n, lp, idx, score);
            for (std::size_t r = 0; r < n; ++r) {
              const auto [at, best] = exact_argmin(k, [&](std::size_t c) {
                std::int64_t dot = 0;
                for (std::size_t t = 0; t < d; ++t) dot += std::int64_t{x[r * d + t]} * v[c * d + t];
                return bias[c] - static_cast<std::int64_t>(static_cast<std::uint64_t>(dot) << shift[c]);
              });
              CAPTURE(n, r);
              CHECK(idx[r] == at);
              CHECK(score[r] == best);
              ++runs;
            }
          }
        }
  CHECK(runs > 0);
}

// The q15 store's vector helpers against the reference's shift-round-saturate, on residuals up to
// int32's ends: activations (shifts 0-15, every mode; the others decline) and the residual update
// (codeword shifts -15 to 16).
TEST_CASE("q15 panels: activations and the residual update equal the reference's", "[simd][dispatch][integer]") {
  namespace qp = rvq::simd::q15_panels;
  std::mt19937 gen(5);
  std::uniform_int_distribution<std::int32_t> big(std::numeric_limits<std::int32_t>::min(),
                                                  std::numeric_limits<std::int32_t>::max());
  std::uniform_int_distribution<std::int32_t> small(-(1 << 20), 1 << 20);
  std::uniform_int_distribution<int> q16(-32768, 32767);
  std::size_t runs = 0;
  for (qp::kernel kern : runnable_q15_kernels())
    for (std::size_t d : {std::size_t{1}, std::size_t{7}, std::size_t{37}, std::size_t{100}})
      for (auto mode : {rvq::rounding::half_up, rvq::rounding::truncate, rvq::rounding::half_to_even}) {
        std::vector<std::int32_t> r(d);
        for (std::size_t t = 0; t < d; ++t) r[t] = t % 3 == 0 ? big(gen) : small(gen);
        if (d > 4) r[1] = std::numeric_limits<std::int32_t>::min(), r[2] = std::numeric_limits<std::int32_t>::max();
        for (int shift = -2; shift <= 20; ++shift) {
          CAPTURE(qp::to_string(kern), d, rvq::to_string(mode), shift);
          std::vector<std::int16_t> out(qp::split_bytes(d) / 2, 7), want(qp::split_bytes(d) / 2);
          std::int64_t sum = 0, want_sum = 0;
          std::vector<unsigned char> act(2 * d);
          for (std::size_t t = 0; t < d; ++t) {
            const std::int16_t a = rvq::srs<std::int16_t>(r[t], shift, mode);
            std::memcpy(act.data() + 2 * t, &a, 2);
            want_sum += a;
          }
          qp::split(act.data(), d, want.data());
          const bool done = qp::activations(kern, r.data(), d, shift, mode, out.data(), sum);
          CHECK(done == (shift >= 0 && shift <= 15 && mode != rvq::rounding::half_to_even));
          if (done) {
            CHECK(out == want);
            CHECK(sum == want_sum);
          }
          ++runs;
        }
        std::vector<std::int16_t> q(d);
        for (auto& v : q) v = static_cast<std::int16_t>(q16(gen));
        if (d > 4) q[3] = -32768, q[4] = 32767;
        for (int s = -17; s <= 18; ++s) {
          CAPTURE(qp::to_string(kern), d, rvq::to_string(mode), s);
          std::vector<std::int32_t> got = r, want = r;
          for (std::size_t t = 0; t < d; ++t)
            want[t] = rvq::saturate<std::int32_t>(std::int64_t{want[t]} - rvq::srs<std::int32_t>(q[t], s, mode));
          const bool done =
              qp::subtract(kern, got.data(), reinterpret_cast<const unsigned char*>(q.data()), d, s, mode);
          CHECK(done == (s >= -15 && s <= 16 && (s <= 0 || mode != rvq::rounding::half_to_even)));
          CHECK(got == (done ? want : r));
          ++runs;
        }
      }
  CHECK(runs > 0);
}
#endif

TEST_CASE("dispatch: the q15 kernel follows the target and the CPU", "[simd][dispatch][integer]") {
  using rvq::simd::dispatch::q15_kernel_for;
  rvq::cpu_features avx2, vnni256, vnni512, bw512;
  avx2.avx2 = avx2.fma = true;
  vnni256 = avx2;
  vnni256.avx_vnni = true;
  bw512 = avx2;
  bw512.avx512f = bw512.avx512bw = bw512.avx512dq = bw512.avx512vl = true;
  vnni512 = bw512;
  vnni512.avx512vnni = true;
#if RVQ_Q15_X86
  using k = rvq::simd::q15_panels::kernel;
  CHECK(q15_kernel_for(rvq::isa::baseline, vnni512) == k::reference);  // sse2: the reference kernels
  CHECK(q15_kernel_for(rvq::isa::avx2, avx2) == k::avx2);
  CHECK(q15_kernel_for(rvq::isa::avx2, vnni256) == k::avx_vnni);
  CHECK(q15_kernel_for(rvq::isa::avx512, vnni256) == k::avx_vnni);  // AVX-512 without VNNI: 256-bit VNNI
  CHECK(q15_kernel_for(rvq::isa::avx2, vnni512) == k::avx2);        // RVQ_ISA=avx2 keeps to 256 bits
  CHECK(q15_kernel_for(rvq::isa::avx512, bw512) == k::avx2);        // AVX-512 without VNNI: the 256-bit kernel
  CHECK(q15_kernel_for(rvq::isa::avx512, vnni512) == k::avx512_vnni);
  CHECK(q15_kernel_for(rvq::isa::avx512, rvq::cpu_features{}) == k::reference);
#else
  CHECK(q15_kernel_for(rvq::isa::baseline, vnni512) == rvq::simd::q15_panels::static_kernel);    // one target
#endif
}

TEST_CASE("dispatch: the int8 kernel follows the target and the CPU", "[simd][dispatch][integer]") {
  using k = rvq::simd::int8_panels::kernel;
  using rvq::simd::dispatch::int8_kernel_for;
  rvq::cpu_features none, avx2, vnni256, vnni512;
  avx2.avx2 = avx2.fma = true;
  vnni256 = avx2;
  vnni256.avx_vnni = true;
  vnni512 = avx2;
  vnni512.avx512f = vnni512.avx512bw = vnni512.avx512dq = vnni512.avx512vl = vnni512.avx512vnni = true;
#if RVQ_INT8_X86
  CHECK(int8_kernel_for(rvq::isa::baseline, vnni512) == k::reference);  // sse2: the reference kernels
  CHECK(int8_kernel_for(rvq::isa::avx2, avx2) == k::avx2);
  CHECK(int8_kernel_for(rvq::isa::avx2, vnni256) == k::avx_vnni);
  CHECK(int8_kernel_for(rvq::isa::avx512, vnni256) == k::avx_vnni);  // AVX-512 without VNNI: 256-bit VNNI
  CHECK(int8_kernel_for(rvq::isa::avx2, vnni512) == k::avx2);        // RVQ_ISA=avx2 keeps to 256 bits
  CHECK(int8_kernel_for(rvq::isa::avx512, vnni512) == k::avx512_vnni);
#else
  CHECK(int8_kernel_for(rvq::isa::baseline, vnni512) == rvq::simd::int8_panels::static_kernel);  // one target
#endif
  (void)none;
  CHECK(std::string(rvq::simd::int8_panels::to_string(k::avx512_vnni)) == "avx512-vnni");
}

}  // namespace rvq_test_simd_dispatch_test
