// SPDX-License-Identifier: Apache-2.0

// DiagnoseLog: recomputes an audit log from its entries and, when the log
// does not match what the auditor trusts, says what was done to it and where:
// an entry edited, removed, inserted or moved (reordered), entries missing at
// the end or added beyond the trusted tree.
//
// What is trusted is up to the caller, and the answer is only as precise as
// that evidence:
//  - `signed_heads`: tree heads whose signatures the caller has verified, in
//    any order. The entries must reproduce each head's root at its size.
//    When they do not, the smallest failing head and the largest passing one
//    bound where the change is.
//  - `trusted_leaves`: leaf hashes the caller trusts (the server's stored
//    level-0 nodes after checking they reproduce a signed root, or hashes
//    kept from an earlier audit). Comparing against them names the exact
//    index and the kind of change.
//
// Pure function of its inputs; thread-safe. Never fails: every problem is a
// finding. Cost: O(n) hashes and O(n) memory for n entries.
#ifndef TRYGG_AUDIT_LOG_DIAGNOSIS_H_
#define TRYGG_AUDIT_LOG_DIAGNOSIS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/bytes.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/tree_head.h"

namespace trygg::audit {

struct LogFinding {
  enum class Kind {
    kEdited,        // entry `index` has other bytes than the trusted one
    kRemoved,       // trusted entry `index` is gone (`count` of them)
    kInserted,      // an untrusted entry sits at `index` (`count` of them)
    kReordered,     // entry at `index` belongs at `other_index`
    kMissingTail,   // trusted entries from `index` on are gone
    kIndexGap,      // no entry stored under index `index`
    kUndecodable,   // entry `index` is not a valid audit entry
    kRootMismatch,  // the entries do not reproduce a signed head's root
    kCaseFork,      // entries `other_index` and `index` record two different
                    // records under one version of one case
  };
  Kind kind;
  uint64_t index = 0;
  uint64_t other_index = 0;
  uint64_t count = 1;
  std::string message;
};

std::string_view LogFindingKindName(LogFinding::Kind kind);

struct LogDiagnosis {
  // Number of entries examined and the root they give.
  uint64_t entry_count = 0;
  Hash256 root;
  // Largest signed size the entries reproduce (0 if none or no heads).
  uint64_t verified_size = 0;
  std::vector<LogFinding> findings;

  bool ok() const { return findings.empty(); }
};

struct DiagnoseOptions {
  // True when `trusted_leaves` are the whole log (the server's own tree):
  // then an entry beyond them was inserted. False when they are an earlier
  // prefix: the log may have grown since, and later entries are not findings.
  bool leaves_cover_whole_log = false;
  // Stop after this many findings; one change can cascade into many.
  size_t max_findings = 50;
};

// `entries` in storage order (ascending stored index). Entries beyond every
// signed head are not findings by themselves: the log may have grown since.
LogDiagnosis DiagnoseLog(absl::Span<const IndexedEntry> entries,
                         absl::Span<const TreeHead> signed_heads,
                         absl::Span<const Hash256> trusted_leaves, const DiagnoseOptions& options);

// Two records under one version of one case (FindCaseForks): the server
// accepted both, so it showed different devices different histories of the
// case, even if every entry is intact. Each case_created and case_version
// entry names a version; two entries for the same (case, version) whose
// record hashes differ, or of which one carries none (format 1), are a
// finding naming the case, the version and both indexes. Entries that do
// not decode are skipped (DiagnoseLog reports them). Pure function;
// thread-safe. Cost: O(n) time and memory in the case entries.
std::vector<LogFinding> FindCaseForks(absl::Span<const IndexedEntry> entries, size_t max_findings = 50);

// The checks `trygg-audit verify-db` makes of a copy of a server's database,
// and `tryggd backup` and `tryggd restore` make of a backup before they
// accept it: one function, so the three can never disagree.
//  - every stored head must carry `server_key`'s signature (an unsigned or
//    forged one is a finding) and the signed sizes must never shrink;
//  - the stored leaf hashes are trusted only if they reproduce every signed
//    root (then they name exact indexes); `stored_leaves` is the store's read
//    of them, whose error becomes a note;
//  - then DiagnoseLog and FindCaseForks over `entries`.
// `latest` is the last validly signed head in storage order. Pure function;
// thread-safe.
struct StoredLogDiagnosis {
  LogDiagnosis diagnosis;
  std::optional<TreeHead> latest;
  std::vector<std::string> notes;
};
StoredLogDiagnosis DiagnoseStoredLog(absl::Span<const IndexedEntry> entries,
                                     absl::Span<const SignedTreeHead> stored_heads,
                                     const absl::StatusOr<std::vector<Hash256>>& stored_leaves,
                                     const SignPublicKey& server_key);

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_LOG_DIAGNOSIS_H_
