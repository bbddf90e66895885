# The aarch64 test program holds the `sdot` dot-product kernel (-march=armv8.2-a+dotprod): its
# element tests, run under qemu-aarch64, then check that kernel against the reference kernels.
# Variables: OBJDUMP, BINARY.
execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${BINARY} COMMAND grep -c "[[:space:]]sdot[[:space:]]"
                RESULT_VARIABLE rc OUTPUT_VARIABLE n OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT n GREATER 0)
  message(FATAL_ERROR "no sdot instruction in ${BINARY}: the aarch64 dot-product kernel is missing")
endif()
message(STATUS "${BINARY}: ${n} sdot instructions")
