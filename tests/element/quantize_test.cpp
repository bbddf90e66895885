// Element policies, PTQ calibration and the integer-only encode path.
#include <catch2/catch.hpp>

#include <rvq/parallel/host_cluster.hpp>
#include <rvq/parallel/thread_pool.hpp>
#include <cstring>
#include <random>
#include <type_traits>
#include "../helpers.hpp"

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_element_quantize_test {

namespace {

/// Anisotropic Gaussian data (dimension t has scale 1 + t % 7): a model has something to learn.
std::vector<float> data(std::size_t n, std::size_t d, unsigned seed) {
  std::vector<float> x = rvq_test::gaussian(n, d, seed);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < d; ++t) x[i * d + t] *= 1.0f + static_cast<float>(t % 7);
  return x;
}

struct fixture {
  static constexpr std::size_t d = 32, n = 3000, ntest = 1000;
  std::vector<float> train = data(n, d, 1), test = data(ntest, d, 2);
  rvq::quantizer<> model;
  fixture() {
    rvq::train_options o = rvq_test::options(4, 64, 8);
    o.refine = 0;
    auto m = rvq::train(rvq::matrix_view<const float>(train.data(), n, d), o);
    REQUIRE(m);
    model = std::move(*m);
  }
  rvq::matrix_view<const float> calib() const { return {train.data(), n, d}; }
  rvq::quantized_codebooks quantize(const rvq::quantize_options& o, rvq::quantize_report* r = nullptr) const {
    rvq::quantized_codebooks q;
    const rvq::status s = rvq::quantize_codebooks(model, calib(), o, q, r);
    INFO(s.message());
    REQUIRE(s);
    return q;
  }
};

const fixture& shared() {
  static const fixture f;
  return f;
}

template <class E>
using int_config = rvq::config<E, std::conditional_t<std::is_same<E, rvq::binary>::value, rvq::hamming, rvq::l2>,
                               rvq::dense, rvq::sequential, rvq::scalar>;

template <class E>
rvq::quantizer<int_config<E>> build(const rvq::quantized_codebooks& q) {
  auto r = rvq::quantizer<int_config<E>>::from_quantized(q);
  INFO(r.error().message());
  REQUIRE(r);
  return std::move(*r);
}

using integer_elements = std::tuple<rvq::int8, rvq::q15, rvq::q7, rvq::int4, rvq::int2, rvq::binary>;
using byte_elements = std::tuple<rvq::int8, rvq::q7, rvq::int4, rvq::int2>;

}  // namespace

TEST_CASE("element traits: accumulators are proven wide enough at compile time", "[element]") {
  STATIC_REQUIRE(std::is_same<rvq::accumulator_for_t<rvq::int8, 100>, std::int32_t>::value);
  STATIC_REQUIRE(
      std::is_same<rvq::accumulator_for_t<rvq::int8, 131071>, std::int32_t>::value);  // 131071 * 128^2 < 2^31
  STATIC_REQUIRE(std::is_same<rvq::accumulator_for_t<rvq::int8, 131072>, std::int64_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::accumulator_for_t<rvq::q7, 784>, std::int32_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::accumulator_for_t<rvq::q15, 1>, std::int32_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::accumulator_for_t<rvq::q15, 100>, std::int64_t>::value);
  STATIC_REQUIRE(std::is_same<rvq::accumulator_for_t<rvq::int4, 1000000>, std::int32_t>::value);
  STATIC_REQUIRE(rvq::element_traits<rvq::q7>::pow2_scale && !rvq::element_traits<rvq::int8>::pow2_scale);
  STATIC_REQUIRE(rvq::element_traits<rvq::int4>::bits == 4 && rvq::element_traits<rvq::binary>::bits == 1);
  rvq::element_id e{};
  REQUIRE(rvq::parse_element("q15", e));
  REQUIRE(e == rvq::element_id::q15);
  REQUIRE_FALSE(rvq::parse_element("int3", e));
}

TEST_CASE("f16 and bf16: exact round trips and rounding to nearest even", "[element][half]") {
  std::size_t bad = 0;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const std::uint16_t b = static_cast<std::uint16_t>(h);
    const float f = rvq::f16_to_float(b);
    if (f == f) bad += rvq::float_to_f16(f) != b;  // every non-NaN half survives
    const float g = rvq::bf16_to_float(b);
    if (g == g) bad += rvq::float_to_bf16(g) != b;
  }
  REQUIRE(bad == 0);
  REQUIRE(rvq::float_to_f16(65504.0f) == 0x7bff);
  REQUIRE(rvq::float_to_f16(65520.0f) == 0x7c00);                         // rounds to Inf
  REQUIRE(rvq::float_to_f16(1.0f + 1.0f / 2048) == 0x3c00);               // tie to even
  REQUIRE(rvq::float_to_f16(5.9604645e-08f) == 0x0001);                   // smallest subnormal
  REQUIRE(rvq::float_to_bf16(1.0f + 1.0f / 256) == 0x3f80);               // tie to even
#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__i386__))  // C++ _Float16 (GCC 12: x86)
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
  for (int i = 0; i < 100000; ++i) {
    const float f = u(g) * (i % 2 ? 1e-4f : 1.0f);
    const _Float16 h = static_cast<_Float16>(f);
    std::uint16_t bits;
    std::memcpy(&bits, &h, 2);
    bad += rvq::float_to_f16(f) != bits;
  }
  REQUIRE(bad == 0);
#endif
}

TEST_CASE("quantized codebooks: packing round trips for every element", "[element]") {
  for (auto e : {rvq::element_id::int8, rvq::element_id::q15, rvq::element_id::q7, rvq::element_id::int4,
                 rvq::element_id::int2, rvq::element_id::binary}) {
    rvq::quantized_codebooks q;
    q.element = e;
    q.dim = 13;
    q.k = {5};
    const auto in = rvq::info_of(e);
    std::mt19937 g(1);
    std::uniform_int_distribution<int> v(in.qmin, in.qmax);
    q.values.resize(5 * 13);
    for (auto& x : q.values) x = v(g);
    rvq::quantized_codebooks back = q;
    std::vector<unsigned char> row(q.row_bytes());
    for (std::size_t c = 0; c < 5; ++c) {
      q.pack_row(c, row.data());
      back.unpack_row(c, row.data());
    }
    REQUIRE(back.values == q.values);
    REQUIRE(q.row_bytes() == (13 * in.bits + 7) / 8);
  }
}

TEST_CASE("PTQ: int8 within 2% and q15 within 0.5% of float test MSE", "[element][ptq]") {
  const fixture& f = shared();
  const double base = rvq_test::mse(f.model, f.test, f.ntest);
  for (auto g : {rvq::granularity::codeword, rvq::granularity::dim}) {
    rvq::quantize_options o;
    o.group = g;
    rvq::quantize_report r;
    const auto q8 = f.quantize(o, &r);
    const double m8 = rvq_test::mse(build<rvq::int8>(q8), f.test, f.ntest);
    CAPTURE(rvq::to_string(g), base, m8, r.code_agreement);
    CHECK(m8 <= base * 1.02);
    CHECK(r.code_agreement > 0.95);
    CHECK(r.quantized_bytes < r.float_bytes / 3);
    o.element = rvq::element_id::q15;
    const double m15 = rvq_test::mse(build<rvq::q15>(f.quantize(o)), f.test, f.ntest);
    CAPTURE(m15);
    CHECK(m15 <= base * 1.005);
  }
}

TEST_CASE("PTQ: every element, granularity and calibration gives a valid model that encodes", "[element][ptq]") {
  const fixture& f = shared();
  const double base = rvq_test::mse(f.model, f.test, f.ntest);
  using rvq::element_id;
  for (auto e : {element_id::int8, element_id::q15, element_id::q7, element_id::int4, element_id::int2,
                 element_id::binary, element_id::f16, element_id::bf16})
    for (auto g :
         {rvq::granularity::tensor, rvq::granularity::layer, rvq::granularity::codeword, rvq::granularity::dim})
      for (auto c : {rvq::calibration::minmax, rvq::calibration::percentile, rvq::calibration::mse}) {
        if (e == element_id::binary && g == rvq::granularity::dim) continue;
        rvq::quantize_options o;
        o.element = e;
        o.group = g;
        o.method = c;
        o.symmetric = !rvq::info_of(e).affine || g != rvq::granularity::layer;  // asymmetric once per affine element
        rvq::quantize_report r;
        const auto q = f.quantize(o, &r);
        CAPTURE(rvq::to_string(e), rvq::to_string(g), rvq::to_string(c), r.data_mse, r.data_mse_float);
        REQUIRE(q.validate());
        CHECK(r.data_mse > 0);
        CHECK(r.data_mse_float == Approx(base * f.n / f.n).epsilon(1.0));  // same order as the test MSE
        const double worst = e == element_id::binary ? 1e9
                             : e == element_id::int2 ? 4.0
                             : e == element_id::int4 ? 1.4
                                                     : 1.03;
        CHECK(r.data_mse <= r.data_mse_float * worst);
        if (rvq::info_of(e).pow2_scale) CHECK(r.weight_mse_unrounded >= 0);
      }
}

TEST_CASE("PTQ: power-of-two scales report their cost, refit does not make things worse", "[element][ptq]") {
  const fixture& f = shared();
  rvq::quantize_options o;
  o.pow2 = true;
  rvq::quantize_report r;
  const auto q = f.quantize(o, &r);
  for (float s : q.scales) {
    int e = 0;
    REQUIRE(std::frexp(s, &e) == 0.5f);
  }
  CHECK(r.weight_mse >= r.weight_mse_unrounded);
  CHECK(r.data_mse_unrounded > 0);
  o.pow2 = false;
  o.element = rvq::element_id::int4;
  o.refit = 3;
  const auto q4 = f.quantize(o, &r);
  CHECK(r.data_mse_before_refit > 0);
  CHECK(r.data_mse <= r.data_mse_before_refit);
}

/// Four emulated cores that split one vector's layer from 256 multiply-adds on (the shapes here are small).
struct small_split_cluster : rvq::host_cluster<4> {
  static constexpr std::size_t min_split_macs = 256;
};

TEMPLATE_LIST_TEST_CASE("integer encode: parallel strategies reproduce the sequential codes bit for bit",
                        "[element][integer]", integer_elements) {
  const fixture& f = shared();
  rvq::quantize_options o;
  o.element = rvq::element_traits<TestType>::id;
  const auto q = f.quantize(o);
  const auto seq = build<TestType>(q);
  auto pool = rvq::quantizer<rvq::config<TestType, typename int_config<TestType>::metric, rvq::dense, rvq::threads<3>,
                                         rvq::scalar>>::from_quantized(q);
  auto cluster =
      rvq::quantizer<rvq::config<TestType, typename int_config<TestType>::metric, rvq::dense,
                                 rvq::fork_join<rvq::host_cluster<4>>, rvq::default_simd>>::from_quantized(q);
  REQUIRE(pool);
  REQUIRE(cluster);
  const std::size_t n = f.ntest, l = seq.layers(), d = f.d;
  std::vector<std::uint16_t> a(n * l), b(n * l), c(n * l);
  rvq::matrix_view<const float> x(f.test.data(), n, d);
  REQUIRE(seq.encode_batch(x, rvq::matrix_view<std::uint16_t>(a.data(), n, l)));
  REQUIRE(pool->encode_batch(x, rvq::matrix_view<std::uint16_t>(b.data(), n, l)));
  REQUIRE(cluster->encode_batch(x, rvq::matrix_view<std::uint16_t>(c.data(), n, l)));
  REQUIRE(a == b);
  REQUIRE(a == c);
  // single-vector encode agrees with the batch; on the cluster each layer's codewords are split
  // across the cores (per-core integer argmin, then the reduction)
  auto split = rvq::quantizer<rvq::config<TestType, typename int_config<TestType>::metric, rvq::dense,
                                          rvq::fork_join<small_split_cluster>, rvq::scalar>>::from_quantized(q);
  REQUIRE(split);
  std::vector<std::uint16_t> one(l), two(l);
  for (std::size_t i = 0; i < 50; ++i) {
    REQUIRE(seq.encode(rvq::span<const float>(f.test.data() + i * d, d), rvq::span<std::uint16_t>(one)));
    REQUIRE(std::equal(one.begin(), one.end(), a.begin() + static_cast<std::ptrdiff_t>(i * l)));
    REQUIRE(split->encode(rvq::span<const float>(f.test.data() + i * d, d), rvq::span<std::uint16_t>(two)));
    REQUIRE(one == two);
  }
}

TEMPLATE_LIST_TEST_CASE("integer encode: fixed-point input gives the codes of the same values as floats",
                        "[element][integer]", integer_elements) {
  const fixture& f = shared();
  rvq::quantize_options o;
  o.element = rvq::element_traits<TestType>::id;
  const auto q8 = build<TestType>(f.quantize(o));
  const std::size_t d = f.d, l = q8.layers();
  std::vector<std::int16_t> xi(d);
  std::vector<float> xf(d);
  std::vector<std::uint8_t> a(l), b(l);
  for (std::size_t i = 0; i < 100; ++i) {
    for (std::size_t t = 0; t < d; ++t) {  // Q11 values (range +-16): exact in float and on the grid
      xi[t] = rvq::srs<std::int16_t>(static_cast<std::int64_t>(std::lround(f.test[i * d + t] * 2048.0f)), 0);
      xf[t] = static_cast<float>(xi[t]) / 2048.0f;
    }
    REQUIRE(q8.encode(rvq::span<const float>(xf), rvq::span<std::uint8_t>(a)));
    REQUIRE(q8.encode_fixed(rvq::span<const std::int16_t>(xi), 11, rvq::span<std::uint8_t>(b)));
    REQUIRE(a == b);
  }
}

TEST_CASE("integer encode: a static (firmware) quantizer over int_layer tables matches the dynamic one",
          "[element][integer][static]") {
  const fixture& f = shared();
  rvq::quantize_options o;
  o.element = rvq::element_id::q7;
  o.group = rvq::granularity::layer;
  const auto q = f.quantize(o);
  rvq::detail::int_tables t;
  REQUIRE(rvq::detail::build_int_tables<rvq::q7>(q, rvq::metric_id::l2, t));
  rvq::int_layer views[4];
  for (std::size_t l = 0; l < 4; ++l) views[l] = t.layers[l].view;
  using fw = rvq::quantizer<int_config<rvq::q7>, rvq::extents<4, 64, fixture::d>>;
  const fw s(views, t.input_frac, t.mode);
  REQUIRE(s.validate());
  const auto dyn = build<rvq::q7>(q);
  std::vector<std::uint8_t> a(4), b(4);
  std::vector<float> y(fixture::d), z(fixture::d);
  for (std::size_t i = 0; i < 200; ++i) {
    rvq::span<const float> x(f.test.data() + i * fixture::d, fixture::d);
    REQUIRE(s.encode(x, rvq::span<std::uint8_t>(a)));
    REQUIRE(dyn.encode(x, rvq::span<std::uint8_t>(b)));
    REQUIRE(a == b);
    REQUIRE(s.decode(rvq::span<const std::uint8_t>(a), rvq::span<float>(y)));
    REQUIRE(dyn.decode(rvq::span<const std::uint8_t>(b), rvq::span<float>(z)));
    for (std::size_t t2 = 0; t2 < fixture::d; ++t2) REQUIRE(y[t2] == Approx(z[t2]).margin(1e-4));
  }
  STATIC_REQUIRE(fw::is_integer && fw::is_static);
}

TEST_CASE("integer elements: bad input gets a clear status", "[element][integer][errors]") {
  const fixture& f = shared();
  rvq::quantize_options o;
  auto q = f.quantize(o);
  const auto m = build<rvq::int8>(q);
  std::vector<float> x(f.d, 0.0f);
  std::vector<std::uint8_t> codes(m.layers());
  CHECK(m.encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(codes), rvq::encode_options{2}).code() ==
        rvq::errc::unsupported);
  CHECK(m.encode(rvq::span<const float>(x.data(), f.d - 1), rvq::span<std::uint8_t>(codes)).code() ==
        rvq::errc::dimension_mismatch);
  x[3] = std::nanf("");
  CHECK(m.encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(codes)).code() == rvq::errc::non_finite);
  std::vector<std::int16_t> xi(f.d, 0);
  CHECK(m.encode_fixed(rvq::span<const std::int16_t>(xi), 99, rvq::span<std::uint8_t>(codes)).code() ==
        rvq::errc::invalid_argument);

  auto bad = q;
  bad.values[7] = 300;
  CHECK(rvq::quantizer<int_config<rvq::int8>>::from_quantized(bad).error().code() == rvq::errc::invalid_argument);
  bad = q;
  bad.scales[0] = -1.0f;
  CHECK(rvq::quantizer<int_config<rvq::int8>>::from_quantized(bad).error().code() == rvq::errc::invalid_argument);
  bad = q;
  bad.zeros[0] = 5;  // symmetric model with a zero point
  CHECK_FALSE(bad.validate());
  bad = q;
  bad.values.pop_back();
  CHECK(bad.validate().code() == rvq::errc::dimension_mismatch);
  CHECK(rvq::quantizer<int_config<rvq::q7>>::from_quantized(q).error().code() == rvq::errc::invalid_argument);

  o.element = rvq::element_id::q7;
  auto q7 = f.quantize(o);
  q7.scales[0] *= 1.5f;
  CHECK(q7.validate().code() == rvq::errc::invalid_argument);  // not a power of two

  rvq::quantized_codebooks out;
  o.symmetric = false;
  CHECK(rvq::quantize_codebooks(f.model, f.calib(), o, out).code() == rvq::errc::invalid_argument);
  o = {};
  o.element = rvq::element_id::binary;
  o.group = rvq::granularity::dim;
  CHECK(rvq::quantize_codebooks(f.model, f.calib(), o, out).code() == rvq::errc::invalid_argument);
  o = {};
  o.element = rvq::element_id::f32;
  CHECK(rvq::quantize_codebooks(f.model, f.calib(), o, out).code() == rvq::errc::invalid_argument);
  o = {};
  std::vector<float> nan_rows(f.d * 2, 1.0f);
  nan_rows[f.d + 1] = std::nanf("");
  const rvq::status s =
      rvq::quantize_codebooks(f.model, rvq::matrix_view<const float>(nan_rows.data(), 2, f.d), o, out);
  CHECK(s.code() == rvq::errc::non_finite);
  CHECK(s.where() == 1);
  CHECK(rvq::quantize_codebooks(f.model, rvq::matrix_view<const float>(nan_rows.data(), 1, f.d - 1), o, out).code() ==
        rvq::errc::dimension_mismatch);
}

TEST_CASE("PTQ without calibration data bounds activations by the codebooks", "[element][ptq]") {
  const fixture& f = shared();
  rvq::quantize_options o;
  rvq::quantized_codebooks q;
  rvq::quantize_report r;
  REQUIRE(rvq::quantize_codebooks(f.model, rvq::matrix_view<const float>(), o, q, &r));
  CHECK(r.data_mse < 0);
  const double base = rvq_test::mse(f.model, f.test, f.ntest);
  CHECK(rvq_test::mse(build<rvq::int8>(q), f.test, f.ntest) < base * 1.3);
}

TEST_CASE("integer encode: ip metric", "[element][integer]") {
  const fixture& f = shared();
  auto fm = rvq::quantizer<rvq::config<rvq::f32, rvq::ip>>::from_codebooks(
      rvq::span<const float>(f.model.codebook_data(), 4 * 64 * f.d), 4, 64, f.d);
  REQUIRE(fm);
  rvq::quantized_codebooks q;
  rvq::quantize_report r;
  REQUIRE(rvq::quantize_codebooks(*fm, f.calib(), rvq::quantize_options{}, q, &r));
  CHECK(r.code_agreement > 0.9);
  auto im = rvq::quantizer<rvq::config<rvq::int8, rvq::ip>>::from_quantized(q);
  REQUIRE(im);
}

TEST_CASE("quantized models: save and load round trip for every element, corrupt files are rejected", "[element][io]") {
  const fixture& f = shared();
  for (auto e : {rvq::element_id::int8, rvq::element_id::q15, rvq::element_id::q7, rvq::element_id::int4,
                 rvq::element_id::int2, rvq::element_id::binary, rvq::element_id::f16, rvq::element_id::bf16}) {
    rvq::quantize_options o;
    o.element = e;
    o.symmetric = e != rvq::element_id::int4;  // one asymmetric model
    const auto q = f.quantize(o);
    const std::string p = rvq_test::temp_path("q.rvq");
    const rvq::metric_id metric = e == rvq::element_id::binary ? rvq::metric_id::hamming : rvq::metric_id::l2;
    REQUIRE(rvq::io::save_quantized(q, metric, p));
    auto loaded = rvq::io::load_quantized(p);
    REQUIRE(loaded);
    const rvq::quantized_codebooks& back = loaded->codebooks;
    const rvq::metric_id m = loaded->metric;
    CHECK(m == metric);
    CHECK(back.values == q.values);
    CHECK(back.scales == q.scales);
    CHECK(back.zeros == q.zeros);
    CHECK(back.act_shift == q.act_shift);
    CHECK(back.input_frac == q.input_frac);
    CHECK(back.symmetric == q.symmetric);
    CHECK(back.group == q.group);
    auto read = rvq::io::read_model_info(p);
    REQUIRE(read);
    const rvq::io::model_info& info = *read;
    CHECK(info.version == 2);
    CHECK(info.payload_bytes == q.value_bytes());
    if (!rvq::info_of(e).is_integer) {  // f16/bf16 load into f32 quantizers, widened
      auto w = rvq::io::load_model<rvq::config<>>(p);
      REQUIRE(w);
      const auto deq = q.dequantize();
      CHECK(std::equal(deq.begin(), deq.end(), w->codebook_data()));
    } else {
      CHECK(rvq::io::load_model<rvq::config<>>(p).error().code() == rvq::errc::invalid_argument);
    }
  }
  rvq::quantize_options o;
  const auto q = f.quantize(o);
  const std::string p = rvq_test::temp_path("q8.rvq");
  REQUIRE(rvq::io::save_quantized(q, rvq::metric_id::l2, p));
  auto l = rvq::io::load_model<int_config<rvq::int8>>(p);
  REQUIRE(l);
  CHECK(rvq_test::mse(*l, f.test, f.ntest) == rvq_test::mse(build<rvq::int8>(q), f.test, f.ntest));
  CHECK(rvq::io::load_model<int_config<rvq::q7>>(p).error().code() == rvq::errc::invalid_argument);
  // saving an integer quantizer writes the same file
  const std::string p2 = rvq_test::temp_path("q8b.rvq");
  REQUIRE(rvq::io::save_model(*l, p2));
  auto b2 = rvq::io::load_quantized(p2);
  REQUIRE(b2);
  CHECK(b2->codebooks.values == q.values);

  std::vector<unsigned char> bytes;
  REQUIRE(rvq::io::read_file(p, bytes));
  auto expect = [&](std::vector<unsigned char> b, const char* what) {
    const auto r = rvq::io::load_quantized_memory(b);
    const rvq::status s = r ? rvq::status{} : r.error();
    INFO(what << ": " << rvq::describe(s));
    CHECK(s.code() == rvq::errc::corrupt_file);
    CHECK(rvq::describe(s).find(what) != std::string::npos);
  };
  auto flip = bytes;
  flip[bytes.size() - 10] ^= 1;
  expect(flip, "checksum");
  const std::size_t qs = 48 + 4 * 4;
  auto gran = bytes;
  gran[qs] = 7;
  expect(gran, "granularity");
  auto groups = bytes;
  groups[qs + 16 + 16] ^= 1;
  expect(groups, "group count");
  auto el = bytes;
  el[16] = 1;  // f32 in a version 2 file
  expect(el, "format version");
  auto metric = bytes;
  metric[20] = 4;  // hamming with int8
  expect(metric, "hamming");
  expect(std::vector<unsigned char>(bytes.begin(), bytes.end() - 3), "truncated");
}

template <class E>
void check_codegen(rvq::granularity g, bool symmetric, const char* name, bool per_layer) {
  const fixture& f = shared();
  rvq::quantize_options o;
  o.element = rvq::element_traits<E>::id;
  o.group = g;
  o.symmetric = symmetric;
  const auto q = build<E>(f.quantize(o));
  const std::string dir = rvq_test::temp_path(name);
  REQUIRE(std::system(("mkdir -p " + dir).c_str()) == 0);
  REQUIRE(rvq::io::write_model_header(q, dir + "/model.hpp", {"fw::m", "test"}));
  {  // layer and tensor groups: one score multiplier for all codewords (int_layer::per_layer)
    std::FILE* fp = std::fopen((dir + "/model.hpp").c_str(), "r");
    REQUIRE(fp);
    std::string text;
    for (int ch; (ch = std::fgetc(fp)) != EOF;) text += static_cast<char>(ch);
    std::fclose(fp);
    CHECK((text.find("smul_0[1]") != std::string::npos) == per_layer);
  }
  // a program that encodes the first test vectors as Q11 fixed point and prints the codes
  std::string src = "#include \"model.hpp\"\n#include <cstdio>\nint main() {\n  static const std::int16_t x[][" +
                    std::to_string(f.d) + "] = {\n";
  std::vector<std::uint8_t> expect;
  for (std::size_t i = 0; i < 20; ++i) {
    std::vector<std::int16_t> xi(f.d);
    src += "{";
    for (std::size_t t = 0; t < f.d; ++t) {
      xi[t] = rvq::srs<std::int16_t>(std::lround(f.test[i * f.d + t] * 2048.0f), 0);
      src += std::to_string(xi[t]) + ",";
    }
    src += "},\n";
    std::vector<std::uint8_t> c(q.layers());
    REQUIRE(q.encode_fixed(rvq::span<const std::int16_t>(xi), 11, rvq::span<std::uint8_t>(c)));
    expect.insert(expect.end(), c.begin(), c.end());
  }
  src +=
      "};\n  for (const auto& v : x) {\n    std::uint8_t c[fw::m::layers];\n"
      "    if (!fw::m::model.encode_fixed(rvq::span<const std::int16_t>(v), 11, rvq::span<std::uint8_t>(c))) return "
      "1;\n"
      "    for (auto k : c) std::printf(\"%d \", int(k));\n  }\n  std::printf(\"\\n\");\n}\n";
  {
    std::FILE* fp = std::fopen((dir + "/main.cpp").c_str(), "w");
    REQUIRE(fp);
    std::fputs(src.c_str(), fp);
    std::fclose(fp);
  }
  const std::string cmd = std::string(RVQ_TEST_CXX) + " -std=c++17 -O1 -Wall -Wextra -Werror -I" + RVQ_TEST_INCLUDE +
                          " " + dir + "/main.cpp -o " + dir + "/fw && " + dir + "/fw > " + dir + "/out.txt";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::FILE* fp = std::fopen((dir + "/out.txt").c_str(), "r");
  REQUIRE(fp);
  std::vector<std::uint8_t> got;
  int v = 0;
  while (std::fscanf(fp, "%d", &v) == 1) got.push_back(static_cast<std::uint8_t>(v));
  std::fclose(fp);
  CHECK(got == expect);
}

TEST_CASE("codegen of an integer model compiles and encodes as the host does", "[element][codegen]") {
  SECTION("int4, per-dimension groups, asymmetric") {
    check_codegen<rvq::int4>(rvq::granularity::dim, false, "cg_int4", true);
  }
  SECTION("int8, per-layer groups, asymmetric: one constant per layer") {
    check_codegen<rvq::int8>(rvq::granularity::layer, false, "cg_int8", true);
  }
  SECTION("int8, per-codeword scales: K constants per layer") {
    check_codegen<rvq::int8>(rvq::granularity::codeword, true, "cg_int8_codeword", false);
  }
  SECTION("q7, one tensor scale: shifts only, one per layer") {
    check_codegen<rvq::q7>(rvq::granularity::tensor, true, "cg_q7", true);
  }
}

TEMPLATE_LIST_TEST_CASE("integer encode: the dot-product kernels give the reference kernels' codes",
                        "[element][integer][simd]", byte_elements) {
  // Odd shapes: D not a multiple of 4, K not a multiple of 16, row counts not a multiple of 8.
  constexpr std::size_t d = 37;
  const std::vector<std::size_t> ks = {50, 19};
  std::vector<float> x = data(1500, d, 5);
  rvq::train_options o;
  o.layers = 2;
  o.codewords = ks;
  o.iterations = 5;
  o.refine = 0;
  auto m = rvq::train(rvq::matrix_view<const float>(x.data(), 1500, d), o);
  REQUIRE(m);
  for (auto g : {rvq::granularity::layer, rvq::granularity::codeword, rvq::granularity::dim})
    for (bool sym : {true, false}) {
      if (!sym && !rvq::element_traits<TestType>::affine) continue;
      rvq::quantize_options qo;
      qo.element = rvq::element_traits<TestType>::id;
      qo.group = g;
      qo.symmetric = sym;
      for (auto mode : {rvq::rounding::half_up, rvq::rounding::truncate, rvq::rounding::half_to_even}) {
        qo.mode = mode;
        rvq::quantized_codebooks q;
        REQUIRE(rvq::quantize_codebooks(*m, rvq::matrix_view<const float>(x.data(), 1500, d), qo, q));
        const auto fast = build<TestType>(q);
        const auto& t = fast.store().tables();
        rvq::int_layer views[2] = {t.layers[0].view, t.layers[1].view};
        const rvq::quantizer<int_config<TestType>, rvq::extents<2, 64, d>> ref(views, t.input_frac, t.mode);
        const std::size_t n = 203;
        std::vector<std::uint16_t> a(n * 2), b(2);
        REQUIRE(fast.encode_batch(rvq::matrix_view<const float>(x.data(), n, d),
                                  rvq::matrix_view<std::uint16_t>(a.data(), n, 2)));
        std::size_t differ = 0;
        for (std::size_t i = 0; i < n; ++i) {
          REQUIRE(ref.encode(rvq::span<const float>(x.data() + i * d, d), rvq::span<std::uint16_t>(b)));
          differ += a[2 * i] != b[0] || a[2 * i + 1] != b[1];
        }
        CAPTURE(rvq::to_string(g), sym, rvq::to_string(mode));
        CHECK(differ == 0);
      }
    }
}

TEST_CASE("element traits declare their quantization rules", "[element]") {
  using t8 = rvq::element_traits<rvq::int8>;
  STATIC_REQUIRE(t8::quantize(1.26f, 0.5f) == 3);       // 2.52 -> 3
  STATIC_REQUIRE(t8::quantize(1.25f, 0.5f) == 2);       // 2.5 -> 2 (ties to even)
  STATIC_REQUIRE(t8::quantize(-100.0f, 0.5f) == -128);  // saturates
  STATIC_REQUIRE(t8::quantize(1.0f, 0.5f, 10) == 12);   // zero point
  STATIC_REQUIRE(t8::dequantize(12, 0.5f, 10) == 1.0f);
  STATIC_REQUIRE(rvq::element_traits<rvq::int4>::quantize(3.0e9f, 1e-9f) == 7);
  STATIC_REQUIRE(rvq::element_traits<rvq::int2>::quantize(-9.0f, 1.0f) == -2);
  STATIC_REQUIRE(rvq::element_traits<rvq::binary>::quantize(-0.1f, 1.0f) == 0);
  STATIC_REQUIRE(rvq::element_traits<rvq::binary>::dequantize(0, 0.25f) == -0.25f);
  STATIC_REQUIRE(rvq::element_traits<rvq::q15>::dequantize(16384, 1.0f / 32768) == 0.5f);
}

}  // namespace rvq_test_element_quantize_test
