// SPDX-License-Identifier: Apache-2.0

// Keys and trust end to end: the client library against a real tryggd with a
// real SQLite file — admission, enrolment, sessions, revocation and key
// rotation, every bad input, and a server whose database is edited behind the
// clients' backs (the "malicious server").
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <set>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "trygg/audit/audit_entry.h"
#include "testing/db_edit.h"
#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/directory_client.h"
#include "trygg/referral_client.h"
#include "trygg/workflow.h"
#include "trygg/v1/audit.grpc.pb.h"
#include "trygg/crypto_error.h"
#include "trygg/listing.h"
#include "trygg/membership.h"
#include "trygg/v1/case.pb.h"
#include "trygg/v1/directory.pb.h"
#include "trygg/v1/referral.pb.h"
#include "trygg/v1/session.grpc.pb.h"
#include "trygg/v1/trust.grpc.pb.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::Exec;
using testing::QueryInt;
using testing::TrustWorld;

std::string ReasonOf(const absl::Status& status) {
  auto reason = GetCryptoError(status);
  return reason ? std::string(CryptoErrorName(*reason)) : status.ToString();
}

std::string Str(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }

// Logs in over raw RPCs and returns the bearer token (for tests that must
// send exactly what they choose).
std::string RawLogin(const std::string& address, const TestDevice& device) {
  auto stub = trygg::v1::SessionService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext c1;
  trygg::v1::GetChallengeRequest challenge_request;
  challenge_request.set_device_id(Str(device.keys.device_id.span()));
  trygg::v1::GetChallengeResponse challenge;
  REQUIRE(stub->GetChallenge(&c1, challenge_request, &challenge).ok());
  std::vector<uint8_t> bytes(challenge.challenge().begin(), challenge.challenge().end());
  trygg::v1::CreateSessionRequest request;
  request.set_device_id(challenge_request.device_id());
  request.mutable_signed_challenge()->set_bytes(challenge.challenge());
  request.mutable_signed_challenge()->set_signature(
      Str(Sign(device.keys.device.signing(), SigningContext::kSession, bytes).span()));
  grpc::ClientContext c2;
  trygg::v1::CreateSessionResponse response;
  grpc::Status status = stub->CreateSession(&c2, request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response.token();
}

std::string HexLiteral(std::span<const uint8_t> bytes) { return "x'" + HexEncode(bytes) + "'"; }

TEST_CASE("an organisation admits, enrols, rotates and revokes through the client library", "[trust]") {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Syd");
  auto me = admin.client->WhoAmI();
  REQUIRE(me.ok());
  CHECK(me->role == Role::kOrgAdmin);
  CHECK(me->org_id == admin.keys.org_id);
  REQUIRE(admin.keys.org_keys.size() == 1);

  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  REQUIRE(anna.keys.org_keys.size() == 1);
  CHECK(anna.keys.org_keys[0].generation == 1);
  CHECK(std::equal(anna.keys.org_keys[0].seed.span().begin(), anna.keys.org_keys[0].seed.span().end(),
                   admin.keys.org_keys[0].seed.span().begin()));
  CHECK(anna.client->WhoAmI()->role == Role::kCaseworker);

  TestDevice& bo = world.AddDevice(admin, Role::kCaseworker);
  auto orgs = bo.client->ListOrganisations();
  REQUIRE(orgs.ok());
  REQUIRE(orgs->size() == 1);
  CHECK(orgs->front().display_name == "Skyddat boende Syd");

  // Revocation refuses the device at once and rotates the key for the rest.
  REQUIRE(RevokeDevice(*admin.client, admin.keys, bo.keys.device_id, world.clock(), world.rng()).ok());
  CHECK(bo.client->WhoAmI().status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(bo.client->Login(bo.keys.device_id, bo.keys.device.signing()).status().code() ==
        absl::StatusCode::kUnauthenticated);
  auto received = ReceiveOrgKeys(*anna.client, anna.keys);
  REQUIRE(received.ok());
  CHECK(*received == 1);
  CHECK(anna.keys.org_keys.back().generation == 2);
  auto log = anna.client->FetchOrgLog(admin.keys.org_id);
  REQUIRE(log.ok());
  CHECK(log->generation() == 2);
  CHECK_FALSE(log->rotation_due());
  CHECK(log->ActiveDevice(bo.keys.device_id) == nullptr);
  // The revoked device's envelopes stop at generation 1.
  CHECK(anna.client->GetKeyEnvelopes(std::nullopt)->size() == 2);

  // Each change left one metadata-only entry in the audit log.
  auto audit = trygg::v1::AuditService::NewStub(grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + RawLogin(world.address(), admin));
  trygg::v1::ListEntriesRequest request;
  request.set_page_size(1000);
  trygg::v1::ListEntriesResponse entries;
  grpc::Status status = audit->ListEntries(&context, request, &entries);
  INFO(status.error_message());
  REQUIRE(status.ok());
  std::map<audit::AuditEventKind, int> kinds;
  for (const auto& entry : entries.entries()) {
    auto event = audit::DecodeAuditEvent(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(entry.entry().data()), entry.entry().size()));
    REQUIRE(event.ok());
    kinds[event->kind]++;
  }
  CHECK(kinds[audit::AuditEventKind::kOrganisationAdmitted] == 1);
  // A request appends nothing until approved (issue 12); its approval's
  // device_added entry records the requested role and submission time.
  CHECK(kinds[audit::AuditEventKind::kEnrolmentRequested] == 0);
  CHECK(kinds[audit::AuditEventKind::kDeviceAdded] == 2);
  CHECK(kinds[audit::AuditEventKind::kOrgKeyRotated] == 2);
  CHECK(kinds[audit::AuditEventKind::kDeviceRevoked] == 1);
  CHECK(kinds[audit::AuditEventKind::kSessionCreated] >= 3);
}

TEST_CASE("a session the server has at hand loses its authority the moment its device changes", "[trust][sessions]") {
  // tryggd keeps sessions it looked up lately (server/api/session_cache.h);
  // each change below must reach the device's very next call.
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Rådgivningen Norr");
  TestDevice& carl = world.AddDevice(admin, Role::kOrgAdmin);
  for (int i = 0; i < 3; ++i) REQUIRE(carl.client->WhoAmI()->role == Role::kOrgAdmin);

  REQUIRE(ChangeRole(*admin.client, admin.keys, carl.keys.device_id, Role::kCaseworker, world.clock()).ok());
  auto demoted = carl.client->WhoAmI();
  REQUIRE(demoted.ok());
  CHECK(demoted->role == Role::kCaseworker);
  // The other admin's session, also at hand, still serves (and says so).
  CHECK(admin.client->WhoAmI()->role == Role::kOrgAdmin);

  REQUIRE(RevokeDevice(*admin.client, admin.keys, carl.keys.device_id, world.clock(), world.rng()).ok());
  CHECK(carl.client->WhoAmI().status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(carl.client->ListOrganisations().status().code() == absl::StatusCode::kUnauthenticated);
}

TEST_CASE("certificates: only the pinned root's, idempotent, no silent replacement", "[trust]") {
  TrustWorld world;
  auto client = world.NewClient();
  RootCertificate cert;
  cert.kind = CertificateKind::kOrganisation;
  cert.subject_id = Id128(std::array<uint8_t, 16>{1});
  cert.device_id = Id128(std::array<uint8_t, 16>{2});
  cert.sign_key = GenerateSigningKeyPair(world.rng()).public_key;
  cert.name = "Juridisk rådgivning";
  auto signed_cert = SignRootCertificate(cert, world.root());
  REQUIRE(signed_cert.ok());
  REQUIRE(client->UploadCertificate(CertificateKind::kOrganisation, *signed_cert).ok());
  CHECK(client->UploadCertificate(CertificateKind::kOrganisation, *signed_cert).ok());  // resend

  RootCertificate renamed = cert;
  renamed.name = "Another name";
  CHECK(client->UploadCertificate(CertificateKind::kOrganisation, *SignRootCertificate(renamed, world.root()))
            .status()
            .code() == absl::StatusCode::kAlreadyExists);
  SigningKeyPair impostor = GenerateSigningKeyPair(world.rng());
  RootCertificate other = cert;
  other.subject_id = Id128(std::array<uint8_t, 16>{3});
  other.device_id = Id128(std::array<uint8_t, 16>{4});
  CHECK(client->UploadCertificate(CertificateKind::kOrganisation, *SignRootCertificate(other, impostor))
            .status()
            .code() == absl::StatusCode::kPermissionDenied);
  CHECK(client->UploadCertificate(CertificateKind::kCoordinator, *signed_cert).status().code() ==
        absl::StatusCode::kInvalidArgument);
  SignedObject garbage{{1, 2, 3}, Signature()};
  CHECK(client->UploadCertificate(CertificateKind::kOrganisation, garbage).status().code() ==
        absl::StatusCode::kInvalidArgument);

  // The server certificate must certify this server's own key.
  auto info = client->GetServerInfo();
  REQUIRE(info.ok());
  CHECK_FALSE(info->server_certificate.has_value());
  RootCertificate server_cert;
  server_cert.kind = CertificateKind::kServer;
  server_cert.subject_id = Id128(std::array<uint8_t, 16>{9});
  server_cert.sign_key = impostor.public_key;
  CHECK(client->UploadCertificate(CertificateKind::kServer, *SignRootCertificate(server_cert, world.root()))
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
  server_cert.sign_key = info->server_public_key;
  REQUIRE(client->UploadCertificate(CertificateKind::kServer, *SignRootCertificate(server_cert, world.root())).ok());
  info = client->GetServerInfo();
  REQUIRE(info.ok());
  REQUIRE(info->server_certificate.has_value());
  CHECK(info->server_certificate->sign_key == info->server_public_key);

  // Only the organisation's first admin device is registered.
  auto orgs = world.NewClient();
  CHECK(orgs->ListOrganisations().status().code() == absl::StatusCode::kUnauthenticated);
}

TEST_CASE("sessions refuse replayed, forged, foreign, expired and ended credentials", "[trust]") {
  TrustWorld world({"--session-ttl-seconds", "60"});
  TestDevice& admin = world.AdmitOrganisation("Tolkförmedlingen");
  auto stub = trygg::v1::SessionService::NewStub(
      grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials()));
  const std::string device_id = Str(admin.keys.device_id.span());

  auto challenge_for = [&](const std::string& id) {
    grpc::ClientContext context;
    trygg::v1::GetChallengeRequest request;
    request.set_device_id(id);
    trygg::v1::GetChallengeResponse response;
    REQUIRE(stub->GetChallenge(&context, request, &response).ok());
    return response.challenge();
  };
  auto create = [&](const std::string& id, const std::string& challenge, const Signature& signature) {
    grpc::ClientContext context;
    trygg::v1::CreateSessionRequest request;
    request.set_device_id(id);
    request.mutable_signed_challenge()->set_bytes(challenge);
    request.mutable_signed_challenge()->set_signature(Str(signature.span()));
    trygg::v1::CreateSessionResponse response;
    grpc::Status status = stub->CreateSession(&context, request, &response);
    return std::make_pair(status, response.token());
  };
  auto sign = [&](const std::string& challenge, SigningContext context = SigningContext::kSession) {
    std::vector<uint8_t> bytes(challenge.begin(), challenge.end());
    return Sign(admin.keys.device.signing(), context, bytes);
  };

  const std::string challenge = challenge_for(device_id);
  SECTION("a signature replayed after use") {
    auto first = create(device_id, challenge, sign(challenge));
    REQUIRE(first.first.ok());
    auto replay = create(device_id, challenge, sign(challenge));
    CHECK(replay.first.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    // The same refusal as for every other failed session creation
    // (tests/adversarial/session_refusal_test.cc).
    CHECK(replay.first.error_message() == "no session: the challenge, its signature or the device is not accepted");
  }
  SECTION("a signature by another key or under another context") {
    SigningKeyPair other = GenerateSigningKeyPair(world.rng());
    std::vector<uint8_t> bytes(challenge.begin(), challenge.end());
    CHECK(create(device_id, challenge, Sign(other, SigningContext::kSession, bytes)).first.error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
    const std::string second = challenge_for(device_id);
    CHECK(create(device_id, second, sign(second, SigningContext::kEnrolment)).first.error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
  }
  SECTION("a challenge for another device, or a malformed one") {
    std::string other_id(16, '\x77');
    const std::string foreign = challenge_for(other_id);
    CHECK(create(device_id, foreign, sign(foreign)).first.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(create(device_id, "short", sign("short")).first.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(create("123", challenge, sign(challenge)).first.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    grpc::ClientContext context;
    trygg::v1::GetChallengeRequest bad;
    bad.set_device_id("x");
    trygg::v1::GetChallengeResponse response;
    CHECK(stub->GetChallenge(&context, bad, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("an expired session, an ended one, a forged token") {
    auto session = create(device_id, challenge, sign(challenge));
    REQUIRE(session.first.ok());
    auto who = [&](const std::string& token) {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + token);
      trygg::v1::WhoAmIResponse response;
      grpc::Status status = stub->WhoAmI(&context, {}, &response);
      UNSCOPED_INFO("WhoAmI: " << status.error_message());
      return status.error_code();
    };
    CHECK(who(session.second) == grpc::StatusCode::OK);
    CHECK(who(std::string(64, 'a')) == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(who("not-hex") == grpc::StatusCode::UNAUTHENTICATED);
    // The server's clock moves past the session's lifetime; nobody sleeps.
    world.AdvanceServerClock(std::chrono::seconds(50));
    CHECK(who(session.second) == grpc::StatusCode::OK);
    world.AdvanceServerClock(std::chrono::seconds(10));
    CHECK(who(session.second) == grpc::StatusCode::UNAUTHENTICATED);

    const std::string fresh = challenge_for(device_id);
    auto again = create(device_id, fresh, sign(fresh));
    REQUIRE(again.first.ok());
    // Used once, so that the server has it at hand (session_cache.h) when it
    // ends.
    CHECK(who(again.second) == grpc::StatusCode::OK);
    {
      grpc::ClientContext context;
      context.AddMetadata("authorization", "Bearer " + again.second);
      trygg::v1::EndSessionResponse response;
      REQUIRE(stub->EndSession(&context, {}, &response).ok());
    }
    CHECK(who(again.second) == grpc::StatusCode::UNAUTHENTICATED);
  }
  SECTION("tokens are stored only as hashes") {
    auto session = create(device_id, challenge, sign(challenge));
    REQUIRE(session.first.ok());
    world.server().Stop(SIGTERM);
    std::ifstream in(world.db_path(), std::ios::binary);
    std::string db((std::istreambuf_iterator<char>(in)), {});
    auto raw = HexDecode(session.second);
    REQUIRE(raw.ok());
    CHECK(db.find(Str(*raw)) == std::string::npos);
    CHECK(db.find(session.second) == std::string::npos);
  }
}

TEST_CASE("bad organisation log links get the right status and change nothing", "[trust]") {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Rådgivningsbyrån");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& other_admin = world.AdmitOrganisation("Annan förening");
  auto state = admin.client->FetchOrgLog(admin.keys.org_id);
  REQUIRE(state.ok());
  const OrgLogHead before = state->head();

  auto next = [&](const TestDevice& signer) {
    OrgLogLink link;
    link.org_id = admin.keys.org_id;
    link.seq = before.seq + 1;
    link.prev_hash = before.hash;
    link.created_at_ms = world.clock().NowUnixMillis();
    link.signer_device = signer.keys.device_id;
    link.action = OrgLogAction::kChangeRole;
    link.device_id = anna.keys.device_id;
    link.role = Role::kOrgAdmin;
    return link;
  };
  auto code = [&](Client& client, const SignedObject& link) {
    return client.AppendOrgLogLink(admin.keys.org_id, link).status().code();
  };
  const SigningKeyPair& admin_key = admin.keys.device.signing();

  CHECK(code(*anna.client, SignOrgLogLink(next(anna), anna.keys.device.signing())) ==
        absl::StatusCode::kPermissionDenied);
  CHECK(code(*other_admin.client, SignOrgLogLink(next(other_admin), other_admin.keys.device.signing())) ==
        absl::StatusCode::kPermissionDenied);
  OrgLogLink stale = next(admin);
  stale.seq = before.seq;  // someone else appended first
  CHECK(code(*admin.client, SignOrgLogLink(stale, admin_key)) == absl::StatusCode::kAborted);
  OrgLogLink ahead = next(admin);
  ahead.seq += 5;
  CHECK(code(*admin.client, SignOrgLogLink(ahead, admin_key)) == absl::StatusCode::kAborted);
  OrgLogLink wrong_prev = next(admin);
  wrong_prev.prev_hash.data()[3] ^= 1;
  CHECK(code(*admin.client, SignOrgLogLink(wrong_prev, admin_key)) == absl::StatusCode::kInvalidArgument);
  SignedObject bad_signature = SignOrgLogLink(next(admin), admin_key);
  bad_signature.signature.data()[0] ^= 1;
  CHECK(code(*admin.client, bad_signature) == absl::StatusCode::kPermissionDenied);
  OrgLogLink revoke_self = next(admin);
  revoke_self.action = OrgLogAction::kRevokeDevice;
  revoke_self.device_id = admin.keys.device_id;
  CHECK(code(*admin.client, SignOrgLogLink(revoke_self, admin_key)) == absl::StatusCode::kFailedPrecondition);
  SignedObject truncated = SignOrgLogLink(next(admin), admin_key);
  truncated.bytes.resize(20);
  CHECK(code(*admin.client, truncated) == absl::StatusCode::kInvalidArgument);

  auto after = admin.client->FetchOrgLog(admin.keys.org_id);
  REQUIRE(after.ok());
  CHECK(after->head().seq == before.seq);
  CHECK(after->head().hash == before.hash);

  // A valid link goes in, and resending it is harmless.
  SignedObject good = SignOrgLogLink(next(admin), admin_key);
  CHECK(admin.client->AppendOrgLogLink(admin.keys.org_id, good).value() == before.seq + 1);
  CHECK(admin.client->AppendOrgLogLink(admin.keys.org_id, good).value() == before.seq + 1);
}

TEST_CASE("enrolment requests: self-signed, for a known organisation, once per device", "[trust]") {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Uppsökande verksamhet");
  auto client = world.NewClient();
  DeviceKeys keys = DeviceKeys::Generate(world.rng());
  EnrolmentRequest request;
  request.org_id = admin.keys.org_id;
  request.device_id = Id128(std::array<uint8_t, 16>{0x42});
  request.sign_key = keys.signing().public_key;
  request.box_key = keys.box().public_key;
  request.created_at_ms = 1;
  auto signed_request = SignEnrolmentRequest(request, keys.signing());
  REQUIRE(signed_request.ok());
  auto id = client->SubmitEnrolment(*signed_request);
  REQUIRE(id.ok());
  CHECK(client->SubmitEnrolment(*signed_request).value() == *id);  // resend

  SignedObject forged = *signed_request;
  forged.signature.data()[5] ^= 1;
  CHECK(client->SubmitEnrolment(forged).status().code() == absl::StatusCode::kInvalidArgument);
  EnrolmentRequest elsewhere = request;
  elsewhere.org_id = Id128(std::array<uint8_t, 16>{0x99});
  CHECK(client->SubmitEnrolment(*SignEnrolmentRequest(elsewhere, keys.signing())).status().code() ==
        absl::StatusCode::kNotFound);
  EnrolmentRequest changed = request;
  changed.label = "changed";
  CHECK(client->SubmitEnrolment(*SignEnrolmentRequest(changed, keys.signing())).status().code() ==
        absl::StatusCode::kAlreadyExists);
  EnrolmentRequest existing = request;
  existing.device_id = admin.keys.device_id;
  CHECK(client->SubmitEnrolment(*SignEnrolmentRequest(existing, keys.signing())).status().code() ==
        absl::StatusCode::kAlreadyExists);

  auto pending = admin.client->ListEnrolments();
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  CHECK(pending->front().enrolment_id == *id);
  // Before approval there is nothing to pick up, and no session to be had.
  CHECK(client->GetKeyEnvelopes(*id)->empty());
  CHECK(client->GetKeyEnvelopes(Id128(std::array<uint8_t, 16>{7})).status().code() == absl::StatusCode::kNotFound);
  CHECK(client->Login(request.device_id, keys.signing()).status().code() == absl::StatusCode::kUnauthenticated);
  REQUIRE(ApproveEnrolment(*admin.client, admin.keys, pending->front(), world.clock(), world.rng()).ok());
  CHECK(client->GetKeyEnvelopes(*id)->size() == 1);
  CHECK(admin.client->ListEnrolments()->empty());
}

// --- The malicious server ------------------------------------------------

struct MaliciousFixture {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Nord");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& bo = world.AddDevice(admin, Role::kCaseworker);
  std::string org_hex = HexLiteral(admin.keys.org_id.span());

  // Anna's client has verified the log as it is now.
  OrgLogHead Seen() {
    auto state = anna.client->FetchOrgLog(admin.keys.org_id);
    REQUIRE(state.ok());
    return state->head();
  }
  absl::Status AnnaFetches() { return anna.client->FetchOrgLog(admin.keys.org_id).status(); }
};

TEST_CASE("a server that rewrites the organisation log is caught by the client", "[trust][malicious]") {
  MaliciousFixture f;
  const OrgLogHead seen = f.Seen();
  REQUIRE(seen.seq >= 3);
  const std::string db = f.world.db_path();

  SECTION("a substituted device key") {
    // Swap Bo's signing key in his add-device link for one the server holds.
    SigningKeyPair server_held = GenerateSigningKeyPair(f.world.rng());
    Exec(db, "UPDATE org_log SET bytes = CAST(replace(bytes, " +
                 HexLiteral(f.bo.keys.device.signing().public_key.span()) + ", " +
                 HexLiteral(server_held.public_key.span()) + ") AS BLOB) WHERE org_id = " + f.org_hex);
    absl::Status status = f.AnnaFetches();
    CHECK(ReasonOf(status) == "BAD_SIGNATURE");
  }
  SECTION("a hidden revocation (the log rolled back)") {
    REQUIRE(RevokeDevice(*f.admin.client, f.admin.keys, f.bo.keys.device_id, f.world.clock(), f.world.rng()).ok());
    const OrgLogHead after_revoke = f.Seen();
    Exec(db, "DELETE FROM org_log WHERE org_id = " + f.org_hex + " AND seq > " + std::to_string(seen.seq));
    absl::Status status = f.AnnaFetches();
    CHECK(ReasonOf(status) == "ROLLBACK");
    CHECK(after_revoke.seq > seen.seq);
  }
  SECTION("an extra device signed by a key that is not an admin") {
    SigningKeyPair eve = GenerateSigningKeyPair(f.world.rng());
    OrgLogLink link;
    link.org_id = f.admin.keys.org_id;
    link.seq = seen.seq + 1;
    link.prev_hash = seen.hash;
    link.created_at_ms = f.world.clock().NowUnixMillis();
    link.signer_device = Id128(std::array<uint8_t, 16>{0xee});
    link.action = OrgLogAction::kAddDevice;
    link.device_id = Id128(std::array<uint8_t, 16>{0xef});
    link.sign_key = eve.public_key;
    SignedObject forged = SignOrgLogLink(link, eve);
    Exec(db, "INSERT INTO org_log (org_id, seq, bytes, signature) VALUES (" + f.org_hex + ", " +
                 std::to_string(link.seq) + ", " + HexLiteral(forged.bytes) + ", " +
                 HexLiteral(forged.signature.span()) + ")");
    CHECK(ReasonOf(f.AnnaFetches()) == "UNAUTHORISED_SIGNER");
  }
  SECTION("a forged link in the admin's name") {
    SigningKeyPair eve = GenerateSigningKeyPair(f.world.rng());
    OrgLogLink link;
    link.org_id = f.admin.keys.org_id;
    link.seq = seen.seq + 1;
    link.prev_hash = seen.hash;
    link.created_at_ms = f.world.clock().NowUnixMillis();
    link.signer_device = f.admin.keys.device_id;
    link.action = OrgLogAction::kAddDevice;
    link.device_id = Id128(std::array<uint8_t, 16>{0xef});
    link.sign_key = eve.public_key;
    SignedObject forged = SignOrgLogLink(link, eve);
    Exec(db, "INSERT INTO org_log (org_id, seq, bytes, signature) VALUES (" + f.org_hex + ", " +
                 std::to_string(link.seq) + ", " + HexLiteral(forged.bytes) + ", " +
                 HexLiteral(forged.signature.span()) + ")");
    CHECK(ReasonOf(f.AnnaFetches()) == "BAD_SIGNATURE");
  }
  SECTION("a link removed from the middle") {
    Exec(db, "DELETE FROM org_log WHERE org_id = " + f.org_hex + " AND seq = 2");
    // Anna's client has the log cached and asks only from its head on: it
    // keeps the link it verified before. A client without the cache reads the
    // whole log and is refused (threat-model.md, "organisation-log cache").
    auto cached = f.anna.client->FetchOrgLog(f.admin.keys.org_id);
    REQUIRE(cached.ok());
    CHECK(cached->head().seq == seen.seq);
    CHECK(cached->head().hash == seen.hash);
    auto uncached = f.world.ClientThrough(f.anna, f.world.address());
    CHECK(ReasonOf(uncached->FetchOrgLog(f.admin.keys.org_id).status()) == "BROKEN_CHAIN");
  }
  SECTION("another root's certificate") {
    SigningKeyPair fake_root = GenerateSigningKeyPair(f.world.rng());
    Exec(db, "UPDATE certificates SET signature = " +
                 HexLiteral(Sign(fake_root, SigningContext::kOrgCert, std::vector<uint8_t>{1}).span()) +
                 " WHERE subject_id = " + f.org_hex);
    CHECK(ReasonOf(f.AnnaFetches()) == "BAD_SIGNATURE");
  }
  SECTION("a substituted organisation key envelope") {
    // Re-seal a key the server chose to Anna, keeping the admin's header and
    // signature: the signature no longer covers the box.
    Exec(db, "DELETE FROM key_envelopes WHERE device_id = " + HexLiteral(f.anna.keys.device_id.span()));
    KeyStoreContents fresh{f.anna.keys.org_id, f.anna.keys.device_id,
                           DeviceKeys::FromSeeds(f.anna.keys.device.sign_seed(), f.anna.keys.device.box_seed()),
                           {}};
    OrgKey server_key = GenerateOrgKey(1, f.world.rng());
    GrantParams params{GrantKind::kOrgSeed, f.admin.keys.org_id, 1, f.admin.keys.device_id};
    auto grant = SealGrant(params, server_key.seed, f.anna.keys.device.box().public_key,
                           GenerateSigningKeyPair(f.world.rng()), f.world.clock(), f.world.rng());
    REQUIRE(grant.ok());
    Exec(db, "INSERT INTO key_envelopes (device_id, generation, header, sealed, signature, signer) VALUES (" +
                 HexLiteral(f.anna.keys.device_id.span()) + ", 1, " + HexLiteral(grant->header) + ", " +
                 HexLiteral(grant->sealed) + ", " + HexLiteral(grant->signature.span()) + ", " +
                 HexLiteral(f.admin.keys.device_id.span()) + ")");
    absl::StatusOr<int> received = ReceiveOrgKeys(*f.anna.client, fresh);
    CHECK(ReasonOf(received.status()) == "BAD_SIGNATURE");
    CHECK(fresh.org_keys.empty());
  }
}

// --- Authorisation matrix ------------------------------------------------

enum Who { kNobody, kRevoked, kCaseworkerOwn, kCaseworkerOther, kOrgAdmin, kCoordinator, kWhoCount };
constexpr const char* kWhoNames[] = {"unauthenticated", "revoked device", "caseworker (own org)",
                                     "caseworker (other org)", "org admin", "coordinator"};

struct Expectation {
  std::string method;  // /trygg.v1.Service/Method
  std::function<std::string()> request;
  std::array<grpc::StatusCode, kWhoCount> codes;
};

grpc::Status CallRaw(const std::string& address, const std::string& method, const std::string& request,
                     const std::string& token) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(status); });
  return done.get_future().get();
}

TEST_CASE("authorisation matrix: every RPC against every kind of caller", "[trust][authz]") {
  // Every RPC is called without a session and with a revoked one, far more
  // often than the per-address limit on such calls allows (limits_test.cc
  // tests that limit): it is turned off, so each call shows its own code.
  testing::TempDir config_dir;
  TrustWorld world(testing::ConfigArgs(config_dir, "[limits]\nunauthenticated_calls_per_second = 0\n"));
  TestDevice& admin = world.AdmitOrganisation("Egen organisation");
  TestDevice& caseworker = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& revoked = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& other_admin = world.AdmitOrganisation("Annan organisation");
  TestDevice& other_caseworker = world.AddDevice(other_admin, Role::kCaseworker);
  TestDevice& coordinator = world.AddCoordinator("Samordnare");

  std::array<std::string, kWhoCount> tokens;
  tokens[kRevoked] = RawLogin(world.address(), revoked);
  REQUIRE(RevokeDevice(*admin.client, admin.keys, revoked.keys.device_id, world.clock(), world.rng()).ok());
  tokens[kCaseworkerOwn] = RawLogin(world.address(), caseworker);
  tokens[kCaseworkerOther] = RawLogin(world.address(), other_caseworker);
  tokens[kOrgAdmin] = RawLogin(world.address(), admin);
  tokens[kCoordinator] = RawLogin(world.address(), coordinator);

  auto state = admin.client->FetchOrgLog(admin.keys.org_id);
  REQUIRE(state.ok());
  CaseClient cases(*caseworker.client, caseworker.keys, world.clock(), world.rng());
  auto case_id = cases.CreateCase(std::vector<uint8_t>{'x'}, 1);
  REQUIRE(case_id.ok());
  auto case_request = [&] {
    trygg::v1::GetCaseRequest request;
    request.set_case_id(Str(case_id->span()));
    return request.SerializeAsString();
  };
  auto put_grants_request = [&] {
    trygg::v1::PutGrantsRequest request;
    request.set_case_id(Str(case_id->span()));
    return request.SerializeAsString();
  };
  auto erase_request = [&] {
    // Signed by the owning organisation's caseworker: the one caller that may erase.
    ErasureStatement statement{*case_id, world.clock().NowUnixMillis(), caseworker.keys.device_id};
    auto signed_statement = SignErasureStatement(statement, caseworker.keys.device.signing());
    REQUIRE(signed_statement.ok());
    trygg::v1::EraseCaseRequest request;
    request.set_case_id(Str(case_id->span()));
    request.mutable_statement()->set_bytes(Str(signed_statement->bytes));
    request.mutable_statement()->set_signature(Str(signed_statement->signature.span()));
    request.mutable_statement()->set_signer_id(Str(caseworker.keys.device_id.span()));
    return request.SerializeAsString();
  };
  auto consents_request = [&] {
    trygg::v1::ListConsentsRequest request;
    request.set_case_id(Str(case_id->span()));
    return request.SerializeAsString();
  };
  // A referral from the caseworker's organisation to a listing of the other
  // organisation: both organisations may see it, nobody else.
  Listing legal;
  legal.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  legal.regions = {"SE-AB"};
  legal.response_time_hours = 24;
  auto legal_listing = DirectoryClient(*other_admin.client, other_admin.keys, world.clock(), world.rng()).Publish(legal);
  REQUIRE(legal_listing.ok());
  ReferralClient referrals(*caseworker.client, caseworker.keys, cases, world.clock(), world.rng());
  ConsentTerms terms{*case_id, other_admin.keys.org_id, ServiceBit(2), ConsentPurpose::kReferralForServices,
                     world.clock().NowUnixMillis() + 86400000, {'o', 'k'}};
  auto consent_id = referrals.RecordConsent(terms);
  REQUIRE(consent_id.ok());
  ReferralDraft draft;
  draft.case_id = *case_id;
  draft.listing_id = legal_listing->listing.listing_id;
  draft.to_org = other_admin.keys.org_id;
  draft.service = legal.category;
  draft.consent_id = *consent_id;
  draft.packet = {'p'};
  auto referral_id = referrals.Refer(draft);
  INFO(referral_id.status().ToString());
  REQUIRE(referral_id.ok());
  auto referral_request = [&] {
    trygg::v1::GetReferralRequest request;
    request.set_referral_id(Str(referral_id->span()));
    return request.SerializeAsString();
  };
  auto head_link = [&] {
    // Resending the stored head link: a no-op for its admin, so the matrix
    // can call it once per kind of caller.
    auto log = admin.client->FetchOrgLog(admin.keys.org_id);
    REQUIRE(log.ok());
    trygg::v1::GetOrgLogRequest get;
    get.set_org_id(Str(admin.keys.org_id.span()));
    get.set_from_seq(log->seq());
    auto stub = trygg::v1::TrustService::NewStub(grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + tokens[kOrgAdmin]);
    trygg::v1::GetOrgLogResponse got;
    REQUIRE(stub->GetOrgLog(&context, get, &got).ok());
    REQUIRE(got.links_size() == 1);
    trygg::v1::AppendOrgLogLinkRequest request;
    request.set_org_id(get.org_id());
    *request.mutable_link() = got.links(0);
    return request.SerializeAsString();
  };
  auto org_request = [&] {
    trygg::v1::GetOrgLogRequest request;
    request.set_org_id(Str(admin.keys.org_id.span()));
    return request.SerializeAsString();
  };
  auto envelope_request = [&] {
    // The admin's own envelope for the current generation, resent.
    auto envelopes = admin.client->GetKeyEnvelopes(std::nullopt);
    REQUIRE(envelopes.ok());
    REQUIRE_FALSE(envelopes->empty());
    const KeyEnvelope& e = envelopes->back();
    trygg::v1::PutKeyEnvelopesRequest request;
    trygg::v1::KeyEnvelope* out = request.add_envelopes();
    out->set_device_id(Str(e.device_id.span()));
    out->set_generation(e.generation);
    std::vector<uint8_t> bytes = e.grant.header;
    bytes.insert(bytes.end(), e.grant.sealed.begin(), e.grant.sealed.end());
    out->mutable_sealed_seed()->set_bytes(Str(bytes));
    out->mutable_sealed_seed()->set_signature(Str(e.grant.signature.span()));
    out->mutable_sealed_seed()->set_signer_id(Str(e.signer_device.span()));
    return request.SerializeAsString();
  };
  int enrolment_counter = 0;
  auto enrolment_request = [&] {
    DeviceKeys keys = DeviceKeys::Generate(world.rng());
    EnrolmentRequest request;
    request.org_id = admin.keys.org_id;
    request.device_id = Id128(std::array<uint8_t, 16>{0x70, static_cast<uint8_t>(++enrolment_counter)});
    request.sign_key = keys.signing().public_key;
    request.box_key = keys.box().public_key;
    auto signed_request = SignEnrolmentRequest(request, keys.signing());
    trygg::v1::SubmitEnrolmentRequestRequest out;
    out.set_org_id(Str(request.org_id.span()));
    out.mutable_request()->set_bytes(Str(signed_request->bytes));
    out.mutable_request()->set_signature(Str(signed_request->signature.span()));
    return out.SerializeAsString();
  };
  auto certificate_request = [&] {
    trygg::v1::ListOrganisationsResponse orgs;
    auto stub = trygg::v1::TrustService::NewStub(grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + tokens[kOrgAdmin]);
    REQUIRE(stub->ListOrganisations(&context, {}, &orgs).ok());
    trygg::v1::UploadCertificateRequest request;
    request.set_kind(trygg::v1::CERTIFICATE_KIND_ORGANISATION);
    *request.mutable_certificate() = orgs.organisations(0).certificate();
    return request.SerializeAsString();
  };
  auto challenge_request = [&] {
    trygg::v1::GetChallengeRequest request;
    request.set_device_id(Str(admin.keys.device_id.span()));
    return request.SerializeAsString();
  };
  auto empty = [] { return std::string(); };
  // A listing of the admin's organisation, signed by the admin; the publish
  // is resent by each caller (a no-op for the admin after the first time).
  Listing listing;
  world.rng().Fill(listing.listing_id.span());
  listing.org_id = admin.keys.org_id;
  listing.created_at_ms = world.clock().NowUnixMillis();
  listing.signer_device = admin.keys.device_id;
  listing.category = static_cast<uint8_t>(ServiceCategory::kShelter);
  listing.response_time_hours = 24;
  listing.regions = {"SE-AB"};
  auto signed_listing = SignListing(listing, admin.keys.device.signing());
  REQUIRE(signed_listing.ok());
  auto with_listing_id = [&](auto request) {
    request.set_listing_id(Str(listing.listing_id.span()));
    return request.SerializeAsString();
  };
  auto publish_request = [&] {
    trygg::v1::PublishListingRequest request;
    request.mutable_listing()->mutable_signed_()->set_bytes(Str(signed_listing->bytes));
    request.mutable_listing()->mutable_signed_()->set_signature(Str(signed_listing->signature.span()));
    return request.SerializeAsString();
  };
  auto capacity_request = [&] {
    CapacityUpdate update{listing.listing_id, listing.org_id, 1, 3, listing.created_at_ms + 1, admin.keys.device_id};
    auto signed_update = SignCapacityUpdate(update, admin.keys.device.signing());
    trygg::v1::UpdateCapacityRequest request;
    request.mutable_signed_()->set_bytes(Str(signed_update->bytes));
    request.mutable_signed_()->set_signature(Str(signed_update->signature.span()));
    return with_listing_id(request);
  };
  auto retire_request = [&] {
    Retirement retirement{listing.listing_id, listing.org_id, 1, listing.created_at_ms + 2, admin.keys.device_id};
    SignedObject signed_retirement = SignRetirement(retirement, admin.keys.device.signing());
    trygg::v1::RetireListingRequest request;
    request.mutable_signed_()->set_bytes(Str(signed_retirement.bytes));
    request.mutable_signed_()->set_signature(Str(signed_retirement.signature.span()));
    return with_listing_id(request);
  };
  auto get_listing_request = [&] { return with_listing_id(trygg::v1::GetListingRequest()); };
  auto inclusion_request = [] {
    trygg::v1::GetInclusionProofRequest request;
    request.set_leaf_index(0);
    request.set_tree_size(2);
    return request.SerializeAsString();
  };
  auto consistency_request = [] {
    trygg::v1::GetConsistencyProofRequest request;
    request.set_first_size(1);
    request.set_second_size(2);
    return request.SerializeAsString();
  };

  using C = grpc::StatusCode;
  constexpr C OK = C::OK, UNAUTH = C::UNAUTHENTICATED, DENIED = C::PERMISSION_DENIED, BAD = C::INVALID_ARGUMENT,
            NOT_FOUND = C::NOT_FOUND;
  //                                                                   nobody  revoked  cw-own  cw-other admin  coord
  std::vector<Expectation> table = {
      {"/trygg.v1.TrustService/GetServerInfo", empty, {OK, OK, OK, OK, OK, OK}},
      {"/trygg.v1.TrustService/UploadCertificate", certificate_request, {OK, OK, OK, OK, OK, OK}},
      {"/trygg.v1.TrustService/ListOrganisations", empty, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.TrustService/AppendOrgLogLink", head_link, {UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED}},
      {"/trygg.v1.TrustService/GetOrgLog", org_request, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.TrustService/SubmitEnrolmentRequest", enrolment_request, {OK, OK, OK, OK, OK, OK}},
      {"/trygg.v1.TrustService/ListEnrolmentRequests", empty, {UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED}},
      {"/trygg.v1.TrustService/PutKeyEnvelopes", envelope_request, {UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED}},
      {"/trygg.v1.TrustService/GetKeyEnvelopes", empty, {BAD, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.SessionService/GetChallenge", challenge_request, {OK, OK, OK, OK, OK, OK}},
      {"/trygg.v1.SessionService/CreateSession", empty, {BAD, BAD, BAD, BAD, BAD, BAD}},
      {"/trygg.v1.SessionService/WhoAmI", empty, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.CaseService/CreateCase", empty, {UNAUTH, UNAUTH, BAD, BAD, BAD, BAD}},
      {"/trygg.v1.CaseService/AppendCaseVersion", empty, {UNAUTH, UNAUTH, BAD, BAD, BAD, BAD}},
      {"/trygg.v1.CaseService/GetCase", case_request, {UNAUTH, UNAUTH, OK, NOT_FOUND, OK, DENIED}},
      {"/trygg.v1.CaseService/ListCases", empty, {UNAUTH, UNAUTH, OK, OK, OK, DENIED}},
      // No grants: the caller's own organisation reaches the check that needs them.
      {"/trygg.v1.CaseService/PutGrants", put_grants_request, {UNAUTH, UNAUTH, BAD, NOT_FOUND, BAD, DENIED}},
      // Signed consent objects are parsed before the caller's role is weighed.
      {"/trygg.v1.CaseService/RecordConsent", empty, {UNAUTH, UNAUTH, BAD, BAD, BAD, BAD}},
      {"/trygg.v1.CaseService/WithdrawConsent", empty, {UNAUTH, UNAUTH, BAD, BAD, BAD, BAD}},
      {"/trygg.v1.CaseService/ListConsents", consents_request, {UNAUTH, UNAUTH, OK, NOT_FOUND, OK, DENIED}},
      {"/trygg.v1.ReferralService/CreateReferral", empty, {UNAUTH, UNAUTH, BAD, BAD, BAD, BAD}},
      {"/trygg.v1.ReferralService/GetReferral", referral_request, {UNAUTH, UNAUTH, OK, OK, OK, DENIED}},
      {"/trygg.v1.ReferralService/TransitionReferral", empty, {UNAUTH, UNAUTH, BAD, BAD, BAD, BAD}},
      {"/trygg.v1.ReferralService/ListInbox", empty, {UNAUTH, UNAUTH, OK, OK, OK, DENIED}},
      {"/trygg.v1.ReferralService/ListOutbox", empty, {UNAUTH, UNAUTH, OK, OK, OK, DENIED}},
      {"/trygg.v1.DirectoryService/PublishListing", publish_request, {UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED}},
      {"/trygg.v1.DirectoryService/UpdateCapacity", capacity_request, {UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED}},
      {"/trygg.v1.DirectoryService/GetListing", get_listing_request, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.DirectoryService/SearchListings", empty, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.DirectoryService/ExportHsds", empty, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.DirectoryService/RetireListing", retire_request, {UNAUTH, UNAUTH, DENIED, DENIED, OK, DENIED}},
      // Hashes only for every device; entries filtered by organisation
      // (member devices) or whole (coordinators): audit_server_test.
      {"/trygg.v1.AuditService/GetSignedTreeHead", empty, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.AuditService/GetInclusionProof", inclusion_request, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.AuditService/GetConsistencyProof", consistency_request, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
      {"/trygg.v1.AuditService/ListEntries", empty, {UNAUTH, UNAUTH, OK, OK, OK, OK}},
  };
  // Every RPC of the API is in the table, or not built yet (UNIMPLEMENTED
  // for everyone); EndSession runs last since it ends the session.
  std::set<std::string> listed;
  for (const Expectation& e : table) listed.insert(e.method);
  listed.insert("/trygg.v1.SessionService/EndSession");
  listed.insert("/trygg.v1.CaseService/EraseCase");
  // One message of each API file, so its descriptors are linked in.
  const std::vector<std::pair<std::string, const google::protobuf::FileDescriptor*>> files = {
      {"trygg.v1.TrustService", trygg::v1::GetServerInfoRequest::descriptor()->file()},
      {"trygg.v1.SessionService", trygg::v1::WhoAmIRequest::descriptor()->file()},
      {"trygg.v1.CaseService", trygg::v1::GetCaseRequest::descriptor()->file()},
      {"trygg.v1.ReferralService", trygg::v1::GetReferralRequest::descriptor()->file()},
      {"trygg.v1.DirectoryService", trygg::v1::GetListingRequest::descriptor()->file()},
      {"trygg.v1.AuditService", trygg::v1::ListEntriesRequest::descriptor()->file()},
  };
  for (const auto& [service_name, file] : files) {
    const google::protobuf::ServiceDescriptor* service = file->pool()->FindServiceByName(service_name);
    REQUIRE(service != nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      const std::string path = "/" + std::string(service_name) + "/" + method->name();
      if (listed.count(path) || method->client_streaming() || method->server_streaming()) continue;
      table.push_back({path, empty, {C::UNIMPLEMENTED, C::UNIMPLEMENTED, C::UNIMPLEMENTED, C::UNIMPLEMENTED,
                                     C::UNIMPLEMENTED, C::UNIMPLEMENTED}});
    }
  }
  // Erasure runs once: the caseworker of the owning organisation erases, and
  // after that the case is gone for its admin too.
  table.push_back({"/trygg.v1.CaseService/EraseCase", erase_request, {UNAUTH, UNAUTH, OK, NOT_FOUND, NOT_FOUND, DENIED}});
  table.push_back({"/trygg.v1.SessionService/EndSession", empty, {UNAUTH, UNAUTH, OK, OK, OK, OK}});

  for (const Expectation& e : table) {
    for (int who = 0; who < kWhoCount; ++who) {
      grpc::Status status = CallRaw(world.address(), e.method, e.request(), tokens[who]);
      INFO(e.method << " as " << kWhoNames[who] << ": " << status.error_message());
      CHECK(status.error_code() == e.codes[who]);
    }
  }
}

}  // namespace
}  // namespace trygg
