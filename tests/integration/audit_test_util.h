// SPDX-License-Identifier: Apache-2.0

// Helpers for the audit integration tests: fill a real Trygg database with
// audit entries through the real store and AuditLog, change it behind the
// server's back with raw SQL, and run the built trygg-audit binary.
#ifndef TRYGG_TESTS_INTEGRATION_AUDIT_TEST_UTIL_H_
#define TRYGG_TESTS_INTEGRATION_AUDIT_TEST_UTIL_H_

#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "trygg/audit/audit_entry.h"
#include "server/domain/audit_log.h"
#include "server/store/sqlite/sqlite_store.h"
#include "trygg/bytes.h"
#include "trygg/random.h"
#include "trygg/signing.h"

namespace trygg::audit_testing {

struct ToolResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string TryggAuditPath() {
  const char* build = std::getenv("TRYGG_BUILD_DIR");
  return std::string(build != nullptr ? build : ".") + "/tools/trygg-audit/trygg-audit";
}

// Runs trygg-audit with `args`, capturing both streams.
inline ToolResult RunAudit(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}) {
  int out_pipe[2], err_pipe[2];
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
  const std::string path = TryggAuditPath();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv = {const_cast<char*>(path.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  ToolResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, 30'000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline std::string Describe(const ToolResult& r) {
  return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

class FixedClock final : public Clock {
 public:
  int64_t NowUnixMillis() override { return now; }
  int64_t now = 1767225600000;  // 2026-01-01
};

// Opens (or creates) the database at `path`, lets `fill` record entries,
// signs a head after each call when asked, and closes it. The server key is
// derived from `key_seed`; its public key is returned as hex.
class LogBuilder {
 public:
  explicit LogBuilder(const std::string& db_path, uint8_t key_seed = 42) {
    store::sqlite::SqliteStore::Options options;
    options.path = db_path;
    auto opened = store::sqlite::SqliteStore::Open(options);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    DeterministicRng rng(key_seed);
    SigningKeyPair key = GenerateSigningKeyPair(rng);
    public_key_ = key.public_key;
    log_ = std::make_unique<domain::AuditLog>(store_.get(), std::move(key), &clock_);
  }

  void Record(const audit::AuditEvent& event) {
    REQUIRE(store_->WriteAndWait([&event](domain::Transaction& txn) {
                    return domain::AuditLog::Record(txn, event).status();
                  }).ok());
  }
  void Sign() {
    clock_.now += 120'000;  // past the reuse window: a new head each time
    REQUIRE(log_->GetSignedTreeHeadAndWait().ok());
  }
  std::string KeyHex() const { return HexEncode(public_key_.span()); }
  FixedClock& clock() { return clock_; }

 private:
  FixedClock clock_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  SignPublicKey public_key_;
  std::unique_ptr<domain::AuditLog> log_;
};

// A case-version entry that differs per n.
inline audit::AuditEvent CaseVersion(uint32_t n) {
  audit::AuditEvent e;
  e.kind = audit::AuditEventKind::kCaseVersion;
  e.time_ms = 1767225600000 + n * 1000;
  e.case_id[0] = static_cast<uint8_t>(n);
  e.actor_org_id[0] = 1;
  e.number = n;
  return e;
}

inline void Sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO(sql << ": " << (error != nullptr ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

inline std::string EntryHex(uint32_t n) {
  const audit::EncodedAuditEvent bytes = audit::EncodeAuditEvent(CaseVersion(n));
  return HexEncode(bytes);
}

}  // namespace trygg::audit_testing

#endif  // TRYGG_TESTS_INTEGRATION_AUDIT_TEST_UTIL_H_
