// libFuzzer target: unpacking bit-packed codes (K = 3, 256, 300, 1, 1024: fields can overflow).
#include <rvq/rvq.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto q = [] {
    const std::size_t ks[5] = {3, 256, 300, 1, 1024};
    std::vector<float> cb((3 + 256 + 300 + 1 + 1024) * 2, 0.25f);
    return std::move(rvq::quantizer<>::from_codebooks(rvq::span<const float>(cb), rvq::span<const std::size_t>(ks), 2))
        .value();
  }();
  const std::size_t bytes = rvq::packed_bytes(q), rows = size / bytes;
  std::vector<std::uint16_t> codes(rows * q.layers());
  (void)rvq::unpack_codes_batch(q, rvq::matrix_view<const std::uint8_t>(data, rows, bytes),
                                rvq::matrix_view<std::uint16_t>(codes.data(), rows, q.layers()));
  return 0;
}
