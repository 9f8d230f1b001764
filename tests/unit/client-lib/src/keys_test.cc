// SPDX-License-Identifier: Apache-2.0

#include "trygg/keys.h"

#include <sodium.h>

#include <set>

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/signing.h"

namespace trygg {
namespace {

using absl::StatusCode;
using testing::IdFromByte;
using testing::Text;

TEST_CASE("device keys are reproducible from their seeds", "[keys]") {
  DeterministicRng rng(0x55);
  const DeviceKeys device = DeviceKeys::Generate(rng);
  const DeviceKeys again = DeviceKeys::FromSeeds(device.sign_seed(), device.box_seed());
  REQUIRE(again.signing().public_key == device.signing().public_key);
  REQUIRE(again.box().public_key == device.box().public_key);
  uint8_t pk[32];
  REQUIRE(crypto_scalarmult_base(pk, device.box().secret_key.data()) == 0);
  REQUIRE(std::equal(pk, pk + 32, device.box().public_key.data()));
}

TEST_CASE("organisation keys chain back through every generation", "[keys]") {
  DeterministicRng rng(0x56);
  const Id128 org_id = IdFromByte(0x0a);
  std::vector<OrgKey> generations;
  for (uint32_t g = 1; g <= 4; ++g) generations.push_back(GenerateOrgKey(g, rng));
  std::vector<std::vector<uint8_t>> chains;  // chains[i] = gen i+1 under gen i+2
  for (size_t i = 0; i + 1 < generations.size(); ++i) {
    chains.push_back(ChainPreviousOrgKey(org_id, generations[i + 1], generations[i], rng));
  }

  // A device that only received generation 4 walks back to generation 1.
  OrgKey current{4, generations[3].seed.Clone()};
  for (int g = 3; g >= 1; --g) {
    auto previous = UnchainPreviousOrgKey(org_id, current, chains[g - 1]);
    REQUIRE(previous.ok());
    REQUIRE(previous->generation == static_cast<uint32_t>(g));
    REQUIRE(std::equal(previous->seed.data(), previous->seed.data() + 32,
                       generations[g - 1].seed.data()));
    REQUIRE(DeriveOrgBoxKeyPair(*previous).public_key ==
            DeriveOrgBoxKeyPair(generations[g - 1]).public_key);
    current = *std::move(previous);
  }

  REQUIRE_CRYPTO_ERROR(UnchainPreviousOrgKey(IdFromByte(0x0b), generations[1], chains[0]).status(),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE_CRYPTO_ERROR(UnchainPreviousOrgKey(org_id, generations[2], chains[0]).status(),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  std::vector<uint8_t> flipped = chains[0];
  flipped[40] ^= 1;
  REQUIRE_CRYPTO_ERROR(UnchainPreviousOrgKey(org_id, generations[1], flipped).status(),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE_CRYPTO_ERROR(
      UnchainPreviousOrgKey(org_id, generations[1], std::span(chains[0]).first(10)).status(),
      StatusCode::kInvalidArgument, CryptoError::kMalformed);
  // Generation 1 is the first: there is nothing before it to unchain.
  const absl::Status first = UnchainPreviousOrgKey(org_id, generations[0], chains[0]).status();
  REQUIRE(first.code() == StatusCode::kInvalidArgument);
  REQUIRE_THAT(std::string(first.message()), Catch::Contains("no previous generation"));
}

TEST_CASE("each organisation generation has its own box key", "[keys]") {
  DeterministicRng rng(0x57);
  const OrgKey g1 = GenerateOrgKey(1, rng);
  const OrgKey g2 = GenerateOrgKey(2, rng);
  REQUIRE(DeriveOrgBoxKeyPair(g1).public_key == DeriveOrgBoxKeyPair(g1).public_key);
  REQUIRE_FALSE(DeriveOrgBoxKeyPair(g1).public_key == DeriveOrgBoxKeyPair(g2).public_key);
  // Documented derivation: crypto_box_seed_keypair(crypto_kdf(seed, 1, "trgorgbx")).
  uint8_t sub[32], pk[32], sk[32];
  crypto_kdf_derive_from_key(sub, 32, 1, "trgorgbx", g1.seed.data());
  crypto_box_seed_keypair(pk, sk, sub);
  REQUIRE(std::equal(pk, pk + 32, DeriveOrgBoxKeyPair(g1).public_key.data()));
}

TEST_CASE("signatures are bound to their context", "[signing]") {
  DeterministicRng rng(0x58);
  const SigningKeyPair key = GenerateSigningKeyPair(rng);
  const std::vector<uint8_t> message = Text("transition: accepted");
  const Signature sig = Sign(key, SigningContext::kTransition, message);
  REQUIRE(Verify(key.public_key, SigningContext::kTransition, message, sig).ok());
  REQUIRE_CRYPTO_ERROR(Verify(key.public_key, SigningContext::kRecord, message, sig),
                       StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  REQUIRE_CRYPTO_ERROR(Verify(key.public_key, SigningContext::kTransition, Text("x"), sig),
                       StatusCode::kPermissionDenied, CryptoError::kBadSignature);

  const std::vector<uint8_t> signed_bytes = SignedBytes(SigningContext::kTransition, message);
  REQUIRE(signed_bytes == Text(std::string("trygg/v1/transition") + '\0' + "transition: accepted"));
  REQUIRE(crypto_sign_verify_detached(sig.data(), signed_bytes.data(), signed_bytes.size(),
                                      key.public_key.data()) == 0);
}

TEST_CASE("context strings are the documented, distinct ones", "[signing]") {
  const std::vector<std::pair<SigningContext, std::string>> expected = {
      {SigningContext::kRecord, "trygg/v1/record"},
      {SigningContext::kGrant, "trygg/v1/grant"},
      {SigningContext::kOrgCert, "trygg/v1/org-cert"},
      {SigningContext::kDeviceCert, "trygg/v1/device-cert"},
      {SigningContext::kOrgLog, "trygg/v1/org-log"},
      {SigningContext::kTransition, "trygg/v1/transition"},
      {SigningContext::kTreeHead, "trygg/v1/tree-head"},
      {SigningContext::kListing, "trygg/v1/listing"},
      {SigningContext::kSession, "trygg/v1/session"},
      {SigningContext::kEnrolment, "trygg/v1/enrolment"},
      {SigningContext::kCoordinatorCert, "trygg/v1/coordinator-cert"},
      {SigningContext::kServerCert, "trygg/v1/server-cert"},
      {SigningContext::kConsent, "trygg/v1/consent"},
      {SigningContext::kReferral, "trygg/v1/referral"},
      {SigningContext::kErasure, "trygg/v1/erasure"},
      {SigningContext::kConsentWithdrawal, "trygg/v2/consent-withdrawal"},
      {SigningContext::kListingCapacity, "trygg/v2/listing-capacity"},
      {SigningContext::kListingRetirement, "trygg/v2/listing-retirement"},
      {SigningContext::kRestoreNotice, "trygg/v1/restore-notice"},
  };
  std::set<std::string> seen;
  for (const auto& [context, label] : expected) {
    REQUIRE(std::string(ContextString(context)) == label);
    seen.insert(label);
  }
  REQUIRE(seen.size() == expected.size());
}

TEST_CASE("hex, ids and errors", "[bytes]") {
  const std::vector<uint8_t> bytes = {0x00, 0x7f, 0x80, 0xff};
  REQUIRE(HexEncode(bytes) == "007f80ff");
  REQUIRE(*HexDecode("007F80ff") == bytes);
  REQUIRE(HexDecode("abc").status().code() == StatusCode::kInvalidArgument);
  REQUIRE(HexDecode("zz").status().code() == StatusCode::kInvalidArgument);
  REQUIRE(Id128::FromSpan(bytes).status().code() == StatusCode::kInvalidArgument);
  REQUIRE(HexEncode(Blake2b256({}).span()) ==
          "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");

  const absl::Status status =
      MakeCryptoError(StatusCode::kAborted, CryptoError::kFork, "fork");
  REQUIRE(GetCryptoError(status) == CryptoError::kFork);
  REQUIRE_FALSE(GetCryptoError(absl::InternalError("x")).has_value());
}

TEST_CASE("deterministic randomness and secret bytes", "[random]") {
  DeterministicRng a(0x01);
  DeterministicRng b(0x01);
  std::array<uint8_t, 40> x{}, y{};
  a.Fill(x);
  b.Fill(y);
  REQUIRE(x == y);
  a.Fill(x);
  REQUIRE_FALSE(x == y);
  // Documented: the first call is crypto_stream_chacha20(nonce 0, key = seed).
  std::array<uint8_t, 32> seed;
  seed.fill(0x01);
  uint8_t nonce[8] = {};
  std::array<uint8_t, 40> z{};
  crypto_stream_chacha20(z.data(), z.size(), nonce, seed.data());
  REQUIRE(z == y);

  SecretKey key;
  key.data()[0] = 42;
  SecretKey moved = std::move(key);
  REQUIRE(moved.data()[0] == 42);
  REQUIRE(key.data() == nullptr);  // NOLINT(bugprone-use-after-move): documented state
  SecretKey copy = moved.Clone();
  REQUIRE(copy.data()[0] == 42);
  REQUIRE(copy.data() != moved.data());
}

}  // namespace
}  // namespace trygg
