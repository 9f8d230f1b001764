// SPDX-License-Identifier: Apache-2.0

// Helpers shared by the libtrygg crypto tests.
#ifndef TRYGG_TESTS_UNIT_CLIENT_LIB_CRYPTO_TEST_UTIL_H_
#define TRYGG_TESTS_UNIT_CLIENT_LIB_CRYPTO_TEST_UTIL_H_

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "trygg/bytes.h"
#include "trygg/crypto_error.h"

namespace trygg::testing {

inline Id128 IdFromByte(uint8_t byte) {
  std::array<uint8_t, 16> bytes;
  bytes.fill(byte);
  return Id128(bytes);
}

inline std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

// "WRONG_SCOPE" etc., or "OK"/"NO_REASON" so failures print something readable.
inline std::string ReasonOf(const absl::Status& status) {
  if (status.ok()) return "OK";
  const auto reason = GetCryptoError(status);
  return reason ? std::string(CryptoErrorName(*reason))
                : "NO_REASON(" + std::string(status.ToString()) + ")";
}

inline std::filesystem::path SourceDir() {
  const char* dir = std::getenv("TRYGG_SOURCE_DIR");
  REQUIRE(dir != nullptr);
  return dir;
}

}  // namespace trygg::testing

// Asserts that `status_expr` failed with exactly `code` and `reason`.
#define REQUIRE_CRYPTO_ERROR(status_expr, expected_code, expected_reason)       \
  do {                                                                           \
    const ::absl::Status trygg_test_status_ = (status_expr);                     \
    INFO("status: " << trygg_test_status_.ToString());                           \
    REQUIRE(::trygg::testing::ReasonOf(trygg_test_status_) ==                    \
            std::string(::trygg::CryptoErrorName(expected_reason)));             \
    REQUIRE(trygg_test_status_.code() == (expected_code));                       \
  } while (false)

#endif  // TRYGG_TESTS_UNIT_CLIENT_LIB_CRYPTO_TEST_UTIL_H_
