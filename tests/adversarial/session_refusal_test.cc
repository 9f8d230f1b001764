// SPDX-License-Identifier: Apache-2.0

// Session creation tells a prober nothing. Whether a device id is unknown,
// revoked, or known with a bad signature, and whatever is wrong with the
// challenge, CreateSession answers the same UNAUTHENTICATED with the same
// message, after the same signature check, and stores nothing: no session,
// no audit entry, and the challenge is not used up by a failed attempt.
#include <catch2/catch.hpp>

#include <set>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/membership.h"
#include "trygg/v1/session.grpc.pb.h"

namespace trygg::adversarial_sessions {
namespace {

using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::string Str(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }

struct Prober {
  std::unique_ptr<trygg::v1::SessionService::Stub> stub;

  explicit Prober(const std::string& address)
      : stub(trygg::v1::SessionService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

  std::string Challenge(const Id128& device_id) {
    grpc::ClientContext context;
    trygg::v1::GetChallengeRequest request;
    request.set_device_id(Str(device_id.span()));
    trygg::v1::GetChallengeResponse response;
    REQUIRE(stub->GetChallenge(&context, request, &response).ok());
    return response.challenge();
  }

  grpc::Status Create(const Id128& device_id, const std::string& challenge, const SigningKeyPair& key,
                      SigningContext signing_context = SigningContext::kSession) {
    std::vector<uint8_t> bytes(challenge.begin(), challenge.end());
    trygg::v1::CreateSessionRequest request;
    request.set_device_id(Str(device_id.span()));
    request.mutable_signed_challenge()->set_bytes(challenge);
    request.mutable_signed_challenge()->set_signature(Str(Sign(key, signing_context, bytes).span()));
    grpc::ClientContext context;
    trygg::v1::CreateSessionResponse response;
    return stub->CreateSession(&context, request, &response);
  }
};

}  // namespace

TEST_CASE("a failed session creation looks the same whatever the reason", "[adversarial][sessions]") {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Rådgivningsbyrån");
  TestDevice& revoked = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& active = world.AddDevice(admin, Role::kCaseworker);
  REQUIRE(RevokeDevice(*admin.client, admin.keys, revoked.keys.device_id, world.clock(), world.rng()).ok());
  Prober prober(world.address());
  const std::string db = world.db_path();
  const int64_t sessions_before = QueryInt(db, "SELECT count(*) FROM sessions");
  const int64_t entries_before = QueryInt(db, "SELECT count(*) FROM audit_entries");

  Id128 unknown;
  world.rng().Fill(unknown.span());
  DeviceKeys stranger = DeviceKeys::Generate(world.rng());
  std::vector<std::pair<std::string, grpc::Status>> refusals;
  auto refused = [&](std::string what, grpc::Status status) { refusals.emplace_back(std::move(what), status); };

  refused("unknown device", prober.Create(unknown, prober.Challenge(unknown), stranger.signing()));
  refused("revoked device, its own key",
          prober.Create(revoked.keys.device_id, prober.Challenge(revoked.keys.device_id),
                        revoked.keys.device.signing()));
  refused("active device, another key",
          prober.Create(active.keys.device_id, prober.Challenge(active.keys.device_id), stranger.signing()));
  refused("active device, another signing context",
          prober.Create(active.keys.device_id, prober.Challenge(active.keys.device_id),
                        active.keys.device.signing(), SigningContext::kRecord));
  refused("a challenge issued to another device",
          prober.Create(active.keys.device_id, prober.Challenge(revoked.keys.device_id),
                        active.keys.device.signing()));
  refused("a malformed challenge",
          prober.Create(active.keys.device_id, "not a challenge", active.keys.device.signing()));
  std::string tampered = prober.Challenge(active.keys.device_id);
  tampered[tampered.size() / 2] ^= 1;
  refused("an edited challenge", prober.Create(active.keys.device_id, tampered, active.keys.device.signing()));

  std::set<std::string> messages;
  for (const auto& [what, status] : refusals) {
    INFO(what << ": " << status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    messages.insert(status.error_message());
  }
  CHECK(messages.size() == 1);
  CHECK(QueryInt(db, "SELECT count(*) FROM sessions") == sessions_before);
  CHECK(QueryInt(db, "SELECT count(*) FROM audit_entries") == entries_before);

  // The refusals used up nothing: a challenge refused for a bad signature
  // still works once with the right one, and then never again.
  const std::string challenge = prober.Challenge(active.keys.device_id);
  CHECK(prober.Create(active.keys.device_id, challenge, stranger.signing()).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(prober.Create(active.keys.device_id, challenge, active.keys.device.signing()).ok());
  CHECK(prober.Create(active.keys.device_id, challenge, active.keys.device.signing()).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace trygg::adversarial_sessions
