# Test hooks: switches that weaken security so the test suite runs fast (today
# one, TRYGG_INSECURE_FAST_KDF, which writes and accepts key stores with
# libsodium's minimum Argon2id limits). They are compiled only into builds
# meant for testing: a Release or MinSizeRel binary does not contain the
# hook at all, so no environment can switch it on (CI checks the Release
# binaries with scripts/check-test-hooks; tests/build checks this rule).
#
# trygg_test_hooks_enabled(<build type> <out var>): ON for Debug,
# RelWithDebInfo and anything else, OFF for Release and MinSizeRel.
function(trygg_test_hooks_enabled build_type out_var)
  string(TOUPPER "${build_type}" upper)
  if(upper STREQUAL "RELEASE" OR upper STREQUAL "MINSIZEREL")
    set(${out_var} OFF PARENT_SCOPE)
  else()
    set(${out_var} ON PARENT_SCOPE)
  endif()
endfunction()
