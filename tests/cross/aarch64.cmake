# Cross-compiles the element tests for aarch64 with the `sdot` dot-product instructions
# (-march=armv8.2-a+dotprod), checks that the kernel is in the binary, and runs the tests under
# qemu-aarch64: the sdot kernel must give the reference kernels' codes bit for bit.
# Variables: CXX (aarch64-linux-gnu-g++), OBJDUMP, QEMU, SOURCE_DIR, WORK, CATCH_INCLUDE, HOST_CXX.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/include ${WORK}/tmp)
file(CREATE_LINK ${CATCH_INCLUDE}/catch2 ${WORK}/include/catch2 SYMBOLIC)
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/run.cmake)
run(${CXX} -std=c++17 -O1 -march=armv8.2-a+dotprod -static -I${SOURCE_DIR}/include -I${WORK}/include
    -DRVQ_TEST_TMPDIR="${WORK}/tmp" -DRVQ_TEST_CXX="${HOST_CXX}" -DRVQ_TEST_INCLUDE="${SOURCE_DIR}/include"
    ${SOURCE_DIR}/tests/cross/catch_main.cpp ${SOURCE_DIR}/tests/element/quantize_test.cpp
    ${SOURCE_DIR}/tests/element/srs_test.cpp -o ${WORK}/element_tests)
execute_process(COMMAND ${OBJDUMP} -d ${WORK}/element_tests OUTPUT_VARIABLE asm)
string(REGEX MATCHALL "\tsdot\t" sdots "${asm}")
list(LENGTH sdots n)
if(n EQUAL 0)
  message(FATAL_ERROR "no sdot instruction in the aarch64 build: the dot-product kernel is missing")
endif()
run(${QEMU} -cpu max ${WORK}/element_tests)
message(STATUS "aarch64 (qemu): element tests passed with the sdot kernel (${n} sdot instructions)")
