# trygg_add_test(<name> SOURCES <files...> LIBS <targets...> LABELS <labels...>)
# Builds one Catch2 v2 executable and registers each of its test cases with ctest,
# labelled by area so that `ctest -L crypto` runs one area.
find_package(Catch2 REQUIRED)
include(Catch)

add_library(trygg_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/catch_main.cc)
target_link_libraries(trygg_catch_main PUBLIC Catch2::Catch2)

function(trygg_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE trygg_catch_main ${ARG_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  catch_discover_tests(${name}
    TEST_PREFIX "${name}:"
    PROPERTIES LABELS "${ARG_LABELS}"
    ENVIRONMENT "TRYGG_BUILD_DIR=${PROJECT_BINARY_DIR};TRYGG_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
