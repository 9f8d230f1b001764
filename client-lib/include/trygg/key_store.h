// SPDX-License-Identifier: Apache-2.0

// The device's local key store file.
//
// Purpose: holds the device's secret seeds, its ids, and every organisation key
// generation it has received, sealed with XChaCha20-Poly1305 under a key from
// Argon2id(passphrase). The file header (magic, version, algorithm, limits, salt)
// is the AEAD's additional data, and a BLAKE2b-256 checksum trailer separates
// accidental corruption (DataLoss) from a wrong passphrase (PermissionDenied).
// Layout: docs/protocol.md, "Key store".
// Writes are atomic: a temporary file in the same directory is written, fsynced,
// renamed over the target and the directory fsynced, so a crash leaves either the
// old or the new file, never a broken one.
// Ownership: KeyStoreContents owns its secrets in locked memory.
// Thread-safety: functions are reentrant; do not write one path concurrently.
// Failure modes: wrong passphrase -> PermissionDenied/kWrongPassphrase; damaged
// file -> DataLoss/kCorruptKeyStore; limits below INTERACTIVE (or absurdly large)
// -> FailedPrecondition/kWeakKdfLimits unless allow_weak_kdf_for_tests;
// missing file -> NotFound; CreateKeyStore on an existing path -> AlreadyExists;
// other I/O -> Internal with errno text.
#ifndef TRYGG_KEY_STORE_H_
#define TRYGG_KEY_STORE_H_

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/keys.h"
#include "trygg/random.h"

namespace trygg {

struct KdfLimits {
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;  // bytes
};

// crypto_pwhash_*_MODERATE (3 passes, 256 MiB): the production default.
KdfLimits ModerateKdfLimits();
// crypto_pwhash_*_INTERACTIVE (2 passes, 64 MiB): the lowest a file may ask for.
KdfLimits InteractiveKdfLimits();
// crypto_pwhash_*_MIN: tests only; refused by OpenKeyStore by default.
KdfLimits MinimumKdfLimitsForTests();

struct KeyStoreContents {
  Id128 org_id;
  Id128 device_id;
  DeviceKeys device;
  std::vector<OrgKey> org_keys;  // any order on input; sorted by generation on open
};

struct KeyStoreOpenOptions {
  // Accept files whose Argon2id limits are below INTERACTIVE. Tests only: a file
  // an attacker rewrote with weak limits would otherwise be accepted.
  bool allow_weak_kdf_for_tests = false;
};

// Writes a new key store; fails with AlreadyExists if `path` exists.
absl::Status CreateKeyStore(const std::filesystem::path& path,
                            std::string_view passphrase,
                            const KeyStoreContents& contents,
                            const KdfLimits& limits, Rng& rng);

// Atomically replaces an existing key store (e.g. after receiving a new
// organisation key generation), with a fresh salt and nonce.
absl::Status SaveKeyStore(const std::filesystem::path& path,
                          std::string_view passphrase,
                          const KeyStoreContents& contents,
                          const KdfLimits& limits, Rng& rng);

absl::StatusOr<KeyStoreContents> OpenKeyStore(
    const std::filesystem::path& path, std::string_view passphrase,
    const KeyStoreOpenOptions& options = {});

// Opens with `old_passphrase` and atomically rewrites under `new_passphrase`
// with `new_limits`, a fresh salt and a fresh nonce.
absl::Status ChangeKeyStorePassphrase(const std::filesystem::path& path,
                                      std::string_view old_passphrase,
                                      std::string_view new_passphrase,
                                      const KdfLimits& new_limits, Rng& rng,
                                      const KeyStoreOpenOptions& options = {});

// Serialised forms, for test vectors and for callers that store the bytes
// elsewhere. EncodeKeyStore does not touch the filesystem.
absl::StatusOr<std::vector<uint8_t>> EncodeKeyStore(std::string_view passphrase,
                                                    const KeyStoreContents& contents,
                                                    const KdfLimits& limits,
                                                    Rng& rng);
absl::StatusOr<KeyStoreContents> DecodeKeyStore(std::span<const uint8_t> file,
                                                std::string_view passphrase,
                                                const KeyStoreOpenOptions& options = {});

}  // namespace trygg

#endif  // TRYGG_KEY_STORE_H_
