// rvq decode: codes to vectors.
#include "../common.hpp"

#include <cmath>
#include <limits>
#include <memory>

namespace rvq_cli {
namespace {
namespace decode_command_impl {

int run(const args& a) {
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  return with_model_or_pipeline(mp, [&](const auto& q) {
    const std::size_t layers = a.number_or("layers", q.layers(), 1, q.layers()), nl = q.layers(), d = q.dim();
    const bool packed = a.flag("packed");
    const std::size_t bytes = rvq::packed_bytes(q);
    // The codes, a tile at a time: uint8 or uint16 (N x L), or bit-packed (uint8, N x bytes).
    std::unique_ptr<row_source<std::uint8_t>> packed_in;
    std::unique_ptr<row_source<std::uint16_t>> codes_in;
    std::size_t n = 0;
    if (packed) {
      packed_in = std::make_unique<row_source<std::uint8_t>>(in);
      if (packed_in->dims() != 2 || packed_in->cols() != bytes)
        throw data_error{in + ": expected packed codes of shape N x " + std::to_string(bytes) + " (uint8)"};
      n = packed_in->rows();
    } else {
      codes_in = std::make_unique<row_source<std::uint16_t>>(in);
      if (codes_in->dims() != 2 || codes_in->cols() != nl)
        throw data_error{in + ": expected codes of shape N x " + std::to_string(nl) + " (the model's layers)"};
      n = codes_in->rows();
    }
    rvq::io::npy_row_writer<float> y_out;
    rvq::status s = y_out.open(out, n, d);
    if (!s) fail_file(out, s);
    progress_meter progress(!a.flag("quiet") && RVQ_CLI_ISATTY(2), n, "decode");
    const std::size_t tile = tile_rows(d);
    std::vector<std::uint16_t> unpacked;
    std::vector<float> y;
    for (std::size_t first = 0; first < n; first += tile) {
      const std::size_t m = std::min(tile, n - first);
      rvq::matrix_view<const std::uint16_t> codes;
      if (packed) {
        unpacked.resize(m * nl);
        s = rvq::unpack_codes_batch(q, packed_in->tile(first, m),
                                    rvq::matrix_view<std::uint16_t>(unpacked.data(), m, nl));
        if (!s) progress.clear(), fail_file(in, at_row(s, first));
        codes = rvq::matrix_view<const std::uint16_t>(unpacked.data(), m, nl);
      } else {
        codes = codes_in->tile(first, m);
      }
      y.resize(m * d);
      s = q.decode_batch(codes, rvq::matrix_view<float>(y.data(), m, d), layers);
      if (!s) progress.clear(), fail_file(in, at_row(s, first));
      s = y_out.write(y.data(), m);
      if (!s) progress.clear(), fail_file(out, s);
      progress.update(first + m);
    }
    progress.clear();
    s = y_out.commit();
    if (!s) fail_file(out, s);
    return 0;
  });
}

}  // namespace decode_command_impl
}  // namespace

const command decode_command{
    "decode",
    "decode codes into vectors (float32, N x D)",
    decode_command_impl::run,
    {
        opt::model(),
        opt::input("C.npy", "codes (N x L, uint8 or uint16)"),
        opt::output("Y.npy", "the vectors to write"),
        {"layers", "n", "", "decode the first n layers only (a coarser vector at a lower bitrate; default: all)"},
        opt::flag("packed", "the codes are bit-packed (as encode --packed writes them)"),
        opt::quiet("no progress line"),
    }};

}  // namespace rvq_cli
