// rvq import: codebooks trained elsewhere (npy, FAISS, safetensors) as an .rvq model or pipeline.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace import_command_impl {

int run(const args& a) {
  const std::string from = a.get("from");
  if (from != "npy" && from != "faiss" && from != "safetensors")
    throw usage_error{"import: --from must be npy, faiss or safetensors, got '" + from + "'"};
  if (a.has("pattern") && from != "safetensors") throw usage_error{"import: --pattern is for --from safetensors"};
  if (a.positional.size() > 1) throw usage_error{"import: unexpected argument '" + a.positional[1] + "'"};
  std::string in = a.get_or("codebooks", a.get_or("input", a.positional.empty() ? "" : a.positional[0]));
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
    s = rvq::io::find_codebooks(f, a.get("pattern"), cb);
    if (!s) fail_file(in, s);
    say("codebooks: %zu tensors matching '%s' (%s ... %s)\n", cb.names.size(), cb.pattern.c_str(),
        cb.names.front().c_str(), cb.names.back().c_str());
    if (cb.projected()) {  // DAC: a pipeline of one projected stage per codebook, cosine by default
      const rvq::metric_id pm = a.has("metric") ? metric : rvq::metric_id::cosine;
      return with_metric(pm, [&](auto m) {
        auto p = rvq::io::to_pipeline<rvq::config<rvq::f32, decltype(m)>>(cb);
        if (!p) fail_file(in, p.error());
        const rvq::status ss = rvq::io::save_pipeline(*p, out);
        if (!ss) fail_file(out, ss);
        say("imported a pipeline of %zu stages (in_proj %zu -> %zu, %zu codewords, out_proj %zu -> %zu; %s) "
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
    say("imported %zu layers x %zu codewords x %zu dims from %s into %s\n", q->layers(), q->max_codewords(), dim,
        from.c_str(), out.c_str());
    return 0;
  });
}

}  // namespace import_command_impl
}  // namespace

const command import_command{
    "import",
    "import codebooks trained elsewhere: a float32 array, a FAISS ResidualQuantizer, or a safetensors checkpoint",
    import_command_impl::run,
    {
        opt::reads("codebooks", "CB.npy", "float32 codebooks, L x K x D (--from npy)"),
        opt::reads("input", "FILE", "the file to import (or give it as the argument after the options)"),
        {"from", "npy|faiss|safetensors", "npy",
         "the file's kind: faiss reads an IndexResidualQuantizer from faiss.write_index"},
        {"pattern", "P", "",
         "safetensors tensor names, e.g. 'quantizer.vq.layers.{}._codebook.embed': '*' any text, '{}' the layer "
         "number; default: vector-quantize-pytorch, EnCodec and DAC names"},
        opt::output(),
        opt::metric("the model's metric (DAC pipelines: cos unless given)"),
    },
    "DAC's in/out projections make the model a pipeline, which encode, decode, eval, info and compress take.",
    "(--codebooks CB.npy | --from faiss FILE | --from safetensors FILE [--pattern P]) --output M.rvq [options]",
    true};

}  // namespace rvq_cli
