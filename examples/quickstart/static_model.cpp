// Compile-time extents, the firmware shape of rvq: the codebooks are a constexpr array (flash
// on a microcontroller), the quantizer itself is constexpr, nothing is allocated.
#include <rvq/quantizer.hpp>
#include <cstdio>

namespace model {
// 2 layers x 4 codewords x 3 dims. `rvq codegen` writes files like this one for real models.
inline constexpr float codebooks[2 * 4 * 3] = {
    1,   0, 0, 0, 1,   0, 0, 0, 1,   -1,   -1,   -1,    // layer 0
    .1f, 0, 0, 0, .1f, 0, 0, 0, .1f, -.1f, -.1f, -.1f,  // layer 1
};
using quantizer = rvq::quantizer<rvq::default_config, rvq::extents<2, 4, 3>>;
inline constexpr quantizer q{codebooks};
static_assert(quantizer::static_footprint().codebook_bytes == 96, "2 x 4 x 3 floats");
static_assert(std::is_same<quantizer::code_type, std::uint8_t>::value, "K = 4 fits a byte");
}  // namespace model

int main() {
  const float x[3] = {0.9f, 0.1f, 0.0f};
  model::quantizer::code_type codes[2];
  float y[3];
  rvq::status s = model::q.encode(rvq::span<const float>(x), rvq::span<model::quantizer::code_type>(codes));
  if (s) s = model::q.decode(rvq::span<const model::quantizer::code_type>(codes), rvq::span<float>(y));
  if (!s) {
    std::printf("error: %s\n", s.message());
    return 1;
  }
  std::printf("codes %u %u -> (%.2f, %.2f, %.2f)\n", unsigned(codes[0]), unsigned(codes[1]), double(y[0]), double(y[1]),
              double(y[2]));
  return codes[0] == 0 && codes[1] == 1 ? 0 : 1;
}
