// rvq: the command-line tool. Every arrow of the data flow is one command.
// Exit codes: 0 success, 1 bad file or bad data (the message names the file and the reason),
// 2 usage error (the usage is printed).
#include "common.hpp"

#include <cmath>

namespace {

using namespace rvq_cli;

const char* const usage_text =
    "usage: rvq <command> [options]\n"
    "\n"
    "commands:\n"
    "  train   --input X.npy --output M.rvq [--layers L] [--codewords K|K1,K2,..] [--beam B]\n"
    "          [--iterations N] [--seed S] [--metric l2|ip|cos] [--quiet]\n"
    "          [--init kmeans++|greedy-kmeans++|random] [--progressive S] [--progressive-iterations N]\n"
    "          [--refine R] [--sample N]\n"
    "  import  --codebooks CB.npy --output M.rvq [--metric l2|ip|cos]   (float32, L x K x D)\n"
    "  import  --from faiss FILE --output M.rvq   (an IndexResidualQuantizer from faiss.write_index)\n"
    "  import  --from safetensors FILE [--pattern P] --output M.rvq   (P: e.g. "
    "'quantizer.vq.layers.{}._codebook.embed';\n"
    "          default: vector-quantize-pytorch / EnCodec / DAC names; '*' any text, '{}' the layer number;\n"
    "          DAC's in/out projections make the model a pipeline, which encode, decode, eval, info\n"
    "          and compress take)\n"
    "  encode  --model M.rvq --input X.npy --output C.npy [--beam B] [--packed] [--mmap]\n"
    "          (codes uint8/uint16, N x L; --packed: uint8, N x ceil(bits/8), docs/format.md)\n"
    "  decode  --model M.rvq --input C.npy --output Y.npy [--layers n] [--packed]\n"
    "  eval    --model M.rvq --input X.npy [--beam B] [--json] [--mmap]\n"
    "          (--mmap: f32 models memory-mapped and searched in place, no copy; docs/format.md)\n"
    "  info    M.rvq [--usage X.npy [--beam B]]   (--usage: per-layer codeword use on X)\n"
    "  quantize --model M.rvq --element int8|q15|q7|int4|int2|binary|f16|bf16 --calibrate-on X.npy\n"
    "          --output Mq.rvq [--calibration minmax|percentile|mse] [--granularity tensor|layer|codeword|dim]\n"
    "          [--pow2] [--asymmetric] [--percentile P] [--refit N] [--rounding half_up|half_to_even|truncate]\n"
    "          [--calibration-rows N] [--json]   (post-training quantization; docs/quantization.md)\n"
    "  codegen --model M.rvq --output model.hpp [--namespace N]   (firmware header: constexpr model)\n"
    "  compact --model M.rvq --output M2.rvq [--calibrate-on X.npy] [--remap R.npy]\n"
    "          (drops duplicate codewords and, with X, codewords X never selects: X reconstructs as before;\n"
    "          R: int32 L x K, the new index of each old codeword, -1 past a layer's K; f32 models)\n"
    "  sweep   --input TRAIN.npy --test TEST.npy --out DIR [--budget-bytes N] [--max-bits B] [--jobs J]\n"
    "          [--layers 1,2,3,4,6,8,12,16] [--codewords 16,64,256,1024] [--elements f32,int8,q15,int4]\n"
    "          [--storages dense,pq,rpq] [--beams 1,4,8] [--train-rows 100000] [--test-rows 5000] [--iterations 10]\n"
    "          [--refine 0] [--seed 1] [--calibration-rows 5000] [--no-plots] [--quiet]\n"
    "          (design-space grid: DIR/results.csv, plots, report.md; resumable; docs/design-space.md)\n"
    "  compress --model M.rvq --storage pq|rpq --output M2.rvq [--subspaces M] [--bits 8|4] [--seeded]\n"
    "          [--shared] [--element f32|int8] [--calibrate-on X.npy] [--iterations 10] [--seed 1]\n"
    "          [--search auto|tables|expand] [--projections] [--json]   (sub-codebooks; docs/storage.md;\n"
    "          M default D/4; --projections: a pipeline's projection weights as RPQ too, where smaller)\n"
    "  help, --help, --version\n"
    "\n"
    "defaults: --layers 8 --codewords 256 --beam 1 --iterations 25 --seed 1 --metric l2 --init kmeans++\n"
    "          --progressive 10 --progressive-iterations 10 (l2: k-means grows through principal\n"
    "          dimensions in S steps before the final iterations; 0 turns it off)\n"
    "          --refine 20 (rounds of joint least-squares refinement for the --beam encoder, l2;\n"
    "          0 turns it off) --sample 500000 (train on a seeded subsample of larger inputs; 0: all)\n"
    "          quantize: --calibration mse --granularity codeword, symmetric, --percentile 99.99,\n"
    "          --refit 0 (k-means steps in the quantized domain), --calibration-rows 20000\n"
    "integer models (int8, q15, q7, int4, int2, binary) encode integer-only and greedily (--beam 1)\n"
    "data files (X): .npy (float32, float16, int8, uint8, uint16, int32), .fvecs, .bvecs, .ivecs\n"
    "exit codes: 0 ok, 1 bad file or data, 2 usage error\n";

int usage(const std::string& msg) {
  if (!msg.empty()) std::fprintf(stderr, "rvq: %s\n\n", msg.c_str());
  std::fputs(usage_text, stderr);
  return 2;
}

// ---- commands ------------------------------------------------------------------------------

int cmd_train(int argc, char** argv) {
  const args a = parse(argc, argv,
                       {"input", "output", "layers", "codewords", "beam", "iterations", "seed", "metric", "init",
                        "progressive", "progressive-iterations", "refine", "sample"},
                       {"quiet"});
  if (!a.positional.empty()) throw usage_error{"train: unexpected argument '" + a.positional[0] + "'"};
  const std::string in = a.need("input"), out = a.need("output");
  rvq::train_options opt;
  opt.layers = a.number("layers", 8, 1, rvq::io::model_max_layers);
  opt.codewords = a.number_list("codewords", "256", 1, 65536);
  if (opt.codewords.size() != 1 && opt.codewords.size() != opt.layers)
    throw usage_error{"train: --codewords takes one K or one K per layer (" + std::to_string(opt.layers) + ")"};
  opt.beam = a.number("beam", 1, 1, 65536);
  opt.iterations = a.number("iterations", 25, 0, 100000);
  opt.seed = a.number("seed", 1, 0, ~std::size_t{0} >> 1);
  opt.progressive_steps = a.number("progressive", 10, 0, 64);
  opt.progressive_iterations = a.number("progressive-iterations", 10, 0, 100000);
  opt.refine = a.number("refine", 20, 0, 1000);
  opt.sample = a.number("sample", 500000, 0, ~std::size_t{0} >> 1);
  const std::string init = a.get("init", "kmeans++");
  if (init == "kmeans++")
    opt.init = rvq::kmeans_init::kmeanspp;
  else if (init == "greedy-kmeans++")
    opt.init = rvq::kmeans_init::greedy_kmeanspp;
  else if (init == "random")
    opt.init = rvq::kmeans_init::random;
  else
    throw usage_error{"train: --init must be kmeans++, greedy-kmeans++ or random, got '" + init + "'"};
  const rvq::metric_id metric = parse_metric(a);
  const bool progress = !a.flags.count("quiet") && RVQ_CLI_ISATTY(2);

  const auto x = read_matrix(in);
  const std::size_t rows = opt.sample != 0 && x.rows() > opt.sample ? opt.sample : x.rows();
  for (std::size_t k : opt.codewords)
    if (k > rows)
      throw data_error{in + ": K = " + std::to_string(k) + " is above the number of training vectors (" +
                       std::to_string(rows) + (rows < x.rows() ? ", --sample" : "") + ")"};
  if (progress)
    opt.progress = [](const rvq::train_progress& p) {
      if (p.layer == p.layers)
        std::fprintf(stderr, "\rrefinement round %zu/%zu  mse %.6g                    ", p.iteration + 1, p.iterations,
                     p.mse);
      else
        std::fprintf(stderr, "\rlayer %zu/%zu  iteration %zu/%zu  dims %zu  mse %.6g   ", p.layer + 1, p.layers,
                     p.iteration + 1, p.iterations, p.dims, p.mse);
      std::fflush(stderr);
    };
  return with_metric(metric, [&](auto m) {
    using config = rvq::config<rvq::f32, decltype(m)>;
    const auto t0 = std::chrono::steady_clock::now();
    rvq::train_report report;
    auto q = rvq::train<config>(x.view(), opt, &report);
    if (progress) std::fputs("\r\033[K", stderr);
    if (!q) fail_file(in, q.error());
    save(*q, out);
    if (!a.flags.count("quiet")) {
      double norm = 0;
      for (float v : x.values) norm += double(v) * double(v);
      norm /= double(x.rows());
      std::printf("trained %zu layers x %zu codewords x %zu dims on %zu vectors in %.1f s\n", q->layers(),
                  q->max_codewords(), q->dim(), report.rows_used, seconds_since(t0));
      for (std::size_t l = 0; l < report.layer_mse.size(); ++l)
        std::printf("  layer %zu: train mse %.6g  rel_mse %.6g\n", l + 1, report.layer_mse[l],
                    report.layer_mse[l] / norm);
      if (report.reseeded) std::printf("  re-seeded %zu empty clusters\n", report.reseeded);
      const auto& rf = report.refinement;
      if (!rf.round_mse.empty()) {
        std::printf("  refinement (beam %zu): rel_mse %.6g -> %.6g in %zu rounds", opt.beam, rf.mse_before / norm,
                    rf.mse_after / norm, rf.round_mse.size());
        if (rf.dead_reseeded) std::printf(", %zu dead codewords re-seeded", rf.dead_reseeded);
        std::printf(", %zu dead left\n", rf.dead_remaining);
      }
      std::printf("wrote %s (%zu bits per vector)\n", out.c_str(), q->bits_per_vector());
    }
    return 0;
  });
}

int cmd_import(int argc, char** argv) {
  const args a = parse(argc, argv, {"codebooks", "input", "from", "output", "metric", "pattern"}, {});
  const std::string from = a.get("from", "npy");
  if (from != "npy" && from != "faiss" && from != "safetensors")
    throw usage_error{"import: --from must be npy, faiss or safetensors, got '" + from + "'"};
  if (a.opts.count("pattern") && from != "safetensors")
    throw usage_error{"import: --pattern is for --from safetensors"};
  if (a.positional.size() > 1) throw usage_error{"import: unexpected argument '" + a.positional[1] + "'"};
  std::string in = a.get("codebooks", a.get("input", a.positional.empty() ? "" : a.positional[0]));
  if (in.empty()) throw usage_error{"import: give the file to import (--codebooks CB.npy, or --from faiss FILE)"};
  const std::string out = a.need("output");
  const rvq::metric_id metric = parse_metric(a);
  std::vector<float> books;
  std::vector<std::size_t> ks;
  std::size_t dim = 0;
  if (from == "safetensors") {
    rvq::io::safetensors_file f;
    rvq::status s = rvq::io::read_safetensors(in, f);
    if (!s) fail_file(in, s);
    rvq::io::safetensors_codebooks cb;
    s = rvq::io::find_codebooks(f, a.get("pattern", ""), cb);
    if (!s) fail_file(in, s);
    std::printf("codebooks: %zu tensors matching '%s' (%s ... %s)\n", cb.names.size(), cb.pattern.c_str(),
                cb.names.front().c_str(), cb.names.back().c_str());
    if (cb.projected()) {  // DAC: a pipeline of one projected stage per codebook, cosine by default
      const rvq::metric_id pm = a.opts.count("metric") ? metric : rvq::metric_id::cosine;
      return with_metric(pm, [&](auto m) {
        auto p = rvq::io::to_pipeline<rvq::config<rvq::f32, decltype(m)>>(cb);
        if (!p) fail_file(in, p.error());
        const rvq::status ss = rvq::io::save_pipeline(*p, out);
        if (!ss) fail_file(out, ss);
        std::printf(
            "imported a pipeline of %zu stages (in_proj %zu -> %zu, %zu codewords, out_proj %zu -> %zu; %s) "
            "from %s into %s\n",
            p->stages(), cb.latent_dim, cb.dim, cb.codewords.front(), cb.dim, cb.latent_dim,
            rvq::metric_traits<decltype(m)>::name, from.c_str(), out.c_str());
        return 0;
      });
    }
    books = std::move(cb.values);
    ks = cb.codewords;
    dim = cb.dim;
  } else if (from == "faiss") {
    rvq::io::faiss_rq rq;
    const rvq::status s = rvq::io::read_faiss_rq(in, rq);
    if (!s) fail_file(in, s);
    books = std::move(rq.codebooks);
    ks = rq.codewords;
    dim = rq.dim;
  } else {
    rvq::io::ndarray<float> cb;
    const rvq::status s = rvq::io::read_npy(in, cb);
    if (!s) fail_file(in, s);
    if (cb.shape.size() != 3)
      throw data_error{in + ": expected a float32 array of shape L x K x D, found " + std::to_string(cb.shape.size()) +
                       "-D"};
    const std::size_t layers = cb.shape[0], k = cb.shape[1];
    dim = cb.shape[2];
    if (layers == 0 || k == 0 || dim == 0) throw data_error{in + ": the codebook array is empty"};
    if (layers > rvq::io::model_max_layers || k > 65536 || dim > rvq::io::model_max_dim)
      throw data_error{in + ": shape out of range (L <= 4096, K <= 65536, D <= 2^24)"};
    books = std::move(cb.values);
    ks.assign(layers, k);
  }
  return with_metric(metric, [&](auto m) {
    using q_t = rvq::quantizer<rvq::config<rvq::f32, decltype(m)>>;
    auto q = q_t::from_codebooks(rvq::span<const float>(books), rvq::span<const std::size_t>(ks), dim);
    if (!q) fail_file(in, q.error());
    save(*q, out);
    std::printf("imported %zu layers x %zu codewords x %zu dims from %s into %s\n", q->layers(), q->max_codewords(),
                dim, from.c_str(), out.c_str());
    return 0;
  });
}

int cmd_encode(int argc, char** argv) {
  const args a = parse(argc, argv, {"model", "input", "output", "beam"}, {"packed", "mmap"});
  if (!a.positional.empty()) throw usage_error{"encode: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  auto body = [&](const auto& q) {
    const std::size_t beam = beam_option(a, q);
    const auto x = read_matrix(in);
    check_dim(q, x, in);
    auto encode_as = [&](auto code) {
      using code_t = decltype(code);
      std::vector<code_t> codes(x.rows() * q.layers());
      const rvq::status s = q.encode_batch(x.view(), rvq::matrix_view<code_t>(codes.data(), x.rows(), q.layers()),
                                           rvq::encode_options{beam});
      if (!s) fail_file(in, s);
      if (a.flags.count("packed")) {
        const std::size_t bytes = rvq::packed_bytes(q);
        std::vector<std::uint8_t> packed(x.rows() * bytes);
        const rvq::status ps =
            rvq::pack_codes_batch(q, rvq::matrix_view<const code_t>(codes.data(), x.rows(), q.layers()),
                                  rvq::matrix_view<std::uint8_t>(packed.data(), x.rows(), bytes));
        if (!ps) fail_file(in, ps);
        const std::size_t pshape[2] = {x.rows(), bytes};
        return rvq::io::write_npy(out, packed.data(), rvq::span<const std::size_t>(pshape));
      }
      const std::size_t shape[2] = {x.rows(), q.layers()};
      return rvq::io::write_npy(out, codes.data(), rvq::span<const std::size_t>(shape));
    };
    // The narrowest code type that holds every layer's K.
    const rvq::status s = q.max_codewords() <= 256 ? encode_as(std::uint8_t{}) : encode_as(std::uint16_t{});
    if (!s) fail_file(out, s);
    return 0;
  };
  return a.flags.count("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

int cmd_decode(int argc, char** argv) {
  const args a = parse(argc, argv, {"model", "input", "output", "layers"}, {"packed"});
  if (!a.positional.empty()) throw usage_error{"decode: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  return with_model_or_pipeline(mp, [&](const auto& q) {
    const std::size_t n = a.number("layers", q.layers(), 1, q.layers());
    rvq::io::ndarray<std::uint16_t> codes;
    rvq::status s;
    if (a.flags.count("packed")) {
      rvq::io::ndarray<std::uint8_t> packed;
      s = rvq::io::read_npy(in, packed);
      if (!s) fail_file(in, s);
      const std::size_t bytes = rvq::packed_bytes(q);
      if (packed.shape.size() != 2 || packed.cols() != bytes)
        throw data_error{in + ": expected packed codes of shape N x " + std::to_string(bytes) + " (uint8)"};
      codes.shape = {packed.rows(), q.layers()};
      codes.values.resize(packed.rows() * q.layers());
      s = rvq::unpack_codes_batch(q, packed.view(),
                                  rvq::matrix_view<std::uint16_t>(codes.values.data(), packed.rows(), q.layers()));
      if (!s) fail_file(in, s);
    } else {
      s = rvq::io::read_npy(in, codes);
      if (!s) fail_file(in, s);
    }
    if (codes.shape.size() != 2 || codes.cols() != q.layers())
      throw data_error{in + ": expected codes of shape N x " + std::to_string(q.layers()) + " (the model's layers)"};
    std::vector<float> y(codes.rows() * q.dim());
    s = q.decode_batch(codes.view(), rvq::matrix_view<float>(y.data(), codes.rows(), q.dim()), n);
    if (!s) fail_file(in, s);
    const std::size_t shape[2] = {codes.rows(), q.dim()};
    s = rvq::io::write_npy(out, y.data(), rvq::span<const std::size_t>(shape));
    if (!s) fail_file(out, s);
    return 0;
  });
}

int cmd_eval(int argc, char** argv) {
  const args a = parse(argc, argv, {"model", "input", "beam"}, {"json", "mmap"});
  if (!a.positional.empty()) throw usage_error{"eval: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), in = a.need("input");
  const rvq::io::model_info info = model_header(mp);
  const auto t_load = std::chrono::steady_clock::now();
  auto body = [&](const auto& q) {
    const double load_s = seconds_since(t_load);
    const std::size_t beam = beam_option(a, q);
    const auto x = read_matrix(in);
    check_dim(q, x, in);
    const std::size_t n = x.rows(), d = q.dim(), nl = q.layers();
    rvq::eval_options eo;
    eo.beam = beam;
    const auto r = rvq::evaluate(q, x.view(), eo);
    if (!r) fail_file(in, r.error());
    const double mse = r->mse, msn = r->mean_squared_norm, rel = r->rel_mse;
    const double enc_s = r->encode_seconds, vps = r->vectors_per_second;
    const auto& f = r->footprint;
    // As stored (a pipeline: its stages' codebooks and its projections).
    const std::size_t cb_bytes = info.quantized && !info.pipeline ? info.payload_bytes : f.codebook_bytes;
    using mt = typename std::decay_t<decltype(q)>::metric_traits_type;
    if (a.flags.count("json")) {
      std::string ks, lr;
      char buf[32];
      for (std::size_t l = 0; l < nl; ++l) {
        ks += (l ? "," : "") + std::to_string(q.codewords(l));
        std::snprintf(buf, sizeof buf, "%s%.9g", l ? "," : "", r->layer_rel_mse[l]);
        lr += buf;
      }
      std::printf(
          "{\"vectors\": %zu, \"dim\": %zu, \"layers\": %zu, \"codewords\": %zu, \"codewords_per_layer\": [%s], "
          "\"beam\": %zu, \"element\": \"%s\", \"metric\": \"%s\", \"storage\": \"%s\", "
          "\"mse\": %.9g, \"rel_mse\": %.9g, \"mean_squared_norm\": %.9g, \"bits_per_vector\": %zu, "
          "\"encode_seconds\": %.6f, \"encode_vectors_per_second\": %.1f, \"codebook_bytes\": %zu, "
          "\"scratch_bytes\": %zu, \"macs_per_vector\": %zu, \"lookups_per_vector\": %zu, \"load_seconds\": %.6f, "
          "\"mapped\": %s, \"layer_rel_mse\": [%s]}\n",
          n, d, nl, q.max_codewords(), ks.c_str(), beam, rvq::to_string(info.element), mt::name,
          rvq::to_string(info.storage), mse, rel, msn, q.bits_per_vector(), enc_s, vps, cb_bytes, f.scratch_bytes,
          f.macs_per_vector, f.lookups_per_vector, load_s, a.flags.count("mmap") ? "true" : "false", lr.c_str());
    } else {
      std::printf("vectors          %zu x %zu\n", n, d);
      std::printf("model            %zu layers x %zu codewords (%s, %s, beam %zu)\n", nl, q.max_codewords(),
                  rvq::to_string(info.element), mt::name, beam);
      std::printf("mse              %.6g\n", mse);
      std::printf("rel_mse          %.6g\n", rel);
      std::printf("bits per vector  %zu\n", q.bits_per_vector());
      std::printf("encode speed     %.0f vectors/s (%.3f s)\n", vps, enc_s);
      std::printf("codebook bytes   %zu\n", cb_bytes);
      std::printf("model load       %.3f s%s\n", load_s,
                  a.flags.count("mmap") ? " (memory-mapped, searched in place)" : "");
    }
    return 0;
  };
  return a.flags.count("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

int cmd_quantize(int argc, char** argv) {
  const args a = parse(argc, argv,
                       {"model", "element", "calibration", "granularity", "calibrate-on", "output", "percentile",
                        "refit", "rounding", "calibration-rows"},
                       {"pow2", "asymmetric", "json", "quiet"});
  if (!a.positional.empty()) throw usage_error{"quantize: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), out = a.need("output"), el = a.need("element");
  rvq::quantize_options o;
  if (!rvq::parse_element(el.c_str(), o.element) || o.element == rvq::element_id::f32)
    throw usage_error{"quantize: --element must be int8, q15, q7, int4, int2, binary, f16 or bf16, got '" + el + "'"};
  o.method = parse_choice(a, "calibration", "mse", rvq::calibration_names);
  o.group = parse_choice(a, "granularity", "codeword", rvq::granularity_names);
  o.pow2 = a.flags.count("pow2") != 0;
  o.symmetric = a.flags.count("asymmetric") == 0;
  o.refit = a.number("refit", 0, 0, 100);
  o.calibration_rows = a.number("calibration-rows", 20000, 1, ~std::size_t{0} >> 1);
  if (a.has("percentile")) {
    const std::string p = a.get("percentile");
    char* end = nullptr;
    o.percentile = std::strtod(p.c_str(), &end);
    if (p.empty() || *end != '\0' || !(o.percentile > 50.0 && o.percentile <= 100.0))
      throw usage_error{"quantize: --percentile must be a number in (50, 100], got '" + p + "'"};
  }
  o.mode = parse_choice(a, "rounding", "half_up", rvq::rounding_names);
  const rvq::io::model_info info = single_model_header(mp);
  if (info.element != rvq::element_id::f32)
    throw data_error{mp + ": the model is already quantized (" + std::string(rvq::to_string(info.element)) +
                     "); quantize its f32 original"};
  if (info.metric != rvq::metric_id::l2 && info.metric != rvq::metric_id::ip)
    throw data_error{mp + ": quantization needs an l2 or ip model (this one is " + rvq::to_string(info.metric) + ")"};
  rvq::io::ndarray<float> x;
  std::string calib;
  if (a.has("calibrate-on")) {
    calib = a.get("calibrate-on");
    x = read_matrix(calib);
  }
  return with_model(mp, [&](const auto& q) -> int {
    using Q = std::decay_t<decltype(q)>;
    if constexpr (Q::is_product) {
      throw data_error{mp + ": a " + std::string(rvq::to_string(info.storage)) +
                       " model: quantize the dense model, or give int8 sub-codebooks with rvq compress --element int8"};
    } else if constexpr (Q::is_integer || std::is_same<typename Q::metric, rvq::cosine>::value) {
      throw data_error{mp + ": quantization needs an f32 model with the l2 or ip metric"};
    } else {
      if (!calib.empty()) check_dim(q, x, calib);
      rvq::quantized_codebooks qc;
      rvq::quantize_report rep;
      const auto t0 = std::chrono::steady_clock::now();
      const rvq::status s =
          rvq::quantize_codebooks(q, calib.empty() ? rvq::matrix_view<const float>() : x.view(), o, qc, &rep);
      if (!s) fail_file(calib.empty() ? mp : calib, s);
      const rvq::metric_id metric = o.element == rvq::element_id::binary ? rvq::metric_id::hamming : info.metric;
      const rvq::status ws = rvq::io::save_quantized(qc, metric, out);
      if (!ws) fail_file(out, ws);
      const double secs = seconds_since(t0);
      if (a.flags.count("json")) {
        std::printf(
            "{\"element\": \"%s\", \"granularity\": \"%s\", \"calibration\": \"%s\", \"symmetric\": %s, "
            "\"pow2\": %s, \"weight_mse\": %.9g, \"weight_mse_unrounded\": %.9g, \"data_mse_float\": %.9g, "
            "\"data_mse\": %.9g, \"data_mse_unrounded\": %.9g, \"data_mse_before_refit\": %.9g, "
            "\"code_agreement\": %.6f, \"float_bytes\": %zu, \"quantized_bytes\": %zu, \"seconds\": %.3f}\n",
            rvq::to_string(o.element), rvq::to_string(o.group), rvq::to_string(o.method),
            qc.symmetric ? "true" : "false", (o.pow2 || rvq::info_of(o.element).pow2_scale) ? "true" : "false",
            rep.weight_mse, rep.weight_mse_unrounded, rep.data_mse_float, rep.data_mse, rep.data_mse_unrounded,
            rep.data_mse_before_refit, rep.code_agreement, rep.float_bytes, rep.quantized_bytes, secs);
      } else if (!a.flags.count("quiet")) {
        std::printf("quantized %s to %s (%s scales, %s calibration, %s%s) in %.1f s\n", mp.c_str(),
                    rvq::to_string(o.element), rvq::to_string(o.group), rvq::to_string(o.method),
                    qc.symmetric ? "symmetric" : "asymmetric",
                    (o.pow2 || rvq::info_of(o.element).pow2_scale) ? ", power-of-two scales" : "", secs);
        std::printf("  codeword bytes   %zu -> %zu (%.2fx smaller, scales included)\n", rep.float_bytes,
                    rep.quantized_bytes, double(rep.float_bytes) / double(rep.quantized_bytes));
        std::printf("  weight mse       %.6g", rep.weight_mse);
        if (rep.weight_mse_unrounded >= 0)
          std::printf("  (%.6g without power-of-two rounding)", rep.weight_mse_unrounded);
        std::printf("\n");
        if (rep.data_mse >= 0) {
          std::printf("  data mse         %.6g vs float %.6g (%+.2f%%) on %s\n", rep.data_mse, rep.data_mse_float,
                      100.0 * (rep.data_mse / rep.data_mse_float - 1.0), calib.c_str());
          if (rep.data_mse_unrounded >= 0)
            std::printf("  power-of-two     costs %+.2f%% data mse (%.6g unrounded)\n",
                        100.0 * (rep.data_mse / rep.data_mse_unrounded - 1.0), rep.data_mse_unrounded);
          if (rep.data_mse_before_refit >= 0)
            std::printf("  refit            %.6g -> %.6g (%+.2f%%)\n", rep.data_mse_before_refit, rep.data_mse,
                        100.0 * (rep.data_mse / rep.data_mse_before_refit - 1.0));
          std::printf("  code agreement   %.2f%% of codes equal the float model's\n", 100.0 * rep.code_agreement);
        } else {
          std::printf("  no --calibrate-on data: activation ranges bounded by the codebooks\n");
        }
        std::printf("wrote %s\n", out.c_str());
      }
      return 0;
    }
  });
}

int cmd_codegen(int argc, char** argv) {
  const args a = parse(argc, argv, {"model", "output", "namespace"}, {});
  if (!a.positional.empty()) throw usage_error{"codegen: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), out = a.need("output");
  rvq::io::codegen_options opt;
  opt.name_space = a.get("namespace", "rvq_model");
  if (!rvq::io::detail::valid_namespace(opt.name_space))
    throw usage_error{"codegen: --namespace must be a C++ identifier (or identifiers joined by ::), got '" +
                      opt.name_space + "'"};
  const std::size_t slash = mp.find_last_of('/');
  opt.source = slash == std::string::npos ? mp : mp.substr(slash + 1);
  return with_model(mp, [&](const auto& q) {
    const rvq::status s = rvq::io::write_model_header(q, out, opt);
    if (s.code() == rvq::errc::unsupported) fail_file(mp, s);
    if (!s) fail_file(out, s);
    std::size_t bytes = q.memory_footprint().codebook_bytes;
    if constexpr (std::decay_t<decltype(q)>::is_product)  // int8 sub-codebooks are written as floats
      bytes = q.store().model().value_count() * sizeof(float) + q.store().model().index_bytes();
    std::printf("wrote %s: namespace %s, %zu x %zu x %zu, %zu bytes of codebooks\n", out.c_str(),
                opt.name_space.c_str(), q.layers(), q.max_codewords(), q.dim(), bytes);
    return 0;
  });
}

int cmd_compact(int argc, char** argv) {
  const args a = parse(argc, argv, {"model", "calibrate-on", "output", "remap"}, {"quiet"});
  if (!a.positional.empty()) throw usage_error{"compact: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), out = a.need("output"), remap_path = a.get("remap", "");
  const rvq::io::model_info info = single_model_header(mp);
  if (info.product)
    throw data_error{mp + ": compaction works on dense f32 models (this one is " +
                     std::string(rvq::to_string(info.storage)) + "); compact the dense model, then compress it"};
  if (info.element != rvq::element_id::f32)
    throw data_error{mp + ": compaction works on f32 models (this one is " + std::string(rvq::to_string(info.element)) +
                     "); compact the f32 model, then quantize it"};
  rvq::io::ndarray<float> x;
  const std::string calib = a.get("calibrate-on", "");
  if (!calib.empty()) x = read_matrix(calib);
  return with_metric(info.metric, [&](auto m) {
    using q_t = rvq::quantizer<rvq::config<rvq::f32, decltype(m)>>;
    const q_t q = load<typename q_t::config_type>(mp);
    if (!calib.empty()) check_dim(q, x, calib);
    const auto xv = calib.empty() ? rvq::matrix_view<const float>() : x.view();
    q_t c;
    std::vector<std::vector<std::uint32_t>> remap;
    rvq::compact_report rep;
    const rvq::status s = rvq::compact(q, xv, c, &remap, &rep);
    if (!s) fail_file(calib.empty() ? mp : calib, s);
    // The promise, checked: every calibration vector reconstructs exactly as before.
    const std::size_t n = x.rows(), nl = q.layers(), d = q.dim();
    if (!calib.empty()) {
      std::vector<std::uint16_t> ca(n * nl), cb(n * nl);
      std::vector<float> ya(n * d), yb(n * d);
      rvq::status e = q.encode_batch(xv, rvq::matrix_view<std::uint16_t>(ca.data(), n, nl));
      if (e) e = c.encode_batch(xv, rvq::matrix_view<std::uint16_t>(cb.data(), n, nl));
      if (e)
        e = q.decode_batch(rvq::matrix_view<const std::uint16_t>(ca.data(), n, nl),
                           rvq::matrix_view<float>(ya.data(), n, d));
      if (e)
        e = c.decode_batch(rvq::matrix_view<const std::uint16_t>(cb.data(), n, nl),
                           rvq::matrix_view<float>(yb.data(), n, d));
      if (!e) fail_file(calib, e);
      if (ya != yb)
        throw data_error{calib + ": vectors reconstruct differently after compaction (a bug: please report it)"};
    }
    if (!remap_path.empty()) {  // int32, L x max K: the new index of each old codeword, -1 past K_l
      std::size_t kmax = 0;
      for (const auto& r : remap) kmax = std::max(kmax, r.size());
      std::vector<std::int32_t> table(remap.size() * kmax, -1);
      for (std::size_t l = 0; l < remap.size(); ++l)
        for (std::size_t k = 0; k < remap[l].size(); ++k) table[l * kmax + k] = static_cast<std::int32_t>(remap[l][k]);
      const std::size_t shape[2] = {remap.size(), kmax};
      const rvq::status ws = rvq::io::write_npy(remap_path, table.data(), rvq::span<const std::size_t>(shape));
      if (!ws) fail_file(remap_path, ws);
    }
    save(c, out);
    if (!a.flags.count("quiet")) {
      std::printf("  layer  codewords  duplicates   dead   kept\n");
      for (std::size_t l = 0; l < rep.codewords_before.size(); ++l)
        std::printf("  %5zu  %9zu  %10zu  %5zu  %5zu\n", l + 1, rep.codewords_before[l], rep.duplicates[l], rep.dead[l],
                    rep.codewords_after[l]);
      std::printf("codebook bytes   %zu -> %zu (%zu saved, %.1f%%)\n", rep.bytes_before, rep.bytes_after,
                  rep.bytes_before - rep.bytes_after,
                  100.0 * double(rep.bytes_before - rep.bytes_after) / double(rep.bytes_before));
      if (!calib.empty())
        std::printf("calibration      all %zu vectors of %s reconstruct exactly as before\n", n, calib.c_str());
      else
        std::printf("calibration      none (--calibrate-on): exact duplicates only\n");
      std::printf("wrote %s%s%s\n", out.c_str(), remap_path.empty() ? "" : " and ", remap_path.c_str());
    }
    return 0;
  });
}

/// `rvq compress` of a pipeline: every stage's codebooks, and with --projections its projections.
int compress_pipeline(const args& a, const std::string& mp, const std::string& out, const rvq::compress_options& o,
                      rvq::product_search mode, const rvq::io::model_info& info) {
  if (info.product || info.element != rvq::element_id::f32)
    throw data_error{mp + ": compress takes a pipeline of dense f32 stages (this one is " +
                     std::string(rvq::to_string(info.storage)) + ", " + std::string(rvq::to_string(info.element)) +
                     ")"};
  rvq::io::ndarray<float> x;
  const std::string calib = a.get("calibrate-on", "");
  if (!calib.empty()) x = read_matrix(calib);
  return with_metric(info.metric, [&](auto m) {
    using M = decltype(m);
    const auto p = load_pipeline<rvq::config<rvq::f32, M>>(mp);
    if (!calib.empty()) check_dim(p, x, calib);
    const rvq::compress_options* po = a.flags.count("projections") ? &o : nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    rvq::pipeline_compress_report rep;
    auto finish = [&](auto r) {
      if (!r) fail_file(calib.empty() ? mp : calib, r.error());
      const double secs = seconds_since(t0);
      // The stages' search mode (--search) is a load-time choice; rebuild each stage with it.
      auto cp = std::move(r).value();
      std::vector<typename std::decay_t<decltype(cp)>::stage_type> stages;
      for (std::size_t s = 0; s < cp.stages(); ++s) {
        auto st = cp.stage(s);
        auto q = std::decay_t<decltype(st.q)>::from_product(st.q.store().model(), mode);
        if (!q) fail_file(mp, q.error());
        st.q = std::move(q).value();
        stages.push_back(std::move(st));
      }
      auto rebuilt = std::decay_t<decltype(cp)>::make(cp.dim(), std::move(stages));
      if (!rebuilt) fail_file(mp, rebuilt.error());
      const rvq::status ws = rvq::io::save_pipeline(*rebuilt, out);
      if (!ws) fail_file(out, ws);
      const std::size_t before = p.memory_footprint().codebook_bytes,
                        after = rebuilt->memory_footprint().codebook_bytes;
      std::size_t kept = 0, compressed = 0;
      for (std::size_t i = 0; i < rep.projection_compressed.size(); ++i) {
        const auto& st = p.stage(i / 2);
        const bool present = (i % 2 == 0) ? bool(st.in) : bool(st.out);
        if (present) (rep.projection_compressed[i] ? compressed : kept) += 1;
      }
      double mse = -1, dense_mse = -1;
      if (!calib.empty()) {
        auto measure = [&](const auto& pp) {
          std::vector<std::uint16_t> c(x.rows() * pp.layers());
          std::vector<float> y(x.rows() * pp.dim());
          rvq::status s = pp.encode_batch(x.view(), rvq::matrix_view<std::uint16_t>(c.data(), x.rows(), pp.layers()));
          if (s)
            s = pp.decode_batch(rvq::matrix_view<const std::uint16_t>(c.data(), x.rows(), pp.layers()),
                                rvq::matrix_view<float>(y.data(), x.rows(), pp.dim()));
          if (!s) fail_file(calib, s);
          double e = 0;
          for (std::size_t i = 0; i < y.size(); ++i) e += std::pow(double(x.values[i]) - double(y[i]), 2);
          return e / double(x.rows());
        };
        mse = measure(*rebuilt);
        dense_mse = measure(p);
      }
      if (a.flags.count("json")) {
        std::printf(
            "{\"pipeline\": true, \"stages\": %zu, \"storage\": \"%s\", \"dense_bytes\": %zu, "
            "\"stored_bytes\": %zu, \"projections_compressed\": %zu, \"projections_kept_dense\": %zu, "
            "\"dense_mse\": %.9g, \"mse\": %.9g, \"seconds\": %.3f}\n",
            cp.stages(), rvq::to_string(o.storage), before, after, compressed, kept, dense_mse, mse, secs);
      } else if (!a.flags.count("quiet")) {
        std::printf("compressed the %zu stages of %s to %s in %.1f s\n", cp.stages(), mp.c_str(),
                    rvq::to_string(o.storage), secs);
        std::printf("  stored bytes     %zu -> %zu (%.1fx smaller; codebooks and projections)\n", before, after,
                    double(before) / double(after));
        if (po)
          std::printf("  projections      %zu compressed, %zu kept dense (their compressed form was not smaller)\n",
                      compressed, kept);
        if (!calib.empty())
          std::printf("  data mse         %.6g vs dense %.6g (%+.1f%%) on %s\n", mse, dense_mse,
                      100.0 * (mse / dense_mse - 1.0), calib.c_str());
        std::printf("wrote %s\n", out.c_str());
      }
      return 0;
    };
    const rvq::matrix_view<const float> data = calib.empty() ? rvq::matrix_view<const float>() : x.view();
    if (o.storage == rvq::storage_id::pq) return finish(rvq::compress_pipeline<rvq::pq>(p, o, po, data, &rep));
    return finish(rvq::compress_pipeline<rvq::rpq>(p, o, po, data, &rep));
  });
}

int cmd_compress(int argc, char** argv) {
  const args a = parse(
      argc, argv,
      {"model", "output", "storage", "subspaces", "bits", "element", "calibrate-on", "iterations", "seed", "search"},
      {"seeded", "shared", "quiet", "json", "projections"});
  if (!a.positional.empty()) throw usage_error{"compress: unexpected argument '" + a.positional[0] + "'"};
  const std::string mp = a.need("model"), out = a.need("output");
  rvq::compress_options o;
  o.storage = parse_choice(a, "storage", nullptr, rvq::storage_names, {rvq::storage_id::pq, rvq::storage_id::rpq});
  o.bits = static_cast<unsigned>(a.number("bits", 8, 1, 8));
  o.subspaces = a.number("subspaces", 0, 1, 65535);
  o.iterations = a.number("iterations", 10, 0, 1000);
  o.seed = a.number("seed", 1, 0, std::numeric_limits<std::uint32_t>::max());
  o.seeded = a.flags.count("seeded") != 0;
  o.shared = a.flags.count("shared") != 0;
  o.element = parse_choice(a, "element", "f32", rvq::element_names, {rvq::element_id::f32, rvq::element_id::int8});
  if (o.seeded && o.storage == rvq::storage_id::pq)
    throw usage_error{"compress: --seeded indices are rpq's (--storage rpq --seeded); pq stores its indices"};
  const rvq::product_search mode = parse_choice(a, "search", "auto", rvq::product_search_names);
  const rvq::io::model_info info = model_header(mp);
  if (info.pipeline) return compress_pipeline(a, mp, out, o, mode, info);
  if (a.flags.count("projections"))
    throw usage_error{"compress: --projections is for pipelines (" + mp + " is not one)"};
  if (info.product || info.element != rvq::element_id::f32)
    throw data_error{mp + ": compress takes a dense f32 model (this one is " +
                     std::string(rvq::to_string(info.storage)) + ", " + std::string(rvq::to_string(info.element)) +
                     ")"};
  if (o.subspaces && info.dim % o.subspaces != 0)
    throw usage_error{"compress: --subspaces " + std::to_string(o.subspaces) + " does not divide the dimension " +
                      std::to_string(info.dim) + " of " + mp};
  rvq::io::ndarray<float> x;
  const std::string calib = a.get("calibrate-on", "");
  if (!calib.empty()) x = read_matrix(calib);
  return with_metric(info.metric, [&](auto m) {
    using M = decltype(m);
    using dense_t = rvq::quantizer<rvq::config<rvq::f32, M>>;
    const dense_t q = load<typename dense_t::config_type>(mp);
    if (!calib.empty()) check_dim(q, x, calib);
    const auto t0 = std::chrono::steady_clock::now();
    rvq::compress_report rep;
    auto pc = rvq::compress(q, o, calib.empty() ? rvq::matrix_view<const float>() : x.view(), &rep);
    if (!pc) fail_file(calib.empty() ? mp : calib, pc.error());
    const double secs = seconds_since(t0);
    auto describe = [&](const auto& cq) {
      const auto f = cq.memory_footprint();
      const rvq::status ws = rvq::io::save_model(cq, out);
      if (!ws) fail_file(out, ws);
      const char* how = cq.store().uses_tables() ? "tables" : "expand";
      if (a.flags.count("json")) {
        std::printf(
            "{\"storage\": \"%s\", \"element\": \"%s\", \"subspaces\": %zu, \"bits\": %u, \"seeded\": %s, "
            "\"shared\": %s, \"dense_bytes\": %zu, \"stored_bytes\": %zu, \"codeword_error\": %.9g, "
            "\"data_fit\": %s, \"dense_mse\": %.9g, \"codeword_fit_mse\": %.9g, \"mse\": %.9g, "
            "\"search\": \"%s\", \"macs_per_vector\": %zu, \"lookups_per_vector\": %zu, \"seconds\": %.3f}\n",
            rvq::to_string(o.storage), rvq::to_string(o.element), pc->subspaces, pc->bits, o.seeded ? "true" : "false",
            o.shared ? "true" : "false", rep.dense_bytes, rep.stored_bytes, rep.codeword_error,
            rep.data_fit ? "true" : "false", calib.empty() ? -1.0 : rep.dense_mse,
            calib.empty() ? -1.0 : rep.codeword_fit_mse, calib.empty() ? -1.0 : rep.mse, how, f.macs_per_vector,
            f.lookups_per_vector, secs);
      } else if (!a.flags.count("quiet")) {
        std::printf("compressed %s to %s in %.1f s: M = %zu sub-spaces of %zu dims, 2^%u entries, %s values%s%s\n",
                    mp.c_str(), rvq::to_string(o.storage), secs, pc->subspaces, pc->sub_dim(), pc->bits,
                    rvq::to_string(o.element), o.seeded ? ", seeded indices" : ", stored indices",
                    o.shared ? ", shared by all layers" : "");
        std::printf("  stored bytes     %zu -> %zu (%.1fx smaller; %zu sub-codebook, %zu index)\n", rep.dense_bytes,
                    rep.stored_bytes, double(rep.dense_bytes) / double(rep.stored_bytes), pc->sub_codebook_bytes(),
                    pc->index_bytes());
        std::printf("  codeword error   %.4g (relative, sum ||c - c'||^2 / sum ||c||^2)\n", rep.codeword_error);
        if (!calib.empty()) {
          std::printf("  data mse         %.6g vs dense %.6g (%+.1f%%) on %s\n", rep.mse, rep.dense_mse,
                      100.0 * (rep.mse / rep.dense_mse - 1.0), calib.c_str());
          if (rep.data_fit)
            std::printf("  data fit         %.6g -> %.6g (codeword fit -> fitted to the data)\n", rep.codeword_fit_mse,
                        rep.mse);
          else
            std::printf("  data fit         none: shared sub-codebooks keep the codeword fit\n");
        } else {
          std::printf("  data mse         not measured (--calibrate-on X.npy fits the sub-codebooks to X)\n");
        }
        std::printf("  search           %s: %zu MACs and %zu lookups per vector (dense: %zu MACs)\n", how,
                    f.macs_per_vector, f.lookups_per_vector, q.memory_footprint().macs_per_vector);
        std::printf("wrote %s\n", out.c_str());
      }
      return 0;
    };
    if (o.storage == rvq::storage_id::pq) {
      auto cq = rvq::quantizer<rvq::config<rvq::f32, M, rvq::pq>>::from_product(pc.value(), mode);
      if (!cq) fail_file(mp, cq.error());
      return describe(cq.value());
    }
    auto cq = rvq::quantizer<rvq::config<rvq::f32, M, rvq::rpq>>::from_product(pc.value(), mode);
    if (!cq) fail_file(mp, cq.error());
    return describe(cq.value());
  });
}

std::string describe_projection(const rvq::linear_map& m) {
  char buf[160];
  if (m.product)
    std::snprintf(buf, sizeof buf, "%zu -> %zu, rpq weights (M = %zu, 2^%u entries, %s, %s indices)%s", m.in, m.out,
                  m.weights_rpq.subspaces, m.weights_rpq.bits, rvq::to_string(m.weights_rpq.element),
                  m.weights_rpq.seeded ? "seeded" : "stored", m.bias.empty() ? "" : " + bias");
  else
    std::snprintf(buf, sizeof buf, "%zu -> %zu, dense f32%s", m.in, m.out, m.bias.empty() ? "" : " + bias");
  return buf;
}

template <class P>
void print_pipeline_info(const std::string& mp, const rvq::io::model_info& info, const P& p) {
  const auto f = p.memory_footprint();
  std::string ks;
  for (std::size_t l = 0; l < p.layers(); ++l) ks += (l ? "," : "") + std::to_string(p.codewords(l));
  std::printf("file             %s (%zu bytes, format version %u: a pipeline)\n", mp.c_str(), info.file_bytes,
              info.version);
  std::printf("pipeline         %zu stages over %zu-dim latents, %zu layers in all\n", p.stages(), p.dim(), p.layers());
  std::printf("codewords/layer  %s\n", ks.c_str());
  std::printf("element          %s\n", rvq::to_string(info.element));
  std::printf("metric           %s\n", rvq::to_string(info.metric));
  std::printf("storage          %s\n", rvq::to_string(info.storage));
  std::size_t projection_bytes = 0;
  for (std::size_t s = 0; s < p.stages(); ++s) {
    const auto& st = p.stage(s);
    projection_bytes += (st.in ? st.in->stored_bytes() : 0) + (st.out ? st.out->stored_bytes() : 0);
    std::printf("stage %-4zu       %zu layers x %zu codewords x %zu dims (%zu codebook bytes)\n", s, st.q.layers(),
                st.q.max_codewords(), st.q.dim(), st.q.memory_footprint().codebook_bytes);
    if (st.in)
      std::printf("  in_proj        %s (%zu bytes)\n", describe_projection(*st.in).c_str(), st.in->stored_bytes());
    if (st.out)
      std::printf("  out_proj       %s (%zu bytes)\n", describe_projection(*st.out).c_str(), st.out->stored_bytes());
  }
  std::printf("bits per vector  %zu\n", p.bits_per_vector());
  std::printf("stored bytes     %zu (codebooks %zu, projections %zu)\n", f.codebook_bytes,
              f.codebook_bytes - projection_bytes, projection_bytes);
  std::printf("scratch bytes    %zu (encode of a block of %zu rows)\n", f.scratch_bytes, P::block_rows);
  std::printf("MACs per vector  %zu (greedy: searches and projections)\n", f.macs_per_vector);
}

int cmd_info(int argc, char** argv) {
  const args a = parse(argc, argv, {"usage", "beam"}, {});
  if (a.positional.size() != 1) throw usage_error{"info: give exactly one model file"};
  const std::size_t beam = a.number("beam", 1, 1, 65536);
  const std::string mp = a.positional[0];
  const rvq::io::model_info info = model_header(mp);
  if (info.pipeline) {
    if (a.opts.count("usage")) throw usage_error{"info: --usage takes a single model, not a pipeline"};
    return with_model_or_pipeline(mp, [&](const auto& p) {
      if constexpr (rvq::is_pipeline<std::decay_t<decltype(p)>>::value) print_pipeline_info(mp, info, p);
      return 0;
    });
  }
  return with_model(mp, [&](const auto& q) {
    const auto f = q.memory_footprint();
    std::string ks;
    for (std::size_t l = 0; l < q.layers(); ++l) ks += (l ? "," : "") + std::to_string(q.codewords(l));
    std::printf("file             %s (%zu bytes, format version %u)\n", mp.c_str(), info.file_bytes, info.version);
    std::printf("shape            %zu layers x %zu codewords x %zu dims\n", q.layers(), q.max_codewords(), q.dim());
    std::printf("codewords/layer  %s\n", ks.c_str());
    std::printf("element          %s\n", rvq::to_string(info.element));
    std::printf("metric           %s\n", rvq::to_string(info.metric));
    std::printf("storage          %s\n", rvq::to_string(info.storage));
    std::printf("bits per vector  %zu\n", q.bits_per_vector());
    if (info.quantized) {
      auto loaded = rvq::io::load_quantized(mp);
      if (!loaded) fail_file(mp, loaded.error());
      const rvq::quantized_codebooks& qc = loaded->codebooks;
      if (!rvq::info_of(qc.element).is_integer)
        std::printf("quantization     16-bit floats, no scales (widened to f32 for the search)");
      else
        std::printf("quantization     %s scales, %s", rvq::to_string(qc.group),
                    qc.symmetric ? "symmetric" : "asymmetric");
      if (rvq::info_of(qc.element).is_integer) {
        std::printf(", %zu scale groups, rounding %s\n", qc.scales.size(), rvq::to_string(qc.mode));
        std::printf("integer grid     %d fractional bits; activation shifts", qc.input_frac);
        for (int sh : qc.act_shift) std::printf(" %d", sh);
      }
      std::printf("\n");
      std::printf("codebook bytes   %zu (%zu bits per value; %zu bytes of scales and zero points)\n",
                  info.payload_bytes, static_cast<std::size_t>(rvq::info_of(qc.element).bits), qc.param_bytes());
    } else if (info.product) {
      std::printf("sub-codebooks    M = %zu sub-spaces of %zu dims, 2^%u entries, %s values, %s\n", info.subspaces,
                  info.dim / info.subspaces, info.bits, rvq::to_string(info.element),
                  info.shared ? "one set shared by all layers" : "one set per layer");
      std::printf("indices          %s\n", info.seeded ? "seeded (regenerated, 0 bytes stored)" : "stored (uint8)");
      std::printf("codebook bytes   %zu (sub-codebooks, scales and stored indices; dense f32: %zu)\n", f.codebook_bytes,
                  [&] {
                    std::size_t t = 0;
                    for (std::size_t l = 0; l < q.layers(); ++l) t += q.codewords(l);
                    return t * q.dim() * 4;
                  }());
    } else {
      std::printf("codebook bytes   %zu\n", f.codebook_bytes);
    }
    if (info.product)
      std::printf("constant bytes   %zu (search copies: sub-codebooks as floats, regenerated indices, norms)\n",
                  f.constant_bytes);
    else if (rvq::info_of(info.element).is_integer)
      std::printf(
          "constant bytes   %zu (integer constants, search copies; on the host also the model and a decode copy)\n",
          f.constant_bytes);
    else
      std::printf("constant bytes   %zu (norms, the search layout, beam-search tables)\n", f.constant_bytes);
    std::printf("scratch bytes    %zu (greedy single-vector encode)\n", f.scratch_bytes);
    std::printf("MACs per vector  %zu (greedy)\n", f.macs_per_vector);
    if (f.lookups_per_vector) std::printf("lookups/vector   %zu (greedy, lookup-table search)\n", f.lookups_per_vector);
    if (a.opts.count("usage")) {
      const std::string in = a.get("usage", "");
      const auto x = read_matrix(in);
      check_dim(q, x, in);
      if (beam > q.min_codewords())
        throw usage_error{"info: --beam must be between 1 and the smallest layer's K (" +
                          std::to_string(q.min_codewords()) + ")"};
      const auto use = rvq::codeword_usage(q, x.view(), beam);
      if (!use) fail_file(in, use.error());
      std::printf("usage of %s (%zu vectors, beam %zu):\n", in.c_str(), x.rows(), beam);
      std::printf("  layer  codewords   used   dead  duplicates  entropy bits (max)\n");
      std::size_t dead = 0, dup = 0;
      for (std::size_t l = 0; l < use->size(); ++l) {
        const auto& u = (*use)[l];
        std::printf("  %5zu  %9zu  %5zu  %5zu  %10zu  %6.3f (%.3f)\n", l + 1, u.codewords, u.used, u.dead, u.duplicates,
                    u.entropy_bits, std::log2(double(u.codewords)));
        dead += u.dead;
        dup += u.duplicates;
      }
      std::printf("  all layers: %zu dead, %zu duplicates\n", dead, dup);
    }
    return 0;
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("no command given");
  const std::string cmd = argv[1];
  try {
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::fputs(usage_text, stdout);
      return 0;
    }
    if (cmd == "--version") {
      std::printf("rvq %s\n", RVQ_VERSION_STRING);
      return 0;
    }
    if (cmd == "train") return cmd_train(argc, argv);
    if (cmd == "import") return cmd_import(argc, argv);
    if (cmd == "encode") return cmd_encode(argc, argv);
    if (cmd == "decode") return cmd_decode(argc, argv);
    if (cmd == "eval") return cmd_eval(argc, argv);
    if (cmd == "info") return cmd_info(argc, argv);
    if (cmd == "codegen") return cmd_codegen(argc, argv);
    if (cmd == "quantize") return cmd_quantize(argc, argv);
    if (cmd == "sweep") return cmd_sweep(argc, argv);
    if (cmd == "compact") return cmd_compact(argc, argv);
    if (cmd == "compress") return cmd_compress(argc, argv);
    return usage("unknown command '" + cmd + "'");
  } catch (const usage_error& e) {
    return usage(e.message);
  } catch (const data_error& e) {
    std::fprintf(stderr, "rvq %s: %s\n", cmd.c_str(), e.message.c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "rvq %s: out of memory\n", cmd.c_str());
    return 1;
  }
}
