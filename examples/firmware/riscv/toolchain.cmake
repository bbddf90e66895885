# 32-bit RISC-V (GAP9-class cores), bare metal, Debian's gcc-riscv64-unknown-elf with picolibc
# (picolibc-riscv64-unknown-elf; only memcpy/memset are linked).
#   cmake -S examples/firmware -B build/fw --toolchain examples/firmware/riscv/toolchain.cmake
#         -DRVQ_FW_MARCH=rv32imc|rv32imfc -DRVQ_FW_MODEL_DIR=DIR
# Debian 12's gcc-riscv64-unknown-elf ships no C++ library headers. rvq's firmware code needs
# only header-only templates (<cstdint>, <type_traits>, <limits>, <array>, <cstring>), so the
# build borrows them from the bare-metal (newlib) libstdc++ of the same GCC 12 release that
# Debian packages for arm-none-eabi (libstdc++-arm-none-eabi-dev); no library code of it is
# linked. RVQ_FW_CXX_INCLUDE overrides the directory.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_CXX_COMPILER riscv64-unknown-elf-g++)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(RVQ_FW_TARGET riscv)
set(RVQ_FW_MARCH rv32imc CACHE STRING "rv32imc (no FPU: integer models) or rv32imfc (single-precision FPU)")
set_property(CACHE RVQ_FW_MARCH PROPERTY STRINGS rv32imc rv32imfc)
if(RVQ_FW_MARCH STREQUAL "rv32imc")
  set(rvq_fw_cpu "-march=rv32imc -mabi=ilp32")
elseif(RVQ_FW_MARCH STREQUAL "rv32imfc")
  set(rvq_fw_cpu "-march=rv32imfc -mabi=ilp32f")
else()
  message(FATAL_ERROR "RVQ_FW_MARCH is '${RVQ_FW_MARCH}': use rv32imc or rv32imfc")
endif()
if(NOT RVQ_FW_CXX_INCLUDE)
  file(GLOB rvq_fw_cxx LIST_DIRECTORIES true /usr/include/newlib/c++/*)
  list(SORT rvq_fw_cxx)
  list(POP_BACK rvq_fw_cxx RVQ_FW_CXX_INCLUDE)
endif()
if(NOT EXISTS "${RVQ_FW_CXX_INCLUDE}/type_traits")
  message(FATAL_ERROR "no C++ library headers for bare metal found (apt-get install libstdc++-arm-none-eabi-dev), "
                      "or set RVQ_FW_CXX_INCLUDE to a libstdc++ include directory")
endif()
set(rvq_fw_inc "-nostdinc++ -isystem ${RVQ_FW_CXX_INCLUDE} -isystem ${RVQ_FW_CXX_INCLUDE}/arm-none-eabi")
set(CMAKE_CXX_FLAGS_INIT "${rvq_fw_cpu} --specs=picolibc.specs ${rvq_fw_inc}")
set(CMAKE_C_FLAGS_INIT "${rvq_fw_cpu} --specs=picolibc.specs")
set(CMAKE_EXE_LINKER_FLAGS_INIT "")  # CMAKE_CXX_FLAGS (cpu, specs) reach the link too
set(RVQ_FW_LINKER_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/virt.ld)
set(RVQ_FW_QEMU qemu-system-riscv32 -M virt -bios none -nographic -semihosting-config enable=on,target=native -kernel)
# Link with the C driver: g++ would add -lstdc++, which this toolchain does not have (and the
# firmware does not need).
set(CMAKE_CXX_LINK_EXECUTABLE "<CMAKE_C_COMPILER> <FLAGS> <CMAKE_CXX_LINK_FLAGS> <LINK_FLAGS> <OBJECTS> -o <TARGET> <LINK_LIBRARIES>")
