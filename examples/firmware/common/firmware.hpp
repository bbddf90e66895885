/// @file firmware.hpp
/// What the harness (main.cpp) calls in the encode unit (encode.cpp): the library and the model
/// live in encode.cpp alone, so the linker map shows their footprint apart from the harness.
#pragma once
#include <cstdint>

extern "C" {
/// Layers of the model (codes per vector).
extern const std::uint32_t rvq_fw_layers;
/// Dimension of the model's vectors.
extern const std::uint32_t rvq_fw_dim;
/// The model's element type (for the log).
extern const char* const rvq_fw_element;
#if RVQ_FW_FIXED_INPUT
/// Encodes one vector of rvq_fw_dim fixed-point values with `frac_bits` fractional bits
/// (integer-only encode); 0 on success, else the status code.
int rvq_fw_encode(const std::int16_t* x, int frac_bits, std::uint16_t* codes);
#else
/// Encodes one vector of rvq_fw_dim floats; 0 on success, else the status code.
int rvq_fw_encode(const float* x, std::uint16_t* codes);
#endif
}
