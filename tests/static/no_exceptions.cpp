// Built with -fno-exceptions -fno-rtti: the quantizer, training and static extents work without
// either (the exceptions layer is opt-in and not included here).
#include <rvq/quantizer.hpp>
#include <rvq/train/residual.hpp>

#include <array>
#include <cstdio>
#include <vector>

namespace {
constexpr std::array<float, 2 * 4 * 2> cb = {0, 0, 1, 0, 0, 1, 1, 1, 0, 0, .1f, 0, 0, .1f, .1f, .1f};
constexpr rvq::quantizer<rvq::default_config, rvq::extents<2, 4, 2>> fw{cb};
}  // namespace

int main() {
  int failures = 0;
  const float x[2] = {1.1f, 0.05f};
  std::uint8_t codes[2];
  if (!fw.encode(rvq::span<const float>(x), rvq::span<std::uint8_t>(codes)) || codes[0] != 1 || codes[1] != 1)
    ++failures;
  const float nan_x[2] = {__builtin_nanf(""), 0};
  if (fw.encode(rvq::span<const float>(nan_x), rvq::span<std::uint8_t>(codes)).code() != rvq::errc::non_finite)
    ++failures;

  std::vector<float> data(400 * 3);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = float((i * 7919) % 101) / 101.0f;
  rvq::train_options opt;
  opt.layers = 2;
  opt.codewords = {8};
  opt.iterations = 3;
  auto q = rvq::train(rvq::matrix_view<const float>(data.data(), 400, 3), opt);
  if (!q) ++failures;
  opt.codewords = {1000};
  if (rvq::train(rvq::matrix_view<const float>(data.data(), 400, 3), opt).error().code() !=
      rvq::errc::too_many_codewords)
    ++failures;
  std::printf("%d passed, %d failed\n", 4 - failures, failures);
  return failures == 0 ? 0 : 1;
}
