// SPDX-License-Identifier: Apache-2.0

#include "trygg/sealed_signing_key.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "internal/byte_codec.h"
#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/signing.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

constexpr uint8_t kMagic[4] = {'T', 'R', 'G', 'S'};
constexpr uint8_t kFormatVersion = 1;
constexpr size_t kSaltSize = crypto_pwhash_SALTBYTES;
constexpr size_t kHeaderSize = 4 + 1 + 1 + 8 + 8 + kSaltSize + 32;  // 70
constexpr size_t kChecksumSize = 32;
static_assert(kSealedSigningKeySize ==
              kHeaderSize + internal::kAeadNonceSize + 32 + internal::kAeadTagSize + kChecksumSize);

absl::Status SealedKeyError(absl::StatusCode code, CryptoError reason, std::string_view message) {
  return MakeCryptoError(code, reason, std::string("sealed signing key: ").append(message));
}

absl::Status Corrupt(std::string_view message) {
  return SealedKeyError(absl::StatusCode::kDataLoss, CryptoError::kCorruptKeyStore, message);
}

struct Header {
  KdfLimits limits;
  uint8_t salt[kSaltSize];
  SignPublicKey public_key;
};

// The checks that need no passphrase: size, magic, checksum, version,
// algorithm and limits in range.
absl::StatusOr<Header> ReadHeader(std::span<const uint8_t> sealed) {
  if (sealed.size() < 4 || !std::equal(kMagic, kMagic + 4, sealed.begin())) {
    return Corrupt("not a Trygg sealed signing key (bad magic)");
  }
  if (sealed.size() != kSealedSigningKeySize) return Corrupt("the file has the wrong size");
  const std::span<const uint8_t> body = sealed.first(sealed.size() - kChecksumSize);
  if (Blake2b256(body) != Hash256::FromSpan(sealed.last(kChecksumSize)).value()) {
    return Corrupt("checksum mismatch: the file is damaged");
  }
  internal::ByteReader r(sealed.first(kHeaderSize));
  uint8_t magic[4];
  r.Bytes(magic);
  const uint8_t version = r.U8();
  const uint8_t alg = r.U8();
  Header header;
  header.limits.opslimit = r.U64();
  header.limits.memlimit = r.U64();
  r.Bytes(header.salt);
  uint8_t public_key[32];
  r.Bytes(public_key);
  TRYGG_CHECK(r.exhausted());
  header.public_key = SignPublicKey::FromSpan(public_key).value();
  if (version != kFormatVersion) {
    return SealedKeyError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownFormat,
                          absl::StrCat("unknown format version ", version));
  }
  if (alg != crypto_pwhash_ALG_ARGON2ID13) {
    return SealedKeyError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownSuite,
                          absl::StrCat("unknown password hash algorithm ", alg));
  }
  if (header.limits.opslimit > internal::kMaxPwhashOpslimit ||
      header.limits.memlimit > internal::kMaxPwhashMemlimit ||
      header.limits.opslimit < crypto_pwhash_OPSLIMIT_MIN || header.limits.memlimit < crypto_pwhash_MEMLIMIT_MIN) {
    return Corrupt("Argon2id limits out of range");
  }
  return header;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> SealSigningKey(std::span<const uint8_t, 32> seed,
                                                    std::string_view passphrase,
                                                    const KdfLimits& limits, Rng& rng) {
  internal::EnsureSodiumInitialized();
  if (passphrase.empty()) return absl::InvalidArgumentError("sealed signing key: empty passphrase");
  if (limits.opslimit < crypto_pwhash_OPSLIMIT_MIN || limits.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
      limits.opslimit > internal::kMaxPwhashOpslimit || limits.memlimit > internal::kMaxPwhashMemlimit) {
    return absl::InvalidArgumentError("sealed signing key: Argon2id limits out of range");
  }
  const SigningKeyPair pair = SigningKeyPairFromSeed(seed);

  std::vector<uint8_t> file;
  internal::ByteWriter w(file);
  w.Bytes(kMagic);
  w.U8(kFormatVersion);
  w.U8(static_cast<uint8_t>(crypto_pwhash_ALG_ARGON2ID13));
  w.U64(limits.opslimit);
  w.U64(limits.memlimit);
  uint8_t salt[kSaltSize];
  rng.Fill(salt);
  w.Bytes(salt);
  w.Bytes(pair.public_key.span());
  TRYGG_CHECK(file.size() == kHeaderSize);

  SecretKey file_key;
  if (!internal::DerivePassphraseKey(passphrase, salt, limits.opslimit, limits.memlimit, file_key)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("sealed signing key: Argon2id could not allocate ", limits.memlimit, " bytes"));
  }
  const std::vector<uint8_t> header(file.begin(), file.end());
  w.Bytes(internal::AeadSeal(file_key.span(), seed, header, rng));
  const Hash256 checksum = Blake2b256(file);
  w.Bytes(checksum.span());
  TRYGG_CHECK(file.size() == kSealedSigningKeySize);
  return file;
}

absl::StatusOr<SignPublicKey> SealedSigningKeyPublicKey(std::span<const uint8_t> sealed) {
  TRYGG_ASSIGN_OR_RETURN(const Header header, ReadHeader(sealed));
  return header.public_key;
}

absl::StatusOr<OpenedSigningKey> OpenSealedSigningKey(std::span<const uint8_t> sealed,
                                                      std::string_view passphrase,
                                                      const KeyStoreOpenOptions& options) {
  internal::EnsureSodiumInitialized();
  TRYGG_ASSIGN_OR_RETURN(const Header header, ReadHeader(sealed));
  if (!options.allow_weak_kdf_for_tests && (header.limits.opslimit < crypto_pwhash_OPSLIMIT_INTERACTIVE ||
                                            header.limits.memlimit < crypto_pwhash_MEMLIMIT_INTERACTIVE)) {
    return SealedKeyError(absl::StatusCode::kFailedPrecondition, CryptoError::kWeakKdfLimits,
                          "the file asks for Argon2id limits below INTERACTIVE; refusing a possible downgrade");
  }
  SecretKey file_key;
  if (!internal::DerivePassphraseKey(passphrase, header.salt, header.limits.opslimit, header.limits.memlimit,
                                     file_key)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("sealed signing key: Argon2id could not allocate ", header.limits.memlimit, " bytes"));
  }
  OpenedSigningKey opened;
  const std::span<const uint8_t> body = sealed.first(sealed.size() - kChecksumSize);
  if (!internal::AeadOpen(file_key.span(), body.subspan(kHeaderSize), sealed.first(kHeaderSize),
                          opened.seed.span())) {
    return SealedKeyError(absl::StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase,
                          "wrong passphrase (or the file was deliberately altered)");
  }
  opened.public_key = SigningKeyPairFromSeed(opened.seed.span()).public_key;
  if (opened.public_key != header.public_key) {
    return Corrupt("the sealed seed is not the key the header names");
  }
  return opened;
}

}  // namespace trygg
