// SPDX-License-Identifier: Apache-2.0

// A malicious member organisation against platform-wide device identities:
// the admin of one organisation signs organisation log links and enrolment
// requests with the library's own signing code, naming devices and keys of
// another organisation, and sends them to a real tryggd. Each attack is
// refused with ALREADY_EXISTS (or the log's own refusal) and changes
// nothing: not the victim's device row, not the attacker's log, not who can
// sign in.
#include <catch2/catch.hpp>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/membership.h"
#include "trygg/org_log.h"

namespace trygg::adversarial_identity {
namespace {

using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::string Hex(const Id128& id) { return "x'" + HexEncode(id.span()) + "'"; }

// The victim device's registry row, whole.
std::string DeviceRow(const TrustWorld& world, const Id128& device_id) {
  return testing::Snapshot(world.db_path(), "SELECT * FROM devices WHERE device_id = " + Hex(device_id));
}

// The next link of `admin`'s own organisation log, signed by `admin`.
struct LinkMaker {
  TrustWorld& world;
  TestDevice& admin;

  OrgLogLink Next(OrgLogAction action) {
    auto state = admin.client->FetchOrgLog(admin.keys.org_id);
    REQUIRE(state.ok());
    OrgLogLink link;
    link.org_id = admin.keys.org_id;
    link.seq = state->head().seq + 1;
    link.prev_hash = state->head().hash;
    link.created_at_ms = world.clock().NowUnixMillis();
    link.signer_device = admin.keys.device_id;
    link.action = action;
    return link;
  }
  absl::Status Append(const OrgLogLink& link) {
    return admin.client->AppendOrgLogLink(admin.keys.org_id, SignOrgLogLink(link, admin.keys.device.signing()))
        .status();
  }
  uint64_t HeadSeq() {
    auto state = admin.client->FetchOrgLog(admin.keys.org_id);
    REQUIRE(state.ok());
    return state->head().seq;
  }
};

struct TwoOrgs {
  TrustWorld world;
  TestDevice& mallory = world.AdmitOrganisation("Mallorys förening");
  TestDevice& victim_admin = world.AdmitOrganisation("Skyddat boende Nord");
  TestDevice& victim = world.AddDevice(victim_admin, Role::kCaseworker);
  LinkMaker maker{world, mallory};
};

}  // namespace

TEST_CASE("an admin cannot add another organisation's device id to its own log", "[adversarial][identity]") {
  TwoOrgs t;
  const std::string row_before = DeviceRow(t.world, t.victim.keys.device_id);
  const uint64_t head_before = t.maker.HeadSeq();

  // Fresh keys of Mallory's making, under the victim's device id: as an
  // admin of the victim's organisation this would let Mallory promote,
  // revoke or un-revoke it on the server.
  OrgLogLink link = t.maker.Next(OrgLogAction::kAddDevice);
  link.device_id = t.victim.keys.device_id;
  link.role = Role::kOrgAdmin;
  DeviceKeys own = DeviceKeys::Generate(t.world.rng());
  link.sign_key = own.signing().public_key;
  link.box_key = own.box().public_key;
  CHECK(t.maker.Append(link).code() == absl::StatusCode::kAlreadyExists);

  CHECK(DeviceRow(t.world, t.victim.keys.device_id) == row_before);
  CHECK(t.maker.HeadSeq() == head_before);
  auto me = t.victim.client->WhoAmI();
  REQUIRE(me.ok());
  CHECK(me->role == Role::kCaseworker);
  CHECK(me->org_id == t.victim_admin.keys.org_id);
}

TEST_CASE("an admin cannot un-revoke another organisation's stolen device", "[adversarial][identity]") {
  TwoOrgs t;
  // The victim organisation revokes its stolen laptop.
  REQUIRE(RevokeDevice(*t.victim_admin.client, t.victim_admin.keys, t.victim.keys.device_id, t.world.clock(),
                       t.world.rng())
              .ok());
  const std::string row_before = DeviceRow(t.world, t.victim.keys.device_id);
  REQUIRE(QueryInt(t.world.db_path(),
                   "SELECT revoked FROM devices WHERE device_id = " + Hex(t.victim.keys.device_id)) == 1);
  const uint64_t head_before = t.maker.HeadSeq();

  // Mallory, holding the stolen key store, re-adds the device with its own
  // keys to Mallory's log: the old upsert set revoked = 0.
  OrgLogLink link = t.maker.Next(OrgLogAction::kAddDevice);
  link.device_id = t.victim.keys.device_id;
  link.role = Role::kCaseworker;
  link.sign_key = t.victim.keys.device.signing().public_key;
  link.box_key = t.victim.keys.device.box().public_key;
  CHECK(t.maker.Append(link).code() == absl::StatusCode::kAlreadyExists);

  CHECK(DeviceRow(t.world, t.victim.keys.device_id) == row_before);
  CHECK(t.maker.HeadSeq() == head_before);
  auto login = t.victim.client->Login(t.victim.keys.device_id, t.victim.keys.device.signing());
  CHECK(login.status().code() == absl::StatusCode::kUnauthenticated);
}

TEST_CASE("an admin cannot register another device's signing key or box key as its own",
          "[adversarial][identity]") {
  TwoOrgs t;
  const uint64_t head_before = t.maker.HeadSeq();
  const int64_t devices_before = QueryInt(t.world.db_path(), "SELECT count(*) FROM devices");
  DeviceKeys own = DeviceKeys::Generate(t.world.rng());

  SECTION("the victim's signing key under a new id") {
    OrgLogLink link = t.maker.Next(OrgLogAction::kAddDevice);
    t.world.rng().Fill(link.device_id.span());
    link.sign_key = t.victim.keys.device.signing().public_key;
    link.box_key = own.box().public_key;
    CHECK(t.maker.Append(link).code() == absl::StatusCode::kAlreadyExists);
  }
  SECTION("the victim's box key under a new id") {
    // Grants sealed to "Mallory's device" would open on the victim's, and a
    // key id would no longer name one device.
    OrgLogLink link = t.maker.Next(OrgLogAction::kAddDevice);
    t.world.rng().Fill(link.device_id.span());
    link.sign_key = own.signing().public_key;
    link.box_key = t.victim.keys.device.box().public_key;
    CHECK(t.maker.Append(link).code() == absl::StatusCode::kAlreadyExists);
  }
  SECTION("the other organisation's admin key") {
    OrgLogLink link = t.maker.Next(OrgLogAction::kAddDevice);
    t.world.rng().Fill(link.device_id.span());
    link.sign_key = t.victim_admin.keys.device.signing().public_key;
    link.box_key = own.box().public_key;
    CHECK(t.maker.Append(link).code() == absl::StatusCode::kAlreadyExists);
  }
  CHECK(t.maker.HeadSeq() == head_before);
  CHECK(QueryInt(t.world.db_path(), "SELECT count(*) FROM devices") == devices_before);
}

TEST_CASE("an admin cannot revoke or promote another organisation's device through its own log",
          "[adversarial][identity]") {
  TwoOrgs t;
  const std::string row_before = DeviceRow(t.world, t.victim.keys.device_id);
  const uint64_t head_before = t.maker.HeadSeq();

  SECTION("revoke") {
    OrgLogLink link = t.maker.Next(OrgLogAction::kRevokeDevice);
    link.device_id = t.victim.keys.device_id;
    CHECK(t.maker.Append(link).code() == absl::StatusCode::kFailedPrecondition);
  }
  SECTION("promote") {
    OrgLogLink link = t.maker.Next(OrgLogAction::kChangeRole);
    link.device_id = t.victim.keys.device_id;
    link.role = Role::kOrgAdmin;
    CHECK(t.maker.Append(link).code() == absl::StatusCode::kFailedPrecondition);
  }
  CHECK(DeviceRow(t.world, t.victim.keys.device_id) == row_before);
  CHECK(t.maker.HeadSeq() == head_before);
  CHECK(t.victim.client->WhoAmI().ok());
}

TEST_CASE("an enrolment request cannot claim another organisation's device id or keys", "[adversarial][identity]") {
  TwoOrgs t;
  const int64_t enrolments_before = QueryInt(t.world.db_path(), "SELECT count(*) FROM enrolments");
  const int64_t entries_before = QueryInt(t.world.db_path(), "SELECT count(*) FROM audit_entries");
  DeviceKeys own = DeviceKeys::Generate(t.world.rng());
  EnrolmentRequest request;
  request.org_id = t.mallory.keys.org_id;
  request.requested_role = Role::kOrgAdmin;
  request.created_at_ms = t.world.clock().NowUnixMillis();
  request.label = "laptop";
  request.sign_key = own.signing().public_key;
  request.box_key = own.box().public_key;
  t.world.rng().Fill(request.device_id.span());

  SECTION("its device id") { request.device_id = t.victim.keys.device_id; }
  SECTION("its box key") { request.box_key = t.victim.keys.device.box().public_key; }
  auto signed_request = SignEnrolmentRequest(request, own.signing());
  REQUIRE(signed_request.ok());
  auto outsider = t.world.NewClient();
  CHECK(outsider->SubmitEnrolment(*signed_request).status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(QueryInt(t.world.db_path(), "SELECT count(*) FROM enrolments") == enrolments_before);
  CHECK(QueryInt(t.world.db_path(), "SELECT count(*) FROM audit_entries") == entries_before);
}

}  // namespace trygg::adversarial_identity

namespace trygg::adversarial_identity {

TEST_CASE("an admin cannot replace the organisation key envelope a device already holds", "[adversarial][identity]") {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  const std::string envelopes = "SELECT * FROM key_envelopes ORDER BY device_id, generation";
  const std::string before = testing::Snapshot(world.db_path(), envelopes);
  // A seed of the sender's making, sealed anew for a generation anna already
  // holds: stored over hers, it would hand her a key the sender chose.
  OrgKey forged = GenerateOrgKey(1, world.rng());
  GrantParams params{GrantKind::kOrgSeed, admin.keys.org_id, 1, admin.keys.device_id};
  auto grant = SealGrant(params, forged.seed, anna.keys.device.box().public_key, admin.keys.device.signing(),
                         world.clock(), world.rng());
  REQUIRE(grant.ok());
  KeyEnvelope envelope{anna.keys.device_id, 1, *grant, admin.keys.device_id};
  CHECK(admin.client->PutKeyEnvelopes({envelope}).code() == absl::StatusCode::kAlreadyExists);
  CHECK(testing::Snapshot(world.db_path(), envelopes) == before);
}

}  // namespace trygg::adversarial_identity
