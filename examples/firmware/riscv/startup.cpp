// RV32 reset code for QEMU's `virt` board, started with `-bios none`: global and stack
// pointers, a trap vector, the FPU switched on when the build has one, then the C++ start-up.
extern "C" {
[[noreturn]] void rvq_fw_start();
[[noreturn]] void rvq_fw_fault();

/// Any trap (illegal instruction, misaligned or faulting access) ends the run with status 3.
__attribute__((naked, aligned(4))) void rvq_fw_trap() { asm volatile("j rvq_fw_fault"); }

[[noreturn]] __attribute__((naked, section(".text.init"))) void _start() {
  asm volatile(
      ".option push\n.option norelax\n"
      "la gp, __global_pointer$\n"
      ".option pop\n"
      ".option arch, +zicsr\n"  // control and status registers (a separate extension since ISA 2.1)
      "la sp, __stack_top\n"
      "la t0, rvq_fw_trap\n"
      "csrw mtvec, t0\n"
#if defined(__riscv_flen)
      "li t0, 0x2000\n"  // mstatus.FS = Initial: floating-point instructions allowed
      "csrs mstatus, t0\n"
      "fscsr zero\n"
#endif
      "j rvq_fw_start\n");
}
}
