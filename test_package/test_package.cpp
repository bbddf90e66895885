// Conan's test_package: a compile-time model, encoded and decoded (works in freestanding mode too).
#include <rvq/quantizer.hpp>

namespace {
constexpr float cb[2 * 2 * 2] = {0, 0, 1, 1, 0, 0, 0.1f, 0.1f};
constexpr rvq::quantizer<rvq::default_config, rvq::extents<2, 2, 2>> q{cb};
}  // namespace

int main() {
  const float x[2] = {1.1f, 1.1f};
  std::uint8_t codes[2];
  float y[2];
  if (!q.encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(codes))) return 1;
  if (!q.decode(rvq::span<const std::uint8_t>(codes), rvq::span<float>(y))) return 1;
  return codes[0] == 1 && codes[1] == 1 ? 0 : 1;
}
