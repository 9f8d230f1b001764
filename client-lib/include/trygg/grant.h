// SPDX-License-Identifier: Apache-2.0

// Grants: a 32-byte key delivered to one recipient's X25519 key.
//
// Purpose: a grant hands a scope key CK_e to an organisation (its current
// generation key) or an organisation seed to a member device. A sealed box
// has no sender authentication and no AAD, so
//   sealed = crypto_box_seal(key || scope_id || u32be(epoch) || recipient_key_id)
// and the granting device signs (context "trygg/v1/grant")
//   header || BLAKE2b-256(sealed)
// where header carries the same bound fields plus kind, granter and time.
// For an organisation-seed grant, scope_id is the org_id and epoch the generation.
// Byte layouts: docs/protocol.md, "Grants".
// Ownership: Grant is a plain value; OpenGrant returns the key in SecretBytes.
// Thread-safety: pure functions.
// Failure modes (all tagged with a CryptoError): kMalformed/kUnknownMagic/
// kUnknownFormat for a bad header; kBadSignature; kWrongKind, kWrongScope,
// kWrongEpoch, kWrongGranter, kWrongRecipient when the header differs from what
// the caller expects; kDecryptFailed when the box does not open; kFieldMismatch
// when a field inside the box differs from the signed header.
#ifndef TRYGG_GRANT_H_
#define TRYGG_GRANT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/keys.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"
#include "trygg/signing.h"

namespace trygg {

inline constexpr uint8_t kGrantFormatV1 = 1;
inline constexpr size_t kGrantHeaderSize = 66;
inline constexpr size_t kGrantPlaintextSize = 32 + 16 + 4 + 16;   // 68
inline constexpr size_t kGrantSealedSize = kGrantPlaintextSize + 48;  // 116

enum class GrantKind : uint8_t {
  kScopeKey = 1,  // CK_e of a scope, to an organisation key
  kOrgSeed = 2,   // an organisation key seed, to a member device
};

// First 16 bytes of BLAKE2b-256(box_public_key).
KeyId BoxKeyId(const BoxPublicKey& box_public_key);

struct GrantHeader {
  GrantKind kind = GrantKind::kScopeKey;
  Id128 scope_id;
  uint32_t epoch = 0;
  KeyId recipient_key_id;
  Id128 granter_device;
  int64_t created_at_ms = 0;
};

struct Grant {
  std::vector<uint8_t> header;  // kGrantHeaderSize bytes, as signed
  std::vector<uint8_t> sealed;  // kGrantSealedSize bytes
  Signature signature;
};

struct GrantParams {
  GrantKind kind = GrantKind::kScopeKey;
  Id128 scope_id;
  uint32_t epoch = 0;
  Id128 granter_device;
};

// What the recipient expects; every field is checked.
struct GrantExpectation {
  GrantKind kind = GrantKind::kScopeKey;
  Id128 scope_id;
  uint32_t epoch = 0;
  Id128 granter_device;
  SignPublicKey granter_key;
};

std::vector<uint8_t> SerializeGrantHeader(const GrantHeader& header);
absl::StatusOr<GrantHeader> ParseGrantHeader(std::span<const uint8_t> bytes);

// The exact bytes given to crypto_sign_detached for this grant.
std::vector<uint8_t> GrantSignedBytes(const Grant& grant);

// Seals `key` to `recipient`. The sealed box's ephemeral key comes from `rng`,
// so the output is reproducible under a DeterministicRng; it opens with
// libsodium's crypto_box_seal_open. Fails with InvalidArgument if `recipient`
// is a low-order point (a key no honest device has; it would give an all-zero
// shared secret).
absl::StatusOr<Grant> SealGrant(const GrantParams& params, const SecretKey& key,
                const BoxPublicKey& recipient, const SigningKeyPair& granter,
                Clock& clock, Rng& rng);

// Checks only the granting device's signature over header || H(sealed): what
// a server, which cannot open grants, can check before storing one.
absl::Status VerifyGrantSignature(const Grant& grant, const SignPublicKey& granter_key);

// Verifies the signature, then opens the box, then checks every bound field.
absl::StatusOr<SecretKey> OpenGrant(const Grant& grant,
                                    const GrantExpectation& expected,
                                    const BoxKeyPair& recipient);

}  // namespace trygg

#endif  // TRYGG_GRANT_H_
