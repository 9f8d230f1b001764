// SPDX-License-Identifier: Apache-2.0

// The request_id rule (server/api/request_id.h): empty or at most 128 ASCII
// letters, digits and - . _ : /; anything else is INVALID_ARGUMENT.
#include "server/api/request_id.h"

#include <catch2/catch.hpp>

#include <string>

namespace trygg::api {
namespace {

TEST_CASE("CheckRequestId takes empty ids and ids of letters, digits and - . _ : / up to 128", "[request_id]") {
  for (const std::string& good : {std::string(), std::string("a"), std::string("req-2026-12-05/42:7_x.y"),
                                  std::string(kMaxRequestIdLength, 'x')}) {
    INFO(good);
    CHECK(CheckRequestId(good).ok());
  }
}

TEST_CASE("CheckRequestId refuses long ids and any other character", "[request_id]") {
  for (const std::string& bad :
       {std::string(kMaxRequestIdLength + 1, 'x'), std::string("line\nbreak"), std::string("tab\there"),
        std::string("ui-42 status=OK"), std::string("a=b"), std::string("\"quoted\""), std::string("#7"),
        std::string("nul\0inside", 10), std::string("del\x7f"), std::string("\xc3\xa5sa"),
        std::string("cr\r")}) {
    INFO(bad);
    absl::Status status = CheckRequestId(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(status.message().find("request_id") != absl::string_view::npos);
  }
}

}  // namespace
}  // namespace trygg::api
