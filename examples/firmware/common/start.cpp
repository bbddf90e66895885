// C++ start-up shared by the targets, entered from the reset code of cortex-m4/ or riscv/:
// initialized data copied from flash, .bss zeroed, constructors run, main() called, its status
// returned to the host.
#include <cstdint>

#include "semihosting.hpp"

extern "C" {
extern std::uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
int main();

[[noreturn]] void rvq_fw_start() {
  for (std::uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
  for (std::uint32_t* d = __bss_start; d < __bss_end;) *d++ = 0;
  for (auto f = __init_array_start; f < __init_array_end; ++f) (*f)();
  fw::exit(main());
}

/// Any fault or unexpected trap: say so and stop with status 3.
[[noreturn]] void rvq_fw_fault() {
  fw::write("rvq firmware: fault\n");
  fw::exit(3);
}
}
