// rvq encode: vectors to codes.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {

int run(const args& a) {
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  auto body = [&](const auto& q) {
    const std::size_t beam = beam_option(a, q), icm = a.number("icm", 0, 1000);
    const auto x = read_matrix(in);
    check_dim(q, x, in);
    auto encode_as = [&](auto code) {
      using code_t = decltype(code);
      std::vector<code_t> codes(x.rows() * q.layers());
      const rvq::status s = q.encode_batch(x.view(), rvq::matrix_view<code_t>(codes.data(), x.rows(), q.layers()),
                                           rvq::encode_options{beam, icm});
      if (!s) fail_file(in, s);
      if (a.flag("packed")) {
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
  return a.flag("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

}  // namespace

const command encode_command{
    "encode",
    "encode vectors into codes (uint8 or uint16, N x L)",
    run,
    {
        opt::model(),
        opt::input("X.npy", "vectors to encode (N x D)"),
        opt::output("C.npy", "the codes to write"),
        opt::beam(),
        opt::icm(),
        opt::flag("packed", "write bit-packed codes: uint8, N x ceil(bits / 8) (docs/format.md)"),
        opt::mmap(),
    }};

}  // namespace rvq_cli
