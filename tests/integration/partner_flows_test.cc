// SPDX-License-Identifier: Apache-2.0

// libtrygg's partner flows against a real tryggd, as a partner app runs
// them: a device initialised on disk, its enrolment request, the admin's
// safety-number check and approval, activation; then a case record from
// JSON, and a referral whose packet carries only the chosen sections, read
// back by the receiver.
#include <catch2/catch.hpp>

#include <filesystem>

#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/case_record.h"
#include "trygg/crypto_error.h"
#include "trygg/device.h"
#include "trygg/directory_client.h"
#include "trygg/fingerprint.h"
#include "trygg/listing_file.h"
#include "trygg/membership.h"
#include "trygg/referral_client.h"
#include "trygg/referral_packet.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::TrustWorld;

constexpr char kPassphrase[] = "lång lösenfras för testet";

DeviceSessionOptions SessionOptions(TrustWorld& world, bool login, bool keep_passphrase) {
  DeviceSessionOptions options;
  options.client.address = world.address();
  options.client.platform_root = world.root().public_key;
  options.login = login;
  options.keep_passphrase = keep_passphrase;
  options.key_store.allow_weak_kdf_for_tests = true;
  options.save_limits = MinimumKdfLimitsForTests();
  return options;
}

// Device init, enrolment request, the admin's check and approval, and
// activation, through the library alone; returns the activated session.
std::unique_ptr<DeviceSession> EnrolNewDevice(TrustWorld& world, TestDevice& admin,
                                             const std::filesystem::path& path) {
  absl::StatusOr<KeyStoreContents> made =
      InitDevice(path, kPassphrase, admin.keys.org_id, MinimumKdfLimitsForTests(), world.rng());
  REQUIRE(made.ok());

  absl::StatusOr<std::unique_ptr<DeviceSession>> fresh =
      DeviceSession::Open(path, kPassphrase, SessionOptions(world, /*login=*/false, false));
  INFO(fresh.status().ToString());
  REQUIRE(fresh.ok());
  CHECK_FALSE((*fresh)->logged_in());
  absl::StatusOr<EnrolmentTicket> ticket = RequestEnrolment(**fresh, Role::kCaseworker, "Annas laptop");
  INFO(ticket.status().ToString());
  REQUIRE(ticket.ok());
  // Before approval the device cannot log in.
  CHECK_FALSE((*fresh)->LogIn().ok());

  absl::StatusOr<std::vector<PendingEnrolment>> pending = admin.client->ListEnrolments();
  REQUIRE(pending.ok());
  const PendingEnrolment* mine = nullptr;
  for (const PendingEnrolment& p : *pending) {
    if (p.enrolment_id == ticket->enrolment_id) mine = &p;
  }
  REQUIRE(mine != nullptr);
  CHECK(mine->request.label == "Annas laptop");
  // The admin reads the number the device shows and checks it.
  REQUIRE(CheckSafetyNumber(ticket->safety_number, mine->request.sign_key).ok());
  REQUIRE(ApproveEnrolment(*admin.client, admin.keys, *mine, world.clock(), world.rng()).ok());

  absl::StatusOr<std::unique_ptr<DeviceSession>> active =
      DeviceSession::Open(path, kPassphrase, SessionOptions(world, /*login=*/true, /*keep_passphrase=*/true));
  INFO(active.status().ToString());
  REQUIRE(active.ok());
  CHECK((*active)->login().role == Role::kCaseworker);
  CHECK((*active)->login().org_id == admin.keys.org_id);
  absl::StatusOr<int> added = ActivateDevice(**active);
  INFO(added.status().ToString());
  REQUIRE(added.ok());
  CHECK(*added == 1);
  return std::move(*active);
}

TEST_CASE("a partner app enrols a device and activates it through libtrygg") {
  TrustWorld world;
  REQUIRE(world.ok());
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Syd");
  testing::TempDir dir;
  const std::filesystem::path path = std::filesystem::path(dir.path()) / "app" / "device.keystore";
  std::unique_ptr<DeviceSession> session = EnrolNewDevice(world, admin, path);

  // The organisation key was saved: a later session has it without the server.
  KeyStoreOpenOptions open;
  open.allow_weak_kdf_for_tests = true;
  absl::StatusOr<KeyStoreContents> saved = OpenKeyStore(path, kPassphrase, open);
  REQUIRE(saved.ok());
  CHECK(saved->org_keys.size() == 1);
  // The heads it verified are remembered beside the key store.
  CHECK(std::filesystem::exists(path.string() + ".heads"));

  SECTION("a second activation adds nothing") {
    absl::StatusOr<int> again = ActivateDevice(*session);
    REQUIRE(again.ok());
    CHECK(*again == 0);
  }
  SECTION("refusals change nothing") {
    // A wrong passphrase is the key store's error, and nothing connects.
    absl::StatusOr<std::unique_ptr<DeviceSession>> wrong =
        DeviceSession::Open(path, "fel lösenfras", SessionOptions(world, true, false));
    CHECK(GetCryptoError(wrong.status()) == CryptoError::kWrongPassphrase);
    // A session that did not keep its passphrase cannot rewrite the store.
    absl::StatusOr<std::unique_ptr<DeviceSession>> plain =
        DeviceSession::Open(path, kPassphrase, SessionOptions(world, true, false));
    REQUIRE(plain.ok());
    CHECK(absl::IsFailedPrecondition((*plain)->SaveKeys()));
    // Activation needs a logged-in session.
    absl::StatusOr<std::unique_ptr<DeviceSession>> offline =
        DeviceSession::Open(path, kPassphrase, SessionOptions(world, false, true));
    REQUIRE(offline.ok());
    CHECK(absl::IsFailedPrecondition(ActivateDevice(**offline).status()));
    // Devices of a member organisation are never coordinators.
    CHECK(absl::IsInvalidArgument(RequestEnrolment(**offline, Role::kCoordinator, "x").status()));
    // The admin's check refuses another device's number.
    CHECK(absl::IsPermissionDenied(
        CheckSafetyNumber(SafetyNumber(admin.keys.device.signing().public_key), session->keys().device.signing().public_key)));
    absl::StatusOr<KeyStoreContents> unchanged = OpenKeyStore(path, kPassphrase, open);
    REQUIRE(unchanged.ok());
    CHECK(unchanged->org_keys.size() == 1);
  }
}

TEST_CASE("a partner app refers a case with chosen sections, and the receiver reads only those") {
  TrustWorld world;
  REQUIRE(world.ok());
  TestDevice& shelter_admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& legal_admin = world.AdmitOrganisation("Juridisk rådgivning");
  TestDevice& lawyer = world.AddDevice(legal_admin, Role::kCaseworker);
  testing::TempDir dir;
  std::unique_ptr<DeviceSession> anna =
      EnrolNewDevice(world, shelter_admin, std::filesystem::path(dir.path()) / "anna.keystore");

  absl::StatusOr<Listing> listing_file = ParseListingFile(
      R"({"category": "legal-advice", "regions": ["SE-M"], "languages": ["ro", "sv"], "response_time_hours": 48})");
  REQUIRE(listing_file.ok());
  DirectoryClient legal_directory(*legal_admin.client, legal_admin.keys, world.clock(), world.rng());
  absl::StatusOr<VerifiedListing> listing = legal_directory.Publish(*listing_file);
  INFO(listing.status().ToString());
  REQUIRE(listing.ok());

  CaseClient cases(anna->client(), anna->keys(), anna->clock(), anna->rng());
  ReferralClient referrals(anna->client(), anna->keys(), cases, anna->clock(), anna->rng());
  DirectoryClient directory(anna->client(), anna->keys(), anna->clock(), anna->rng());
  absl::StatusOr<trygg::v1::CaseRecord> record = CaseRecordFromJson(R"({
      "person": {"first_name": "Ioana", "second_name": "Popescu", "primary_language": "ro"},
      "needs": [{"service": "legal-advice", "details": "lönefordran"}],
      "comments": ["rekryterad via jobbannons"]})");
  INFO(record.status().ToString());
  REQUIRE(record.ok());
  const std::string record_bytes = record->SerializeAsString();
  absl::StatusOr<Id128> case_id =
      cases.CreateCase(std::vector<uint8_t>(record_bytes.begin(), record_bytes.end()), kContentCaseRecord);
  REQUIRE(case_id.ok());

  ReferralRequest request;
  request.case_id = *case_id;
  request.listing_id = listing->listing.listing_id;
  request.vital_interests = "akut hot, ingen tid för samtycke";
  request.share = {"needs"};
  request.note = "ring före besök";

  SECTION("the receiver reads the packet: the needs and the note, not the person") {
    absl::StatusOr<ReferralDraft> draft = PrepareReferral(cases, directory, request);
    INFO(draft.status().ToString());
    REQUIRE(draft.ok());
    CHECK(draft->to_org == legal_admin.keys.org_id);
    CHECK(draft->service == static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
    absl::StatusOr<Id128> referral_id = referrals.Refer(*draft);
    INFO(referral_id.status().ToString());
    REQUIRE(referral_id.ok());

    CaseClient lawyer_cases(*lawyer.client, lawyer.keys, world.clock(), world.rng());
    ReferralClient lawyer_referrals(*lawyer.client, lawyer.keys, lawyer_cases, world.clock(), world.rng());
    absl::StatusOr<ReferralView> view = lawyer_referrals.Get(*referral_id);
    INFO(view.status().ToString());
    REQUIRE(view.ok());
    REQUIRE(view->packet.has_value());
    absl::StatusOr<trygg::v1::ReferralPacket> packet = ReadReferralPacket(*view->packet);
    REQUIRE(packet.ok());
    CHECK(packet->note() == "ring före besök");
    REQUIRE(packet->shared().needs_size() == 1);
    CHECK(packet->shared().needs(0).details() == "lönefordran");
    CHECK_FALSE(packet->shared().has_person());
    CHECK(packet->shared().comments_size() == 0);
  }
  SECTION("a draft that cannot be sent is refused before anything is sent") {
    ReferralRequest both = request;
    both.consent_id = Id128();
    CHECK(absl::IsInvalidArgument(PrepareReferral(cases, directory, both).status()));
    ReferralRequest unknown = request;
    unknown.share = {"passport"};
    CHECK(absl::IsInvalidArgument(PrepareReferral(cases, directory, unknown).status()));
    REQUIRE(legal_directory.Retire(listing->listing.listing_id).ok());
    CHECK(absl::IsFailedPrecondition(PrepareReferral(cases, directory, request).status()));
    ReferralQuery query;
    absl::StatusOr<ReferralPage> outbox = referrals.Outbox(query);
    REQUIRE(outbox.ok());
    CHECK(outbox->referrals.empty());
  }
}

}  // namespace
}  // namespace trygg
