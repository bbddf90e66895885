// libFuzzer target: the .rvq model loader (header, sizes, checksum, codewords) and, when a model
// loads, one encode and decode with it.
#include <rvq/rvq.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  rvq::io::model_info info;
  (void)rvq::io::detail::parse_model_header(bytes.data(), bytes.size(), info);
  auto q = rvq::io::load_model_memory<rvq::config<rvq::f32, rvq::l2, rvq::dense, rvq::sequential, rvq::scalar>>(bytes);
  if (q.ok() && q->dim() <= 4096 && q->layers() <= 64) {
    std::vector<float> x(q->dim(), 0.5f), y(q->dim());
    std::vector<std::uint16_t> codes(q->layers());
    if (q->encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
      (void)q->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
  }
  // quantized models: the version 2 section, then the integer tables and one integer encode
  rvq::quantized_codebooks qc;
  rvq::metric_id metric{};
  if (rvq::io::load_quantized_memory(bytes, qc, metric).ok() && qc.element == rvq::element_id::int8 &&
      metric == rvq::metric_id::l2 && qc.dim <= 4096 && qc.layers() <= 64) {
    auto iq =
        rvq::quantizer<rvq::config<rvq::int8, rvq::l2, rvq::dense, rvq::sequential, rvq::scalar>>::from_quantized(qc);
    if (iq.ok()) {
      std::vector<float> x(iq->dim(), 0.5f), y(iq->dim());
      std::vector<std::uint16_t> codes(iq->layers());
      if (iq->encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
        (void)iq->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
    }
  }
  return 0;
}
