// rvq codegen: a model as a constexpr firmware header.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace codegen_command_impl {

int run(const args& a) {
  const std::string mp = a.need("model"), out = a.need("output");
  rvq::io::codegen_options opt;
  opt.name_space = a.get("namespace");
  if (!rvq::io::detail::valid_namespace(opt.name_space))
    throw usage_error{
        "codegen: --namespace must be a C++ identifier that is not a reserved word (int, class, "
        "__x, ...), or such identifiers joined by ::, got '" +
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
    say("wrote %s: namespace %s, %zu x %zu x %zu, %zu bytes of codebooks\n", out.c_str(), opt.name_space.c_str(),
        q.layers(), q.max_codewords(), q.dim(), bytes);
    return 0;
  });
}

}  // namespace codegen_command_impl
}  // namespace

const command codegen_command{"codegen",
                              "write a firmware header: the model as constexpr arrays in flash",
                              codegen_command_impl::run,
                              {
                                  opt::model("the model"),
                                  opt::output("model.hpp", "the header to write"),
                                  {"namespace", "N", "rvq_model", "a C++ identifier, or identifiers joined by ::"},
                              }};

}  // namespace rvq_cli
