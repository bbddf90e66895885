// The encode unit: the rvq library and the model header that `rvq codegen` wrote. Nothing else
// lives here, so the linker map measures the library's code plus the model.
#include <rvq/quantizer.hpp>

#include "firmware.hpp"
#include "model.hpp"

extern "C" {
const std::uint32_t rvq_fw_layers = fw::layers;
const std::uint32_t rvq_fw_dim = fw::dim;
const char* const rvq_fw_element = rvq::element_traits<fw::config::element>::name;

#if RVQ_FW_FIXED_INPUT
int rvq_fw_encode(const std::int16_t* x, int frac_bits, std::uint16_t* codes) {
  const rvq::status s = fw::model.encode_fixed(rvq::span<const std::int16_t>(x, fw::dim), frac_bits,
                                               rvq::span<std::uint16_t>(codes, fw::layers));
  return s ? 0 : static_cast<int>(s.code());
}
#else
int rvq_fw_encode(const float* x, std::uint16_t* codes) {
  const rvq::status s =
      fw::model.encode(rvq::span<const float>(x, fw::dim), rvq::span<std::uint16_t>(codes, fw::layers));
  return s ? 0 : static_cast<int>(s.code());
}
#endif
}
