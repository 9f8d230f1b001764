# SPDX-License-Identifier: Apache-2.0

# cmake -P tests/build/test_hooks_rule.cmake: the rule that decides whether a
# build contains the test hooks (cmake/TryggTestHooks.cmake), for every build
# type. Fails with the first build type that gets the wrong answer.
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/TryggTestHooks.cmake)
foreach(case "Release:OFF" "release:OFF" "MinSizeRel:OFF" "RelWithDebInfo:ON" "Debug:ON" ":ON")
  string(REPLACE ":" ";" parts "${case}")
  list(LENGTH parts n)
  if(n EQUAL 1)
    set(type "")
    list(GET parts 0 expected)
  else()
    list(GET parts 0 type)
    list(GET parts 1 expected)
  endif()
  trygg_test_hooks_enabled("${type}" got)
  if(NOT got STREQUAL expected)
    message(FATAL_ERROR "build type '${type}': test hooks ${got}, expected ${expected}")
  endif()
  message(STATUS "build type '${type}': test hooks ${got}")
endforeach()
