# SPDX-License-Identifier: Apache-2.0

# trygg_add_test(<name> SOURCES <files...> LIBS <targets...> LABEL <area>)
# Builds one Catch2 v2 executable and registers each of its test cases with
# ctest under the label of its area (crypto, store, daemon, audit, ...), so
# that `ctest -L crypto` runs one area.
#
# Catch2 v2's discovery flattens list-valued test properties, so each test
# gets one label, and the source and build directories reach the tests as
# defaults compiled into the shared main (environment variables win).
find_package(Catch2 REQUIRED)
include(Catch)

add_library(trygg_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/catch_main.cc)
target_link_libraries(trygg_catch_main PUBLIC Catch2::Catch2)
target_compile_definitions(trygg_catch_main PRIVATE
  TRYGG_DEFAULT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  TRYGG_DEFAULT_BUILD_DIR="${PROJECT_BINARY_DIR}")

function(trygg_add_test name)
  # RUN_SERIAL: ctest runs the test alone, for tests that measure latency.
  cmake_parse_arguments(ARG "RUN_SERIAL" "LABEL" "SOURCES;LIBS;LABELS" ${ARGN})
  set(serial FALSE)
  if(ARG_RUN_SERIAL)
    set(serial TRUE)
  endif()
  if(NOT ARG_LABEL)
    list(GET ARG_LABELS 0 ARG_LABEL)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE trygg_catch_main ${ARG_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR})
  # --warn NoTests: a ctest entry whose name no longer selects its test case
  # (a ';' in the name splits it) fails instead of passing with no test run.
  catch_discover_tests(${name} TEST_PREFIX "${name}:" EXTRA_ARGS --warn NoTests
    PROPERTIES LABELS "${ARG_LABEL}" RUN_SERIAL ${serial})
endfunction()
