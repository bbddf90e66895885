// Firmware translation unit: the integer-only encode of a model `rvq codegen` wrote, compiled for
// a Cortex-M without FPU by tests/firmware/no_float.cmake, which then checks the disassembly for
// floating-point instructions and soft-float library calls.
#include <rvq/quantizer.hpp>

#include "model.hpp"

/// Encodes one Q15 vector (fw::dim values) into fw::layers codes; 0 on success.
extern "C" int rvq_fw_encode(const std::int16_t* x, std::uint8_t* codes) {
  const rvq::status s =
      fw::model.encode_fixed(rvq::span<const std::int16_t>(x, fw::dim), 15, rvq::span<std::uint8_t>(codes, fw::layers));
  return s ? 0 : static_cast<int>(s.code());
}

#ifdef RVQ_FW_CONTROL
/// The float-input encode (not the integer path): its soft-float calls prove the check can see them.
extern "C" int rvq_fw_encode_float(const float* x, std::uint8_t* codes) {
  return fw::model.encode(rvq::span<const float>(x, fw::dim), rvq::span<std::uint8_t>(codes, fw::layers)) ? 0 : 1;
}
#endif
