// SPDX-License-Identifier: Apache-2.0

// Issue 12's limits on what unauthenticated callers may make tryggd store,
// through a real tryggd on loopback configured by a tryggd.toml [limits]
// table: past each limit the call gets RESOURCE_EXHAUSTED over gRPC, and the
// database and the audit log are as they were. (Each rule in full, with
// expiry, is tested in process: tests/unit/server/domain/.)
#include <catch2/catch.hpp>
#include <fstream>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "trygg/keys.h"
#include "trygg/trust.h"
#include "trygg/v1/session.grpc.pb.h"

namespace trygg {
namespace {

using testing::QueryInt;
using testing::TrustWorld;

std::string ConfigWith(const testing::TempDir& dir, const std::string& limits) {
  const std::string path = dir.file("tryggd.toml");
  std::ofstream(path) << "[limits]\n" << limits;
  return path;
}

// A request from a new device to join `org_id`, signed by that device.
SignedObject NewEnrolment(TrustWorld& world, const Id128& org_id) {
  const DeviceKeys keys = DeviceKeys::Generate(world.rng());
  EnrolmentRequest request;
  request.org_id = org_id;
  world.rng().Fill(request.device_id.span());
  request.sign_key = keys.signing().public_key;
  request.box_key = keys.box().public_key;
  request.requested_role = Role::kCaseworker;
  request.created_at_ms = world.clock().NowUnixMillis();
  request.label = "laptop";
  auto signed_request = SignEnrolmentRequest(request, keys.signing());
  REQUIRE(signed_request.ok());
  return *signed_request;
}

TEST_CASE("past limits.max_pending_enrolments_per_org, SubmitEnrolmentRequest is RESOURCE_EXHAUSTED and stores "
          "nothing",
          "[limits]") {
  testing::TempDir config_dir;
  TrustWorld world({"--config", ConfigWith(config_dir, "max_pending_enrolments_per_org = 2\n")});
  REQUIRE(world.ok());
  testing::TestDevice& admin = world.AdmitOrganisation("Shelter");
  const Id128 org_id = admin.keys.org_id;
  const int64_t audit_before = QueryInt(world.db_path(), "SELECT count(*) FROM audit_entries");

  auto client = world.NewClient("stranger");
  REQUIRE(client->SubmitEnrolment(NewEnrolment(world, org_id)).ok());
  REQUIRE(client->SubmitEnrolment(NewEnrolment(world, org_id)).ok());
  const absl::StatusOr<Id128> third = client->SubmitEnrolment(NewEnrolment(world, org_id));
  INFO(third.status().ToString());
  CHECK(third.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(QueryInt(world.db_path(), "SELECT count(*) FROM enrolments") == 2);
  // No request, accepted or refused, appended an audit entry.
  CHECK(QueryInt(world.db_path(), "SELECT count(*) FROM audit_entries") == audit_before);

  // The admin still sees and approves them; the server keeps answering.
  auto pending = admin.client->ListEnrolments();
  REQUIRE(pending.ok());
  CHECK(pending->size() == 2);
}

TEST_CASE("past limits.max_live_challenges, GetChallenge is RESOURCE_EXHAUSTED and stores nothing", "[limits]") {
  testing::TempDir config_dir;
  TrustWorld world({"--config", ConfigWith(config_dir, "max_live_challenges = 10\n")});
  REQUIRE(world.ok());
  auto stub = trygg::v1::SessionService::NewStub(
      grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials()));
  auto challenge = [&] {
    grpc::ClientContext context;
    trygg::v1::GetChallengeRequest request;
    Id128 device_id;
    world.rng().Fill(device_id.span());
    request.set_device_id(std::string(device_id.span().begin(), device_id.span().end()));
    trygg::v1::GetChallengeResponse response;
    return stub->GetChallenge(&context, request, &response);
  };
  for (int i = 0; i < 10; ++i) REQUIRE(challenge().ok());
  const grpc::Status refused = challenge();
  INFO(refused.error_message());
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(QueryInt(world.db_path(), "SELECT count(*) FROM challenges") == 10);
}

}  // namespace
}  // namespace trygg
