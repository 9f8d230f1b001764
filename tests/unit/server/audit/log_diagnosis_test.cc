// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/log_diagnosis.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "trygg/audit/audit_entry.h"
#include "trygg/audit/tree_frontier.h"

namespace trygg::audit {
namespace {

std::vector<uint8_t> Entry(uint32_t n) {
  AuditEvent e;
  e.kind = AuditEventKind::kCaseVersion;
  e.time_ms = 1700000000000 + n;
  e.number = n;
  const EncodedAuditEvent bytes = EncodeAuditEvent(e);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

struct Log {
  std::vector<IndexedEntry> entries;
  std::vector<Hash256> leaves;
  TreeHead head;
};

Log MakeLog(uint32_t n) {
  Log log;
  for (uint32_t i = 0; i < n; ++i) {
    log.entries.push_back({i, Entry(i)});
    log.leaves.push_back(HashLeaf(log.entries.back().bytes));
  }
  log.head.tree_size = n;
  log.head.root_hash = RootFromLeafHashes(log.leaves);
  return log;
}

LogDiagnosis Diagnose(const Log& log, const std::vector<IndexedEntry>& entries) {
  DiagnoseOptions options;
  options.leaves_cover_whole_log = true;
  return DiagnoseLog(entries, {log.head}, log.leaves, options);
}

const LogFinding& First(const LogDiagnosis& d) {
  REQUIRE_FALSE(d.findings.empty());
  return d.findings.front();
}

TEST_CASE("An intact log reproduces its signed head", "[audit][diagnosis]") {
  const Log log = MakeLog(20);
  LogDiagnosis d = Diagnose(log, log.entries);
  CHECK(d.ok());
  CHECK(d.root == log.head.root_hash);
  CHECK(d.verified_size == 20);
  // Without trusted leaves, the signed head alone also passes.
  CHECK(DiagnoseLog(log.entries, {log.head}, {}, {}).ok());
}

TEST_CASE("Diagnosis names an edited entry", "[audit][diagnosis]") {
  const Log log = MakeLog(20);
  std::vector<IndexedEntry> entries = log.entries;
  entries[7].bytes[20] ^= 1;
  LogDiagnosis d = Diagnose(log, entries);
  CHECK(First(d).kind == LogFinding::Kind::kEdited);
  CHECK(First(d).index == 7);
  CHECK(First(d).message.find("entry 7 was edited") != std::string::npos);
}

TEST_CASE("Diagnosis names a removed entry, with and without renumbering", "[audit][diagnosis]") {
  const Log log = MakeLog(20);
  std::vector<IndexedEntry> gap = log.entries;
  gap.erase(gap.begin() + 7);
  LogDiagnosis d = Diagnose(log, gap);
  CHECK(First(d).kind == LogFinding::Kind::kRemoved);
  CHECK(First(d).index == 7);
  CHECK(First(d).message.find("no row is stored under index 7") != std::string::npos);

  std::vector<IndexedEntry> renumbered = gap;
  for (size_t i = 7; i < renumbered.size(); ++i) renumbered[i].index = i;
  d = Diagnose(log, renumbered);
  CHECK(First(d).kind == LogFinding::Kind::kRemoved);
  CHECK(First(d).index == 7);
  CHECK(First(d).message.find("renumbered") != std::string::npos);
}

TEST_CASE("Diagnosis names inserted entries, in the middle and at the end", "[audit][diagnosis]") {
  const Log log = MakeLog(20);
  std::vector<IndexedEntry> middle = log.entries;
  middle.insert(middle.begin() + 5, IndexedEntry{5, Entry(1000)});
  for (size_t i = 6; i < middle.size(); ++i) middle[i].index = i;
  LogDiagnosis d = Diagnose(log, middle);
  CHECK(First(d).kind == LogFinding::Kind::kInserted);
  CHECK(First(d).index == 5);

  std::vector<IndexedEntry> end = log.entries;
  end.push_back({20, Entry(1000)});
  d = Diagnose(log, end);
  CHECK(First(d).kind == LogFinding::Kind::kInserted);
  CHECK(First(d).index == 20);
}

TEST_CASE("Diagnosis names reordered entries", "[audit][diagnosis]") {
  const Log log = MakeLog(20);
  std::vector<IndexedEntry> swapped = log.entries;
  std::swap(swapped[3].bytes, swapped[9].bytes);
  LogDiagnosis d = Diagnose(log, swapped);
  CHECK(First(d).kind == LogFinding::Kind::kReordered);
  CHECK(First(d).index == 3);
  CHECK(First(d).other_index == 9);
  CHECK(First(d).message.find("entries 3 and 9 were reordered") != std::string::npos);
}

TEST_CASE("Diagnosis names entries removed from the end", "[audit][diagnosis]") {
  const Log log = MakeLog(20);
  std::vector<IndexedEntry> cut(log.entries.begin(), log.entries.end() - 2);
  LogDiagnosis d = Diagnose(log, cut);
  CHECK(First(d).kind == LogFinding::Kind::kMissingTail);
  CHECK(First(d).index == 18);
  CHECK(First(d).count == 2);
}

TEST_CASE("Without trusted leaves, signed heads bound where a change is", "[audit][diagnosis]") {
  Log log = MakeLog(32);
  TreeHead at8;
  at8.tree_size = 8;
  at8.root_hash = RootFromLeafHashes(absl::MakeConstSpan(log.leaves.data(), 8));
  TreeHead at16;
  at16.tree_size = 16;
  at16.root_hash = RootFromLeafHashes(absl::MakeConstSpan(log.leaves.data(), 16));
  std::vector<IndexedEntry> entries = log.entries;
  entries[12].bytes[30] ^= 0xff;
  LogDiagnosis d = DiagnoseLog(entries, {log.head, at16, at8}, {}, {});
  REQUIRE_FALSE(d.ok());
  const LogFinding& f = First(d);
  CHECK(f.kind == LogFinding::Kind::kRootMismatch);
  CHECK(f.index == 8);         // last good signed size
  CHECK(f.other_index == 16);  // first bad signed size
  CHECK(d.verified_size == 8);
}

TEST_CASE("Undecodable entries and index gaps are findings", "[audit][diagnosis]") {
  Log log = MakeLog(4);
  std::vector<IndexedEntry> entries = log.entries;
  entries[2].bytes = {1, 2, 3};
  LogDiagnosis d = DiagnoseLog(entries, {}, {}, {});
  CHECK(First(d).kind == LogFinding::Kind::kUndecodable);
  CHECK(First(d).index == 2);

  entries = log.entries;
  entries.erase(entries.begin() + 1);
  d = DiagnoseLog(entries, {}, {}, {});
  CHECK(First(d).kind == LogFinding::Kind::kIndexGap);
  CHECK(First(d).index == 1);
}

TEST_CASE("A signed head larger than the log reports missing entries", "[audit][diagnosis]") {
  Log log = MakeLog(10);
  std::vector<IndexedEntry> cut(log.entries.begin(), log.entries.begin() + 6);
  LogDiagnosis d = DiagnoseLog(cut, {log.head}, {}, {});
  CHECK(First(d).kind == LogFinding::Kind::kRootMismatch);
  CHECK(First(d).message.find("entries 6 to 9 are missing") != std::string::npos);
}

TEST_CASE("Two records under one version of a case are a fork", "[audit][diagnosis]") {
  auto version = [](uint8_t case_byte, uint32_t n, uint8_t record) {
    AuditEvent e;
    e.kind = n == 1 ? AuditEventKind::kCaseCreated : AuditEventKind::kCaseVersion;
    e.number = n == 1 ? 0 : n;
    e.case_id[0] = case_byte;
    e.record_hash.fill(record);
    return EncodeAuditEvent(e);
  };
  std::vector<IndexedEntry> entries = {{0, version(1, 1, 0x10)}, {1, version(1, 2, 0x20)},
                                       {2, version(2, 1, 0x30)}, {3, version(2, 2, 0x20)},
                                       {4, Entry(9)}};
  CHECK(FindCaseForks(entries).empty());  // the same hash in two cases is no fork

  entries.push_back({5, version(1, 2, 0x21)});
  entries.push_back({6, version(2, 1, 0x30)});  // a repeat of the same record is no fork
  const std::vector<LogFinding> forks = FindCaseForks(entries);
  REQUIRE(forks.size() == 1);
  CHECK(forks[0].kind == LogFinding::Kind::kCaseFork);
  CHECK(forks[0].index == 5);
  CHECK(forks[0].other_index == 1);
  CHECK(forks[0].message.find("case 01000000000000000000000000000000 has two different records for version 2") !=
        std::string::npos);
  CHECK(LogFindingKindName(forks[0].kind) == "case-fork");
}

}  // namespace
}  // namespace trygg::audit

