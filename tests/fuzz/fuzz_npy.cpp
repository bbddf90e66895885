// libFuzzer target: the .npy reader, as float data and as codes.
#include <rvq/io/npy.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rvq::io::ndarray<float> x;
  (void)rvq::io::parse_npy(data, size, x);
  rvq::io::ndarray<std::uint16_t> codes;
  (void)rvq::io::detail::decode_npy(data, size, codes, false);
  return 0;
}
