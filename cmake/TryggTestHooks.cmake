# SPDX-License-Identifier: Apache-2.0

# Test hooks: switches that weaken security so the test suite runs fast and
# deterministically: TRYGG_INSECURE_FAST_KDF (the tools write and accept key
# stores, and `tryggd backup`/`restore` a sealed server key, with libsodium's
# minimum Argon2id limits) and TRYGG_TEST_CLOCK_FILE
# (tryggd's clock is moved by an offset a test writes to a file, so tests do
# not sleep; server/daemon/server_clock.h). Each target that reads one defines
# TRYGG_TEST_HOOKS=1 when this rule says so. They are compiled only into
# builds meant for testing: a Release or MinSizeRel binary does not contain
# the hooks at all, so no environment can switch them on (CI checks the Release
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
