// SPDX-License-Identifier: Apache-2.0

// Streams outlive their authority no longer: a revoked device, or one whose
// session ended or expired, holds its WatchReferrals, UploadAttachment or
// DownloadAttachment stream open and keeps listening or sending. tryggd
// re-checks every open stream's session (server/api/stream_authority.h) and
// ends it with UNAUTHENTICATED within a second; an upload cut off this way
// leaves nothing stored. The tests wait on the streams themselves (a read
// or write that returns false), each under a call deadline.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <sstream>

#include <grpcpp/grpcpp.h>

#include "client-lib/src/internal/wire.h"
#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/membership.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/referral.grpc.pb.h"

namespace trygg::adversarial_streams {
namespace {

using internal::ToProto;
using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;
using Steady = std::chrono::steady_clock;

// How long tryggd may take to end a stream after its authority is gone.
constexpr auto kPromise = std::chrono::seconds(1);

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

// A WatchReferrals stream of `device`, open on the server when constructed
// (tryggd sends the stream's initial metadata once it has registered it).
struct OpenWatch {
  std::unique_ptr<trygg::v1::ReferralService::Stub> stub;
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientReader<trygg::v1::WatchReferralsResponse>> reader;

  explicit OpenWatch(const TestDevice& device)
      : stub(trygg::v1::ReferralService::NewStub(device.client->channel())),
        context(device.client->NewCallContext()) {
    reader = stub->WatchReferrals(context.get(), trygg::v1::WatchReferralsRequest());
    reader->WaitForInitialMetadata();
  }

  // Reads until the stream ends; how many notices came, and its status.
  std::pair<int, grpc::Status> WaitForEnd() {
    trygg::v1::WatchReferralsResponse notice;
    int notices = 0;
    while (reader->Read(&notice)) ++notices;
    return {notices, reader->Finish()};
  }
};

struct Org {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Tolkförmedlingen");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
};

}  // namespace

TEST_CASE("a watch stream ends within a second of its device's revocation", "[adversarial][streams]") {
  Org o;
  OpenWatch watch(o.anna);
  REQUIRE(RevokeDevice(*o.admin.client, o.admin.keys, o.anna.keys.device_id, o.world.clock(), o.world.rng()).ok());
  const auto revoked_at = Steady::now();
  auto [notices, status] = watch.WaitForEnd();
  const auto took = Steady::now() - revoked_at;
  INFO(status.error_message());
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(notices == 0);
  CHECK(took < kPromise);
}

TEST_CASE("a watch stream ends within a second of its session ending", "[adversarial][streams]") {
  Org o;
  OpenWatch watch(o.anna);
  absl::Status logout = o.anna.client->Logout();
  INFO(logout.ToString());
  if (!logout.ok()) { auto r = o.world.server().Stop(SIGTERM); FAIL(r.code << " " << r.stderr_text); }
  const auto ended_at = Steady::now();
  auto [notices, status] = watch.WaitForEnd();
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(notices == 0);
  CHECK(Steady::now() - ended_at < kPromise);
}

TEST_CASE("a watch stream ends when its session expires", "[adversarial][streams]") {
  TrustWorld world({"--session-ttl-seconds", "2"});
  TestDevice& admin = world.AdmitOrganisation("Tolkförmedlingen");
  OpenWatch watch(admin);
  auto [notices, status] = watch.WaitForEnd();  // the session's 2 s run out first
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(notices == 0);
  // The device itself is not refused: it signs in again.
  world.Login(admin);
  CHECK(admin.client->WhoAmI().ok());
}

TEST_CASE("an upload held open by a revoked device is ended and leaves nothing stored", "[adversarial][streams]") {
  Org o;
  CaseClient cases(*o.anna.client, o.anna.keys, o.world.clock(), o.world.rng());
  auto case_id = cases.CreateCase(Text("ärende"), 1);
  REQUIRE(case_id.ok());

  auto stub = trygg::v1::CaseService::NewStub(o.anna.client->channel());
  auto context = o.anna.client->NewCallContext();
  trygg::v1::UploadAttachmentResponse response;
  auto writer = stub->UploadAttachment(context.get(), &response);
  trygg::v1::UploadAttachmentRequest first;
  first.mutable_metadata()->set_case_id(ToProto(case_id->span()));
  Id128 attachment_id;
  o.world.rng().Fill(attachment_id.span());
  first.mutable_metadata()->set_attachment_id(ToProto(attachment_id.span()));
  first.mutable_metadata()->set_total_size(AttachmentStreamSize(60 << 20));
  REQUIRE(writer->Write(first));
  const std::string where = " FROM attachments WHERE attachment_id = x'" + HexEncode(attachment_id.span()) + "'";
  // The upload has begun on the server once its row exists.
  const auto deadline = Steady::now() + std::chrono::seconds(10);
  while (QueryInt(o.world.db_path(), "SELECT count(*)" + where) == 0) REQUIRE(Steady::now() < deadline);

  REQUIRE(RevokeDevice(*o.admin.client, o.admin.keys, o.anna.keys.device_id, o.world.clock(), o.world.rng()).ok());
  const auto revoked_at = Steady::now();
  // The device keeps sending; the server must stop taking it.
  trygg::v1::UploadAttachmentRequest chunk;
  chunk.set_chunk(std::string(4096, 'x'));
  int sent = 0;
  while (writer->Write(chunk)) {
    ++sent;
    REQUIRE(Steady::now() - revoked_at < std::chrono::seconds(10));
  }
  const auto took = Steady::now() - revoked_at;
  grpc::Status status = writer->Finish();
  INFO(status.error_message() << " after " << sent << " chunks");
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(took < kPromise);
  CHECK(QueryInt(o.world.db_path(), "SELECT count(*)" + where) == 0);
  CHECK(QueryInt(o.world.db_path(), "SELECT count(*) FROM attachment_parts WHERE attachment_id = x'" +
                                        HexEncode(attachment_id.span()) + "'") == 0);
}

TEST_CASE("a download held open by a revoked device stops short of the attachment", "[adversarial][streams]") {
  Org o;
  CaseClient cases(*o.anna.client, o.anna.keys, o.world.clock(), o.world.rng());
  auto case_id = cases.CreateCase(Text("ärende"), 1);
  REQUIRE(case_id.ok());
  constexpr size_t kSize = 16 << 20;
  std::istringstream in(std::string(kSize, 'a'));
  REQUIRE(cases.AppendVersion(*case_id, Text("med bilaga"), 1, {AttachmentInput{&in, kSize}}).ok());
  auto read = cases.ReadCase(*case_id);
  REQUIRE(read.ok());
  REQUIRE(read->versions.back().attachment_hashes.size() == 1);

  // A channel whose flow-control window stays small (no BDP probing grows
  // it), so that what is in flight when the device stops reading is bounded.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  auto stub = trygg::v1::CaseService::NewStub(
      grpc::CreateCustomChannel(o.world.address(), grpc::InsecureChannelCredentials(), args));
  auto context = o.anna.client->NewCallContext();
  trygg::v1::DownloadAttachmentRequest request;
  request.set_case_id(ToProto(case_id->span()));
  request.set_ciphertext_hash(ToProto(read->versions.back().attachment_hashes[0].span()));
  auto reader = stub->DownloadAttachment(context.get(), request);
  trygg::v1::DownloadAttachmentResponse part;
  REQUIRE(reader->Read(&part));
  size_t received = part.chunk().size();

  // The device stops reading (flow control holds the server's next write),
  // and is revoked. A watch of the same device opened alongside shows when
  // the server's check has run: every open stream is checked in one pass.
  OpenWatch watch(o.anna);
  REQUIRE(RevokeDevice(*o.admin.client, o.admin.keys, o.anna.keys.device_id, o.world.clock(), o.world.rng()).ok());
  const auto revoked_at = Steady::now();
  CHECK(watch.WaitForEnd().second.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(Steady::now() - revoked_at < kPromise);
  while (reader->Read(&part)) received += part.chunk().size();
  grpc::Status status = reader->Finish();
  INFO(status.error_message() << "; received " << received << " of " << kSize);
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(received < kSize / 4);
}

}  // namespace trygg::adversarial_streams
