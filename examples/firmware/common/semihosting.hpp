/// @file semihosting.hpp
/// Console output and exit through semihosting (ARM `bkpt 0xab`, RISC-V `slli/ebreak/srai`):
/// what QEMU's `-semihosting` and a debug probe answer. No C library I/O is linked.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fw {

/// One semihosting call: operation `op` with parameter `arg`; returns the host's answer.
inline long semihost(long op, const void* arg) {
#if defined(__arm__)
  register long r0 asm("r0") = op;
  register const void* r1 asm("r1") = arg;
  asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
#elif defined(__riscv)
  register long a0 asm("a0") = op;
  register const void* a1 asm("a1") = arg;
  // The three instructions must be uncompressed and in one page: the host recognizes them.
  asm volatile(
      ".option push\n.option norvc\n.balign 16\n"
      "slli zero, zero, 0x1f\nebreak\nsrai zero, zero, 7\n.option pop"
      : "+r"(a0)
      : "r"(a1)
      : "memory");
  return a0;
#else
#error "semihosting: an ARM or RISC-V target is needed"
#endif
}

/// Writes a NUL-terminated string to the host's console (SYS_WRITE0).
inline void write(const char* s) { semihost(0x04, s); }

/// Ends the program with exit status `code` (SYS_EXIT_EXTENDED, ADP_Stopped_ApplicationExit).
[[noreturn]] inline void exit(int code) {
  const std::uintptr_t block[2] = {0x20026, static_cast<std::uintptr_t>(code)};
  semihost(0x20, block);
  for (;;) {
  }
}

/// A line buffer for decimal numbers and text, written with one call.
class line {
 public:
  /// Appends text.
  line& operator<<(const char* s) {
    while (*s && n_ + 1 < sizeof buf_) buf_[n_++] = *s++;
    return *this;
  }
  /// Appends a number in decimal.
  line& operator<<(long v) {
    char d[12];
    int k = 0;
    unsigned long u = v < 0 ? 0ul - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
    do d[k++] = static_cast<char>('0' + u % 10);
    while (u /= 10);
    if (v < 0) d[k++] = '-';
    while (k && n_ + 1 < sizeof buf_) buf_[n_++] = d[--k];
    return *this;
  }
  /// Writes the line (with a newline) and empties the buffer.
  void flush() {
    buf_[n_++] = '\n';
    buf_[n_] = 0;
    write(buf_);
    n_ = 0;
  }

 private:
  char buf_[160];
  std::size_t n_ = 0;
};

}  // namespace fw
