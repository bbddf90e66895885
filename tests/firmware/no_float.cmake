# Builds the integer-only encode for a Cortex-M4 without FPU (-mfloat-abi=soft) from a model that
# `rvq codegen` wrote, and fails if its disassembly holds a floating-point instruction or a call
# into the soft-float library. A control build (the float-input encode) must show such calls, so
# the check is known to see them.
# Variables: RVQ (the CLI), SYNTH (rvq-synth), CXX (arm-none-eabi-g++), OBJDUMP, SOURCE_DIR, WORK, ELEMENT.
set(dir ${WORK}/${ELEMENT})
file(REMOVE_RECURSE ${dir})
file(MAKE_DIRECTORY ${dir})
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/run.cmake)
run(${SYNTH} --dim 100 --train 3000 --test 10 --out-train ${dir}/train.npy --out-test ${dir}/test.npy)
run(${RVQ} train --input ${dir}/train.npy --layers 8 --codewords 128 --iterations 3 --refine 0 --quiet
    --output ${dir}/m.rvq)
run(${RVQ} quantize --model ${dir}/m.rvq --element ${ELEMENT} --calibrate-on ${dir}/train.npy --quiet
    --output ${dir}/mq.rvq)
run(${RVQ} codegen --model ${dir}/mq.rvq --output ${dir}/model.hpp --namespace fw)
set(flags -std=c++17 -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -O2 -ffreestanding -fno-exceptions -fno-rtti
          -DRVQ_NO_HEAP=1 -Wall -Wextra -Werror -I${SOURCE_DIR}/include -I${dir})
run(${CXX} ${flags} -c ${SOURCE_DIR}/tests/firmware/fixed_encode.cpp -o ${dir}/fw.o)
run(${CXX} ${flags} -DRVQ_FW_CONTROL -c ${SOURCE_DIR}/tests/firmware/fixed_encode.cpp -o ${dir}/control.o)
execute_process(COMMAND ${OBJDUMP} -dr ${dir}/fw.o OUTPUT_VARIABLE asm RESULT_VARIABLE rc)
execute_process(COMMAND ${OBJDUMP} -dr ${dir}/control.o OUTPUT_VARIABLE control)
file(WRITE ${dir}/fw.asm "${asm}")
set(float_pattern "__aeabi_[fd][a-z0-9]*|__aeabi_[ul]*[il]2[fd]|__(add|sub|mul|div|fix|float)[a-z]*[sd]f|\tv(add|sub|mul|div|fma|cvt|mov|ldr|str|cmp)[.a-z0-9]*\t")
if(NOT asm MATCHES "rvq_fw_encode")
  message(FATAL_ERROR "${ELEMENT}: the encode function is missing from the object")
endif()
if(NOT control MATCHES "__aeabi_[fd]")
  message(FATAL_ERROR "${ELEMENT}: the control (float-input encode) shows no soft-float call: the check is blind")
endif()
string(REGEX MATCHALL "[^\n]*(${float_pattern})[^\n]*" hits "${asm}")
if(hits)
  list(JOIN hits "\n" shown)
  message(FATAL_ERROR "${ELEMENT}: floating point in the integer encode path:\n${shown}")
endif()
string(REGEX MATCHALL "\n[0-9a-f]+ <[^>]+>:" fns "${asm}")
list(LENGTH fns nfns)
string(REGEX MATCHALL "\n +[0-9a-f]+:\t" insns "${asm}")
list(LENGTH insns ninsns)
message(STATUS "${ELEMENT}: ${nfns} functions, ${ninsns} instructions, no floating point (control: soft-float calls seen)")
