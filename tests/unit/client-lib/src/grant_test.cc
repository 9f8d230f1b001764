// SPDX-License-Identifier: Apache-2.0

#include "trygg/grant.h"

#include <sodium.h>

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/record.h"

namespace trygg {
namespace {

using absl::StatusCode;
using testing::IdFromByte;

struct GrantFixture {
  DeterministicRng rng{0x22};
  FixedClock clock{1767225600000};
  SigningKeyPair granter = GenerateSigningKeyPair(rng);
  OrgKey recipient_org = GenerateOrgKey(1, rng);
  BoxKeyPair recipient = DeriveOrgBoxKeyPair(recipient_org);
  SecretKey scope_key = GenerateDataKey(rng);
  GrantParams params;
  GrantExpectation expected;

  GrantFixture() {
    params.kind = GrantKind::kScopeKey;
    params.scope_id = IdFromByte(0x5c);
    params.epoch = 2;
    params.granter_device = IdFromByte(0xde);
    expected.kind = params.kind;
    expected.scope_id = params.scope_id;
    expected.epoch = params.epoch;
    expected.granter_device = params.granter_device;
    expected.granter_key = granter.public_key;
  }

  Grant Seal() {
    auto grant = SealGrant(params, scope_key, recipient.public_key, granter, clock, rng);
    REQUIRE(grant.ok());
    return *std::move(grant);
  }

  // Re-signs `grant` as the (compromised or buggy) granter would.
  void Resign(Grant& grant) {
    const std::vector<uint8_t> signed_bytes = GrantSignedBytes(grant);
    crypto_sign_detached(grant.signature.data(), nullptr, signed_bytes.data(),
                         signed_bytes.size(), granter.secret_key.data());
  }

  absl::Status Open(const Grant& grant) { return OpenGrant(grant, expected, recipient).status(); }
};

TEST_CASE("grant seals and opens", "[grant]") {
  GrantFixture f;
  const Grant grant = f.Seal();
  REQUIRE(grant.header.size() == kGrantHeaderSize);
  REQUIRE(grant.sealed.size() == kGrantSealedSize);
  auto key = OpenGrant(grant, f.expected, f.recipient);
  REQUIRE(key.ok());
  REQUIRE(std::equal(key->data(), key->data() + 32, f.scope_key.data()));

  auto header = ParseGrantHeader(grant.header);
  REQUIRE(header.ok());
  REQUIRE(header->recipient_key_id == BoxKeyId(f.recipient.public_key));
  REQUIRE(header->created_at_ms == 1767225600000);
}

TEST_CASE("a low-order recipient key is refused, not a crash", "[grant]") {
  GrantFixture f;
  const BoxPublicKey zero;  // the identity point
  REQUIRE(SealGrant(f.params, f.scope_key, zero, f.granter, f.clock, f.rng).status().code() ==
          StatusCode::kInvalidArgument);
}

TEST_CASE("an organisation-seed grant is a distinct kind", "[grant]") {
  GrantFixture f;
  f.params.kind = GrantKind::kOrgSeed;
  const Grant grant = f.Seal();
  REQUIRE_CRYPTO_ERROR(f.Open(grant), StatusCode::kInvalidArgument, CryptoError::kWrongKind);
  f.expected.kind = GrantKind::kOrgSeed;
  REQUIRE(f.Open(grant).ok());
}

TEST_CASE("the sealed box opens with plain crypto_box_seal_open", "[grant]") {
  GrantFixture f;
  const Grant grant = f.Seal();
  uint8_t inner[kGrantPlaintextSize];
  REQUIRE(crypto_box_seal_open(inner, grant.sealed.data(), grant.sealed.size(),
                               f.recipient.public_key.data(),
                               f.recipient.secret_key.data()) == 0);
  REQUIRE(std::equal(inner, inner + 32, f.scope_key.data()));
  REQUIRE(std::equal(inner + 32, inner + 48, f.params.scope_id.data()));
  REQUIRE(inner[48] == 0);
  REQUIRE(inner[51] == 2);
}

TEST_CASE("a flipped bit anywhere in a grant is caught with the right error", "[grant]") {
  GrantFixture f;
  const Grant grant = f.Seal();
  for (size_t i = 0; i < grant.header.size(); ++i) {
    Grant t = grant;
    t.header[i] ^= 0x01;
    INFO("header byte " << i);
    if (i < 4) {
      REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kInvalidArgument, CryptoError::kUnknownMagic);
    } else if (i == 4) {
      REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kFailedPrecondition,
                           CryptoError::kUnknownFormat);
    } else if (i == 5) {  // kind 1 -> 0: no such kind
      REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kInvalidArgument, CryptoError::kMalformed);
    } else {
      REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kPermissionDenied,
                           CryptoError::kBadSignature);
    }
  }
  for (size_t i = 0; i < grant.sealed.size(); ++i) {
    Grant t = grant;
    t.sealed[i] ^= 0x01;
    INFO("sealed byte " << i);
    REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  }
  for (size_t i = 0; i < Signature::kSize; ++i) {
    Grant t = grant;
    t.signature.data()[i] ^= 0x01;
    INFO("signature byte " << i);
    REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  }
  Grant short_sealed = grant;
  short_sealed.sealed.pop_back();
  REQUIRE_CRYPTO_ERROR(f.Open(short_sealed), StatusCode::kInvalidArgument,
                       CryptoError::kMalformed);
}

TEST_CASE("every expectation is checked", "[grant]") {
  GrantFixture f;
  const Grant grant = f.Seal();
  GrantExpectation e = f.expected;
  e.granter_key = GenerateSigningKeyPair(f.rng).public_key;
  REQUIRE_CRYPTO_ERROR(OpenGrant(grant, e, f.recipient).status(), StatusCode::kPermissionDenied,
                       CryptoError::kBadSignature);
  e = f.expected;
  e.scope_id = IdFromByte(0x01);
  REQUIRE_CRYPTO_ERROR(OpenGrant(grant, e, f.recipient).status(), StatusCode::kInvalidArgument,
                       CryptoError::kWrongScope);
  e = f.expected;
  e.epoch = 3;
  REQUIRE_CRYPTO_ERROR(OpenGrant(grant, e, f.recipient).status(), StatusCode::kInvalidArgument,
                       CryptoError::kWrongEpoch);
  e = f.expected;
  e.granter_device = IdFromByte(0x01);
  REQUIRE_CRYPTO_ERROR(OpenGrant(grant, e, f.recipient).status(), StatusCode::kInvalidArgument,
                       CryptoError::kWrongGranter);
  const BoxKeyPair other = DeriveOrgBoxKeyPair(GenerateOrgKey(2, f.rng));
  REQUIRE_CRYPTO_ERROR(OpenGrant(grant, f.expected, other).status(),
                       StatusCode::kInvalidArgument, CryptoError::kWrongRecipient);
}

TEST_CASE("a signed header naming us over a box sealed to someone else", "[grant]") {
  GrantFixture f;
  const BoxKeyPair other = DeriveOrgBoxKeyPair(GenerateOrgKey(2, f.rng));
  Grant grant =
      SealGrant(f.params, f.scope_key, other.public_key, f.granter, f.clock, f.rng).value();
  auto header = ParseGrantHeader(grant.header);
  REQUIRE(header.ok());
  header->recipient_key_id = BoxKeyId(f.recipient.public_key);
  grant.header = SerializeGrantHeader(*header);
  f.Resign(grant);
  REQUIRE_CRYPTO_ERROR(f.Open(grant), StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
}

TEST_CASE("fields inside the box must match the signed header", "[grant]") {
  GrantFixture f;
  f.params.scope_id = IdFromByte(0x77);  // the box binds scope 0x77 ...
  Grant grant = f.Seal();
  auto header = ParseGrantHeader(grant.header);
  REQUIRE(header.ok());
  header->scope_id = f.expected.scope_id;  // ... the header claims the expected one
  grant.header = SerializeGrantHeader(*header);
  f.Resign(grant);
  REQUIRE_CRYPTO_ERROR(f.Open(grant), StatusCode::kInvalidArgument, CryptoError::kFieldMismatch);

  GrantFixture g;
  g.params.epoch = 9;
  Grant by_epoch = g.Seal();
  auto h2 = ParseGrantHeader(by_epoch.header);
  REQUIRE(h2.ok());
  h2->epoch = g.expected.epoch;
  by_epoch.header = SerializeGrantHeader(*h2);
  g.Resign(by_epoch);
  REQUIRE_CRYPTO_ERROR(g.Open(by_epoch), StatusCode::kInvalidArgument,
                       CryptoError::kFieldMismatch);
}

}  // namespace
}  // namespace trygg
