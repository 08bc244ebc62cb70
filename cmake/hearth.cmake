# Helpers shared by every module's CMakeLists.txt.

# hearth_library(NAME SOURCES ... DEPS ...): a static library `hearth_NAME` rooted at src/.
function(hearth_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(hearth_${name} STATIC ${ARG_SOURCES})
  target_include_directories(hearth_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(hearth_${name} PUBLIC ${ARG_DEPS})
endfunction()

# hearth_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest.
# Tests that need root, cgroups or /dev/kvm carry the label `root`, `cgroup` or `kvm` and
# GTEST_SKIP() with the reason when the host cannot run them.
function(hearth_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${ARG_LABELS}"
                       ENVIRONMENT "HEARTH_BIN_DIR=${CMAKE_BINARY_DIR}/bin"
                       SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
endfunction()
