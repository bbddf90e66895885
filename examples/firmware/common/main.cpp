// The test harness: encodes the vectors of vectors.hpp (written by rvq-fw-vectors) and prints
// their codes over semihosting, one line per vector ("codes I: c0 c1 ..."), for the host to
// compare with its own. Calls rvq_fw_mark() around the first encode, where an instruction trace
// counts the instructions of one encode.
#include <cstdint>

#include "firmware.hpp"
#include "semihosting.hpp"
#include "vectors.hpp"

extern "C" __attribute__((noinline)) void rvq_fw_mark(int where) { asm volatile("" : : "r"(where) : "memory"); }

int main() {
  fw::line out;
  out << "rvq firmware: " << rvq_fw_element << ", " << static_cast<long>(fw_test::count) << " vectors of "
      << static_cast<long>(rvq_fw_dim) << " values, "
#if RVQ_FW_FIXED_INPUT
      << "Q" << static_cast<long>(fw_test::frac_bits) << " input";
#else
      << "float input";
#endif
  out.flush();
  if (rvq_fw_dim != fw_test::dim || rvq_fw_layers > 64) {
    (out << "the test vectors do not fit the model").flush();
    return 1;
  }
  for (std::size_t i = 0; i < fw_test::count; ++i) {
    std::uint16_t codes[64];
    if (i == 0) rvq_fw_mark(1);
#if RVQ_FW_FIXED_INPUT
    const int s = rvq_fw_encode(fw_test::fixed + i * fw_test::dim, fw_test::frac_bits, codes);
#else
    const int s = rvq_fw_encode(fw_test::values + i * fw_test::dim, codes);
#endif
    if (i == 0) rvq_fw_mark(2);
    if (s != 0) {
      (out << "encode failed on vector " << static_cast<long>(i) << ": status " << static_cast<long>(s)).flush();
      return 1;
    }
    out << "codes " << static_cast<long>(i) << ":";
    for (std::uint32_t l = 0; l < rvq_fw_layers; ++l) out << " " << static_cast<long>(codes[l]);
    out.flush();
  }
  (out << "done").flush();
  return 0;
}
