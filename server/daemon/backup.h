// SPDX-License-Identifier: Apache-2.0

// `tryggd backup` and `tryggd restore`: a consistent copy of a data
// directory's database taken while tryggd runs, and putting one back, each
// checked as `trygg-audit verify-db` checks a copy before it is accepted.
//
// Backup: the live trygg.db is copied with SQLite's online backup API
// (store/sqlite/database_copy.h) without taking tryggd's lock, into a temp
// file beside the output (mode 0600); the copy must pass `PRAGMA
// integrity_check` and audit::DiagnoseStoredLog under the server key before
// it is renamed into place. The server signing key goes with it only when
// asked, sealed under a passphrase (trygg/sealed_signing_key.h) in the
// sibling file <out>.key; the plaintext seed is never written.
//
// Restore: takes tryggd's lock on the data directory (so no server runs on
// it), copies the backup into a temp file there, checks that copy as above,
// opens the sealed key if a passphrase is given, and only then moves any old
// files aside (--force), writes the key and renames the database into place.
// Every refusal leaves the data directory as it was. Last, it signs a restore
// notice with the server key (the restored log's size and root, the time, and
// the replaced database's latest signed head if it had one) and writes it
// beside the database: what `trygg-audit` checks to tell this restore from a
// silent rollback.
//
// Ownership: the passphrase is read from a file into memory that is wiped;
// the seed and the key derived from the passphrase live in SecretKey
// (locked, wiped). Nothing secret is logged or printed.
// Thread-safety: one call per process; they take the data directory's lock
// (restore) or none (backup).
// Failure modes: a usage problem (missing file, output exists) is
// INVALID_ARGUMENT or ALREADY_EXISTS; a running tryggd or an existing
// database without `force` is FAILED_PRECONDITION; a damaged backup or one
// whose audit log does not verify is DATA_LOSS naming the first finding; a
// wrong passphrase is PERMISSION_DENIED. Every message says what to do.
#ifndef TRYGG_SERVER_DAEMON_BACKUP_H_
#define TRYGG_SERVER_DAEMON_BACKUP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/restore_notice.h"
#include "trygg/audit/tree_head.h"
#include "trygg/bytes.h"
#include "trygg/random.h"

namespace trygg::server {

// Where a backup's sealed signing key goes: beside the database file.
std::string SealedKeyPathFor(const std::string& backup_path);

struct BackupOptions {
  std::string data_dir;
  std::string out;
  // Seal the server signing key under the passphrase in this file (its
  // first line) into SealedKeyPathFor(out).
  std::string passphrase_file;
  bool with_signing_key = false;
  // Told how far a long copy has come, as "N of M pages".
  std::function<void(int64_t pages_copied, int64_t pages_total)> progress;
};

// What a checked copy holds.
struct CheckedCopy {
  // The audit log it holds: its size (entries) and Merkle root.
  uint64_t tree_size = 0;
  Hash256 root_hash;
  // The latest tree head the server signed and stored in it, if any; the
  // log may have grown past it (heads are signed when a client asks).
  std::optional<audit::TreeHead> signed_head;
  SignPublicKey server_key;  // the key its signed heads verify under
};

struct BackupSummary {
  std::string path;
  std::string key_path;  // empty without --with-signing-key
  uint64_t bytes = 0;
  CheckedCopy copy;
};

absl::StatusOr<BackupSummary> Backup(const BackupOptions& options, Rng& rng);

struct RestoreOptions {
  std::string from;
  std::string data_dir;
  // Restore the sealed key (`sealed_key`, by default <from>.key), opened
  // with the passphrase in this file. Without it the data directory's own
  // server-signing.key is kept.
  std::string passphrase_file;
  std::string sealed_key;
  // Replace an existing database (and key); the old files are kept beside,
  // renamed to <name>.before-restore-<UTC time>.
  bool force = false;
};

struct RestoreSummary {
  std::string database_path;
  std::string key_from;  // the sealed key restored, if any
  bool key_restored = false;
  std::vector<std::string> kept_aside;  // old files, renamed
  CheckedCopy copy;
  // The restore notice signed with the server key (trygg/audit/restore_notice.h)
  // and the file it was written to: <data_dir>/restore-notice-<UTC time>.json,
  // mode 0644, for the operator to publish to devices and coordinators.
  audit::SignedRestoreNotice notice;
  std::string notice_path;
};

absl::StatusOr<RestoreSummary> Restore(const RestoreOptions& options);

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_BACKUP_H_
