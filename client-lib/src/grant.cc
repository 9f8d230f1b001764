// SPDX-License-Identifier: Apache-2.0

#include "trygg/grant.h"

#include <algorithm>
#include <cstring>

#include "internal/byte_codec.h"
#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

constexpr uint8_t kGrantMagic[4] = {'T', 'R', 'G', 'G'};

static_assert(kGrantSealedSize == kGrantPlaintextSize + crypto_box_SEALBYTES);

absl::Status GrantError(absl::StatusCode code, CryptoError reason,
                        std::string_view message) {
  return MakeCryptoError(code, reason, std::string("grant: ") + std::string(message));
}

// Bytes signed after the context prefix: header || H(sealed).
std::vector<uint8_t> GrantMessage(std::span<const uint8_t> header,
                                  std::span<const uint8_t> sealed) {
  std::vector<uint8_t> message(header.begin(), header.end());
  const Hash256 sealed_hash = Blake2b256(sealed);
  message.insert(message.end(), sealed_hash.array().begin(), sealed_hash.array().end());
  return message;
}

// libsodium's crypto_box_seal construction with the ephemeral key taken from
// `rng` instead of the system generator, so vectors are reproducible:
// epk || crypto_box_easy(m, nonce = BLAKE2b-192(epk || pk), pk, esk).
absl::StatusOr<std::vector<uint8_t>> SealToPublicKey(std::span<const uint8_t> message,
                                                     const BoxPublicKey& recipient, Rng& rng) {
  SecretKey ephemeral_seed;
  rng.Fill(ephemeral_seed.span());
  const BoxKeyPair ephemeral = BoxKeyPairFromSeed(ephemeral_seed.span());

  uint8_t nonce[crypto_box_NONCEBYTES];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof nonce);
  crypto_generichash_update(&state, ephemeral.public_key.data(), ephemeral.public_key.size());
  crypto_generichash_update(&state, recipient.data(), recipient.size());
  crypto_generichash_final(&state, nonce, sizeof nonce);

  std::vector<uint8_t> sealed(crypto_box_PUBLICKEYBYTES + crypto_box_MACBYTES +
                              message.size());
  std::memcpy(sealed.data(), ephemeral.public_key.data(), crypto_box_PUBLICKEYBYTES);
  const int rc = crypto_box_easy(sealed.data() + crypto_box_PUBLICKEYBYTES,
                                 message.data(), message.size(), nonce,
                                 recipient.data(), ephemeral.secret_key.data());
  // Fails only for a low-order recipient key; the key came from outside (an
  // organisation log), so this is an error, not a crash.
  if (rc != 0) {
    return absl::InvalidArgumentError("grant: recipient key is not a usable X25519 key");
  }
  return sealed;
}

}  // namespace

KeyId BoxKeyId(const BoxPublicKey& box_public_key) {
  const Hash256 digest = Blake2b256(box_public_key.span());
  KeyId id;
  std::copy_n(digest.data(), id.size(), id.data());
  return id;
}

std::vector<uint8_t> SerializeGrantHeader(const GrantHeader& header) {
  std::vector<uint8_t> out;
  out.reserve(kGrantHeaderSize);
  internal::ByteWriter w(out);
  w.Bytes(kGrantMagic);
  w.U8(kGrantFormatV1);
  w.U8(static_cast<uint8_t>(header.kind));
  w.Bytes(header.scope_id.span());
  w.U32(header.epoch);
  w.Bytes(header.recipient_key_id.span());
  w.Bytes(header.granter_device.span());
  w.I64(header.created_at_ms);
  TRYGG_CHECK(out.size() == kGrantHeaderSize);
  return out;
}

absl::StatusOr<GrantHeader> ParseGrantHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() != kGrantHeaderSize) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                      "header must be " + std::to_string(kGrantHeaderSize) +
                          " bytes, got " + std::to_string(bytes.size()));
  }
  internal::ByteReader r(bytes);
  uint8_t magic[4];
  r.Bytes(magic);
  if (!std::equal(std::begin(magic), std::end(magic), std::begin(kGrantMagic))) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kUnknownMagic,
                      "header does not start with \"TRGG\"");
  }
  const uint8_t format = r.U8();
  if (format != kGrantFormatV1) {
    return GrantError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownFormat,
                      "unknown grant format " + std::to_string(format));
  }
  GrantHeader header;
  const uint8_t kind = r.U8();
  if (kind != static_cast<uint8_t>(GrantKind::kScopeKey) &&
      kind != static_cast<uint8_t>(GrantKind::kOrgSeed)) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                      "unknown grant kind " + std::to_string(kind));
  }
  header.kind = static_cast<GrantKind>(kind);
  r.Bytes(header.scope_id.span());
  header.epoch = r.U32();
  r.Bytes(header.recipient_key_id.span());
  r.Bytes(header.granter_device.span());
  header.created_at_ms = r.I64();
  TRYGG_CHECK(r.exhausted());
  return header;
}

std::vector<uint8_t> GrantSignedBytes(const Grant& grant) {
  return SignedBytes(SigningContext::kGrant, GrantMessage(grant.header, grant.sealed));
}

absl::Status VerifyGrantSignature(const Grant& grant, const SignPublicKey& granter_key) {
  TRYGG_RETURN_IF_ERROR(ParseGrantHeader(grant.header).status());
  return Verify(granter_key, SigningContext::kGrant, GrantMessage(grant.header, grant.sealed),
                grant.signature);
}

absl::StatusOr<Grant> SealGrant(const GrantParams& params, const SecretKey& key,
                const BoxPublicKey& recipient, const SigningKeyPair& granter,
                Clock& clock, Rng& rng) {
  internal::EnsureSodiumInitialized();
  GrantHeader header;
  header.kind = params.kind;
  header.scope_id = params.scope_id;
  header.epoch = params.epoch;
  header.recipient_key_id = BoxKeyId(recipient);
  header.granter_device = params.granter_device;
  header.created_at_ms = clock.NowUnixMillis();

  // key || scope_id || u32be(epoch) || recipient_key_id, in locked memory.
  SecretBytes<kGrantPlaintextSize> inner;
  uint8_t* p = inner.data();
  std::memcpy(p, key.data(), 32);
  std::memcpy(p + 32, header.scope_id.data(), 16);
  for (int i = 0; i < 4; ++i) p[48 + i] = static_cast<uint8_t>(header.epoch >> (24 - 8 * i));
  std::memcpy(p + 52, header.recipient_key_id.data(), 16);

  Grant grant;
  grant.header = SerializeGrantHeader(header);
  TRYGG_ASSIGN_OR_RETURN(grant.sealed, SealToPublicKey(inner.span(), recipient, rng));
  grant.signature = Sign(granter, SigningContext::kGrant,
                         GrantMessage(grant.header, grant.sealed));
  return grant;
}

absl::StatusOr<SecretKey> OpenGrant(const Grant& grant, const GrantExpectation& expected,
                                    const BoxKeyPair& recipient) {
  internal::EnsureSodiumInitialized();
  TRYGG_ASSIGN_OR_RETURN(const GrantHeader header, ParseGrantHeader(grant.header));
  if (grant.sealed.size() != kGrantSealedSize) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                      "sealed key must be " + std::to_string(kGrantSealedSize) +
                          " bytes, got " + std::to_string(grant.sealed.size()));
  }
  // The signature comes first: nothing unauthenticated is decrypted.
  if (!Verify(expected.granter_key, SigningContext::kGrant,
              GrantMessage(grant.header, grant.sealed), grant.signature)
           .ok()) {
    return GrantError(absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature,
                      "signature does not verify under the granting device's key");
  }
  if (header.kind != expected.kind) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongKind,
                      "grant is of another kind than expected");
  }
  if (header.scope_id != expected.scope_id) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongScope,
                      "grant is for another scope");
  }
  if (header.epoch != expected.epoch) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongEpoch,
                      "grant is for epoch " + std::to_string(header.epoch) +
                          ", expected " + std::to_string(expected.epoch));
  }
  if (header.granter_device != expected.granter_device) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongGranter,
                      "grant names another granting device");
  }
  const KeyId own_key_id = BoxKeyId(recipient.public_key);
  if (header.recipient_key_id != own_key_id) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongRecipient,
                      "grant is addressed to another key");
  }

  SecretBytes<kGrantPlaintextSize> inner;
  if (crypto_box_seal_open(inner.data(), grant.sealed.data(), grant.sealed.size(),
                           recipient.public_key.data(),
                           recipient.secret_key.data()) != 0) {
    return GrantError(absl::StatusCode::kPermissionDenied, CryptoError::kDecryptFailed,
                      "sealed key does not open with this recipient key");
  }
  const uint8_t* p = inner.data();
  uint32_t inner_epoch = 0;
  for (int i = 0; i < 4; ++i) inner_epoch = (inner_epoch << 8) | p[48 + i];
  if (std::memcmp(p + 32, header.scope_id.data(), 16) != 0 || inner_epoch != header.epoch ||
      std::memcmp(p + 52, own_key_id.data(), 16) != 0) {
    return GrantError(absl::StatusCode::kInvalidArgument, CryptoError::kFieldMismatch,
                      "fields inside the sealed key differ from the signed header");
  }
  SecretKey key;
  std::memcpy(key.data(), p, 32);
  return key;
}

}  // namespace trygg
