// SPDX-License-Identifier: Apache-2.0

// Backups and restores as docs/operator-guide.md ("Backups") describes them,
// against the real tryggd: a database restored without the server key of the
// same backup is refused at start (and nothing in the data directory
// changes), and a backup taken and restored with the guide's commands keeps
// an existing client working.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "testing/tryggd_process.h"
#include "trygg/client.h"
#include "trygg/signing.h"

namespace trygg {
namespace {

using testing::ExitResult;
using testing::RunTryggd;
using testing::TempDir;
using testing::TestDevice;
using testing::TrustWorld;
using testing::TryggdProcess;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every file in `dir` with its bytes: what a refused start must leave as is.
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

// Runs `script` with /bin/sh, as an operator types it.
int RunShell(const std::string& script) {
  INFO(script);
  return std::system(script.c_str());
}

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

TEST_CASE("a database restored without its server key is refused and nothing changes", "[daemon][restore]") {
  TrustWorld world;
  world.CertifyServer();
  const std::string key_path = world.data_dir() + "/server-signing.key";
  const std::string certified_hex = HexEncode(world.NewClient()->GetServerInfo()->server_public_key.span());
  const ExitResult stopped = world.server().Stop(SIGTERM);
  REQUIRE(stopped.exited);
  REQUIRE(stopped.code == 0);

  SECTION("the key file is missing: no new key is made") {
    REQUIRE(std::filesystem::remove(key_path));
    const auto before = DirectorySnapshot(world.data_dir());
    const ExitResult exit = RunTryggd(world.server_args());
    INFO(exit.stderr_text);
    CHECK(exit.exited);
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("server certificate for key " + certified_hex) != std::string::npos);
    CHECK(exit.stderr_text.find("server-signing.key is missing") != std::string::npos);
    CHECK(exit.stderr_text.find("restore server-signing.key from the same backup as trygg.db") !=
          std::string::npos);
    CHECK(!std::filesystem::exists(key_path));
    CHECK(DirectorySnapshot(world.data_dir()) == before);
  }

  SECTION("the key file holds another key") {
    REQUIRE(std::filesystem::remove(key_path));
    {
      std::ofstream out(key_path, std::ios::binary);
      out << std::string(32, '\x42');
    }
    REQUIRE(chmod(key_path.c_str(), 0600) == 0);
    std::array<uint8_t, 32> other_seed;
    other_seed.fill(0x42);
    const std::string other_hex = HexEncode(SigningKeyPairFromSeed(other_seed).public_key.span());
    const auto before = DirectorySnapshot(world.data_dir());
    const ExitResult exit = RunTryggd(world.server_args());
    INFO(exit.stderr_text);
    CHECK(exit.exited);
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("server certificate for key " + certified_hex) != std::string::npos);
    CHECK(exit.stderr_text.find("holds key " + other_hex) != std::string::npos);
    CHECK(exit.stderr_text.find("restore server-signing.key from the same backup as trygg.db") !=
          std::string::npos);
    CHECK(DirectorySnapshot(world.data_dir()) == before);
  }
}

TEST_CASE("an uncertified server still makes its key on first start", "[daemon][restore]") {
  TempDir dir;
  TryggdProcess server({"--listen", "127.0.0.1:0", "--data-dir", dir.path()});
  REQUIRE(server.ok());
  CHECK(std::filesystem::exists(dir.file("server-signing.key")));
  // Restarting without a certificate loads the same key.
  const std::string key = ReadWholeFile(dir.file("server-signing.key"));
  REQUIRE(server.Stop(SIGTERM).code == 0);
  TryggdProcess again({"--listen", "127.0.0.1:0", "--data-dir", dir.path()});
  REQUIRE(again.ok());
  CHECK(ReadWholeFile(dir.file("server-signing.key")) == key);
}

TEST_CASE("a backup taken and restored as the operator guide says keeps clients working", "[daemon][restore]") {
  TrustWorld world;
  world.CertifyServer();
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Nord");
  auto verified = admin.client->VerifyAuditTrail();
  INFO(verified.status().ToString());
  REQUIRE(verified.ok());

  // docs/operator-guide.md, "Backups", online, with /var/lib/trygg and
  // /backup replaced by the test's directories.
  TempDir backup;
  const std::string db_backup = backup.file("trygg-backup.db");
  const std::string key_backup = backup.file("server-signing-backup.key");
  REQUIRE(RunShell("umask 077 && sqlite3 " + Quoted(world.data_dir() + "/trygg.db") + " \".backup '" + db_backup +
                   "'\"") == 0);
  REQUIRE(RunShell("test \"$(sqlite3 'file:" + db_backup + "?immutable=1' 'PRAGMA integrity_check')\" = ok") == 0);
  REQUIRE(RunShell("cp -p " + Quoted(world.data_dir() + "/server-signing.key") + " " + Quoted(key_backup)) == 0);
  struct stat st;
  REQUIRE(stat(db_backup.c_str(), &st) == 0);
  CHECK((st.st_mode & 077) == 0);
  REQUIRE(stat(key_backup.c_str(), &st) == 0);
  CHECK((st.st_mode & 077) == 0);
  CHECK(!std::filesystem::exists(db_backup + "-wal"));
  CHECK(!std::filesystem::exists(db_backup + "-shm"));

  // The server is lost; the backup is restored into a new data directory
  // ("To restore") and tryggd started there.
  REQUIRE(world.server().Stop(SIGTERM).code == 0);
  TempDir restored_dir;
  REQUIRE(RunShell("cp -p " + Quoted(db_backup) + " " + Quoted(restored_dir.file("trygg.db")) + " && cp -p " +
                   Quoted(key_backup) + " " + Quoted(restored_dir.file("server-signing.key"))) == 0);
  TryggdProcess restored(WithDataDir(world.server_args(), restored_dir.path()));
  INFO(restored.startup_error());
  REQUIRE(restored.ok());

  // The same device, with the audit state it saved before, carries on.
  admin.client = world.NewClientAt(restored.address(), admin.state_name);
  world.Login(admin);
  auto me = admin.client->WhoAmI();
  REQUIRE(me.ok());
  CHECK(me->org_id == admin.keys.org_id);
  auto after = admin.client->VerifyAuditTrail();
  INFO(after.status().ToString());
  CHECK(after.ok());
}

}  // namespace
}  // namespace trygg
