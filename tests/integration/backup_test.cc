// SPDX-License-Identifier: Apache-2.0

// `tryggd backup` and `tryggd restore` (issue 12, "Backup and restore")
// against a real tryggd and real SQLite files: a backup taken while two
// caseworkers keep writing restores into a fresh data directory, tryggd
// starts there, and every write acknowledged before the backup began reads
// back through the client library (which checks every signature and chain);
// the backup's audit log passes `trygg-audit verify-db`. And each refusal of
// a restore (a damaged backup, a wrong passphrase, a running server, an
// existing database) exits non-zero and changes nothing.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "integration/audit_test_util.h"
#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "testing/tryggd_process.h"
#include "trygg/case_client.h"

namespace trygg {
namespace {

using testing::ExitResult;
using testing::RunTryggd;
using testing::TempDir;
using testing::TestDevice;
using testing::TrustWorld;
using testing::TryggdProcess;

std::vector<uint8_t> Text(const std::string& s) { return {s.begin(), s.end()}; }

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteWholeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

// Every file in `dir` with its bytes: what a refused restore must leave as is.
std::map<std::string, std::string> DirectorySnapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    files[entry.path().filename().string()] = ReadWholeFile(entry.path().string());
  }
  return files;
}

std::vector<std::string> WithDataDir(std::vector<std::string> args, const std::string& data_dir) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--data-dir") args[i + 1] = data_dir;
  }
  return args;
}

int ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

// The sealed key uses the tests-only fast Argon2id limits (a test build of
// tryggd reads this; a Release one does not contain it).
struct FastKdf {
  FastKdf() { setenv("TRYGG_INSECURE_FAST_KDF", "1", 1); }
  ~FastKdf() { unsetenv("TRYGG_INSECURE_FAST_KDF"); }
};

// What the writers have had acknowledged: each case they opened and the
// highest version the server answered for it.
struct Acknowledged {
  std::mutex mu;
  std::condition_variable changed;
  std::map<Id128, uint64_t> versions;
  size_t writes = 0;
  std::string stopped_by;  // the first error of a writer, if any
};

TEST_CASE("a backup taken under a write load restores with every write acknowledged before it", "[daemon][backup]") {
  FastKdf fast_kdf;
  TrustWorld world;
  world.CertifyServer();
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Öst");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& bo = world.AddDevice(admin, Role::kCaseworker);
  TempDir backups;
  const std::string passphrase_file = backups.file("passphrase");
  WriteWholeFile(passphrase_file, "en lång lösenfras för nyckeln\n");

  Acknowledged acked;
  std::atomic<bool> stop{false};
  auto writer = [&](TestDevice& device) {
    CaseClient cases(*device.client, device.keys, world.clock(), world.rng());
    absl::Status failed;
    while (!stop && failed.ok()) {
      auto case_id = cases.CreateCase(Text("Ärende under säkerhetskopiering"), 1);
      if (!case_id.ok()) {
        failed = case_id.status();
        break;
      }
      {
        std::lock_guard<std::mutex> lock(acked.mu);
        acked.versions[*case_id] = 1;
        ++acked.writes;
      }
      acked.changed.notify_all();
      for (int k = 0; k < 5 && !stop; ++k) {
        auto version = cases.AppendVersion(*case_id, Text("version " + std::to_string(k)), 1);
        if (!version.ok()) {
          failed = version.status();
          break;
        }
        {
          std::lock_guard<std::mutex> lock(acked.mu);
          acked.versions[*case_id] = *version;
          ++acked.writes;
        }
        acked.changed.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(acked.mu);
    if (!failed.ok() && acked.stopped_by.empty()) acked.stopped_by = failed.ToString();
  };
  std::thread anna_writes([&] { writer(anna); });
  std::thread bo_writes([&] { writer(bo); });

  // Let the load get going, then note what was acknowledged before the
  // backup begins, and back up while the writers go on.
  std::map<Id128, uint64_t> before;
  size_t writes_at_start = 0;
  {
    std::unique_lock<std::mutex> lock(acked.mu);
    REQUIRE(acked.changed.wait_for(lock, std::chrono::seconds(60), [&] { return acked.writes >= 40; }));
    before = acked.versions;
    writes_at_start = acked.writes;
  }
  const std::string out = backups.file("trygg-backup.db");
  const ExitResult backup = RunTryggd({"backup", "--data-dir", world.data_dir(), "--out", out,
                                       "--with-signing-key", "--passphrase-file", passphrase_file, "--json"},
                                      std::chrono::seconds(120));
  size_t writes_at_end = 0;
  {
    std::unique_lock<std::mutex> lock(acked.mu);
    // The load ran all through the backup: a write acknowledged after it.
    REQUIRE(acked.changed.wait_for(lock, std::chrono::seconds(60),
                                   [&] { return acked.writes > writes_at_start + 2; }));
    writes_at_end = acked.writes;
  }
  stop = true;
  anna_writes.join();
  bo_writes.join();
  INFO(backup.stdout_text << backup.stderr_text);
  REQUIRE(backup.exited);
  REQUIRE(backup.code == 0);
  INFO("writer: " << acked.stopped_by);
  CHECK(acked.stopped_by.empty());
  CHECK(writes_at_end > writes_at_start);
  CHECK(ModeOf(out) == 0600);
  CHECK(ModeOf(out + ".key") == 0600);
  CHECK(backup.stdout_text.find("\"ok\": true") != std::string::npos);
  // Nothing but the two files: the temp file was renamed, and no plaintext
  // seed anywhere.
  const std::string seed = ReadWholeFile(world.data_dir() + "/server-signing.key");
  REQUIRE(seed.size() == 32);
  for (const auto& entry : std::filesystem::directory_iterator(backups.path())) {
    const std::string name = entry.path().filename().string();
    INFO(name);
    CHECK((name == "passphrase" || name == "trygg-backup.db" || name == "trygg-backup.db.key"));
    CHECK(ReadWholeFile(entry.path().string()).find(seed) == std::string::npos);
  }

  // The backup's audit log verifies, as a coordinator checks a copy.
  auto info = anna.client->GetServerInfo();
  REQUIRE(info.ok());
  const std::string server_key_hex = HexEncode(info->server_public_key.span());
  audit_testing::ToolResult verified =
      audit_testing::RunAudit({"verify-db", "--db", out, "--server-key", server_key_hex});
  INFO(verified.out << verified.err);
  CHECK(verified.code == 0);

  // The server is lost; the backup is restored into a fresh directory.
  REQUIRE(world.server().Stop(SIGTERM).code == 0);
  TempDir fresh;
  const ExitResult restore = RunTryggd(
      {"restore", "--from", out, "--data-dir", fresh.path(), "--passphrase-file", passphrase_file, "--json"});
  INFO(restore.stdout_text << restore.stderr_text);
  REQUIRE(restore.exited);
  REQUIRE(restore.code == 0);
  CHECK(restore.stdout_text.find("\"key_restored\": true") != std::string::npos);
  CHECK(ReadWholeFile(fresh.file("server-signing.key")) == seed);
  CHECK(ModeOf(fresh.file("server-signing.key")) == 0600);
  CHECK(ModeOf(fresh.file("trygg.db")) == 0600);

  TryggdProcess restored(WithDataDir(world.server_args(), fresh.path()));
  INFO(restored.startup_error());
  REQUIRE(restored.ok());
  // A client that remembers no head of the old log: the restored one is
  // shorter, by design (the operator guide's "A restore is visible").
  std::unique_ptr<Client> client = world.ClientThrough(bo, restored.address(), "after-restore");
  CaseClient reader(*client, bo.keys, world.clock(), world.rng());
  for (const auto& [case_id, version] : before) {
    auto read = reader.ReadCase(case_id);
    INFO(read.status().ToString());
    REQUIRE(read.ok());
    CHECK(read->versions.size() >= version);
  }
  auto trail = client->VerifyAuditTrail();
  INFO(trail.status().ToString());
  CHECK(trail.ok());
}

TEST_CASE("a restore refuses a damaged backup, a wrong passphrase, a running server and an existing database, "
          "and changes nothing",
          "[daemon][backup]") {
  FastKdf fast_kdf;
  TrustWorld world;
  world.CertifyServer();
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Väst");
  CaseClient cases(*admin.client, admin.keys, world.clock(), world.rng());
  REQUIRE(cases.CreateCase(Text("Ärende före säkerhetskopian"), 1).ok());
  TempDir backups;
  const std::string passphrase_file = backups.file("passphrase");
  WriteWholeFile(passphrase_file, "rätt lösenfras\n");
  const std::string out = backups.file("backup.db");
  const ExitResult backup = RunTryggd({"backup", "--data-dir", world.data_dir(), "--out", out,
                                       "--with-signing-key", "--passphrase-file", passphrase_file});
  INFO(backup.stdout_text << backup.stderr_text);
  REQUIRE(backup.code == 0);

  // Each refusal: exit status, the reason on stderr, and the directory as it was.
  auto refused = [](const std::vector<std::string>& args, const std::string& dir, int code,
                    const std::string& reason) {
    const auto before = DirectorySnapshot(dir);
    const ExitResult exit = RunTryggd(args);
    INFO(exit.stdout_text << exit.stderr_text);
    CHECK(exit.exited);
    CHECK(exit.code == code);
    CHECK(exit.stderr_text.find(reason) != std::string::npos);
    CHECK(DirectorySnapshot(dir) == before);
  };

  SECTION("a running server") {
    // The server's own files move while it runs; compare only its key and
    // the names, and that it still serves.
    const std::string key = ReadWholeFile(world.data_dir() + "/server-signing.key");
    const ExitResult exit = RunTryggd({"restore", "--from", out, "--data-dir", world.data_dir(), "--passphrase-file",
                                       passphrase_file, "--force"});
    INFO(exit.stderr_text);
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("a tryggd is running on data directory") != std::string::npos);
    CHECK(ReadWholeFile(world.data_dir() + "/server-signing.key") == key);
    for (const auto& entry : std::filesystem::directory_iterator(world.data_dir())) {
      CHECK(entry.path().filename().string().find("before-restore") == std::string::npos);
      CHECK(entry.path().filename().string().find(".restore.") == std::string::npos);
    }
    CHECK(admin.client->WhoAmI().ok());
  }
  SECTION("a wrong passphrase") {
    TempDir fresh;
    WriteWholeFile(backups.file("wrong"), "fel lösenfras\n");
    refused({"restore", "--from", out, "--data-dir", fresh.path(), "--passphrase-file", backups.file("wrong")},
            fresh.path(), 1, "wrong passphrase");
  }
  SECTION("a damaged backup") {
    TempDir fresh;
    std::string bytes = ReadWholeFile(out);
    REQUIRE(bytes.size() > 3 * 4096);
    for (size_t i = 2 * 4096; i < 2 * 4096 + 64; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    const std::string damaged = backups.file("damaged.db");
    WriteWholeFile(damaged, bytes);
    WriteWholeFile(damaged + ".key", ReadWholeFile(out + ".key"));
    refused({"restore", "--from", damaged, "--data-dir", fresh.path(), "--passphrase-file", passphrase_file},
            fresh.path(), 3, "tryggd: error: ");
  }
  SECTION("an existing database, without --force") {
    REQUIRE(world.server().Stop(SIGTERM).code == 0);
    refused({"restore", "--from", out, "--data-dir", world.data_dir(), "--passphrase-file", passphrase_file},
            world.data_dir(), 1, "exists; restore into an empty data directory, or give --force");

    // With --force the old files are kept beside, and tryggd starts on the
    // restored database.
    const std::string old_db = ReadWholeFile(world.db_path());
    const ExitResult forced = RunTryggd(
        {"restore", "--from", out, "--data-dir", world.data_dir(), "--passphrase-file", passphrase_file, "--force"});
    INFO(forced.stdout_text << forced.stderr_text);
    REQUIRE(forced.code == 0);
    bool kept = false;
    for (const auto& entry : std::filesystem::directory_iterator(world.data_dir())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("trygg.db.before-restore-", 0) == 0) kept = kept || ReadWholeFile(entry.path()) == old_db;
      CHECK(name.find(".restore.") == std::string::npos);
    }
    CHECK(kept);
    TryggdProcess restored(world.server_args());
    INFO(restored.startup_error());
    CHECK(restored.ok());
  }
}

}  // namespace
}  // namespace trygg
