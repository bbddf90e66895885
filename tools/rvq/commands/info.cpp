// rvq info: what a model file holds, and with --usage how data uses its codewords.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace info_command_impl {

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

/// `rvq info --cpu`: what the CPU offers and which kernels the process runs.
int print_cpu(const args& a) {
  const rvq::cpu_features f = rvq::detect_cpu();
  std::string have, targets;
  for (const rvq::cpu_feature_name& n : rvq::cpu_feature_names)
    if (f.*n.flag) have += std::string(have.empty() ? "" : " ") + n.name;
  for (rvq::isa t : rvq::all_isas)
    if (rvq::isa_supported(t, f)) targets += std::string(targets.empty() ? "" : " ") + rvq::to_string(t);
  const char* backend = rvq::simd_traits<rvq::default_simd>::name;
  const char* active = rvq::to_string(rvq::active_isa());
  const char* int8 = rvq::simd::int8_panels::to_string(rvq::simd_traits<rvq::default_simd>::kernels::int8_kernel());
  const char* q15 = rvq::simd::q15_panels::to_string(rvq::simd_traits<rvq::default_simd>::kernels::q15_kernel());
  const char* fast = rvq::simd::fast_scan::to_string(rvq::simd_traits<rvq::default_simd>::kernels::fast_scan_kernel());
  if (a.flag("json")) {
    std::printf(
        "{\"features\": \"%s\", \"targets\": \"%s\", \"backend\": \"%s\", \"isa\": \"%s\", "
        "\"best\": \"%s\", \"int8_kernel\": \"%s\", \"q15_kernel\": \"%s\", \"fast_scan_kernel\": \"%s\"}\n",
        have.c_str(), targets.c_str(), backend, active, rvq::to_string(rvq::best_isa()), int8, q15, fast);
    return 0;
  }
  std::printf("cpu features     %s\n", have.empty() ? "(none rvq uses)" : have.c_str());
  std::printf("kernel targets   %s (this CPU runs these; all of " RVQ_ISA_LIST " are compiled in)\n", targets.c_str());
  std::printf("backend          %s%s\n", backend,
              std::string(backend) == "dispatch" ? "" : " (compile-time choice: RVQ_ISA does not apply)");
  std::printf("active target    %s (%s)\n", active,
              std::getenv("RVQ_ISA") ? "RVQ_ISA" : "the best this CPU runs; RVQ_ISA=" RVQ_ISA_LIST " overrides");
  std::printf("int8 kernel      %s (int8, q7, int4 and int2 codebooks; \"reference\": the portable integer kernels)\n",
              int8);
  std::printf("q15 kernel       %s (q15 codebooks)\n", q15);
  std::printf("fast-scan kernel %s (search over 4-bit codes, rvq index --fast-scan)\n", fast);
  return 0;
}

int run(const args& a) {
  if (a.flag("cpu")) {
    if (!a.positional.empty()) throw usage_error{"info: --cpu takes no model file"};
    return print_cpu(a);
  }
  if (a.flag("json")) throw usage_error{"info: --json goes with --cpu"};
  if (a.positional.size() != 1) throw usage_error{"info: give exactly one model file"};
  const std::size_t beam = a.number("beam", 1, 1u << 20);
  const std::string mp = a.positional[0];
  const rvq::io::model_info info = model_header(mp);
  if (info.pipeline) {
    if (a.has("usage")) throw usage_error{"info: --usage takes a single model, not a pipeline"};
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
    if (a.has("usage")) {
      const std::string in = a.get("usage");
      const auto x = read_matrix(in);
      check_dim(q, x, in);
      (void)beam_option(a, q);
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

}  // namespace info_command_impl
}  // namespace

const command info_command{
    "info",
    "print a model's shape, element, metric, storage and footprint",
    info_command_impl::run,
    {
        opt::reads("usage", "X.npy", "per-layer codeword use on X: used, dead, duplicates, entropy"),
        opt::beam("beam width of --usage's encode"),
        opt::flag("cpu", "instead of a model: the CPU's features and the kernel target this process runs"),
        opt::json(),
    },
    "RVQ_ISA=auto|" RVQ_ISA_LIST " chooses the kernel target of every command (default: the best the CPU runs).",
    "M.rvq [--usage X.npy [--beam B]] | --cpu [--json]",
    true};

}  // namespace rvq_cli
