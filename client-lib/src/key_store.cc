// SPDX-License-Identifier: Apache-2.0

#include "trygg/key_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "internal/byte_codec.h"
#include "trygg/atomic_file.h"
#include "internal/secret_buffer.h"
#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

constexpr uint8_t kMagic[4] = {'T', 'R', 'G', 'K'};
constexpr uint8_t kFileVersion = 1;
constexpr size_t kSaltSize = crypto_pwhash_SALTBYTES;
static_assert(kSaltSize == 16);
constexpr size_t kHeaderSize = 4 + 1 + 1 + 8 + 8 + kSaltSize;  // 38
constexpr size_t kChecksumSize = 32;
constexpr size_t kFixedPayloadSize = 16 + 16 + 32 + 32 + 4;   // 100
constexpr size_t kOrgKeyEntrySize = 4 + 32;
// Far more generations than an organisation will ever rotate through; bounds
// the allocation made for a file's payload.
constexpr uint32_t kMaxOrgKeys = 100000;
constexpr uint64_t kMaxOpslimit = internal::kMaxPwhashOpslimit;
constexpr uint64_t kMaxMemlimit = internal::kMaxPwhashMemlimit;
constexpr size_t kMaxFileSize = 38 + 24 + 100 + 36 * size_t{kMaxOrgKeys} + 16 + 32;

absl::Status StoreError(absl::StatusCode code, CryptoError reason,
                        std::string_view message) {
  return MakeCryptoError(code, reason, std::string("key store: ") + std::string(message));
}

absl::Status Corrupt(std::string_view message) {
  return StoreError(absl::StatusCode::kDataLoss, CryptoError::kCorruptKeyStore, message);
}

absl::Status ErrnoError(std::string_view what, const std::filesystem::path& path) {
  const int err = errno;
  std::string message = std::string(what) + " " + path.string() + ": " + std::strerror(err);
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EEXIST) return absl::AlreadyExistsError(message);
  return absl::InternalError(message);
}

absl::StatusOr<SecretKey> DeriveFileKey(std::string_view passphrase,
                                        std::span<const uint8_t> salt,
                                        const KdfLimits& limits) {
  SecretKey key;
  if (!internal::DerivePassphraseKey(passphrase, salt.first<kSaltSize>(), limits.opslimit,
                                     limits.memlimit, key)) {
    return absl::ResourceExhaustedError(
        "key store: Argon2id could not allocate " + std::to_string(limits.memlimit) +
        " bytes");
  }
  return key;
}

absl::StatusOr<std::vector<uint8_t>> ReadFile(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path);
  std::vector<uint8_t> bytes;
  uint8_t buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const absl::Status status = ErrnoError("cannot read", path);
      close(fd);
      return status;
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
    if (bytes.size() > kMaxFileSize) {
      close(fd);
      return Corrupt("file is larger than any key store");
    }
  }
  close(fd);
  return bytes;
}

absl::Status CheckLimitsForWriting(const KdfLimits& limits) {
  if (limits.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      limits.memlimit < crypto_pwhash_MEMLIMIT_MIN || limits.opslimit > kMaxOpslimit ||
      limits.memlimit > kMaxMemlimit) {
    return absl::InvalidArgumentError("key store: Argon2id limits out of range");
  }
  return absl::OkStatus();
}

}  // namespace

KdfLimits ModerateKdfLimits() {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}
KdfLimits InteractiveKdfLimits() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
KdfLimits MinimumKdfLimitsForTests() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

absl::StatusOr<std::vector<uint8_t>> EncodeKeyStore(std::string_view passphrase,
                                                    const KeyStoreContents& contents,
                                                    const KdfLimits& limits, Rng& rng) {
  internal::EnsureSodiumInitialized();
  if (passphrase.empty()) return absl::InvalidArgumentError("key store: empty passphrase");
  TRYGG_RETURN_IF_ERROR(CheckLimitsForWriting(limits));
  if (contents.org_keys.size() > kMaxOrgKeys) {
    return absl::InvalidArgumentError("key store: too many organisation keys");
  }

  std::vector<uint8_t> file;
  internal::ByteWriter w(file);
  w.Bytes(kMagic);
  w.U8(kFileVersion);
  w.U8(static_cast<uint8_t>(crypto_pwhash_ALG_ARGON2ID13));
  w.U64(limits.opslimit);
  w.U64(limits.memlimit);
  uint8_t salt[kSaltSize];
  rng.Fill(salt);
  w.Bytes(salt);
  TRYGG_CHECK(file.size() == kHeaderSize);

  // Payload: org_id | device_id | sign_seed | box_seed | u32 n | n x (u32 gen | seed).
  std::vector<const OrgKey*> keys;
  for (const OrgKey& key : contents.org_keys) keys.push_back(&key);
  std::sort(keys.begin(), keys.end(),
            [](const OrgKey* a, const OrgKey* b) { return a->generation < b->generation; });
  internal::SecretBuffer payload(kFixedPayloadSize + kOrgKeyEntrySize * keys.size());
  uint8_t* p = payload.data();
  auto put = [&p](std::span<const uint8_t> bytes) {
    std::memcpy(p, bytes.data(), bytes.size());
    p += bytes.size();
  };
  auto put_u32 = [&p](uint32_t v) {
    for (int i = 3; i >= 0; --i) *p++ = static_cast<uint8_t>(v >> (8 * i));
  };
  put(contents.org_id.span());
  put(contents.device_id.span());
  put(contents.device.sign_seed().span());
  put(contents.device.box_seed().span());
  put_u32(static_cast<uint32_t>(keys.size()));
  for (const OrgKey* key : keys) {
    put_u32(key->generation);
    put(key->seed.span());
  }
  TRYGG_CHECK(p == payload.data() + payload.size());

  TRYGG_ASSIGN_OR_RETURN(const SecretKey file_key,
                         DeriveFileKey(passphrase, salt, limits));
  const std::vector<uint8_t> header(file.begin(), file.end());
  const std::vector<uint8_t> sealed =
      internal::AeadSeal(file_key.span(), payload.span(), header, rng);
  w.Bytes(sealed);
  const Hash256 checksum = Blake2b256(file);
  w.Bytes(checksum.span());
  return file;
}

absl::StatusOr<KeyStoreContents> DecodeKeyStore(std::span<const uint8_t> file,
                                                std::string_view passphrase,
                                                const KeyStoreOpenOptions& options) {
  internal::EnsureSodiumInitialized();
  constexpr size_t kMinFileSize = kHeaderSize + internal::kAeadNonceSize +
                                  kFixedPayloadSize + internal::kAeadTagSize + kChecksumSize;
  if (file.size() < 4 || !std::equal(kMagic, kMagic + 4, file.begin())) {
    return Corrupt("not a Trygg key store (bad magic)");
  }
  if (file.size() < kMinFileSize) return Corrupt("file is truncated");
  const std::span<const uint8_t> body = file.first(file.size() - kChecksumSize);
  if (Blake2b256(body).array() !=
      Hash256::FromSpan(file.last(kChecksumSize)).value().array()) {
    return Corrupt("checksum mismatch: the file is damaged; restore it from a backup");
  }

  internal::ByteReader r(file.first(kHeaderSize));
  uint8_t magic[4];
  r.Bytes(magic);
  const uint8_t version = r.U8();
  const uint8_t alg = r.U8();
  KdfLimits limits;
  limits.opslimit = r.U64();
  limits.memlimit = r.U64();
  uint8_t salt[kSaltSize];
  r.Bytes(salt);
  TRYGG_CHECK(r.exhausted());
  if (version != kFileVersion) {
    return StoreError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownFormat,
                      "unknown file version " + std::to_string(version));
  }
  if (alg != crypto_pwhash_ALG_ARGON2ID13) {
    return StoreError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownSuite,
                      "unknown password hash algorithm " + std::to_string(alg));
  }
  if (limits.opslimit > kMaxOpslimit || limits.memlimit > kMaxMemlimit ||
      limits.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      limits.memlimit < crypto_pwhash_MEMLIMIT_MIN) {
    return Corrupt("Argon2id limits out of range");
  }
  if (!options.allow_weak_kdf_for_tests &&
      (limits.opslimit < crypto_pwhash_OPSLIMIT_INTERACTIVE ||
       limits.memlimit < crypto_pwhash_MEMLIMIT_INTERACTIVE)) {
    return StoreError(absl::StatusCode::kFailedPrecondition, CryptoError::kWeakKdfLimits,
                      "file asks for Argon2id limits below INTERACTIVE; refusing a "
                      "possible downgrade");
  }

  TRYGG_ASSIGN_OR_RETURN(const SecretKey file_key, DeriveFileKey(passphrase, salt, limits));
  const std::span<const uint8_t> sealed = body.subspan(kHeaderSize);
  internal::SecretBuffer payload(sealed.size() - internal::kAeadNonceSize -
                                 internal::kAeadTagSize);
  if (!internal::AeadOpen(file_key.span(), sealed, file.first(kHeaderSize),
                          payload.span())) {
    return StoreError(absl::StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase,
                      "wrong passphrase (or the file was deliberately altered)");
  }

  const uint8_t* p = payload.data();
  auto get_u32 = [&p] {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | *p++;
    return v;
  };
  Id128 org_id;
  Id128 device_id;
  SecretKey sign_seed;
  SecretKey box_seed;
  std::memcpy(org_id.data(), p, 16);
  std::memcpy(device_id.data(), p + 16, 16);
  std::memcpy(sign_seed.data(), p + 32, 32);
  std::memcpy(box_seed.data(), p + 64, 32);
  p += 96;
  const uint32_t count = get_u32();
  if (count > kMaxOrgKeys ||
      payload.size() != kFixedPayloadSize + uint64_t{kOrgKeyEntrySize} * count) {
    return Corrupt("payload length does not match its organisation key count");
  }
  std::vector<OrgKey> org_keys(count);
  for (OrgKey& key : org_keys) {
    key.generation = get_u32();
    std::memcpy(key.seed.data(), p, 32);
    p += 32;
  }
  return KeyStoreContents{org_id, device_id, DeviceKeys::FromSeeds(sign_seed, box_seed),
                          std::move(org_keys)};
}

absl::Status CreateKeyStore(const std::filesystem::path& path, std::string_view passphrase,
                            const KeyStoreContents& contents, const KdfLimits& limits,
                            Rng& rng) {
  if (std::filesystem::exists(path)) {
    return absl::AlreadyExistsError("key store: " + path.string() + " already exists");
  }
  TRYGG_ASSIGN_OR_RETURN(const std::vector<uint8_t> file,
                         EncodeKeyStore(passphrase, contents, limits, rng));
  return WriteFileAtomically(path, file, IfExists::kRefuse);
}

absl::Status SaveKeyStore(const std::filesystem::path& path, std::string_view passphrase,
                          const KeyStoreContents& contents, const KdfLimits& limits,
                          Rng& rng) {
  TRYGG_ASSIGN_OR_RETURN(const std::vector<uint8_t> file,
                         EncodeKeyStore(passphrase, contents, limits, rng));
  return WriteFileAtomically(path, file, IfExists::kReplace);
}

absl::StatusOr<KeyStoreContents> OpenKeyStore(const std::filesystem::path& path,
                                              std::string_view passphrase,
                                              const KeyStoreOpenOptions& options) {
  TRYGG_ASSIGN_OR_RETURN(const std::vector<uint8_t> file, ReadFile(path));
  return DecodeKeyStore(file, passphrase, options);
}

absl::Status ChangeKeyStorePassphrase(const std::filesystem::path& path,
                                      std::string_view old_passphrase,
                                      std::string_view new_passphrase,
                                      const KdfLimits& new_limits, Rng& rng,
                                      const KeyStoreOpenOptions& options) {
  TRYGG_ASSIGN_OR_RETURN(const KeyStoreContents contents,
                         OpenKeyStore(path, old_passphrase, options));
  return SaveKeyStore(path, new_passphrase, contents, new_limits, rng);
}

}  // namespace trygg
