// Projections (dense and RPQ weights), embedding tables and pipelines: against written-out
// references, through files, and every error.
#include <catch2/catch.hpp>
#include "../helpers.hpp"
#include <rvq/io/pipeline_file.hpp>
#include <rvq/train/compress.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

// Each test file keeps its helpers to itself, also when the suite compiles as one unit.
namespace rvq_test_pipeline_pipeline_test {

using rvq::span;
using rvq_test::gaussian;
using rvq_test::temp_path;

namespace {

using cfg_l2 = rvq::config<rvq::f32, rvq::l2>;
using cfg_cos = rvq::config<rvq::f32, rvq::cosine>;

/// Seeded RPQ rows: one layer of `rows` codewords of dimension `dim`.
rvq::product_codebooks rpq_rows(std::size_t rows, std::size_t dim, std::size_t m, unsigned bits, unsigned seed) {
  rvq::product_codebooks pc;
  pc.kind = rvq::storage_id::rpq;
  pc.dim = dim;
  pc.k = {rows};
  pc.subspaces = m;
  pc.bits = bits;
  pc.seeded = true;
  pc.seed = 77 + seed;
  pc.values = gaussian(pc.value_count(), 1, seed);
  return pc;
}

rvq::linear_map dense_map(std::size_t out, std::size_t in, unsigned seed, bool bias = true) {
  const auto w = gaussian(out, in, seed, 1.0f / std::sqrt(static_cast<float>(in)));
  const auto b = gaussian(bias ? out : 0, 1, seed + 100, 0.1f);
  auto m = rvq::linear_map::dense(span<const float>(w), out, in, span<const float>(b));
  REQUIRE(m.ok());
  return std::move(m).value();
}

rvq::quantizer<cfg_cos> cos_quantizer(std::size_t layers, std::size_t k, std::size_t d, unsigned seed) {
  const auto cb = gaussian(layers * k, d, seed);
  auto q = rvq::quantizer<cfg_cos>::from_codebooks(span<const float>(cb), layers, k, d);
  REQUIRE(q.ok());
  return std::move(q).value();
}

/// y = W x + b written out in double.
std::vector<double> apply_ref(const rvq::linear_map& m, const float* x) {
  std::vector<double> y(m.out);
  std::vector<float> row(m.in);
  for (std::size_t o = 0; o < m.out; ++o) {
    m.row(o, row.data());
    double acc = m.bias.empty() ? 0.0 : m.bias[o];
    for (std::size_t t = 0; t < m.in; ++t) acc += double(row[t]) * x[t];
    y[o] = acc;
  }
  return y;
}

/// DAC's residual loop, written out: per stage project, argmax cosine, project back, subtract.
std::vector<std::uint16_t> dac_reference(const rvq::pipeline<cfg_cos>& p, const std::vector<float>& x, std::size_t n) {
  const std::size_t d = p.dim();
  std::vector<std::uint16_t> codes;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<float> r(x.begin() + static_cast<std::ptrdiff_t>(i * d),
                         x.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
    for (std::size_t s = 0; s < p.stages(); ++s) {
      const auto& st = p.stage(s);
      const auto zd = apply_ref(*st.in, r.data());
      std::size_t best = 0;
      double best_score = -1e300;
      std::vector<float> c(st.q.dim());
      for (std::size_t k = 0; k < st.q.codewords(0); ++k) {
        st.q.expand_codeword(0, k, c.data());
        double dot = 0, nn = 0;
        for (std::size_t t = 0; t < c.size(); ++t) dot += zd[t] * c[t], nn += double(c[t]) * c[t];
        const double score = dot / std::sqrt(nn);
        if (score > best_score) best_score = score, best = k;
      }
      codes.push_back(static_cast<std::uint16_t>(best));
      st.q.expand_codeword(0, best, c.data());
      const auto back = apply_ref(*st.out, c.data());
      for (std::size_t t = 0; t < d; ++t) r[t] = static_cast<float>(r[t] - back[t]);
    }
  }
  return codes;
}

rvq::pipeline<cfg_cos> dac_like(std::size_t d, std::size_t stages, std::size_t k, std::size_t cd, bool rpq_proj) {
  std::vector<rvq::pipeline_stage<cfg_cos>> st(stages);
  for (std::size_t s = 0; s < stages; ++s) {
    const unsigned seed = static_cast<unsigned>(10 * s + 1);
    st[s].in = dense_map(cd, d, seed);
    st[s].q = cos_quantizer(1, k, cd, seed + 2);
    if (rpq_proj) {
      const auto b = gaussian(d, 1, seed + 4, 0.1f);
      auto m = rvq::linear_map::from_product(rpq_rows(d, cd, cd / 2, 4, seed + 3), span<const float>(b));
      REQUIRE(m.ok());
      st[s].out = std::move(m).value();
    } else {
      st[s].out = dense_map(d, cd, seed + 3);
    }
  }
  auto p = rvq::pipeline<cfg_cos>::make(d, std::move(st));
  REQUIRE(p.ok());
  return std::move(p).value();
}

template <class P>
std::vector<std::uint16_t> encode_all(const P& p, const std::vector<float>& x, std::size_t n, std::size_t beam = 1) {
  std::vector<std::uint16_t> codes(n * p.layers());
  const rvq::status s =
      p.encode_batch(rvq::matrix_view<const float>(x.data(), n, p.dim()),
                     rvq::matrix_view<std::uint16_t>(codes.data(), n, p.layers()), rvq::encode_options{beam});
  REQUIRE(s.ok());
  return codes;
}

std::vector<unsigned char> bytes_of(const rvq::pipeline<cfg_cos>& p) {
  std::vector<unsigned char> b;
  REQUIRE(rvq::io::pipeline_bytes(p, b).ok());
  return b;
}

void fix_crc(std::vector<unsigned char>& b) {
  const std::uint32_t c = rvq::detail::crc32_update(0, b.data(), b.size() - 4);
  rvq::io::detail::put_u32le(b.data() + b.size() - 4, c);
}

}  // namespace

TEST_CASE("linear_map: dense and RPQ weights give W x + b, RPQ expands tiles of rows", "[projection]") {
  for (const std::size_t in : {std::size_t{8}, std::size_t{3000}}) {
    const std::size_t out = 37, n = 5;
    const auto bias = gaussian(out, 1, 9, 0.5f);
    auto r = rvq::linear_map::from_product(rpq_rows(out, in, in / 4, 4, 1), span<const float>(bias));
    REQUIRE(r.ok());
    const rvq::linear_map& m = *r;
    REQUIRE(m.product);
    CHECK(m.stored_bytes() == 4 * (in / 4) * 16 * 4 + 4 * out);  // seeded: sub-codebooks and bias only
    CHECK(m.macs() == in * out);
    // The same rows held densely.
    std::vector<float> w(out * in);
    for (std::size_t o = 0; o < out; ++o) m.row(o, w.data() + o * in);
    auto d = rvq::linear_map::dense(span<const float>(w), out, in, span<const float>(m.bias));
    REQUIRE(d.ok());
    const auto x = gaussian(n, in, 4);
    std::vector<float> y1(n * out), y2(n * out);
    m.apply(rvq::matrix_view<const float>(x.data(), n, in), rvq::matrix_view<float>(y1.data(), n, out));
    d->apply(rvq::matrix_view<const float>(x.data(), n, in), rvq::matrix_view<float>(y2.data(), n, out));
    CHECK(y1 == y2);  // the same rows, the same order of sums
    for (std::size_t i = 0; i < n; ++i) {
      const auto ref = apply_ref(m, x.data() + i * in);
      for (std::size_t o = 0; o < out; ++o) CHECK(y1[i * out + o] == Approx(ref[o]).margin(1e-3));
    }
  }
}

TEST_CASE("linear_map and embedding_table: errors", "[projection]") {
  const std::vector<float> w(6, 1.0f), b2(2, 0.0f), bad_b(3, 0.0f);
  CHECK(rvq::linear_map::dense(span<const float>(w), 2, 3).ok());
  CHECK(rvq::linear_map::dense(span<const float>(w), 2, 4).error().code() == rvq::errc::dimension_mismatch);
  CHECK(rvq::linear_map::dense(span<const float>(w), 2, 3, span<const float>(bad_b)).error().code() ==
        rvq::errc::dimension_mismatch);
  CHECK(rvq::linear_map::dense(span<const float>(w), 0, 3).error().code() == rvq::errc::empty_input);
  std::vector<float> nan_w(w);
  nan_w[4] = std::nanf("");
  const auto e = rvq::linear_map::dense(span<const float>(nan_w), 2, 3, span<const float>(b2)).error();
  CHECK(e.code() == rvq::errc::non_finite);
  CHECK(e.where() == 4);
  auto two_layers = rpq_rows(4, 8, 2, 4, 1);
  two_layers.k = {4, 4};
  CHECK(!rvq::linear_map::from_product(two_layers).ok());

  auto t = rvq::embedding_table::from_product(rpq_rows(100, 16, 4, 4, 2));
  REQUIRE(t.ok());
  std::vector<float> row(16), want(16);
  REQUIRE(t->lookup(42, span<float>(row)).ok());
  t->rows_rpq.expand(0, 42, want.data());
  CHECK(row == want);
  CHECK(t->stored_bytes() == 4 * 4 * 16 * 4);
  CHECK(t->lookup(100, span<float>(row)).code() == rvq::errc::code_out_of_range);
  CHECK(t->lookup(0, span<float>(row.data(), 3)).code() == rvq::errc::dimension_mismatch);
  const auto dv = gaussian(5, 3, 1);
  auto dt = rvq::embedding_table::dense(span<const float>(dv), 5, 3);
  REQUIRE(dt.ok());
  REQUIRE(dt->lookup(4, span<float>(row.data(), 3)).ok());
  CHECK(std::memcmp(row.data(), dv.data() + 12, 12) == 0);
  CHECK(!rvq::embedding_table::dense(span<const float>(dv), 4, 3).ok());
}

TEST_CASE("pipeline: one stage without projections is the quantizer", "[pipeline]") {
  const auto cb = gaussian(3 * 16, 12, 5);
  auto q = rvq::quantizer<cfg_l2>::from_codebooks(span<const float>(cb), 3, 16, 12);
  REQUIRE(q.ok());
  std::vector<rvq::pipeline_stage<cfg_l2>> st(1);
  st[0].q = *q;
  auto p = rvq::pipeline<cfg_l2>::make(12, std::move(st));
  REQUIRE(p.ok());
  const std::size_t n = 300;  // more than one block of rows
  const auto x = gaussian(n, 12, 6);
  for (std::size_t beam : {std::size_t{1}, std::size_t{4}}) {
    std::vector<std::uint16_t> want(n * 3);
    REQUIRE(q->encode_batch(rvq::matrix_view<const float>(x.data(), n, 12),
                            rvq::matrix_view<std::uint16_t>(want.data(), n, 3), rvq::encode_options{beam})
                .ok());
    CHECK(encode_all(*p, x, n, beam) == want);
  }
  const auto codes = encode_all(*p, x, n);
  std::vector<float> a(n * 12), b(n * 12);
  REQUIRE(p->decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), n, 3),
                          rvq::matrix_view<float>(a.data(), n, 12), 2)
              .ok());
  REQUIRE(q->decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), n, 3),
                          rvq::matrix_view<float>(b.data(), n, 12), 2)
              .ok());
  CHECK(a == b);
  CHECK(p->layers() == 3);
  CHECK(p->bits_per_vector() == 12);
}

TEST_CASE("pipeline: DAC-shaped stages give the codes of DAC's loop written out", "[pipeline]") {
  for (const bool rpq_proj : {false, true}) {
    const std::size_t d = 64, n = 300;
    const auto p = dac_like(d, 4, 32, 8, rpq_proj);
    const auto x = gaussian(n, d, 21);
    const auto codes = encode_all(p, x, n);
    const auto want = dac_reference(p, x, n);
    std::size_t diff = 0;
    for (std::size_t i = 0; i < codes.size(); ++i) diff += codes[i] != want[i];
    CHECK(diff == 0);
    // Decoding the first l layers is the sum of the first l contributions.
    std::vector<float> y(d), sum(d, 0.0f), c(d);
    for (std::size_t l = 1; l <= p.layers(); ++l) {
      p.expand_codeword(l - 1, codes[l - 1], c.data());
      for (std::size_t t = 0; t < d; ++t) sum[t] += c[t];
      REQUIRE(p.decode(span<const std::uint16_t>(codes.data(), p.layers()), span<float>(y), l).ok());
      for (std::size_t t = 0; t < d; ++t) CHECK(y[t] == Approx(sum[t]).margin(1e-4));
    }
    const auto f = p.memory_footprint();
    CHECK(f.macs_per_vector == 4 * (32 * 8 + 2 * 64 * 8));
    // Per stage: codebook 32 x 8 floats, input projection 8 x 64 + 8, output projection 64 x 8 + 64
    // (rpq seeded: 4 sub-spaces x 16 entries x 2 values, and the bias).
    CHECK(f.codebook_bytes == 4 * 4 * (32 * 8 + (8 * 64 + 8) + (rpq_proj ? 4 * 16 * 2 + 64 : 64 * 8 + 64)));
  }
}

TEST_CASE("pipeline: projection-in, RVQ, projection-out around one multi-layer stage", "[pipeline]") {
  const std::size_t d = 40, cd = 10, n = 50;
  const auto cb = gaussian(3 * 16, cd, 8);
  auto q = rvq::quantizer<cfg_l2>::from_codebooks(span<const float>(cb), 3, 16, cd);
  REQUIRE(q.ok());
  std::vector<rvq::pipeline_stage<cfg_l2>> st(1);
  st[0].in = dense_map(cd, d, 1);
  st[0].q = *q;
  st[0].out = dense_map(d, cd, 2);
  auto p = rvq::pipeline<cfg_l2>::make(d, st);
  REQUIRE(p.ok());
  const auto x = gaussian(n, d, 9);
  // Codes: the quantizer's greedy and beam codes of W_in x + b_in.
  std::vector<float> z(n * cd);
  st[0].in->apply(rvq::matrix_view<const float>(x.data(), n, d), rvq::matrix_view<float>(z.data(), n, cd));
  for (std::size_t beam : {std::size_t{1}, std::size_t{3}}) {
    std::vector<std::uint16_t> want(n * 3);
    REQUIRE(q->encode_batch(rvq::matrix_view<const float>(z.data(), n, cd),
                            rvq::matrix_view<std::uint16_t>(want.data(), n, 3), rvq::encode_options{beam})
                .ok());
    CHECK(encode_all(*p, x, n, beam) == want);
  }
  // Decode: W_out (sum of codewords) + b_out.
  const auto codes = encode_all(*p, x, n);
  std::vector<float> y(d), zh(cd);
  REQUIRE(p->decode(span<const std::uint16_t>(codes.data(), 3), span<float>(y)).ok());
  REQUIRE(q->decode(span<const std::uint16_t>(codes.data(), 3), span<float>(zh)).ok());
  const auto ref = apply_ref(*st[0].out, zh.data());
  for (std::size_t t = 0; t < d; ++t) CHECK(y[t] == Approx(ref[t]).margin(1e-4));
}

TEST_CASE("pipeline: errors", "[pipeline]") {
  auto p = dac_like(16, 2, 8, 4, false);
  std::vector<rvq::pipeline_stage<cfg_cos>> st(1);
  st[0].q = cos_quantizer(1, 8, 4, 1);
  CHECK(rvq::pipeline<cfg_cos>::make(16, st).error().code() == rvq::errc::dimension_mismatch);  // 4 != 16
  st[0].in = dense_map(4, 15, 1);
  st[0].out = dense_map(16, 4, 1);
  const auto e = rvq::pipeline<cfg_cos>::make(16, st).error();
  CHECK(e.code() == rvq::errc::dimension_mismatch);
  CHECK(std::string(e.where_unit()) == "stage");
  CHECK(rvq::pipeline<cfg_cos>::make(16, {}).error().code() == rvq::errc::empty_input);

  auto x = gaussian(3, 16, 1);
  std::vector<std::uint16_t> codes(3 * 2, 0);
  const rvq::matrix_view<std::uint16_t> cv(codes.data(), 3, 2);
  x[16 + 5] = std::nanf("");
  rvq::status s = p.encode_batch(rvq::matrix_view<const float>(x.data(), 3, 16), cv);
  CHECK(s.code() == rvq::errc::non_finite);
  CHECK(s.where() == 1);
  CHECK(codes == std::vector<std::uint16_t>(6, 0));
  x[16 + 5] = 0;
  CHECK(p.encode_batch(rvq::matrix_view<const float>(x.data(), 3, 15, 16), cv).code() == rvq::errc::dimension_mismatch);
  CHECK(p.encode_batch(rvq::matrix_view<const float>(x.data(), 3, 16), cv, rvq::encode_options{9}).code() ==
        rvq::errc::invalid_argument);
  rvq::workspace small(rvq::workspace_size{10, 10, 0, 0});
  CHECK(p.encode_batch(rvq::matrix_view<const float>(x.data(), 3, 16), cv, {}, small.view()).code() ==
        rvq::errc::invalid_argument);
  codes = {0, 8, 0, 0, 0, 0};
  std::vector<float> y(3 * 16);
  s = p.decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), 3, 2),
                     rvq::matrix_view<float>(y.data(), 3, 16));
  CHECK(s.code() == rvq::errc::code_out_of_range);
  CHECK(s.where() == 0);
  CHECK(p.decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), 3, 2),
                       rvq::matrix_view<float>(y.data(), 3, 16), 3)
            .code() == rvq::errc::invalid_argument);
}

TEST_CASE("pipeline files: round trip, re-save byte for byte, single models as one stage", "[pipeline][io]") {
  for (const bool rpq_proj : {false, true}) {
    const auto p = dac_like(32, 3, 16, 8, rpq_proj);
    const std::string path = temp_path("pipeline.rvq");
    REQUIRE(rvq::io::save_pipeline(p, path).ok());
    auto read = rvq::io::read_model_info(path);
    REQUIRE(read.ok());
    const rvq::io::model_info& info = *read;
    CHECK(info.version == 4);
    CHECK(info.pipeline);
    CHECK(info.stages == 3);
    CHECK(info.layers == 3);
    CHECK(info.dim == 32);
    CHECK(info.projections == 6);
    CHECK(info.metric == rvq::metric_id::cosine);
    auto back = rvq::io::load_pipeline<cfg_cos>(path);
    REQUIRE(back.ok());
    CHECK(bytes_of(*back) == bytes_of(p));
    const auto x = gaussian(20, 32, 3);
    CHECK(encode_all(*back, x, 20) == encode_all(p, x, 20));
    // Single-model loaders refuse a pipeline with the reason.
    const auto e = rvq::io::load_model<cfg_cos>(path).error();
    CHECK(e.code() == rvq::errc::invalid_argument);
    CHECK(std::string(e.message()).find("pipeline") != std::string::npos);
    std::remove(path.c_str());
  }
  // A version 1 file is a pipeline of one stage.
  const auto cb = gaussian(2 * 8, 6, 1);
  auto q = rvq::quantizer<cfg_l2>::from_codebooks(span<const float>(cb), 2, 8, 6);
  const std::string path = temp_path("single.rvq");
  REQUIRE(rvq::io::save_model(*q, path).ok());
  auto p1 = rvq::io::load_pipeline<cfg_l2>(path);
  REQUIRE(p1.ok());
  CHECK(p1->stages() == 1);
  CHECK(p1->layers() == 2);
  std::remove(path.c_str());
}

TEST_CASE("pipeline files: damaged files are refused with the byte and the reason", "[pipeline][io]") {
  const auto good = bytes_of(dac_like(16, 2, 8, 4, true));
  auto load = [](std::vector<unsigned char> b) { return rvq::io::load_pipeline_memory<cfg_cos>(b); };
  REQUIRE(load(good).ok());
  for (std::size_t cut : {std::size_t{10}, std::size_t{40}, good.size() / 2, good.size() - 1}) {
    auto b = good;
    b.resize(cut);
    CHECK(load(b).error().code() == rvq::errc::corrupt_file);
  }
  auto bad = good;
  bad[good.size() / 2] ^= 0x40;
  CHECK(std::string(load(bad).error().message()).find("checksum") != std::string::npos);
  bad = good;
  rvq::io::detail::put_u32le(bad.data() + 20, 3);  // three stages claimed
  fix_crc(bad);
  CHECK(load(bad).error().code() == rvq::errc::corrupt_file);
  bad = good;
  rvq::io::detail::put_u32le(bad.data() + 32, 7);  // stage flags
  fix_crc(bad);
  auto e = load(bad).error();
  CHECK(e.where() == 32);
  CHECK(std::string(e.message()).find("stage flags") != std::string::npos);
  bad = good;
  rvq::io::detail::put_u32le(bad.data() + 36, 2);  // projection kind
  fix_crc(bad);
  CHECK(load(bad).error().where() == 36);
  bad = good;
  rvq::io::detail::put_u32le(bad.data() + 40, 15);  // projection input no longer the latent
  fix_crc(bad);
  CHECK(load(bad).error().code() == rvq::errc::corrupt_file);
  bad = good;  // a NaN in the first input projection weight
  rvq::io::detail::put_f32le(bad.data() + 52 + 4 * 5, std::nanf(""));
  fix_crc(bad);
  e = load(bad).error();
  CHECK(e.code() == rvq::errc::corrupt_file);
  CHECK(e.where() == 52 + 4 * 5);
  bad = good;  // the stage model's bytes damaged: its own checksum
  const std::size_t model_at = 52 + 4 * 16 * 4 + 4 * 4 + 8;
  bad[model_at + 60] ^= 1;
  fix_crc(bad);
  e = load(bad).error();
  CHECK(e.code() == rvq::errc::corrupt_file);
  CHECK(std::string(e.message()).find("checksum") != std::string::npos);
  bad = good;  // a stage model claiming version 4 (no nesting)
  rvq::io::detail::put_u32le(bad.data() + model_at + 8, 4);
  fix_crc(bad);
  e = load(bad).error();
  CHECK(e.where() == model_at);
  // Another metric than the Config's.
  CHECK(rvq::io::load_pipeline_memory<cfg_l2>(good).error().code() == rvq::errc::invalid_argument);
}

TEST_CASE("compress_pipeline: pq/rpq stages and projections give the codes of their dense expansion",
          "[pipeline][compress]") {
  const std::size_t d = 64, n = 400;
  const auto p = dac_like(d, 3, 32, 8, false);
  const auto x = gaussian(n, d, 5);
  const rvq::matrix_view<const float> xv(x.data(), n, d);
  rvq::compress_options opt;
  opt.storage = rvq::storage_id::rpq;
  opt.subspaces = 2;
  opt.bits = 4;
  opt.seeded = true;
  rvq::pipeline_compress_report rep;
  auto c = rvq::compress_pipeline<rvq::rpq>(p, opt, &opt, xv, &rep);
  REQUIRE(c.ok());
  REQUIRE(c->stages() == 3);
  REQUIRE(rep.stages.size() == 3);
  REQUIRE(rep.projection_compressed.size() == 6);
  for (std::size_t s = 0; s < 3; ++s) {
    // in_proj (8 rows of 64) would grow as sub-codebooks and stays dense; out_proj (64 rows of 8) shrinks.
    CHECK_FALSE(rep.projection_compressed[2 * s]);
    CHECK(rep.projection_compressed[2 * s + 1]);
    CHECK_FALSE(c->stage(s).in->product);
    CHECK(c->stage(s).out->product);
    CHECK(rep.stages[s].data_fit);
  }
  CHECK(c->memory_footprint().codebook_bytes < p.memory_footprint().codebook_bytes);
  // The same pipeline written out dense: every codebook and weight row expanded.
  std::vector<rvq::pipeline_stage<cfg_cos>> dense(3);
  for (std::size_t s = 0; s < 3; ++s) {
    const auto& st = c->stage(s);
    const auto cb = st.q.store().model().expand_all();
    auto q = rvq::quantizer<cfg_cos>::from_codebooks(span<const float>(cb), 1, 32, 8);
    REQUIRE(q.ok());
    dense[s].q = std::move(q).value();
    for (int side = 0; side < 2; ++side) {
      const rvq::linear_map& m = side == 0 ? *st.in : *st.out;
      std::vector<float> w(m.out * m.in);
      for (std::size_t o = 0; o < m.out; ++o) m.row(o, w.data() + o * m.in);
      auto dm = rvq::linear_map::dense(span<const float>(w), m.out, m.in, span<const float>(m.bias));
      REQUIRE(dm.ok());
      (side == 0 ? dense[s].in : dense[s].out) = std::move(dm).value();
    }
  }
  auto e = rvq::pipeline<cfg_cos>::make(d, std::move(dense));
  REQUIRE(e.ok());
  const auto got = encode_all(*c, x, n), want = encode_all(*e, x, n);
  std::size_t diff = 0;
  for (std::size_t i = 0; i < got.size(); ++i) diff += got[i] != want[i];
  CHECK(diff <= got.size() / 200);  // near-ties only
  // Bad requests.
  rvq::compress_options pq = opt;
  pq.storage = rvq::storage_id::pq;
  CHECK(rvq::compress_pipeline<rvq::rpq>(p, pq).error().code() == rvq::errc::invalid_argument);
  CHECK(rvq::compress_pipeline<rvq::rpq>(p, opt, nullptr, rvq::matrix_view<const float>(x.data(), n / 2, d / 2))
            .error()
            .code() == rvq::errc::dimension_mismatch);
  // Without data, and without projections: the codebooks alone, fitted to the codewords.
  auto plain = rvq::compress_pipeline<rvq::rpq>(p, opt);
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->stage(0).out->product);
}

TEST_CASE("visit_model hands a pipeline file on as its rvq::pipeline, visit_single_model refuses it",
          "[pipeline][io][visit]") {
  const auto p = dac_like(16, 2, 8, 4, false);
  const std::string path = temp_path("visit_pipeline.rvq");
  REQUIRE(rvq::io::save_pipeline(p, path).ok());
  std::size_t pipelines = 0, stages = 0;
  const rvq::status s = rvq::io::visit_model(path, [&](auto&& m) {
    using M = std::decay_t<decltype(m)>;
    if constexpr (std::is_same<M, rvq::pipeline<cfg_cos>>::value) {
      ++pipelines;
      stages = m.stages();
    }
  });
  REQUIRE(s.ok());
  CHECK(pipelines == 1);
  CHECK(stages == 2);
  bool called = false;
  CHECK(rvq::io::visit_single_model(path, [&](auto&&) { called = true; }).code() == rvq::errc::unsupported);
  CHECK_FALSE(called);
  std::remove(path.c_str());
}

}  // namespace rvq_test_pipeline_pipeline_test
