// SPDX-License-Identifier: Apache-2.0

// A device's alias index: the names (or short labels) a caseworker gives her
// organisation's cases, kept on her own device only and never sent to the
// server, so that a case can be shown and found by name without the server
// learning the name.
//
// Purpose: AliasIndex maps a case id to an alias (UTF-8, 1 to kMaxAliasBytes
// bytes, no control characters), finds cases by a case-insensitive part of
// their alias, and seals itself into one file beside the key store
// ("<key store>.aliases", AliasIndexPathFor). The file is sealed with
// XChaCha20-Poly1305 under a key derived from the device's own secret
// (crypto_kdf, context "trgalias", from the device's box seed), so only this
// device's key store opens it; its additional data binds it to this device
// and organisation (a file copied from another device does not open) and to
// the format's magic and version. The plaintext is padded to a multiple of
// 1 KiB, so the file's size shows roughly how many aliases it holds, not
// their lengths. A BLAKE2b-256 trailer separates a damaged file (DataLoss)
// from one that does not open under this device's key (PermissionDenied).
// Layout: docs/protocol.md, "Alias index".
// Writes are atomic (atomic_file.h): a crash leaves the old file or the new.
//
// Search folds case the simple way, without ICU (which libtrygg does not
// link): ASCII and the Latin-1 Supplement and Latin Extended-A letters (so
// Å/å, Ä/ä, Ö/ö, É/é, Ł/ł match), on code points, without Unicode
// normalisation: an alias typed with a combining ring (a + U+030A) does not
// match a query typed with the precomposed å.
//
// Ownership: owns its key (sodium-locked memory) and its entries; Wipe() and
// the destructor overwrite both (the entries' heap buffers with
// sodium_memzero before they are freed). Copies the caller makes of an alias
// (Get returns one) are the caller's to wipe.
// Thread-safety: none; one owner at a time (move-only).
// Failure modes: Load: NotFound is never returned (no file is an empty
// index); DataLoss/kCorruptKeyStore for a damaged or truncated file or an
// unknown magic, DataLoss/kUnknownFormat for another version,
// PermissionDenied/kDecryptFailed when it does not open with this device's
// key and binding; Internal with errno text for I/O. A file that fails is
// never replaced by Load; the caller decides. Set: InvalidArgument for an
// alias that is too long, not UTF-8 or has control characters,
// ResourceExhausted past kMaxAliases; Set and Save after Wipe:
// FailedPrecondition.
#ifndef TRYGG_ALIAS_INDEX_H_
#define TRYGG_ALIAS_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/key_store.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"

namespace trygg {

inline constexpr size_t kMaxAliasBytes = 200;
inline constexpr size_t kMaxAliases = 100000;
inline constexpr uint8_t kAliasIndexVersion = 1;

// "<key store>.aliases": where a device keeps its alias index.
std::filesystem::path AliasIndexPathFor(const std::filesystem::path& key_store);

// OK for an alias Set accepts (the empty alias, which removes, included);
// InvalidArgument naming what is wrong otherwise.
absl::Status CheckAlias(std::string_view alias);

// The search form of `utf8`: case folded as described above. Invalid UTF-8
// bytes are kept as they are.
std::string FoldAliasForSearch(std::string_view utf8);

class AliasIndex {
 public:
  // An empty index for the device whose key store holds `keys`.
  static AliasIndex Empty(const KeyStoreContents& keys);
  // Opens the index at `path` with this device's keys; an empty index when
  // there is no file.
  static absl::StatusOr<AliasIndex> Load(const std::filesystem::path& path, const KeyStoreContents& keys);
  // Opens the file's bytes (Load without the filesystem).
  static absl::StatusOr<AliasIndex> Decode(std::span<const uint8_t> file, const KeyStoreContents& keys);

  ~AliasIndex();
  AliasIndex(AliasIndex&& other) noexcept;
  AliasIndex& operator=(AliasIndex&& other) noexcept;
  AliasIndex(const AliasIndex&) = delete;
  AliasIndex& operator=(const AliasIndex&) = delete;

  // Seals the index with a fresh nonce from `rng`.
  absl::StatusOr<std::vector<uint8_t>> Encode(Rng& rng) const;
  // Encode, then write atomically to `path` (mode 0600).
  absl::Status Save(const std::filesystem::path& path, Rng& rng) const;

  // Gives `case_id` the alias `alias`; an empty alias removes it.
  absl::Status Set(const Id128& case_id, std::string_view alias);
  // The alias of `case_id`, "" when it has none.
  std::string Get(const Id128& case_id) const;
  // The cases whose alias contains `query` (folded), in case id order; every
  // case with an alias for an empty query.
  std::vector<Id128> Find(std::string_view query) const;
  size_t size() const { return entries_.size(); }

  // Overwrites the key and every alias and empties the index; afterwards
  // Set, Encode and Save fail with FailedPrecondition.
  void Wipe();
  bool wiped() const { return wiped_; }

 private:
  AliasIndex(SecretKey key, const Id128& org_id, const Id128& device_id);
  std::vector<uint8_t> AdditionalData() const;
  void WipeEntries();

  SecretKey key_;
  Id128 org_id_;
  Id128 device_id_;
  std::map<Id128, std::string> entries_;
  bool wiped_ = false;
};

}  // namespace trygg

#endif  // TRYGG_ALIAS_INDEX_H_
