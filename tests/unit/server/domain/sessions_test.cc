// SPDX-License-Identifier: Apache-2.0

// Sessions (server/domain/sessions.cc) in process: a challenge is single use,
// bound to this server and to one device, and expires; a session expires, ends
// and dies with its device's revocation. Time passes by advancing the
// FixedClock, never by sleeping.
#include "server/domain/sessions.h"

#include <array>
#include <catch2/catch.hpp>

#include "server/domain/trust_tables.h"
#include "trygg/trust.h"
#include "unit/server/domain/domain_world.h"

namespace trygg::domain_test {
namespace {

using domain::Transaction;

constexpr int64_t kChallengeTtl = 2 * 60 * 1000;
constexpr int64_t kSessionTtl = 30 * 60 * 1000;

struct SessionsFixture {
  DomainWorld world;
  WorldOrg& org = world.AdmitOrganisation("Org A");
  WorldDevice& worker = world.AddDevice(org, Role::kCaseworker);

  absl::StatusOr<std::vector<uint8_t>> Challenge(const Id128& device_id) {
    return world.Write([&](Transaction& txn) { return world.sessions().IssueChallenge(txn, device_id); });
  }
  SignedObject SignChallenge(const WorldDevice& device, const std::vector<uint8_t>& challenge) {
    return SignedObject{challenge, Sign(device.signing(), SigningContext::kSession, challenge)};
  }
  absl::StatusOr<domain::IssuedSession> Create(const Id128& device_id, const SignedObject& signed_challenge) {
    return world.Write(
        [&](Transaction& txn) { return world.sessions().CreateSession(txn, device_id, signed_challenge); });
  }
  absl::StatusOr<domain::IssuedSession> Login(const WorldDevice& device) {
    auto challenge = Challenge(device.device_id);
    REQUIRE(challenge.ok());
    return Create(device.device_id, SignChallenge(device, *challenge));
  }
  absl::StatusOr<domain::Caller> Who(const std::string& token) {
    return world.Read([&](Transaction& txn) { return world.sessions().Authenticate(txn, token); });
  }
};

TEST_CASE_METHOD(SessionsFixture, "a signed fresh challenge gives a session that names its device", "[session]") {
  const uint64_t audit_before = world.AuditSize();
  auto session = Login(worker);
  INFO(session.status().ToString());
  REQUIRE(session.ok());
  CHECK(session->expires_at_ms == kWorldStartMs + kSessionTtl);
  CHECK(world.AuditSize() == audit_before + 1);
  auto caller = Who(session->token);
  REQUIRE(caller.ok());
  CHECK(caller->device_id == worker.device_id);
  CHECK(caller->org_id == org.org_id);
  CHECK(caller->role == Role::kCaseworker);
  CHECK(caller->session_expires_at_ms == session->expires_at_ms);
  // Only the token's hash is stored.
  CHECK(world.Snapshot().find(session->token) == std::string::npos);
}

TEST_CASE_METHOD(SessionsFixture, "every kind of bad login is the same UNAUTHENTICATED and stores nothing",
                 "[session]") {
  auto challenge = Challenge(worker.device_id);
  REQUIRE(challenge.ok());
  // One refusal for all, so that none tells whether a device id exists.
  auto refused = [&](const absl::StatusOr<domain::IssuedSession>& result) {
    INFO(result.status().ToString());
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(result.status().message() == "no session: the challenge, its signature or the device is not accepted");
  };
  WorldDevice& other = world.AddDevice(org, Role::kCaseworker);
  const std::string with_other = world.Snapshot();
  // Refused before anything is written (the challenge is taken last), so
  // the writer never has to undo one and run its batch again.
  const uint64_t retries = world.BatchRetries();

  SECTION("signed by another device's key") { refused(Create(worker.device_id, SignChallenge(other, *challenge))); }
  SECTION("for another device") { refused(Create(other.device_id, SignChallenge(other, *challenge))); }
  SECTION("an unknown device") {
    WorldDevice& stranger = world.Stranger(org.org_id, Role::kCaseworker);
    auto foreign = Challenge(stranger.device_id);
    REQUIRE(foreign.ok());
    const std::string issued = world.Snapshot();
    refused(Create(stranger.device_id, SignChallenge(stranger, *foreign)));
    CHECK(world.Snapshot() == issued);
    return;
  }
  SECTION("a challenge this server did not issue") {
    SessionChallenge forged;
    forged.server_instance_id = world.instance_id();
    forged.device_id = worker.device_id;
    forged.nonce.fill(7);
    forged.issued_at_ms = world.clock().NowUnixMillis();
    forged.expires_at_ms = forged.issued_at_ms + kChallengeTtl;
    refused(Create(worker.device_id, SignChallenge(worker, SerializeSessionChallenge(forged))));
  }
  SECTION("a challenge for another server") {
    auto parsed = ParseSessionChallenge(*challenge);
    REQUIRE(parsed.ok());
    parsed->server_instance_id = Id128(std::array<uint8_t, 16>{9});
    refused(Create(worker.device_id, SignChallenge(worker, SerializeSessionChallenge(*parsed))));
  }
  SECTION("an expired challenge (the clock moves, nobody sleeps)") {
    world.clock().Advance(kChallengeTtl);
    refused(Create(worker.device_id, SignChallenge(worker, *challenge)));
  }
  SECTION("malformed bytes") { refused(Create(worker.device_id, SignChallenge(worker, {1, 2, 3}))); }
  SECTION("a revoked device") {
    world.Revoke(org, other);
    auto fresh = Challenge(other.device_id);
    REQUIRE(fresh.ok());
    const std::string revoked = world.Snapshot();
    refused(Create(other.device_id, SignChallenge(other, *fresh)));
    CHECK(world.Snapshot() == revoked);
    CHECK(world.BatchRetries() == retries);
    return;
  }
  CHECK(world.Snapshot() == with_other);
  CHECK(world.BatchRetries() == retries);
}

TEST_CASE_METHOD(SessionsFixture, "a challenge is single use", "[session]") {
  auto challenge = Challenge(worker.device_id);
  REQUIRE(challenge.ok());
  const SignedObject signed_challenge = SignChallenge(worker, *challenge);
  REQUIRE(Create(worker.device_id, signed_challenge).ok());
  const std::string before = world.Snapshot();
  TRYGG_CHECK_CODE(Create(worker.device_id, signed_challenge), absl::StatusCode::kUnauthenticated);
  CHECK(world.Snapshot() == before);
}

TEST_CASE_METHOD(SessionsFixture, "a challenge is still good one millisecond before it expires", "[session]") {
  auto challenge = Challenge(worker.device_id);
  REQUIRE(challenge.ok());
  world.clock().Advance(kChallengeTtl - 1);
  CHECK(Create(worker.device_id, SignChallenge(worker, *challenge)).ok());
}

TEST_CASE_METHOD(SessionsFixture, "a session expires at its time, without sleeping", "[session]") {
  auto session = Login(worker);
  REQUIRE(session.ok());
  world.clock().Advance(kSessionTtl - 1);
  CHECK(Who(session->token).ok());
  world.clock().Advance(1);
  auto expired = Who(session->token);
  CHECK(expired.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(expired.status().message() == "the session has expired");
  // By its hash too (what open streams hold).
  auto hash = domain::Sessions::TokenHash(session->token);
  REQUIRE(hash.ok());
  TRYGG_CHECK_CODE(
      world.Read([&](Transaction& txn) { return world.sessions().AuthenticateTokenHash(txn, *hash); }),
      absl::StatusCode::kUnauthenticated);
  // A new login after expiry works.
  CHECK(Login(worker).ok());
}

TEST_CASE_METHOD(SessionsFixture, "an ended session, a revoked device and a forged token are refused",
                 "[session]") {
  auto session = Login(worker);
  REQUIRE(session.ok());
  SECTION("ended") {
    REQUIRE(world.Write([&](Transaction& txn) { return world.sessions().EndSession(txn, session->token); }).ok());
    TRYGG_CHECK_CODE(Who(session->token), absl::StatusCode::kUnauthenticated);
  }
  SECTION("revoked: its sessions end with the revocation") {
    world.Revoke(org, worker);
    TRYGG_CHECK_CODE(Who(session->token), absl::StatusCode::kUnauthenticated);
  }
  SECTION("forged or malformed") {
    TRYGG_CHECK_CODE(Who(std::string(64, 'a')), absl::StatusCode::kUnauthenticated);
    TRYGG_CHECK_CODE(Who("not-hex"), absl::StatusCode::kUnauthenticated);
    TRYGG_CHECK_CODE(Who(session->token.substr(2)), absl::StatusCode::kUnauthenticated);
    CHECK(Who(session->token).ok());
  }
}

TEST_CASE_METHOD(SessionsFixture, "CountLive counts sessions until they end or expire", "[session]") {
  auto live = [&] {
    auto count = world.Read([&](Transaction& txn) { return world.sessions().CountLive(txn); });
    REQUIRE(count.ok());
    return *count;
  };
  const int64_t before = live();
  auto first = Login(worker);
  REQUIRE(first.ok());
  world.clock().Advance(1000);
  auto second = Login(worker);
  REQUIRE(second.ok());
  CHECK(live() == before + 2);
  REQUIRE(world.Write([&](Transaction& txn) { return world.sessions().EndSession(txn, first->token); }).ok());
  CHECK(live() == before + 1);
  // The second one expires 1 s after the first would have.
  world.clock().Advance(kSessionTtl - 1000);
  CHECK(live() == before + 1);
  world.clock().Advance(1000);
  CHECK(live() == 0);
}

TEST_CASE_METHOD(SessionsFixture, "every kind of caller gets a session with its own role", "[session]") {
  WorldDevice& coordinator = world.AddCoordinator("Samordnare");
  for (const WorldDevice* device : std::vector<const WorldDevice*>{org.admin, &worker, &coordinator}) {
    auto session = Login(*device);
    REQUIRE(session.ok());
    auto caller = Who(session->token);
    REQUIRE(caller.ok());
    CHECK(caller->role == device->role);
    CHECK(caller->org_id == device->org_id);
  }
}

TEST_CASE_METHOD(SessionsFixture, "a challenge is issued for any well-formed id, known or not", "[session]") {
  WorldDevice& stranger = world.Stranger(org.org_id, Role::kCaseworker);
  auto known = Challenge(worker.device_id);
  auto unknown = Challenge(stranger.device_id);
  REQUIRE(known.ok());
  REQUIRE(unknown.ok());
  CHECK(known->size() == unknown->size());
  auto parsed = ParseSessionChallenge(*unknown);
  REQUIRE(parsed.ok());
  CHECK(parsed->server_instance_id == world.instance_id());
  CHECK(parsed->expires_at_ms == kWorldStartMs + kChallengeTtl);
}

// Issue 12: anyone may ask for a challenge, so live challenges are bounded,
// and the expiry loop deletes expired ones even when no one asks again.
TEST_CASE_METHOD(SessionsFixture, "live challenges are bounded, and expired ones count for nothing and are deleted",
                 "[session][limits]") {
  domain::SessionPolicy policy;
  policy.max_live_challenges = 2;
  const domain::Sessions sessions(world.instance_id(), policy, world.clock(), world.rng());
  auto issue = [&](const Id128& device_id) {
    return world.Write([&](Transaction& txn) { return sessions.IssueChallenge(txn, device_id); });
  };
  REQUIRE(issue(worker.device_id).ok());
  world.clock().Advance(1000);
  REQUIRE(issue(world.NewId(0x51)).ok());
  // An expired challenge is still stored when the next is refused: counted
  // first, the refusal deletes nothing, so the store has nothing to undo.
  std::array<uint8_t, 32> expired_nonce{};
  expired_nonce.fill(0x77);
  REQUIRE(world.Write([&](Transaction& txn) {
                 return txn.trust().InsertChallenge(expired_nonce, worker.device_id, world.clock().NowUnixMillis() - 1);
               }).ok());
  const uint64_t retries = world.BatchRetries();
  RefusedUnchanged(world, absl::StatusCode::kResourceExhausted, [&] { return issue(worker.device_id); });
  CHECK(world.BatchRetries() == retries);

  // The first expires: its place is free again.
  world.clock().Advance(kChallengeTtl - 1000);
  CHECK(issue(world.NewId(0x52)).ok());
  CHECK(world.Rows("challenges") == 2);  // and the expired ones are gone

  // A flood that stops leaves nothing behind once the loop has run.
  world.clock().Advance(kChallengeTtl);
  CHECK(world.Write([&](Transaction& txn) { return sessions.DeleteExpired(txn); }).ok());
  CHECK(world.Rows("challenges") == 0);
}

}  // namespace
}  // namespace trygg::domain_test
