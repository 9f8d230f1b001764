// SPDX-License-Identifier: Apache-2.0

// Starts the real tryggd binary on loopback with a fresh data directory and
// checks what an operator and a client see: health, reflection, the API
// surface, a clean stop, and every start-up failure's exit code and message.
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "proto/reflection.grpc.pb.h"
#include "testing/temp_dir.h"
#include "testing/tryggd_process.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/trust.grpc.pb.h"

namespace trygg {
namespace {

using testing::ExitResult;
using testing::RunTryggd;
using testing::TempDir;
using testing::TryggdProcess;

std::vector<std::string> Args(const std::string& data_dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--data-dir", data_dir};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> Args(const TempDir& dir, std::vector<std::string> extra = {}) {
  return Args(dir.path(), std::move(extra));
}

std::unique_ptr<grpc::health::v1::Health::Stub> HealthStub(const std::string& address) {
  return grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

grpc::health::v1::HealthCheckResponse::ServingStatus CheckHealth(const std::string& address,
                                                                 grpc::Status* status) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  *status = HealthStub(address)->Check(&context, {}, &response);
  return response.status();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST_CASE("tryggd serves health, stops cleanly on SIGTERM and SIGINT", "[daemon]") {
  for (int sig : {SIGTERM, SIGINT}) {
    TempDir dir;
    TryggdProcess server(Args(dir));
    REQUIRE(server.ok());
    CHECK(server.address().rfind("127.0.0.1:", 0) == 0);

    grpc::Status status;
    CHECK(CheckHealth(server.address(), &status) == grpc::health::v1::HealthCheckResponse::SERVING);
    CHECK(status.ok());

    ExitResult exit = server.Stop(sig);
    CHECK(exit.exited);
    CHECK(exit.code == 0);
    CHECK(exit.stderr_text.find("stopped cleanly") != std::string::npos);
    // A clean stop folds the WAL back into the database file.
    CHECK_FALSE(std::ifstream(dir.file("trygg.db-wal")).good());
  }
}

TEST_CASE("tryggd answers GetServerInfo without a session and refuses writes without one", "[daemon]") {
  TempDir dir;
  const std::string root_key(64, 'a');
  TryggdProcess server(Args(dir, {"--platform-root-key", root_key}));
  REQUIRE(server.ok());
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());

  grpc::ClientContext info_context;
  trygg::v1::GetServerInfoResponse info;
  grpc::Status status = trygg::v1::TrustService::NewStub(channel)->GetServerInfo(&info_context, {}, &info);
  REQUIRE(status.ok());
  CHECK(info.schema_version() >= 1);
  CHECK(info.server_instance_id().size() == 16);
  CHECK(info.platform_root_public_key() == std::string(32, '\xaa'));

  // The instance id belongs to the database and survives a restart.
  const std::string instance = info.server_instance_id();
  REQUIRE(server.Stop(SIGTERM).code == 0);
  TryggdProcess again(Args(dir));
  REQUIRE(again.ok());
  grpc::ClientContext again_context;
  status = trygg::v1::TrustService::NewStub(
               grpc::CreateChannel(again.address(), grpc::InsecureChannelCredentials()))
               ->GetServerInfo(&again_context, {}, &info);
  REQUIRE(status.ok());
  CHECK(info.server_instance_id() == instance);
  CHECK(info.platform_root_public_key().empty());

  // A write needs a session.
  grpc::ClientContext consent_context;
  trygg::v1::RecordConsentResponse consent_response;
  status = trygg::v1::CaseService::NewStub(
               grpc::CreateChannel(again.address(), grpc::InsecureChannelCredentials()))
               ->RecordConsent(&consent_context, {}, &consent_response);
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("tryggd has server reflection on, listing every v1 service", "[daemon]") {
  TempDir dir;
  TryggdProcess server(Args(dir));
  REQUIRE(server.ok());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  REQUIRE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  REQUIRE(stream->Read(&response));
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) names.insert(service.name());
  CHECK(stream->Finish().ok());
  for (const char* name : {"trygg.v1.TrustService", "trygg.v1.SessionService", "trygg.v1.CaseService",
                           "trygg.v1.ReferralService", "trygg.v1.DirectoryService",
                           "trygg.v1.AuditService", "grpc.health.v1.Health"}) {
    INFO(name);
    CHECK(names.count(name) == 1);
  }
}

TEST_CASE("tryggd rejects an oversized message with RESOURCE_EXHAUSTED", "[daemon]") {
  TempDir dir;
  TryggdProcess server(Args(dir, {"--max-receive-message-bytes", "65536"}));
  REQUIRE(server.ok());
  grpc::ClientContext context;
  trygg::v1::AppendOrgLogLinkRequest request;
  request.mutable_link()->set_bytes(std::string(70000, 'x'));
  trygg::v1::AppendOrgLogLinkResponse response;
  grpc::Status status = trygg::v1::TrustService::NewStub(
                            grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()))
                            ->AppendOrgLogLink(&context, request, &response);
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_CASE("tryggd exits non-zero with one line when the port is in use", "[daemon]") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(fd, 1) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  TempDir dir;
  ExitResult exit = RunTryggd({"--listen", taken, "--data-dir", dir.path()});
  close(fd);
  CHECK(exit.exited);
  CHECK(exit.code == 1);
  CHECK(exit.stderr_text.find("tryggd: error: cannot listen on " + taken) != std::string::npos);
  CHECK(exit.stderr_text.find("in use") != std::string::npos);
}

TEST_CASE("tryggd refuses a missing, unwritable or busy data directory", "[daemon]") {
  TempDir dir;
  SECTION("missing") {
    ExitResult exit = RunTryggd(Args(dir.file("nope")));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("does not exist") != std::string::npos);
  }
  SECTION("not a directory") {
    WriteFile(dir.file("plain"), "x");
    ExitResult exit = RunTryggd(Args(dir.file("plain")));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("is not a directory") != std::string::npos);
  }
  SECTION("unwritable") {
    // root ignores permission bits, so use a directory no one may write.
    std::string target = "/proc/self";
    if (geteuid() != 0) {
      target = dir.file("ro");
      REQUIRE(mkdir(target.c_str(), 0500) == 0);
    }
    ExitResult exit = RunTryggd(Args(target));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("is not writable") != std::string::npos);
  }
  SECTION("in use by another tryggd") {
    TryggdProcess first(Args(dir));
    REQUIRE(first.ok());
    ExitResult exit = RunTryggd(Args(dir));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("in use by another tryggd") != std::string::npos);
  }
}

TEST_CASE("tryggd refuses a corrupt, foreign or newer database and leaves it alone", "[daemon]") {
  TempDir dir;
  SECTION("corrupt") {
    const std::string garbage(8192, '\x5a');
    WriteFile(dir.file("trygg.db"), garbage);
    ExitResult exit = RunTryggd(Args(dir));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("corrupt or not a database") != std::string::npos);
    std::ifstream in(dir.file("trygg.db"), std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == garbage);
  }
  SECTION("foreign SQLite database") {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file("trygg.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE other (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    ExitResult exit = RunTryggd(Args(dir));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("not a Trygg database") != std::string::npos);
  }
  SECTION("newer schema") {
    {
      TryggdProcess server(Args(dir));
      REQUIRE(server.ok());
      REQUIRE(server.Stop(SIGTERM).code == 0);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file("trygg.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    ExitResult exit = RunTryggd(Args(dir));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("schema version 999 is newer than this tryggd") != std::string::npos);
  }
}

TEST_CASE("tryggd refuses bad configuration with exit code 2", "[daemon]") {
  TempDir dir;
  SECTION("malformed TOML") {
    WriteFile(dir.file("bad.toml"), "listen = \"127.0.0.1:0\"\ndata_dir = [unclosed\n");
    ExitResult exit = RunTryggd({"--config", dir.file("bad.toml")});
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("bad.toml:2: malformed TOML") != std::string::npos);
  }
  SECTION("unknown key") {
    WriteFile(dir.file("typo.toml"), "listen = \"127.0.0.1:0\"\nlisten_adress = \"x\"\n");
    ExitResult exit = RunTryggd({"--config", dir.file("typo.toml")});
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("typo.toml:2: listen_adress: unknown key") != std::string::npos);
  }
  SECTION("missing config file") {
    ExitResult exit = RunTryggd({"--config", dir.file("absent.toml")});
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("cannot read config file") != std::string::npos);
  }
  SECTION("non-loopback address without TLS") {
    ExitResult exit = RunTryggd({"--listen", "0.0.0.0:0", "--data-dir", dir.path()});
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("refusing to listen on non-loopback address 0.0.0.0:0 without TLS") !=
          std::string::npos);
  }
  SECTION("bad platform root key") {
    ExitResult exit = RunTryggd(Args(dir, {"--platform-root-key", "abc"}));
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("platform_root_public_key must be 64 hex digits") != std::string::npos);
  }
  SECTION("config file values are used, flags override them") {
    WriteFile(dir.file("ok.toml"), "listen = \"0.0.0.0:1\"\ndata_dir = \"" + dir.path() +
                                       "\"\nlog_level = \"warn\"\n");
    TryggdProcess server({"--config", dir.file("ok.toml"), "--listen", "127.0.0.1:0"});
    REQUIRE(server.ok());
    ExitResult exit = server.Stop(SIGTERM);
    CHECK(exit.code == 0);
    // warn level: the info lines are not written.
    CHECK(exit.stderr_text.find("stopped cleanly") == std::string::npos);
  }
}

TEST_CASE("tryggd refuses unreadable TLS files and serves TLS with good ones", "[daemon]") {
  TempDir dir;
  SECTION("unreadable") {
    ExitResult exit = RunTryggd(Args(dir, {"--tls-cert", dir.file("none.pem"), "--tls-key", dir.file("none.key")}));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("cannot read TLS certificate file") != std::string::npos);
  }
  SECTION("not PEM") {
    WriteFile(dir.file("cert.pem"), "not a certificate");
    WriteFile(dir.file("key.pem"), "not a key");
    ExitResult exit = RunTryggd(Args(dir, {"--tls-cert", dir.file("cert.pem"), "--tls-key", dir.file("key.pem")}));
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("is not a PEM file") != std::string::npos);
  }
  SECTION("only one of the pair") {
    ExitResult exit = RunTryggd(Args(dir, {"--tls-cert", dir.file("cert.pem")}));
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("TLS needs both") != std::string::npos);
  }
  SECTION("health over TLS") {
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                            "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " +
                            dir.file("key.pem") + " -out " + dir.file("cert.pem") + " 2>/dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    TryggdProcess server(Args(dir, {"--tls-cert", dir.file("cert.pem"), "--tls-key", dir.file("key.pem")}));
    REQUIRE(server.ok());
    std::ifstream cert_in(dir.file("cert.pem"));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = std::string(std::istreambuf_iterator<char>(cert_in), {});
    auto channel = grpc::CreateChannel(server.address(), grpc::SslCredentials(ssl));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(&context, {}, &response);
    CHECK(status.ok());
    CHECK(response.status() == grpc::health::v1::HealthCheckResponse::SERVING);

    // A plaintext client gets nothing from a TLS listener.
    grpc::Status plain;
    CheckHealth(server.address(), &plain);
    CHECK(plain.error_code() == grpc::StatusCode::UNAVAILABLE);
  }
}

}  // namespace
}  // namespace trygg
