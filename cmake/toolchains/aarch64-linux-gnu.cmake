# Raspberry-Pi-class aarch64 Linux (Pi 5: Cortex-A76, Armv8.2-A with dot product and crypto; Pi 4:
# Cortex-A72, set RVQ_AARCH64_ARCH=armv8-a) with Debian's g++-aarch64-linux-gnu. Programs and
# tests run under qemu-aarch64 (Debian qemu-user) through CMAKE_CROSSCOMPILING_EMULATOR.
#   cmake --preset aarch64 && cmake --build --preset aarch64 && ctest --preset aarch64
# xsimd, Highway and Catch2 are header-only: the build uses the headers Debian installed for the
# build machine (see RVQ_CROSS_HOST_HEADERS in CMakeLists.txt); NEON comes with the target.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Highway 1.0.3 takes NEON as "NEON with AES" on aarch64: without +crypto its static target is
# the portable EMU128 (a Raspberry Pi 4 has no crypto extension; a Pi 5 has it).
set(RVQ_AARCH64_ARCH "armv8.2-a+dotprod+crypto" CACHE STRING "-march of the target (armv8-a for a Raspberry Pi 4)")
set(CMAKE_CXX_FLAGS_INIT "-march=${RVQ_AARCH64_ARCH}")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu)
