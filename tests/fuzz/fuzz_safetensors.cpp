// libFuzzer target: the safetensors reader, codebook lookup and tensor conversion.
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
  (void)rvq::io::find_codebooks(f, "", cb);
  (void)rvq::io::find_codebooks(f, "*.{}*", cb);
  return 0;
}
