// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/log_diagnosis.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/tree_frontier.h"
#include "trygg/audit/tree_head.h"

namespace trygg::audit {
namespace {

struct HashKey {
  size_t operator()(const Hash256& h) const {
    size_t v;
    std::memcpy(&v, h.array().data(), sizeof(v));
    return v;
  }
};

class Findings {
 public:
  Findings(std::vector<LogFinding>& out, size_t max) : out_(out), max_(max) {}
  bool full() const { return out_.size() >= max_; }
  void Add(LogFinding::Kind kind, uint64_t index, std::string message, uint64_t other = 0,
           uint64_t count = 1) {
    if (full()) return;
    out_.push_back(LogFinding{kind, index, other, count, std::move(message)});
  }

 private:
  std::vector<LogFinding>& out_;
  size_t max_;
};

std::string Range(uint64_t first, uint64_t count) {
  return count == 1 ? absl::StrCat("entry ", first)
                    : absl::StrCat("entries ", first, " to ", first + count - 1);
}

// Aligns the recomputed leaves with the trusted ones, two pointers, and names
// each place where they part: the next trusted leaf appearing later means
// removal, the trusted leaf reappearing one step on means insertion, two
// leaves found at each other's place means reordering, an unknown leaf with
// the alignment intact means an edit.
void CompareWithTrusted(absl::Span<const IndexedEntry> entries, std::vector<Hash256> leaves,
                        absl::Span<const Hash256> trusted, const DiagnoseOptions& options,
                        Findings& findings) {
  std::unordered_map<Hash256, std::vector<uint64_t>, HashKey> where;
  for (uint64_t t = 0; t < trusted.size(); ++t) where[trusted[t]].push_back(t);
  auto next_trusted_at_or_after = [&](const Hash256& h, uint64_t from) -> std::optional<uint64_t> {
    auto it = where.find(h);
    if (it == where.end()) return std::nullopt;
    auto pos = std::lower_bound(it->second.begin(), it->second.end(), from);
    if (pos == it->second.end()) return std::nullopt;
    return *pos;
  };

  const uint64_t n_leaves = leaves.size();
  const uint64_t n_trusted = trusted.size();
  uint64_t p = 0;
  uint64_t t = 0;
  while (p < n_leaves && t < n_trusted && !findings.full()) {
    if (leaves[p] == trusted[t]) {
      ++p;
      ++t;
      continue;
    }
    const std::optional<uint64_t> later = next_trusted_at_or_after(leaves[p], t + 1);
    if (later.has_value()) {
      const uint64_t j = *later;
      const uint64_t partner = p + (j - t);
      if (partner < n_leaves && leaves[partner] == trusted[t]) {
        findings.Add(LogFinding::Kind::kReordered, t,
                     absl::StrCat("entries ", t, " and ", j,
                                  " were reordered: the entry stored at ", t, " belongs at ", j,
                                  " and the one stored at ", j, " belongs at ", t),
                     j);
        std::swap(leaves[p], leaves[partner]);
        continue;
      }
      const uint64_t removed = j - t;
      const bool gap = entries[p].index != t;
      findings.Add(LogFinding::Kind::kRemoved, t,
                   absl::StrCat(Range(t, removed), removed == 1 ? " was" : " were",
                                " removed from the log",
                                gap ? absl::StrCat(" (no row is stored under index ", t, ")")
                                    : std::string(" (later entries were renumbered)")),
                   0, removed);
      t = j;
      continue;
    }
    const std::optional<uint64_t> resumes = [&]() -> std::optional<uint64_t> {
      for (uint64_t q = p + 1; q < n_leaves; ++q) {
        if (leaves[q] == trusted[t]) return q;
      }
      return std::nullopt;
    }();
    const bool edit_realigns =
        p + 1 >= n_leaves || t + 1 >= n_trusted || leaves[p + 1] == trusted[t + 1];
    if (resumes.has_value() && !edit_realigns) {
      const uint64_t inserted = *resumes - p;
      findings.Add(LogFinding::Kind::kInserted, entries[p].index,
                   absl::StrCat(inserted == 1 ? "an entry was" : absl::StrCat(inserted, " entries were"),
                                " inserted at index ", entries[p].index,
                                " that the signed log does not contain"),
                   0, inserted);
      p = *resumes;
      continue;
    }
    const std::optional<uint64_t> earlier = next_trusted_at_or_after(leaves[p], 0);
    if (earlier.has_value()) {
      findings.Add(LogFinding::Kind::kReordered, t,
                   absl::StrCat("entry ", t, " was replaced by a copy of entry ", *earlier,
                                " (reordered or duplicated)"),
                   *earlier);
    } else {
      findings.Add(LogFinding::Kind::kEdited, t,
                   absl::StrCat("entry ", t, " was edited: its leaf hash ", leaves[p].ToHex(),
                                " is not the signed log's ", trusted[t].ToHex()));
    }
    ++p;
    ++t;
  }
  if (t < n_trusted) {
    findings.Add(LogFinding::Kind::kMissingTail, t,
                 absl::StrCat(Range(t, n_trusted - t), n_trusted - t == 1 ? " was" : " were",
                              " removed from the end of the log"),
                 0, n_trusted - t);
  }
  if (p < n_leaves && options.leaves_cover_whole_log) {
    findings.Add(LogFinding::Kind::kInserted, entries[p].index,
                 absl::StrCat(n_leaves - p == 1 ? "an entry was" : absl::StrCat(n_leaves - p, " entries were"),
                              " appended at index ", entries[p].index,
                              " outside the log's Merkle tree"),
                 0, n_leaves - p);
  }
}

}  // namespace

std::string_view LogFindingKindName(LogFinding::Kind kind) {
  switch (kind) {
    case LogFinding::Kind::kEdited: return "edited";
    case LogFinding::Kind::kRemoved: return "removed";
    case LogFinding::Kind::kInserted: return "inserted";
    case LogFinding::Kind::kReordered: return "reordered";
    case LogFinding::Kind::kMissingTail: return "removed-at-end";
    case LogFinding::Kind::kIndexGap: return "index-gap";
    case LogFinding::Kind::kUndecodable: return "undecodable";
    case LogFinding::Kind::kRootMismatch: return "root-mismatch";
    case LogFinding::Kind::kCaseFork: return "case-fork";
  }
  return "unknown";
}

LogDiagnosis DiagnoseLog(absl::Span<const IndexedEntry> entries,
                         absl::Span<const TreeHead> signed_heads,
                         absl::Span<const Hash256> trusted_leaves, const DiagnoseOptions& options) {
  LogDiagnosis diagnosis;
  Findings findings(diagnosis.findings, options.max_findings);
  diagnosis.entry_count = entries.size();
  std::vector<Hash256> leaves;
  leaves.reserve(entries.size());
  for (const IndexedEntry& entry : entries) {
    leaves.push_back(HashLeaf(entry.bytes));
    absl::StatusOr<AuditEvent> decoded = DecodeAuditEvent(entry.bytes);
    if (!decoded.ok()) {
      findings.Add(LogFinding::Kind::kUndecodable, entry.index,
                   absl::StrCat("entry ", entry.index, " is not a valid audit entry: ",
                                decoded.status().message()));
    }
  }

  if (!trusted_leaves.empty() || options.leaves_cover_whole_log) {
    CompareWithTrusted(entries, leaves, trusted_leaves, options, findings);
  } else {
    for (uint64_t p = 0; p < entries.size(); ++p) {
      if (entries[p].index != p) {
        findings.Add(LogFinding::Kind::kIndexGap, p,
                     absl::StrCat("no entry is stored under index ", p, " (next stored index is ",
                                  entries[p].index, "): entry ", p, " was removed"));
        break;
      }
    }
  }

  // Replay the leaves once, checking each signed head as its size passes.
  std::vector<TreeHead> heads(signed_heads.begin(), signed_heads.end());
  std::sort(heads.begin(), heads.end(),
            [](const TreeHead& a, const TreeHead& b) { return a.tree_size < b.tree_size; });
  TreeFrontier frontier;
  size_t next_head = 0;
  uint64_t last_good = 0;
  bool mismatch_reported = false;
  auto check_heads_at = [&](uint64_t size) {
    while (next_head < heads.size() && heads[next_head].tree_size == size) {
      const TreeHead& head = heads[next_head++];
      if (frontier.Root() == head.root_hash) {
        if (!mismatch_reported) last_good = size;
      } else if (!mismatch_reported) {
        mismatch_reported = true;
        findings.Add(LogFinding::Kind::kRootMismatch, last_good,
                     absl::StrCat("the first ", size, " entries give root ", frontier.Root().ToHex(),
                                  " but the signed tree head of size ", size, " says ",
                                  head.root_hash.ToHex(), ": an entry below index ", size,
                                  last_good > 0 ? absl::StrCat(" and at or above ", last_good) : "",
                                  " was changed"),
                     size);
      }
    }
  };
  check_heads_at(0);
  for (const Hash256& leaf : leaves) {
    frontier.Append(leaf);
    check_heads_at(frontier.size());
  }
  if (next_head < heads.size() && !mismatch_reported) {
    const uint64_t size = heads.back().tree_size;
    findings.Add(LogFinding::Kind::kRootMismatch, leaves.size(),
                 absl::StrCat("the log has ", leaves.size(), " entries but a tree head of size ",
                              size, " was signed: ", Range(leaves.size(), size - leaves.size()),
                              " are missing"),
                 size);
  }
  diagnosis.root = frontier.Root();
  diagnosis.verified_size = mismatch_reported ? last_good : (heads.empty() ? 0 : last_good);
  return diagnosis;
}

std::vector<LogFinding> FindCaseForks(absl::Span<const IndexedEntry> entries, size_t max_findings) {
  struct FirstRecord {
    uint64_t index = 0;
    std::array<uint8_t, 32> record_hash{};
  };
  std::vector<LogFinding> out;
  Findings findings(out, max_findings);
  std::map<std::pair<AuditId, uint32_t>, FirstRecord> first;
  for (const IndexedEntry& entry : entries) {
    absl::StatusOr<AuditEvent> event = DecodeAuditEvent(entry.bytes);
    if (!event.ok() || event->case_version() == 0) continue;
    const auto [it, inserted] =
        first.try_emplace({event->case_id, event->case_version()}, FirstRecord{entry.index, event->record_hash});
    if (inserted || (event->has_record_hash() && it->second.record_hash == event->record_hash)) continue;
    std::string case_id;
    for (uint8_t b : event->case_id) absl::StrAppend(&case_id, absl::Hex(b, absl::kZeroPad2));
    findings.Add(LogFinding::Kind::kCaseFork, entry.index,
                 absl::StrCat("case ", case_id, " has two different records for version ",
                              event->case_version(), " (entries ", it->second.index, " and ", entry.index,
                              "): the server accepted both and showed devices different histories of the case"),
                 it->second.index);
  }
  return out;
}

StoredLogDiagnosis DiagnoseStoredLog(absl::Span<const IndexedEntry> entries,
                                     absl::Span<const SignedTreeHead> stored_heads,
                                     const absl::StatusOr<std::vector<Hash256>>& stored_leaves,
                                     const SignPublicKey& server_key) {
  StoredLogDiagnosis out;
  std::vector<LogFinding> head_findings;
  std::vector<TreeHead> heads;
  uint64_t largest = 0;
  for (size_t k = 0; k < stored_heads.size(); ++k) {
    const SignedTreeHead& h = stored_heads[k];
    if (!VerifyTreeHeadSignature(h, server_key).ok()) {
      head_findings.push_back({LogFinding::Kind::kRootMismatch, h.head.tree_size, 0, 1,
                               absl::StrCat("stored tree head #", k + 1, " (size ", h.head.tree_size,
                                            ") is not signed by the server key: forged or altered")});
      continue;
    }
    if (h.head.tree_size < largest) {
      head_findings.push_back({LogFinding::Kind::kRootMismatch, h.head.tree_size, 0, 1,
                               absl::StrCat("signed tree head #", k + 1, " has size ", h.head.tree_size,
                                            " after a head of size ", largest, ": the log was rolled back")});
    }
    largest = std::max(largest, h.head.tree_size);
    heads.push_back(h.head);
  }
  if (heads.empty()) {
    out.notes.push_back("the database holds no valid signed tree head; only the entries "
                        "against its own Merkle tree could be checked");
  }

  // The stored leaf hashes say exactly where entries changed, but only if
  // they themselves still reproduce every signed root.
  std::vector<Hash256> trusted;
  if (!stored_leaves.ok()) {
    out.notes.push_back(absl::StrCat("stored Merkle tree unusable: ", stored_leaves.status().message()));
  } else {
    bool leaves_ok = true;
    for (const TreeHead& h : heads) {
      if (h.tree_size > stored_leaves->size() ||
          RootFromLeafHashes(absl::MakeConstSpan(stored_leaves->data(), h.tree_size)) != h.root_hash) {
        leaves_ok = false;
      }
    }
    if (leaves_ok) {
      trusted = *stored_leaves;
    } else {
      head_findings.push_back({LogFinding::Kind::kRootMismatch, 0, 0, 1,
                               "the stored Merkle tree does not reproduce the signed roots: its "
                               "nodes were rewritten along with the entries"});
    }
  }
  DiagnoseOptions options;
  options.leaves_cover_whole_log =
      !trusted.empty() || (stored_leaves.ok() && stored_leaves->empty() && !heads.empty());
  out.diagnosis = DiagnoseLog(entries, heads, trusted, options);
  out.diagnosis.findings.insert(out.diagnosis.findings.begin(), head_findings.begin(), head_findings.end());
  const std::vector<LogFinding> forks = FindCaseForks(entries);
  out.diagnosis.findings.insert(out.diagnosis.findings.end(), forks.begin(), forks.end());
  if (!heads.empty()) out.latest = heads.back();
  return out;
}

}  // namespace trygg::audit
