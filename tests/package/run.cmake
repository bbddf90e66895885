# ctest driver: install rvq into a temporary prefix, then configure, build and run the consumer.
foreach(v SOURCE_DIR WORK_DIR GENERATOR CXX)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run.cmake needs -D${v}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
endfunction()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/rvq -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
    -DRVQ_BUILD_TESTS=OFF -DRVQ_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/rvq)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package -B ${WORK_DIR}/consumer -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer)
# pkg-config file: a plain compiler call with its flags.
file(READ ${WORK_DIR}/prefix/share/pkgconfig/rvq.pc pc)
if(NOT pc MATCHES "Cflags: -I\\$\\{includedir\\} -std=c\\+\\+17")
  message(FATAL_ERROR "unexpected rvq.pc:\n${pc}")
endif()
# A plain compile without a chosen backend: the dispatch backend on x86-64 (GCC, clang).
set(plain_backend scalar)
cmake_host_system_information(RESULT host_arch QUERY OS_PLATFORM)
if(host_arch MATCHES "x86_64|AMD64")
  set(plain_backend dispatch)
endif()
run(${CXX} -std=c++17 -I${WORK_DIR}/prefix/include -DEXPECT_BACKEND="${plain_backend}"
    ${SOURCE_DIR}/tests/package/main.cpp -o ${WORK_DIR}/pc_consumer)
run(${WORK_DIR}/pc_consumer)
# The xsimd component, when xsimd is installed: find_dependency happens only for this consumer.
if(WITH_XSIMD)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package -B ${WORK_DIR}/consumer_xsimd -G ${GENERATOR}
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DRVQ_CONSUMER_XSIMD=ON)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer_xsimd)
  run(${WORK_DIR}/consumer_xsimd/consumer)
endif()
if(WITH_HIGHWAY)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package -B ${WORK_DIR}/consumer_highway -G ${GENERATOR}
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DRVQ_CONSUMER_HIGHWAY=ON)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer_highway)
  run(${WORK_DIR}/consumer_highway/consumer)
endif()
# add_subdirectory: rvq inside another project's tree; its tests and examples stay off.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package -B ${WORK_DIR}/subdir -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
    -DRVQ_CONSUMER_SUBDIRECTORY=ON -DRVQ_SOURCE_DIR=${SOURCE_DIR})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/subdir)
run(${WORK_DIR}/subdir/consumer)
if(EXISTS ${WORK_DIR}/subdir/rvq/tests OR EXISTS ${WORK_DIR}/subdir/rvq/examples)
  message(FATAL_ERROR "add_subdirectory(rvq) built rvq's tests or examples")
endif()
if(WITH_XSIMD)  # add_subdirectory with the SIMD component's target
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package -B ${WORK_DIR}/subdir_xsimd -G ${GENERATOR}
      -DCMAKE_CXX_COMPILER=${CXX} -DRVQ_CONSUMER_SUBDIRECTORY=ON -DRVQ_SOURCE_DIR=${SOURCE_DIR} -DRVQ_CONSUMER_XSIMD=ON)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/subdir_xsimd)
  run(${WORK_DIR}/subdir_xsimd/consumer)
endif()
message(STATUS "package consumed (find_package, pkg-config, add_subdirectory, xsimd and highway components when available)")
