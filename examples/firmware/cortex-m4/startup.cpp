// Cortex-M4 reset code and vector table (MPS2 AN386 as QEMU's mps2-an386 models it).
#include <cstdint>

extern "C" {
extern std::uint32_t __stack_top[];
[[noreturn]] void rvq_fw_start();
[[noreturn]] void rvq_fw_fault();

/// Reset: with an FPU build, grant full access to CP10/CP11 (CPACR) before any floating-point
/// instruction can run, then enter the C++ start-up.
[[noreturn]] __attribute__((naked)) void rvq_fw_reset() {
#if defined(__ARM_FP)
  asm volatile(
      "ldr r0, =0xE000ED88\n"
      "ldr r1, [r0]\n"
      "orr r1, r1, #(0xF << 20)\n"
      "str r1, [r0]\n"
      "dsb\n"
      "isb\n");
#endif
  asm volatile("b rvq_fw_start");
}
}

/// Initial stack pointer, reset and the fault handlers of the ARMv7-M vector table.
__attribute__((section(".isr_vector"), used)) const void* const rvq_fw_vectors[16] = {
    __stack_top,                                   // initial stack pointer
    reinterpret_cast<const void*>(&rvq_fw_reset),  // reset
    reinterpret_cast<const void*>(&rvq_fw_fault),  // NMI
    reinterpret_cast<const void*>(&rvq_fw_fault),  // hard fault
    reinterpret_cast<const void*>(&rvq_fw_fault),  // memory management fault
    reinterpret_cast<const void*>(&rvq_fw_fault),  // bus fault
    reinterpret_cast<const void*>(&rvq_fw_fault),  // usage fault
    nullptr,
    nullptr,
    nullptr,
    nullptr,                                       // reserved
    reinterpret_cast<const void*>(&rvq_fw_fault),  // SVCall
    reinterpret_cast<const void*>(&rvq_fw_fault),  // debug monitor
    nullptr,                                       // reserved
    reinterpret_cast<const void*>(&rvq_fw_fault),  // PendSV
    reinterpret_cast<const void*>(&rvq_fw_fault),  // SysTick
};
