// libFuzzer target: the safetensors reader, codebook lookup (with DAC's projections), tensor
// conversion and, when codebooks are found, the pipeline they make and one encode with it.
#include <rvq/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rvq::io::safetensors_file f;
  if (!rvq::io::parse_safetensors(std::vector<unsigned char>(data, data + size), f)) return 0;
  std::vector<float> v;
  for (const auto& t : f.tensors) (void)rvq::io::tensor_floats(f, t, v);
  rvq::io::safetensors_codebooks cb;
  if (rvq::io::find_codebooks(f, "", cb) && cb.codewords.size() <= 64 && cb.dim <= 4096 && cb.latent_dim <= 4096) {
    auto p = rvq::io::to_pipeline(cb);
    if (p.ok() && p->max_codewords() <= 65536) {
      std::vector<float> x(p->dim(), 0.5f), y(p->dim());
      std::vector<std::uint16_t> codes(p->layers());
      if (p->encode(rvq::span<const float>(x), rvq::span<std::uint16_t>(codes)))
        (void)p->decode(rvq::span<const std::uint16_t>(codes), rvq::span<float>(y));
    }
  }
  (void)rvq::io::find_codebooks(f, "*.{}*", cb);
  return 0;
}
