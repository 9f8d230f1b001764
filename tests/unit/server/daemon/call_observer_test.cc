// SPDX-License-Identifier: Apache-2.0

// Which method names the call log and the metrics use (server/daemon/
// call_observer.h): the server's own, health checking and reflection; any
// other name a client sends is "unknown", so it cannot put its own text into
// a label or a log line.
#include "server/daemon/call_observer.h"

#include <catch2/catch.hpp>

#include "trygg/v1/case.grpc.pb.h"

namespace trygg::server {
namespace {

TEST_CASE("MethodLabel keeps served method names and folds every other name into unknown", "[logging]") {
  // Linked, so in the descriptor pool.
  (void)trygg::v1::CaseService::service_full_name();
  for (const char* served : {"/trygg.v1.CaseService/CreateCase", "/trygg.v1.CaseService/UploadAttachment",
                             "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}) {
    INFO(served);
    CHECK(MethodLabel(served) == served);
  }
  for (const char* other :
       {"/trygg.v1.CaseService/NoSuchMethod", "/trygg.v1.NoSuchService/CreateCase", "/Anna Andersson/0123456789abcdef",
        "trygg.v1.CaseService/CreateCase", "/trygg.v1.CaseService.CreateCase", "/", "", "//",
        "/trygg.v1.CaseService/CreateCase/extra"}) {
    INFO(other);
    CHECK(MethodLabel(other) == "unknown");
  }
  CHECK(MethodLabel(nullptr) == "unknown");
}

}  // namespace
}  // namespace trygg::server
