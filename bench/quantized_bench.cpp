// rvq-bench-quantized: every element type side by side on one model, in one run: test MSE, code
// agreement with f32, codebook bytes and greedy batch encode speed (one thread, best of several
// timed passes). The table of docs/quantization.md comes from this program.
//
//   rvq-bench-quantized [--train X.npy --test Y.npy] [--shape DxKxL] [--model M.rvq]
//                       [--elements f32,int8,...] [--granularity codeword] [--iterations N]
//                       [--min-time S] [--json FILE|-] [--quick]
// Without --train/--test the data are generated (clustered, bench/data.hpp). With the dispatch
// backend (x86-64), RVQ_ISA=sse2|avx2|avx512 forces the kernel target of f32 and of the integer
// elements alike; the header and the JSON name the target and the int8 kernel that ran.
#include <rvq/rvq.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>
#include "data.hpp"
#include "timing.hpp"

namespace {

struct row {
  std::string element;
  double mse = 0, rel = 0, agreement = 0, vps = 0, speedup = 0;
  std::size_t bytes = 0;
};

template <class Q>
double test_mse(const Q& q, const std::vector<float>& x, std::size_t n, const std::vector<std::uint16_t>& codes) {
  const std::size_t d = q.dim(), l = q.layers();
  std::vector<float> y(n * d);
  if (!q.decode_batch(rvq::matrix_view<const std::uint16_t>(codes.data(), n, l),
                      rvq::matrix_view<float>(y.data(), n, d)))
    std::exit(1);
  double e = 0;
  for (std::size_t i = 0; i < n * d; ++i) e += double(x[i] - y[i]) * double(x[i] - y[i]);
  return e / double(n);
}

template <class E, class M>
row run_integer(const rvq::quantized_codebooks& qc, const std::vector<float>& test, std::size_t n, double min_time,
                const std::vector<std::uint16_t>& ref) {
  auto q = rvq::quantizer<rvq::config<E, M, rvq::dense, rvq::sequential>>::from_quantized(qc);
  if (!q) {
    std::fprintf(stderr, "%s: %s\n", rvq::to_string(qc.element), rvq::describe(q.error()).c_str());
    std::exit(1);
  }
  row r;
  std::vector<std::uint16_t> codes;
  r.vps = rvq_bench::encode_speed(*q, test, n, min_time, codes);
  r.mse = test_mse(*q, test, n, codes);
  std::size_t same = 0;
  for (std::size_t i = 0; i < codes.size(); ++i) same += codes[i] == ref[i];
  r.agreement = double(same) / double(codes.size());
  return r;
}

bool parse_shape(const char* s, std::size_t& d, std::size_t& k, std::size_t& l) {
  return std::sscanf(s, "%zux%zux%zu", &d, &k, &l) == 3 && d && k && l && k <= 65536;
}

}  // namespace

int main(int argc, char** argv) {
  std::string train_path, test_path, model_path, json, elements = "f32,f16,bf16,int8,q15,q7,int4,int2,binary";
  std::size_t d = 100, k = 128, l = 8, iterations = 15;
  double min_time = 1.0;
  bool quick = false;
  rvq::granularity group = rvq::granularity::codeword;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--train")
      train_path = next();
    else if (a == "--test")
      test_path = next();
    else if (a == "--model")
      model_path = next();
    else if (a == "--elements")
      elements = next();
    else if (a == "--json")
      json = next();
    else if (a == "--min-time")
      min_time = std::atof(next());
    else if (a == "--iterations")
      iterations = std::strtoul(next(), nullptr, 10);
    else if (a == "--quick")
      quick = true;
    else if (a == "--granularity") {
      const std::string g = next();
      group = g == "tensor"  ? rvq::granularity::tensor
              : g == "layer" ? rvq::granularity::layer
              : g == "dim"   ? rvq::granularity::dim
                             : rvq::granularity::codeword;
    } else if (a == "--shape") {
      if (!parse_shape(next(), d, k, l)) {
        std::fprintf(stderr, "--shape DxKxL\n");
        return 2;
      }
    } else {
      std::fprintf(
          stderr,
          "usage: rvq-bench-quantized [--train X.npy --test Y.npy] [--shape DxKxL] [--model M.rvq] "
          "[--elements f32,int8,...] [--granularity G] [--iterations N] [--min-time S] [--json F|-] [--quick]\n");
      return 2;
    }
  }
  if (const char* note = rvq::isa_env_note()) {
    std::fprintf(stderr, "rvq-bench-quantized: RVQ_ISA: %s\n", note);
    return 2;
  }
  const char* target =
      std::is_same<rvq::default_simd, rvq::dispatch>::value ? rvq::to_string(rvq::active_isa()) : "static";
  const char* int8_kernel =
      rvq::simd::int8_panels::to_string(rvq::simd_traits<rvq::default_simd>::kernels::int8_kernel());
  const char* q15_kernel = rvq::simd::q15_panels::to_string(rvq::simd_traits<rvq::default_simd>::kernels::q15_kernel());
  std::vector<float> train, test;
  std::size_t ntrain = 0, ntest = 0;
  std::string source = "generated (bench/data.hpp)";
  if (!train_path.empty() && !test_path.empty()) {
    rvq::io::ndarray<float> a, b;
    if (!rvq::io::read_float_matrix(train_path, a) || !rvq::io::read_float_matrix(test_path, b) ||
        a.cols() != b.cols()) {
      std::fprintf(stderr, "cannot read %s / %s as N x D matrices of one D\n", train_path.c_str(), test_path.c_str());
      return 1;
    }
    d = a.cols();
    ntrain = a.rows();
    ntest = b.rows();
    train = std::move(a.values);
    test = std::move(b.values);
    source = train_path + ", " + test_path;
  } else {
    ntrain = quick ? 2000 : 20000;
    ntest = quick ? 500 : 10000;
    train = rvq_bench::clustered_data(ntrain, d, 1);
    test = rvq_bench::clustered_data(ntest, d, 2);
  }
  if (quick) min_time = std::min(min_time, 0.05);

  using fq_t = rvq::quantizer<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential>>;
  fq_t model;
  if (!model_path.empty()) {
    auto m = rvq::io::load_model<fq_t::config_type>(model_path);
    if (!m) {
      std::fprintf(stderr, "%s: %s\n", model_path.c_str(), rvq::describe(m.error()).c_str());
      return 1;
    }
    model = std::move(*m);
  } else {
    rvq::train_options o;
    o.layers = l;
    o.codewords = {k};
    o.iterations = quick ? 3 : iterations;
    o.refine = 0;
    auto m = rvq::train<fq_t::config_type>(rvq::matrix_view<const float>(train.data(), ntrain, d), o);
    if (!m) {
      std::fprintf(stderr, "train: %s\n", rvq::describe(m.error()).c_str());
      return 1;
    }
    model = std::move(*m);
  }
  if (model.dim() != d) {
    std::fprintf(stderr, "the model's dimension differs from the data's\n");
    return 1;
  }
  double norm = 0;
  for (std::size_t i = 0; i < ntest * d; ++i) norm += double(test[i]) * double(test[i]);
  norm /= double(ntest);

  std::vector<std::uint16_t> ref;
  std::vector<row> rows;
  row base;
  base.element = "f32";
  base.vps = rvq_bench::encode_speed(model, test, ntest, min_time, ref);
  base.mse = test_mse(model, test, ntest, ref);
  base.agreement = 1.0;
  base.bytes = model.memory_footprint().codebook_bytes;
  const rvq::matrix_view<const float> calib(train.data(), ntrain, d);
  for (std::size_t pos = 0; pos <= elements.size();) {
    const std::size_t comma = elements.find(',', pos);
    const std::string e = elements.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? elements.size() + 1 : comma + 1;
    if (e == "f32") {
      rows.push_back(base);
      continue;
    }
    rvq::quantize_options o;
    if (!rvq::parse_element(e.c_str(), o.element)) {
      std::fprintf(stderr, "unknown element %s\n", e.c_str());
      return 2;
    }
    o.group =
        o.element == rvq::element_id::binary && group == rvq::granularity::dim ? rvq::granularity::codeword : group;
    rvq::quantized_codebooks qc;
    rvq::quantize_report rep;
    const rvq::status s = rvq::quantize_codebooks(model, calib, o, qc, &rep);
    if (!s) {
      std::fprintf(stderr, "quantize %s: %s\n", e.c_str(), rvq::describe(s).c_str());
      return 1;
    }
    row r;
    switch (o.element) {
      case rvq::element_id::int8:
        r = run_integer<rvq::int8, rvq::l2>(qc, test, ntest, min_time, ref);
        break;
      case rvq::element_id::q15:
        r = run_integer<rvq::q15, rvq::l2>(qc, test, ntest, min_time, ref);
        break;
      case rvq::element_id::q7:
        r = run_integer<rvq::q7, rvq::l2>(qc, test, ntest, min_time, ref);
        break;
      case rvq::element_id::int4:
        r = run_integer<rvq::int4, rvq::l2>(qc, test, ntest, min_time, ref);
        break;
      case rvq::element_id::int2:
        r = run_integer<rvq::int2, rvq::l2>(qc, test, ntest, min_time, ref);
        break;
      case rvq::element_id::binary:
        r = run_integer<rvq::binary, rvq::hamming>(qc, test, ntest, min_time, ref);
        break;
      default: {  // f16/bf16: stored narrow, searched in f32 after widening
        const std::vector<float> w = qc.dequantize();
        auto q = fq_t::from_codebooks(rvq::span<const float>(w), rvq::span<const std::size_t>(qc.k), qc.dim);
        std::vector<std::uint16_t> codes;
        r.vps = rvq_bench::encode_speed(*q, test, ntest, min_time, codes);
        r.mse = test_mse(*q, test, ntest, codes);
        std::size_t same = 0;
        for (std::size_t i = 0; i < codes.size(); ++i) same += codes[i] == ref[i];
        r.agreement = double(same) / double(codes.size());
      }
    }
    r.element = e;
    r.bytes = qc.value_bytes() + qc.param_bytes();
    rows.push_back(r);
  }
  for (auto& r : rows) {
    r.rel = r.mse / norm;
    r.speedup = r.vps / base.vps;
  }
  std::printf("data: %s; model %zu layers x %zu codewords x %zu dims; %zu test vectors; %s scales, mse calibration\n",
              source.c_str(), model.layers(), model.max_codewords(), d, ntest, rvq::to_string(group));
  std::printf("backend %s, target %s, int8 kernel %s, q15 kernel %s\n", rvq::simd_traits<rvq::default_simd>::name,
              target, int8_kernel, q15_kernel);
  std::printf("| element | test MSE | vs f32 | code agreement | codebook bytes | encode vec/s (1 thread) | vs f32 |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows)
    std::printf("| %s | %.6g | %+.2f%% | %.2f%% | %zu | %.0f | %.2fx |\n", r.element.c_str(), r.mse,
                100.0 * (r.mse / base.mse - 1.0), 100.0 * r.agreement, r.bytes, r.vps, r.speedup);
  if (!json.empty()) {
    std::string out = "{\"source\": \"" + source + "\", \"dim\": " + std::to_string(d) +
                      ", \"codewords\": " + std::to_string(model.max_codewords()) +
                      ", \"layers\": " + std::to_string(model.layers()) +
                      ", \"test_vectors\": " + std::to_string(ntest) + ", \"granularity\": \"" + rvq::to_string(group) +
                      "\", \"backend\": \"" + rvq::simd_traits<rvq::default_simd>::name + "\", \"isa\": \"" + target +
                      "\", \"int8_kernel\": \"" + int8_kernel + "\", \"q15_kernel\": \"" + q15_kernel +
                      "\", \"rows\": [";
    char buf[512];
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      std::snprintf(buf, sizeof buf,
                    "%s{\"element\": \"%s\", \"mse\": %.9g, \"rel_mse\": %.9g, \"code_agreement\": %.6f, "
                    "\"codebook_bytes\": %zu, \"encode_vectors_per_second\": %.1f, \"speed_vs_f32\": %.4f}",
                    i ? ", " : "", r.element.c_str(), r.mse, r.rel, r.agreement, r.bytes, r.vps, r.speedup);
      out += buf;
    }
    out += "]}\n";
    if (json == "-") {
      std::fputs(out.c_str(), stdout);
    } else {
      std::FILE* f = std::fopen(json.c_str(), "w");
      if (!f) return 1;
      std::fputs(out.c_str(), f);
      std::fclose(f);
    }
  }
  return 0;
}
