// libFuzzer target: the .fvecs / .bvecs / .ivecs readers.
#include <rvq/io/vecs.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  rvq::io::ndarray<float> f;
  (void)rvq::io::parse_vecs(bytes, f);
  rvq::io::ndarray<std::uint8_t> b;
  (void)rvq::io::parse_vecs(bytes, b);
  rvq::io::ndarray<std::int32_t> i;
  (void)rvq::io::parse_vecs(bytes, i);
  return 0;
}
