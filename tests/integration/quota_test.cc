// SPDX-License-Identifier: Apache-2.0

// Issue 12's limits on what a stranger or one organisation may make tryggd
// store, through a real tryggd on loopback configured by a tryggd.toml
// [limits] table: past each limit the call gets RESOURCE_EXHAUSTED over gRPC,
// and the database and the audit log are as they were. (Each rule in full, with
// expiry, is tested in process: tests/unit/server/domain/.) An upload cut off
// by a crash of tryggd is deleted by the restarted server's expiry loop.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "testing/wait_for.h"
#include "trygg/attachment.h"
#include "trygg/bytes.h"
#include "trygg/case_client.h"
#include "trygg/keys.h"
#include "trygg/trust.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/session.grpc.pb.h"

namespace trygg {
namespace {

using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::string Bytes(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }

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

// A raw upload stream of `device` into a new case of its organisation,
// begun with metadata announcing `total_size`: what a client sends before any
// chunk.
struct RawUpload {
  RawUpload(TrustWorld& world, TestDevice& device, uint64_t total_size) {
    CaseClient cases(*device.client, device.keys, world.clock(), world.rng());
    const std::string text = "ärende";
    auto case_id = cases.CreateCase(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 1);
    REQUIRE(case_id.ok());
    world.rng().Fill(attachment_id.span());
    stub = trygg::v1::CaseService::NewStub(device.client->channel());
    context = device.client->NewCallContext();
    writer = stub->UploadAttachment(context.get(), &response);
    trygg::v1::UploadAttachmentRequest first;
    first.mutable_metadata()->set_case_id(Bytes(case_id->span()));
    first.mutable_metadata()->set_attachment_id(Bytes(attachment_id.span()));
    first.mutable_metadata()->set_total_size(total_size);
    REQUIRE(writer->Write(first));
  }
  std::string Where() const { return " WHERE attachment_id = x'" + HexEncode(attachment_id.span()) + "'"; }

  Id128 attachment_id;
  std::unique_ptr<trygg::v1::CaseService::Stub> stub;
  std::unique_ptr<grpc::ClientContext> context;
  trygg::v1::UploadAttachmentResponse response;
  std::unique_ptr<grpc::ClientWriter<trygg::v1::UploadAttachmentRequest>> writer;
};

TEST_CASE("past limits.attachment_quota_bytes_per_org, UploadAttachment is RESOURCE_EXHAUSTED and stores nothing",
          "[limits]") {
  testing::TempDir config_dir;
  TrustWorld world({"--config", ConfigWith(config_dir, "attachment_quota_bytes_per_org = 1048576\n")});
  REQUIRE(world.ok());
  TestDevice& admin = world.AdmitOrganisation("Shelter");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  RawUpload upload(world, anna, AttachmentStreamSize(2 << 20));
  upload.writer->WritesDone();
  const grpc::Status status = upload.writer->Finish();
  INFO(status.error_message());
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(QueryInt(world.db_path(), "SELECT count(*) FROM attachments") == 0);
}

// The crash half of "orphaned uploads": tryggd killed mid-upload leaves parts
// in the database that no stream will finish or abandon. After the timeout
// (the server's clock moved by the test hook, not by sleeping) the expiry
// loop of the restarted server deletes them.
TEST_CASE("an upload cut off by a crash of tryggd is deleted after limits.orphan_upload_timeout_minutes",
          "[limits]") {
  testing::TempDir config_dir;
  TrustWorld world({"--config", ConfigWith(config_dir, "orphan_upload_timeout_minutes = 5\n")});
  REQUIRE(world.ok());
  TestDevice& admin = world.AdmitOrganisation("Shelter");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  RawUpload upload(world, anna, AttachmentStreamSize(8 << 20));
  trygg::v1::UploadAttachmentRequest chunk;
  chunk.set_chunk(std::string(65536, 'x'));
  // tryggd stores parts a mebibyte at a time.
  for (int i = 0; i < 40; ++i) REQUIRE(upload.writer->Write(chunk));
  const std::string parts = "SELECT count(*) FROM attachment_parts" + upload.Where();
  const std::string rows = "SELECT count(*) FROM attachments" + upload.Where();
  REQUIRE(testing::WaitFor([&] { return QueryInt(world.db_path(), parts) > 0; }, std::chrono::seconds(10)));

  world.Restart({}, SIGKILL);
  upload.context->TryCancel();
  (void)upload.writer->Finish();
  // The crash left the parts behind, and a restart alone does not delete them.
  CHECK(QueryInt(world.db_path(), parts) > 0);
  CHECK(QueryInt(world.db_path(), rows) == 1);

  world.AdvanceServerClock(std::chrono::minutes(5) + std::chrono::seconds(1));
  CHECK(testing::WaitFor([&] { return QueryInt(world.db_path(), rows) == 0; }, std::chrono::seconds(10)));
  CHECK(QueryInt(world.db_path(), parts) == 0);
}

}  // namespace
}  // namespace trygg
