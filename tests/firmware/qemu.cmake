# One firmware configuration of examples/firmware, end to end: trains a D=100 K=128 L=8 model on
# generated data, quantizes it (ELEMENT), writes the firmware header with `rvq codegen` and the
# test vectors with `rvq-fw-vectors`, cross-builds the bare-metal program (ARCH with VARIANT),
# runs it under QEMU, and requires the codes it prints to equal `rvq encode`'s on the host, for
# every vector. ELEMENT rpq compresses the f32 model to rpq storage instead. With PYTHON,
# measures flash, RAM and instructions per encode (measure.py) into
# WORK/NAME/report.json, and checks the budget of the issue for the int8 model on Cortex-M4.
# Variables: RVQ, SYNTH, FWV (rvq-fw-vectors), SOURCE_DIR, WORK, NAME, ARCH (cortex-m4|riscv),
# VARIANT (hard|soft, rv32imc|rv32imfc), ELEMENT (f32|int8|q15|...), QEMU (command, "|" between
# arguments), PYTHON, SHAPE (DxKxL, default 100x128x8).
string(REPLACE "|" ";" QEMU "${QEMU}")  # passed with | between the arguments
set(dir ${WORK}/${NAME})
file(REMOVE_RECURSE ${dir})
file(MAKE_DIRECTORY ${dir}/model)
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/run.cmake)

if(NOT SHAPE)
  set(SHAPE 100x128x8)  # D x K x L: the sensor-latent shape
endif()
string(REPLACE "x" ";" shape "${SHAPE}")
list(GET shape 0 dim)
list(GET shape 1 codewords)
list(GET shape 2 layers)
run(${SYNTH} --dim ${dim} --train 4000 --test 32 --seed 3 --out-train ${dir}/train.npy --out-test ${dir}/test.npy)
run(${RVQ} train --input ${dir}/train.npy --layers ${layers} --codewords ${codewords} --iterations 4 --refine 0 --quiet
    --output ${dir}/f32.rvq)
set(model ${dir}/f32.rvq)
set(fixed OFF)
if(ELEMENT STREQUAL "rpq")
  # rpq storage: 4-bit shared sub-codebooks with seeded indices, fitted to the data; the firmware
  # keeps the float sub-codebooks in flash and regenerates every index (rvq::product_extents).
  set(model ${dir}/rpq.rvq)
  run(${RVQ} compress --model ${dir}/f32.rvq --storage rpq --seeded --shared --bits 4 --calibrate-on ${dir}/train.npy
      --iterations 4 --output ${model})
elseif(NOT ELEMENT STREQUAL "f32")
  set(model ${dir}/${ELEMENT}.rvq)
  set(fixed ON)
  # Layer groups: one scale per layer, so the per-codeword constants shrink to 8 bytes a codeword.
  run(${RVQ} quantize --model ${dir}/f32.rvq --element ${ELEMENT} --granularity layer --calibrate-on ${dir}/train.npy
      --quiet --output ${model})
endif()
run(${RVQ} codegen --model ${model} --namespace fw --output ${dir}/model/model.hpp)
run(${FWV} make --input ${dir}/test.npy --count 32 --output ${dir}/model/vectors.hpp --exact ${dir}/exact.npy)
run(${RVQ} encode --model ${model} --input ${dir}/exact.npy --output ${dir}/host_codes.npy)

if(ARCH STREQUAL "cortex-m4")
  set(variant_flag -DRVQ_FW_FPU=${VARIANT})
else()
  set(variant_flag -DRVQ_FW_MARCH=${VARIANT})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/firmware -B ${dir}/build -G Ninja
    --toolchain ${SOURCE_DIR}/examples/firmware/${ARCH}/toolchain.cmake ${variant_flag}
    -DRVQ_FW_MODEL_DIR=${dir}/model -DRVQ_FW_FIXED_INPUT=${fixed})
run(${CMAKE_COMMAND} --build ${dir}/build)

# The firmware prints over semihosting, which QEMU writes to its standard error.
execute_process(COMMAND ${QEMU} ${dir}/build/rvq-fw.elf TIMEOUT 300 RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE log)
file(WRITE ${dir}/firmware.log "${log}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME}: the firmware failed under QEMU (exit ${rc}):\n${out}\n${log}")
endif()
run(${FWV} check --expected ${dir}/host_codes.npy --log ${dir}/firmware.log)
message(STATUS "${NAME}: ${run_out}")

if(PYTHON)
  list(JOIN QEMU " " qemu_line)
  if(ARCH STREQUAL "cortex-m4")
    set(objdump arm-none-eabi-objdump)
  else()
    set(objdump riscv64-unknown-elf-objdump)
  endif()
  run(${PYTHON} ${SOURCE_DIR}/examples/firmware/measure.py --build ${dir}/build --qemu "${qemu_line}"
      --objdump ${objdump} --label ${NAME} --json ${dir}/report.json)
  string(JSON flash GET "${run_out}" flash_bytes)
  string(JSON ram GET "${run_out}" ram_bytes)
  string(JSON insns GET "${run_out}" instructions_per_encode)
  message(STATUS "${NAME}: library + model ${flash} bytes of flash, ${ram} bytes of RAM, ${insns} instructions per encode")
  if(ARCH STREQUAL "cortex-m4" AND ELEMENT STREQUAL "int8" AND SHAPE STREQUAL "100x128x8" AND
     (flash GREATER 114688 OR ram GREATER 4096))
    message(FATAL_ERROR "${NAME}: over the budget of 112 KiB of flash and 4 KiB of RAM:\n${run_out}")
  endif()
endif()
