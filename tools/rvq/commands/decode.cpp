// rvq decode: codes to vectors.
#include "../common.hpp"

#include <cmath>
#include <limits>

namespace rvq_cli {
namespace {

int run(const args& a) {
  const std::string mp = a.need("model"), in = a.need("input"), out = a.need("output");
  return with_model_or_pipeline(mp, [&](const auto& q) {
    const std::size_t n = a.number_or("layers", q.layers(), 1, q.layers());
    rvq::io::ndarray<std::uint16_t> codes;
    rvq::status s;
    if (a.flag("packed")) {
      rvq::io::ndarray<std::uint8_t> packed;
      s = rvq::io::read_npy(in, packed);
      if (!s) fail_file(in, s);
      const std::size_t bytes = rvq::packed_bytes(q);
      if (packed.shape.size() != 2 || packed.cols() != bytes)
        throw data_error{in + ": expected packed codes of shape N x " + std::to_string(bytes) + " (uint8)"};
      codes.shape = std::vector<std::size_t>{packed.rows(), q.layers()};  // not = {..}: GCC 12 -O3 -Wnonnull
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

}  // namespace

const command decode_command{
    "decode",
    "decode codes into vectors (float32, N x D)",
    run,
    {
        opt::model(),
        opt::input("C.npy", "codes (N x L, uint8 or uint16)"),
        opt::output("Y.npy", "the vectors to write"),
        {"layers", "n", "", "decode the first n layers only (a coarser vector at a lower bitrate; default: all)"},
        opt::flag("packed", "the codes are bit-packed (as encode --packed writes them)"),
    }};

}  // namespace rvq_cli
