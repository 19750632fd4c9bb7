# The package as a consumer sees it: install the build into a temporary prefix,
# configure examples/ against it with find_package(smmuv3tlm), build it, run it.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P check_example.cmake
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
foreach(step
    "${CMAKE_COMMAND};--install;${BUILD_DIR};--prefix;${prefix}"
    "${CMAKE_COMMAND};-S;${SOURCE_DIR}/examples;-B;${WORK_DIR}/build;-DCMAKE_PREFIX_PATH=${prefix}"
    "${CMAKE_COMMAND};--build;${WORK_DIR}/build"
    "${WORK_DIR}/build/two_masters")
  execute_process(COMMAND ${step} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "'${step}' failed (${code}):\n${out}\n${err}")
  endif()
endforeach()
if(NOT out MATCHES "two_masters: PASS")
  message(FATAL_ERROR "the example did not pass:\n${out}\n${err}")
endif()
if("${out}${err}" MATCHES "Copyright \\(c\\) 1996")
  message(FATAL_ERROR "the example printed the SystemC banner:\n${out}\n${err}")
endif()
# Nothing of the project's build flags reaches a consumer.
file(READ ${WORK_DIR}/build/CMakeFiles/two_masters.dir/flags.make flags)
foreach(private -Werror -fsanitize -Wshadow)
  if(flags MATCHES "${private}")
    message(FATAL_ERROR "the package leaks '${private}' into a consumer's flags:\n${flags}")
  endif()
endforeach()
# Headers live under include/smmuv3tlm only: no top-level name of ours.
file(GLOB top RELATIVE ${prefix}/include ${prefix}/include/*)
if(NOT top STREQUAL "smmuv3tlm")
  message(FATAL_ERROR "installed include/ holds ${top}, expected smmuv3tlm only")
endif()
message(STATUS "${out}")
