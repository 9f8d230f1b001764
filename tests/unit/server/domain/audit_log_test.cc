// SPDX-License-Identifier: Apache-2.0

// AuditLog over the real SQLite store: entries commit with the write that
// records them, writes that roll back leave the tree consistent, heads
// are signed and never inconsistent with an earlier one, and every bad
// request is INVALID_ARGUMENT and changes nothing. Also the server key file.
#include "server/domain/audit_log.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "server/audit/memory_node_store.h"
#include "server/audit/merkle_tree.h"
#include "trygg/audit/tree_frontier.h"
#include "trygg/audit/tree_head.h"
#include "trygg/audit/verify.h"
#include "server/daemon/server_key.h"
#include "server/store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"
#include "trygg/signing.h"

namespace trygg::domain {
namespace {

using testing::TempDir;

class FakeClock final : public Clock {
 public:
  int64_t NowUnixMillis() override { return now; }
  int64_t now = 1767225600000;
};

audit::AuditEvent Event(uint32_t n) {
  audit::AuditEvent e;
  e.kind = audit::AuditEventKind::kCaseVersion;
  e.time_ms = 1767225600000 + n;
  e.case_id[0] = static_cast<uint8_t>(n);
  e.number = n;
  return e;
}

Hash256 Leaf(uint32_t n) { return audit::HashLeaf(audit::EncodeAuditEvent(Event(n))); }

struct Fixture {
  Fixture() {
    store::sqlite::SqliteStore::Options options;
    options.path = dir.file("trygg.db");
    auto opened = store::sqlite::SqliteStore::Open(options);
    REQUIRE(opened.ok());
    store = std::move(*opened);
    DeterministicRng rng(7);
    SigningKeyPair key = GenerateSigningKeyPair(rng);
    public_key = key.public_key;
    log = std::make_unique<AuditLog>(store.get(), std::move(key), &clock);
  }

  void Record(uint32_t n) {
    REQUIRE(store->WriteAndWait([n](Transaction& txn) { return AuditLog::Record(txn, Event(n)).status(); })
                .ok());
  }
  uint64_t Size() {
    uint64_t size = 0;
    REQUIRE(store->Read([&](Transaction& txn) -> absl::Status {
                   absl::StatusOr<uint64_t> s = txn.audit().nodes().Size();
                   if (s.ok()) size = *s;
                   return s.status();
                 }).ok());
    return size;
  }
  int64_t Count(const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(dir.file("trygg.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
  }
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file("trygg.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }

  TempDir dir;
  FakeClock clock;
  std::unique_ptr<store::sqlite::SqliteStore> store;
  SignPublicKey public_key;
  std::unique_ptr<AuditLog> log;
  // Who reads the entries: a coordinator reads them all.
  Caller coordinator{Id128(), Id128(), Role::kCoordinator, 0};
};

TEST_CASE("Record appends in the caller's transaction and rolls back with it", "[audit][log]") {
  Fixture f;
  f.Record(0);
  // A write that records and then fails leaves neither entry nor nodes.
  absl::Status failed = f.store->WriteAndWait([](Transaction& txn) -> absl::Status {
    absl::StatusOr<uint64_t> index = AuditLog::Record(txn, Event(1));
    REQUIRE(index.ok());
    CHECK(*index == 1);
    return absl::FailedPreconditionError("the change itself was refused");
  });
  CHECK(failed.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(f.Size() == 1);
  CHECK(f.Count("SELECT count(*) FROM audit_entries") == 1);
  CHECK(f.Count("SELECT count(*) FROM audit_nodes") == 1);
  f.Record(1);
  CHECK(f.Size() == 2);
}

TEST_CASE("A group-committed batch with failing writes keeps the tree consistent", "[audit][log]") {
  Fixture f;
  // Queue many writes at once so the writer commits them in shared
  // transactions; every third records two entries and then fails.
  std::vector<std::future<absl::Status>> results;
  std::vector<Hash256> expected;
  for (uint32_t i = 0; i < 60; ++i) {
    auto promise = std::make_shared<std::promise<absl::Status>>();
    results.push_back(promise->get_future());
    const bool fail = i % 3 == 2;
    if (!fail) expected.push_back(Leaf(i));
    f.store->Write(
        [i, fail](Transaction& txn) -> absl::Status {
          absl::StatusOr<uint64_t> index = AuditLog::Record(txn, Event(i));
          if (!index.ok()) return index.status();
          if (fail) {
            AuditLog::Record(txn, Event(1000 + i)).IgnoreError();
            return absl::AbortedError("refused");
          }
          return absl::OkStatus();
        },
        [promise](absl::Status s) { promise->set_value(s); });
  }
  for (size_t i = 0; i < results.size(); ++i) {
    absl::Status s = results[i].get();
    CHECK(s.ok() == (i % 3 != 2));
  }
  REQUIRE(f.Size() == expected.size());
  CHECK(f.Count("SELECT count(*) FROM audit_entries") == static_cast<int64_t>(expected.size()));
  CHECK(f.Count("SELECT max(idx) + 1 FROM audit_entries") == static_cast<int64_t>(expected.size()));
  // The stored tree is exactly the tree of the surviving entries.
  absl::StatusOr<audit::SignedTreeHead> head = f.log->GetSignedTreeHeadAndWait();
  REQUIRE(head.ok());
  CHECK(head->head.tree_size == expected.size());
  CHECK(head->head.root_hash == audit::RootFromLeafHashes(expected));
  // And every stored node is what a fresh tree over those leaves holds.
  audit::MemoryNodeStore reference;
  audit::MerkleTree tree(&reference);
  REQUIRE(tree.AppendLeafHashes(expected).ok());
  for (uint64_t m = 1; m <= expected.size(); m += 7) {
    absl::StatusOr<std::vector<Hash256>> proof = f.log->ConsistencyProof(m, expected.size());
    REQUIRE(proof.ok());
    CHECK(*proof == *tree.ConsistencyProof(m, expected.size()));
  }
}

TEST_CASE("Signed tree heads verify, are reused while fresh and never go back", "[audit][log]") {
  Fixture f;
  absl::StatusOr<audit::SignedTreeHead> empty = f.log->GetSignedTreeHeadAndWait();
  REQUIRE(empty.ok());
  CHECK(empty->head.tree_size == 0);
  CHECK(empty->head.root_hash == audit::EmptyTreeRoot());

  for (uint32_t i = 0; i < 5; ++i) f.Record(i);
  absl::StatusOr<audit::SignedTreeHead> head = f.log->GetSignedTreeHeadAndWait();
  REQUIRE(head.ok());
  CHECK(head->head.tree_size == 5);
  CHECK(head->head.timestamp_ms == f.clock.now);
  const audit::EncodedTreeHead bytes = audit::EncodeTreeHead(head->head);
  CHECK(Verify(f.public_key, SigningContext::kTreeHead, bytes, head->signature).ok());
  CHECK(audit::VerifyTreeHeadSignature(*head, f.public_key).ok());

  f.clock.now += 1000;
  absl::StatusOr<audit::SignedTreeHead> again = f.log->GetSignedTreeHeadAndWait();
  REQUIRE(again.ok());
  CHECK(again->head == head->head);  // reused
  CHECK(f.Count("SELECT count(*) FROM audit_tree_heads") == 2);

  // The clock goes back: the next head keeps the last timestamp.
  f.Record(5);
  f.clock.now -= 3'600'000;
  absl::StatusOr<audit::SignedTreeHead> later = f.log->GetSignedTreeHeadAndWait();
  REQUIRE(later.ok());
  CHECK(later->head.tree_size == 6);
  CHECK(later->head.timestamp_ms == head->head.timestamp_ms);
  CHECK(audit::VerifyConsistency(5, 6, head->head.root_hash, later->head.root_hash,
                                 *f.log->ConsistencyProof(5, 6))
            .ok());
}

TEST_CASE("The server refuses to sign a head inconsistent with the last one", "[audit][log]") {
  Fixture f;
  for (uint32_t i = 0; i < 8; ++i) f.Record(i);
  REQUIRE(f.log->GetSignedTreeHeadAndWait().ok());
  f.Record(8);
  const int64_t heads = f.Count("SELECT count(*) FROM audit_tree_heads");

  // Rewriting a leaf alone changes no signed root (the stored level-3 node
  // still holds the signed subtree), so signing stays consistent; a rewritten
  // subtree on the old root's path is what the guard must catch.
  SECTION("a rewritten subtree") {
    f.Sql("UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 3 AND idx = 0");
  }
  SECTION("a truncated tree") {
    f.Sql("DELETE FROM audit_nodes WHERE idx >= 2 AND level = 0; DELETE FROM audit_nodes WHERE level > 0");
    f.Sql("DELETE FROM audit_entries WHERE idx >= 2");
  }
  absl::StatusOr<audit::SignedTreeHead> refused = f.log->GetSignedTreeHeadAndWait();
  CHECK(refused.status().code() == absl::StatusCode::kInternal);
  CHECK(std::string(refused.status().message()).find("refusing to sign") != std::string::npos);
  CHECK(f.Count("SELECT count(*) FROM audit_tree_heads") == heads);
}

TEST_CASE("Proof and page requests out of range are INVALID_ARGUMENT and change nothing",
          "[audit][log]") {
  Fixture f;
  for (uint32_t i = 0; i < 10; ++i) f.Record(i);
  REQUIRE(f.log->GetSignedTreeHeadAndWait().ok());
  const int64_t heads = f.Count("SELECT count(*) FROM audit_tree_heads");

  struct Case {
    const char* name;
    absl::Status status;
    const char* message;
  };
  const Case cases[] = {
      {"inclusion index == size", f.log->InclusionProof(10, 10).status(), "leaf_index 10"},
      {"inclusion size > log", f.log->InclusionProof(0, 11).status(), "tree_size 11"},
      {"inclusion size 0", f.log->InclusionProof(0, 0).status(), "leaf_index 0"},
      {"consistency from 0", f.log->ConsistencyProof(0, 5).status(), "first_size"},
      {"consistency first > second", f.log->ConsistencyProof(6, 5).status(), "first_size 6"},
      {"consistency second > log", f.log->ConsistencyProof(5, 11).status(), "second_size 11"},
      {"page size negative", f.log->ListEntries(f.coordinator, 0, -1, "").status(), "page_size -1"},
      {"start beyond log", f.log->ListEntries(f.coordinator, 11, 0, "").status(), "start index 11"},
      {"garbage token", f.log->ListEntries(f.coordinator, 0, 0, "hello").status(), "page_token"},
      {"token with bad digits", f.log->ListEntries(f.coordinator, 0, 0, "ae1.00000000000000zz").status(), "page_token"},
      {"token beyond log", f.log->ListEntries(f.coordinator, 0, 0, EncodeAuditPageToken(50)).status(), "start index 50"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(c.status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(c.status.message()).find(c.message) != std::string::npos);
  }
  CHECK(f.Size() == 10);
  CHECK(f.Count("SELECT count(*) FROM audit_tree_heads") == heads);
  CHECK(f.Count("SELECT count(*) FROM audit_entries") == 10);
}

TEST_CASE("Proofs served from SQLite verify against a signed head", "[audit][log]") {
  Fixture f;
  for (uint32_t i = 0; i < 37; ++i) f.Record(i);
  absl::StatusOr<audit::SignedTreeHead> head = f.log->GetSignedTreeHeadAndWait();
  REQUIRE(head.ok());
  for (uint32_t i = 0; i < 37; ++i) {
    absl::StatusOr<std::vector<Hash256>> proof = f.log->InclusionProof(i, 37);
    REQUIRE(proof.ok());
    CHECK(audit::VerifyInclusion(Leaf(i), i, 37, *proof, head->head.root_hash).ok());
  }
}

TEST_CASE("ListEntries pages with opaque tokens, default 100 and at most 1000", "[audit][log]") {
  Fixture f;
  REQUIRE(f.store->WriteAndWait([](Transaction& txn) -> absl::Status {
                 for (uint32_t i = 0; i < 1205; ++i) {
                   absl::StatusOr<uint64_t> index = AuditLog::Record(txn, Event(i));
                   if (!index.ok()) return index.status();
                 }
                 return absl::OkStatus();
               }).ok());
  absl::StatusOr<AuditEntryPage> page = f.log->ListEntries(f.coordinator, 0, 0, "");
  REQUIRE(page.ok());
  CHECK(page->entries.size() == 100);
  CHECK(page->entries[99].index == 99);
  page = f.log->ListEntries(f.coordinator, 0, 5000, "");
  REQUIRE(page.ok());
  CHECK(page->entries.size() == 1000);

  std::vector<uint64_t> seen;
  std::string token;
  int pages = 0;
  do {
    page = f.log->ListEntries(f.coordinator, 0, 500, token);
    REQUIRE(page.ok());
    for (const audit::IndexedEntry& e : page->entries) {
      seen.push_back(e.index);
      CHECK(e.bytes.size() == audit::kAuditEntrySize);
    }
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  CHECK(pages == 3);
  REQUIRE(seen.size() == 1205);
  CHECK(seen.back() == 1204);
  page = f.log->ListEntries(f.coordinator, 1205, 0, "");
  REQUIRE(page.ok());
  CHECK(page->entries.empty());
  CHECK(page->next_page_token.empty());
}

TEST_CASE("The server key is made once, 0600, seed only, and reloaded", "[audit][server_key]") {
  TempDir dir;
  SystemRng rng;
  absl::StatusOr<server::ServerKey> made = server::LoadOrCreateServerKey(dir.path(), rng);
  REQUIRE(made.ok());
  CHECK(made->created);
  const std::string path = dir.file(server::kServerKeyFileName);
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 32);
  // Nothing else was left in the data directory (no temp file).
  auto only_the_key = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename());
    return names == std::vector<std::string>{server::kServerKeyFileName};
  };
  CHECK(only_the_key());

  absl::StatusOr<server::ServerKey> loaded = server::LoadOrCreateServerKey(dir.path(), rng);
  REQUIRE(loaded.ok());
  CHECK_FALSE(loaded->created);
  CHECK(loaded->pair.public_key == made->pair.public_key);

  // Refusals never replace the key file with a new one.
  auto same_key_file = [&] {
    struct stat after;
    REQUIRE(stat(path.c_str(), &after) == 0);
    CHECK(after.st_ino == st.st_ino);
    CHECK(only_the_key());
  };
  SECTION("readable by others") {
    chmod(path.c_str(), 0644);
    absl::StatusOr<server::ServerKey> r = server::LoadOrCreateServerKey(dir.path(), rng);
    CHECK(r.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(std::string(r.status().message()).find("chmod 600") != std::string::npos);
    same_key_file();
  }
  SECTION("wrong size") {
    std::ofstream(path, std::ios::app) << "x";
    absl::StatusOr<server::ServerKey> r = server::LoadOrCreateServerKey(dir.path(), rng);
    CHECK(r.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(std::string(r.status().message()).find("33 bytes") != std::string::npos);
    same_key_file();
  }
  SECTION("not a regular file") {
    // The directory is a new inode, which may or may not reuse the removed
    // file's number, so what is checked is that it is still there, untouched.
    std::filesystem::remove(path);
    std::filesystem::create_directory(path);
    CHECK(server::LoadOrCreateServerKey(dir.path(), rng).status().code() ==
          absl::StatusCode::kFailedPrecondition);
    CHECK(std::filesystem::is_directory(path));
    CHECK(std::filesystem::is_empty(path));
    CHECK(only_the_key());
  }
}

TEST_CASE("A member device reads the entries naming its organisation, a coordinator reads all",
          "[audit][log]") {
  Fixture f;
  Id128 a, b, c, d;
  a.span()[0] = 0xa;
  b.span()[0] = 0xb;
  c.span()[0] = 0xc;
  d.span()[0] = 0xd;
  // Entry i: actor A for i % 3 == 0, actor B with counterpart A for
  // i % 3 == 1, actor C alone for i % 3 == 2; and one entry in a format this
  // build cannot read, which only a coordinator is served.
  REQUIRE(f.store->WriteAndWait([&](Transaction& txn) -> absl::Status {
                 for (uint32_t i = 0; i < 30; ++i) {
                   audit::AuditEvent e = Event(i);
                   e.actor_org_id = (i % 3 == 0 ? a : i % 3 == 1 ? b : c).array();
                   if (i % 3 == 1) e.counterpart_org_id = a.array();
                   absl::StatusOr<uint64_t> index = AuditLog::Record(txn, e);
                   if (!index.ok()) return index.status();
                 }
                 std::array<uint8_t, audit::kAuditEntrySize> future{};
                 future[0] = audit::kAuditEntryFormat + 1;
                 return txn.audit().Append(future).status();
               }).ok());
  auto read_all = [&](const Caller& caller, int32_t page_size) {
    std::vector<uint64_t> seen;
    std::string token;
    int pages = 0;
    do {
      absl::StatusOr<AuditEntryPage> page = f.log->ListEntries(caller, 0, page_size, token);
      REQUIRE(page.ok());
      for (const audit::IndexedEntry& e : page->entries) seen.push_back(e.index);
      token = page->next_page_token;
      ++pages;
    } while (!token.empty() && pages < 100);
    CHECK(pages == (31 + page_size - 1) / page_size);  // a page covers the same range for everyone
    return seen;
  };
  const Caller of_a{Id128(), a, Role::kCaseworker, 0};
  const Caller of_b{Id128(), b, Role::kOrgAdmin, 0};
  const Caller of_d{Id128(), d, Role::kCaseworker, 0};
  const Caller of_none{Id128(), Id128(), Role::kCaseworker, 0};
  std::vector<uint64_t> expected_a, expected_b, everything;
  for (uint64_t i = 0; i < 30; ++i) {
    if (i % 3 != 2) expected_a.push_back(i);
    if (i % 3 == 1) expected_b.push_back(i);
    everything.push_back(i);
  }
  everything.push_back(30);
  CHECK(read_all(of_a, 7) == expected_a);
  CHECK(read_all(of_b, 7) == expected_b);
  CHECK(read_all(of_d, 7).empty());
  CHECK(read_all(of_none, 7).empty());
  CHECK(read_all(f.coordinator, 7) == everything);
  CHECK(read_all(f.coordinator, 100) == everything);

  // A page of entries that are all someone else's is empty, and says where
  // to go on.
  absl::StatusOr<AuditEntryPage> page = f.log->ListEntries(of_b, 0, 1, "");
  REQUIRE(page.ok());
  CHECK(page->entries.empty());
  CHECK(page->next_page_token == EncodeAuditPageToken(1));
}

TEST_CASE("A caller of no known role reads no entries: PERMISSION_DENIED", "[audit][log]") {
  Fixture f;
  REQUIRE(f.store->WriteAndWait([&](Transaction& txn) { return AuditLog::Record(txn, Event(0)).status(); }).ok());
  const Caller nobody{Id128(), Id128(), static_cast<Role>(0), 0};
  absl::StatusOr<AuditEntryPage> page = f.log->ListEntries(nobody, 0, 10, "");
  CHECK(page.status().code() == absl::StatusCode::kPermissionDenied);
  const Caller member{Id128(), Id128(), Role::kCaseworker, 0};
  CHECK(f.log->ListEntries(member, 0, 10, "").ok());
}

// Not run by default (`audit_log_test "[.bench]"`): the cost of the SQLite
// tree at scale, the numbers docs/audit.md and the issue report quote. Set
// TRYGG_AUDIT_BENCH_ENTRIES (default 1000000) and, to keep the database for
// timing `trygg-audit verify-db`, TRYGG_AUDIT_BENCH_DB.
TEST_CASE("SQLite audit log at scale", "[.bench]") {
  const char* n_env = std::getenv("TRYGG_AUDIT_BENCH_ENTRIES");
  const uint32_t n = n_env != nullptr ? static_cast<uint32_t>(std::atol(n_env)) : 1'000'000;
  const char* keep = std::getenv("TRYGG_AUDIT_BENCH_DB");
  TempDir dir;
  const std::string path = keep != nullptr ? std::string(keep) : dir.file("trygg.db");
  store::sqlite::SqliteStore::Options options;
  options.path = path;
  auto store = store::sqlite::SqliteStore::Open(options);
  REQUIRE(store.ok());
  FakeClock clock;
  DeterministicRng rng(42);
  AuditLog log(store->get(), GenerateSigningKeyPair(rng), &clock);
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };

  // Writes of 100 recorded changes each, queued together so group commit
  // batches them as it would under load.
  const auto t0 = Clock::now();
  constexpr uint32_t kPerWrite = 100;
  std::vector<std::future<absl::Status>> pending;
  for (uint32_t first = 0; first < n; first += kPerWrite) {
    auto promise = std::make_shared<std::promise<absl::Status>>();
    pending.push_back(promise->get_future());
    (*store)->Write(
        [first, n](Transaction& txn) -> absl::Status {
          for (uint32_t i = first; i < std::min(n, first + kPerWrite); ++i) {
            absl::StatusOr<uint64_t> index = AuditLog::Record(txn, Event(i));
            if (!index.ok()) return index.status();
          }
          return absl::OkStatus();
        },
        [promise](absl::Status s) { promise->set_value(s); });
  }
  for (auto& f : pending) REQUIRE(f.get().ok());
  const auto t1 = Clock::now();
  absl::StatusOr<audit::SignedTreeHead> head = log.GetSignedTreeHeadAndWait();
  REQUIRE(head.ok());
  const auto t2 = Clock::now();
  constexpr int kProofs = 2000;
  for (int k = 0; k < kProofs; ++k) {
    const uint64_t index = (static_cast<uint64_t>(k) * 7919) % n;
    REQUIRE(log.InclusionProof(index, n).ok());
  }
  const auto t3 = Clock::now();
  for (int k = 1; k <= kProofs; ++k) {
    REQUIRE(log.ConsistencyProof((static_cast<uint64_t>(k) * 7919) % n + 1, n).ok());
  }
  const auto t4 = Clock::now();
  WARN(n << " entries: append " << seconds(t0, t1) / n * 1e6 << " us/entry ("
         << n / seconds(t0, t1) << " entries/s); sign head " << seconds(t1, t2) * 1e3
         << " ms; inclusion proof " << seconds(t2, t3) / kProofs * 1e6
         << " us; consistency proof " << seconds(t3, t4) / kProofs * 1e6 << " us; key "
         << HexEncode(log.public_key().span()));
}

}  // namespace
}  // namespace trygg::domain
