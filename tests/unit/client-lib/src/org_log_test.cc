// SPDX-License-Identifier: Apache-2.0

// The organisation log: every rule of OrgLogState, on real signatures.
#include "trygg/org_log.h"

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/keys.h"
#include "trygg/random.h"

namespace trygg {
namespace {

using testing::IdFromByte;

struct Device {
  Id128 id;
  DeviceKeys keys;
};

Device MakeDevice(uint8_t n, Rng& rng) { return {IdFromByte(n), DeviceKeys::Generate(rng)}; }

class OrgFixture {
 public:
  OrgFixture()
      : rng_(7), root_(GenerateSigningKeyPair(rng_)), admin_(MakeDevice(1, rng_)) {
    RootCertificate cert;
    cert.kind = CertificateKind::kOrganisation;
    cert.subject_id = IdFromByte(0xa0);
    cert.device_id = admin_.id;
    cert.issued_at_ms = 1000;
    cert.sign_key = admin_.keys.signing().public_key;
    cert.box_key = admin_.keys.box().public_key;
    cert.name = "Skyddat boende Syd";
    auto signed_cert = SignRootCertificate(cert, root_);
    REQUIRE(signed_cert.ok());
    certificate_ = *signed_cert;
    auto state = OrgLogState::FromCertificate(certificate_, root_.public_key);
    REQUIRE(state.ok());
    state_.emplace(std::move(*state));
  }

  OrgLogLink Next(const Device& signer, OrgLogAction action) {
    OrgLogLink link;
    link.org_id = state_->org_id();
    link.seq = state_->seq() + 1;
    link.prev_hash = state_->head().hash;
    link.created_at_ms = 2000 + static_cast<int64_t>(link.seq);
    link.signer_device = signer.id;
    link.action = action;
    return link;
  }

  OrgLogLink AddLink(const Device& signer, const Device& device, Role role) {
    OrgLogLink link = Next(signer, OrgLogAction::kAddDevice);
    link.device_id = device.id;
    link.role = role;
    link.sign_key = device.keys.signing().public_key;
    link.box_key = device.keys.box().public_key;
    return link;
  }

  absl::Status Apply(const OrgLogLink& link, const Device& signer) {
    return state_->Apply(SignOrgLogLink(link, signer.keys.signing()));
  }

  DeterministicRng rng_;
  SigningKeyPair root_;
  Device admin_;
  SignedObject certificate_;
  std::optional<OrgLogState> state_;
};

TEST_CASE("root certificates round-trip and verify only under the root and their kind", "[crypto][trust]") {
  OrgFixture org;
  auto parsed = VerifyRootCertificate(org.certificate_, org.root_.public_key, CertificateKind::kOrganisation);
  REQUIRE(parsed.ok());
  CHECK(parsed->name == "Skyddat boende Syd");
  CHECK(parsed->device_id == org.admin_.id);

  SigningKeyPair other = GenerateSigningKeyPair(org.rng_);
  REQUIRE_CRYPTO_ERROR(VerifyRootCertificate(org.certificate_, other.public_key, std::nullopt).status(),
                       absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  REQUIRE_CRYPTO_ERROR(
      VerifyRootCertificate(org.certificate_, org.root_.public_key, CertificateKind::kServer).status(),
      absl::StatusCode::kInvalidArgument, CryptoError::kWrongKind);

  // A certificate signed for one kind does not verify once relabelled as another.
  SignedObject relabelled = org.certificate_;
  relabelled.bytes[5] = static_cast<uint8_t>(CertificateKind::kCoordinator);
  REQUIRE_CRYPTO_ERROR(VerifyRootCertificate(relabelled, org.root_.public_key, std::nullopt).status(),
                       absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature);

  for (size_t i = 0; i < org.certificate_.bytes.size(); ++i) {
    SignedObject flipped = org.certificate_;
    flipped.bytes[i] ^= 0x01;
    INFO("byte " << i);
    CHECK_FALSE(VerifyRootCertificate(flipped, org.root_.public_key, std::nullopt).ok());
  }
  SignedObject truncated = org.certificate_;
  truncated.bytes.pop_back();
  REQUIRE_CRYPTO_ERROR(ParseRootCertificate(truncated.bytes).status(), absl::StatusCode::kInvalidArgument,
                       CryptoError::kMalformed);

  RootCertificate long_name = *parsed;
  long_name.name.assign(kMaxCertificateNameBytes + 1, 'x');
  CHECK_FALSE(SerializeRootCertificate(long_name).ok());
}

TEST_CASE("an organisation log grows by admin-signed links", "[crypto][trust]") {
  OrgFixture org;
  Device anna = MakeDevice(2, org.rng_);
  Device bo = MakeDevice(3, org.rng_);

  REQUIRE(org.Apply(org.AddLink(org.admin_, anna, Role::kCaseworker), org.admin_).ok());
  REQUIRE(org.Apply(org.AddLink(org.admin_, bo, Role::kOrgAdmin), org.admin_).ok());
  OrgLogLink rotate = org.Next(bo, OrgLogAction::kRotateOrgKey);
  rotate.generation = 1;
  rotate.org_box_key = anna.keys.box().public_key;
  REQUIRE(org.Apply(rotate, bo).ok());
  OrgLogLink revoke = org.Next(org.admin_, OrgLogAction::kRevokeDevice);
  revoke.device_id = anna.id;
  REQUIRE(org.Apply(revoke, org.admin_).ok());

  const OrgLogState& state = *org.state_;
  CHECK(state.seq() == 4);
  CHECK(state.generation() == 1);
  CHECK(state.rotation_due());
  CHECK(state.ActiveDevice(anna.id) == nullptr);
  REQUIRE(state.FindDevice(anna.id) != nullptr);
  CHECK(state.FindDevice(anna.id)->revoked);
  CHECK(state.ActiveDevice(bo.id)->role == Role::kOrgAdmin);
}

TEST_CASE("every illegal link is refused and changes nothing", "[crypto][trust]") {
  OrgFixture org;
  Device anna = MakeDevice(2, org.rng_);
  Device eve = MakeDevice(9, org.rng_);
  REQUIRE(org.Apply(org.AddLink(org.admin_, anna, Role::kCaseworker), org.admin_).ok());
  const OrgLogHead before = org.state_->head();

  auto refused = [&](const SignedObject& link, absl::StatusCode code, CryptoError reason) {
    REQUIRE_CRYPTO_ERROR(org.state_->Apply(link), code, reason);
    CHECK(org.state_->head().seq == before.seq);
    CHECK(org.state_->head().hash == before.hash);
  };
  const SigningKeyPair& admin_key = org.admin_.keys.signing();

  SECTION("signed by a caseworker") {
    refused(SignOrgLogLink(org.AddLink(anna, eve, Role::kCaseworker), anna.keys.signing()),
            absl::StatusCode::kPermissionDenied, CryptoError::kUnauthorisedSigner);
  }
  SECTION("signed by an unknown device") {
    refused(SignOrgLogLink(org.AddLink(eve, eve, Role::kOrgAdmin), eve.keys.signing()),
            absl::StatusCode::kPermissionDenied, CryptoError::kUnauthorisedSigner);
  }
  SECTION("naming the admin but signed by another key") {
    refused(SignOrgLogLink(org.AddLink(org.admin_, eve, Role::kOrgAdmin), eve.keys.signing()),
            absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  }
  SECTION("a gap or a wrong predecessor") {
    OrgLogLink gap = org.AddLink(org.admin_, eve, Role::kCaseworker);
    gap.seq += 1;
    refused(SignOrgLogLink(gap, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kBrokenChain);
    OrgLogLink wrong_prev = org.AddLink(org.admin_, eve, Role::kCaseworker);
    wrong_prev.prev_hash.data()[0] ^= 1;
    refused(SignOrgLogLink(wrong_prev, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kBrokenChain);
  }
  SECTION("another organisation's link") {
    OrgLogLink other = org.AddLink(org.admin_, eve, Role::kCaseworker);
    other.org_id = IdFromByte(0xb0);
    refused(SignOrgLogLink(other, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
  }
  SECTION("re-adding a device id or key") {
    refused(SignOrgLogLink(org.AddLink(org.admin_, anna, Role::kCaseworker), admin_key),
            absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
    Device same_key{IdFromByte(0x44), DeviceKeys::FromSeeds(anna.keys.sign_seed(), anna.keys.box_seed())};
    refused(SignOrgLogLink(org.AddLink(org.admin_, same_key, Role::kCaseworker), admin_key),
            absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
  }
  SECTION("revoking or demoting the last admin") {
    OrgLogLink revoke = org.Next(org.admin_, OrgLogAction::kRevokeDevice);
    revoke.device_id = org.admin_.id;
    refused(SignOrgLogLink(revoke, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
    OrgLogLink demote = org.Next(org.admin_, OrgLogAction::kChangeRole);
    demote.device_id = org.admin_.id;
    demote.role = Role::kCaseworker;
    refused(SignOrgLogLink(demote, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
  }
  SECTION("revoking an unknown device, skipping a generation, dating backwards") {
    OrgLogLink revoke = org.Next(org.admin_, OrgLogAction::kRevokeDevice);
    revoke.device_id = eve.id;
    refused(SignOrgLogLink(revoke, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
    OrgLogLink rotate = org.Next(org.admin_, OrgLogAction::kRotateOrgKey);
    rotate.generation = 2;
    refused(SignOrgLogLink(rotate, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
    OrgLogLink early = org.AddLink(org.admin_, eve, Role::kCaseworker);
    early.created_at_ms = 1;
    refused(SignOrgLogLink(early, admin_key), absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink);
  }
  SECTION("a flipped bit anywhere") {
    SignedObject good = SignOrgLogLink(org.AddLink(org.admin_, eve, Role::kCaseworker), admin_key);
    for (size_t i = 0; i < good.bytes.size(); ++i) {
      SignedObject flipped = good;
      flipped.bytes[i] ^= 0x80;
      INFO("byte " << i);
      CHECK_FALSE(org.state_->Apply(flipped).ok());
    }
    SignedObject bad_sig = good;
    bad_sig.signature.data()[10] ^= 1;
    refused(bad_sig, absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature);
    CHECK(org.state_->head().seq == before.seq);
  }
}

TEST_CASE("CheckContinues catches a rolled-back or forked log", "[crypto][trust]") {
  OrgFixture org;
  OrgFixture fork;  // same root seed, same certificate, different history
  Device anna = MakeDevice(2, org.rng_);
  Device bo = MakeDevice(3, org.rng_);
  REQUIRE(org.Apply(org.AddLink(org.admin_, anna, Role::kCaseworker), org.admin_).ok());
  const OrgLogHead seen = org.state_->head();
  REQUIRE(org.Apply(org.AddLink(org.admin_, bo, Role::kCaseworker), org.admin_).ok());
  CHECK(org.state_->CheckContinues(seen).ok());
  CHECK(org.state_->CheckContinues(org.state_->head()).ok());

  REQUIRE(fork.certificate_.bytes == org.certificate_.bytes);
  REQUIRE_CRYPTO_ERROR(fork.state_->CheckContinues(seen), absl::StatusCode::kAborted, CryptoError::kRollback);
  REQUIRE(fork.Apply(fork.AddLink(fork.admin_, bo, Role::kCaseworker), fork.admin_).ok());
  REQUIRE_CRYPTO_ERROR(fork.state_->CheckContinues(seen), absl::StatusCode::kAborted, CryptoError::kFork);
}

TEST_CASE("enrolment requests are self-signed, and challenges have a fixed size", "[crypto][trust]") {
  DeterministicRng rng(3);
  Device device = MakeDevice(5, rng);
  EnrolmentRequest request;
  request.org_id = IdFromByte(0xa0);
  request.device_id = device.id;
  request.sign_key = device.keys.signing().public_key;
  request.box_key = device.keys.box().public_key;
  request.created_at_ms = 42;
  request.label = "Annas laptop";
  auto signed_request = SignEnrolmentRequest(request, device.keys.signing());
  REQUIRE(signed_request.ok());
  auto verified = VerifyEnrolmentRequest(*signed_request);
  REQUIRE(verified.ok());
  CHECK(verified->label == "Annas laptop");

  // Another device cannot ask in this device's name.
  Device other = MakeDevice(6, rng);
  SignedObject forged = *signed_request;
  forged.signature = Sign(other.keys.signing(), SigningContext::kEnrolment, forged.bytes);
  REQUIRE_CRYPTO_ERROR(VerifyEnrolmentRequest(forged).status(), absl::StatusCode::kPermissionDenied,
                       CryptoError::kBadSignature);

  SessionChallenge challenge;
  challenge.device_id = device.id;
  challenge.issued_at_ms = 5;
  challenge.expires_at_ms = 6;
  std::vector<uint8_t> bytes = SerializeSessionChallenge(challenge);
  CHECK(bytes.size() == kSessionChallengeSize);
  auto parsed = ParseSessionChallenge(bytes);
  REQUIRE(parsed.ok());
  CHECK(parsed->device_id == device.id);
  CHECK(parsed->expires_at_ms == 6);
  bytes.push_back(0);
  REQUIRE_CRYPTO_ERROR(ParseSessionChallenge(bytes).status(), absl::StatusCode::kInvalidArgument,
                       CryptoError::kMalformed);
}

}  // namespace
}  // namespace trygg
