#include <rvq/rvq.hpp>
#include <cstdio>
#include <cstring>

int main() {
  const float cb[2 * 2] = {0, 0, 1, 1};
  auto q = rvq::quantizer<>::from_codebooks(rvq::span<const float>(cb), 1, 2, 2);
  const float x[2] = {0.9f, 1.2f};
  std::uint8_t c[1];
  if (!q || !q->encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(c)) || c[0] != 1) return 1;
  const char* backend = rvq::simd_traits<rvq::default_simd>::name;
  std::printf("rvq %s consumer ok, backend %s\n", RVQ_VERSION_STRING, backend);
  return std::strcmp(backend, EXPECT_BACKEND) == 0 ? 0 : 1;
}
