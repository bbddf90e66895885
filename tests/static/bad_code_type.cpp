// Must not compile: uint8 codes for K = 1024 with static extents.
#include <rvq/quantizer.hpp>
#include <array>
extern const std::array<float, 1 * 1024 * 2> cb;
int f() {
  const rvq::quantizer<rvq::default_config, rvq::extents<1, 1024, 2>> q{cb};
  const float x[2] = {0, 0};
  std::uint8_t c[1];
  return q.encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(c)).ok();
}
