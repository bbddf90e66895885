// rvq encode: vectors to codes.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {
namespace encode_command_impl {

int run(const args& a) {
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  auto body = [&](const auto& q) {
    const std::size_t beam = beam_option(a, q), icm = a.number("icm", 0, 1000);
    row_source<float> x(in);
    x.need_matrix();
    if (x.cols() != q.dim())
      throw data_error{in + ": vectors have " + std::to_string(x.cols()) + " dimensions, the model has " +
                       std::to_string(q.dim())};
    const std::size_t n = x.rows(), nl = q.layers(), tile = tile_rows(x.cols());
    progress_meter progress(!a.flag("quiet") && RVQ_CLI_ISATTY(2), n, "encode");
    // A tile at a time from the input to the output, which replaces its target once whole.
    auto encode_as = [&](auto code) {
      using code_t = decltype(code);
      const bool packed = a.flag("packed");
      const std::size_t bytes = rvq::packed_bytes(q);
      rvq::io::npy_row_writer<code_t> codes_out;
      rvq::io::npy_row_writer<std::uint8_t> packed_out;
      rvq::status s = packed ? packed_out.open(out, n, bytes) : codes_out.open(out, n, nl);
      if (!s) fail_file(out, s);
      std::vector<code_t> codes;
      std::vector<std::uint8_t> pk;
      for (std::size_t first = 0; first < n; first += tile) {
        const std::size_t m = std::min(tile, n - first);
        const auto rows = x.tile(first, m);
        codes.resize(m * nl);
        s = q.encode_batch(rows, rvq::matrix_view<code_t>(codes.data(), m, nl), rvq::encode_options{beam, icm});
        if (!s) progress.clear(), fail_file(in, at_row(s, first));
        if (packed) {
          pk.resize(m * bytes);
          s = rvq::pack_codes_batch(q, rvq::matrix_view<const code_t>(codes.data(), m, nl),
                                    rvq::matrix_view<std::uint8_t>(pk.data(), m, bytes));
          if (!s) progress.clear(), fail_file(in, at_row(s, first));
          s = packed_out.write(pk.data(), m);
        } else {
          s = codes_out.write(codes.data(), m);
        }
        if (!s) progress.clear(), fail_file(out, s);
        progress.update(first + m);
      }
      progress.clear();
      return packed ? packed_out.commit() : codes_out.commit();
    };
    // The narrowest code type that holds every layer's K.
    const rvq::status s = q.max_codewords() <= 256 ? encode_as(std::uint8_t{}) : encode_as(std::uint16_t{});
    if (!s) fail_file(out, s);
    return 0;
  };
  return a.flag("mmap") ? with_mapped(mp, body) : with_model_or_pipeline(mp, body);
}

}  // namespace encode_command_impl
}  // namespace

const command encode_command{
    "encode",
    "encode vectors into codes (uint8 or uint16, N x L)",
    encode_command_impl::run,
    {
        opt::model(),
        opt::input("X.npy", "vectors to encode (N x D)"),
        opt::output("C.npy", "the codes to write"),
        opt::beam(),
        opt::icm(),
        opt::flag("packed", "write bit-packed codes: uint8, N x ceil(bits / 8) (docs/format.md)"),
        opt::mmap(),
        opt::quiet("no progress line"),
    }};

}  // namespace rvq_cli
