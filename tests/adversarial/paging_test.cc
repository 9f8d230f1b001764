// SPDX-License-Identifier: Apache-2.0

// Paging (issue 11): a malicious server controls every next_page_token. Each
// test runs a small gRPC server of its own on 127.0.0.1 that answers the
// listing RPCs with tokens of its choosing, and points a real libtrygg Client
// at it: the client must end with DATA_LOSS, not loop for ever, and must not
// hand back (or remember) a half-listed result.
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include "testing/temp_dir.h"
#include "trygg/case_client.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/random.h"
#include "trygg/trust.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/trust.grpc.pb.h"

namespace trygg::adversarial_paging {
namespace {

using testing::TempDir;

// What token the server sends after its n-th answer (n = 1, 2, ...) of a
// listing; "" ends the listing.
using TokenPlan = std::function<std::string(int n)>;

std::string Str(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

// A server whose four "list everything" RPCs follow a TokenPlan, and count
// their calls. Every page carries one item, so a listing that never ends would
// also grow without end.
class PagingServer final : public trygg::v1::TrustService::Service, public trygg::v1::CaseService::Service {
 public:
  PagingServer(TokenPlan plan, const SignedObject& org_cert) : plan_(std::move(plan)), org_cert_(org_cert) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(static_cast<trygg::v1::TrustService::Service*>(this));
    builder.RegisterService(static_cast<trygg::v1::CaseService::Service*>(this));
    server_ = builder.BuildAndStart();
    REQUIRE(server_ != nullptr);
    REQUIRE(port_ > 0);
  }
  ~PagingServer() override { server_->Shutdown(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int calls() const { return calls_.load(); }

  grpc::Status ListOrganisations(grpc::ServerContext*, const trygg::v1::ListOrganisationsRequest*,
                                 trygg::v1::ListOrganisationsResponse* response) override {
    auto* org = response->add_organisations();
    Blob(org_cert_, org->mutable_certificate());
    response->set_next_page_token(plan_(++calls_));
    return grpc::Status::OK;
  }
  grpc::Status GetOrgLog(grpc::ServerContext*, const trygg::v1::GetOrgLogRequest*,
                         trygg::v1::GetOrgLogResponse* response) override {
    Blob(org_cert_, response->mutable_certificate());
    response->set_next_page_token(plan_(++calls_));
    return grpc::Status::OK;
  }
  grpc::Status ListEnrolmentRequests(grpc::ServerContext*, const trygg::v1::ListEnrolmentRequestsRequest*,
                                     trygg::v1::ListEnrolmentRequestsResponse* response) override {
    response->set_next_page_token(plan_(++calls_));
    return grpc::Status::OK;
  }
  grpc::Status ListCases(grpc::ServerContext*, const trygg::v1::ListCasesRequest*,
                         trygg::v1::ListCasesResponse* response) override {
    auto* summary = response->add_cases();
    summary->set_case_id(std::string(16, static_cast<char>(calls_.load() + 1)));
    summary->set_owner_org_id(std::string(16, '\x0a'));
    summary->set_head_version(1);
    response->set_next_page_token(plan_(++calls_));
    return grpc::Status::OK;
  }

 private:
  static void Blob(const SignedObject& object, trygg::v1::SignedBlob* out) {
    out->set_bytes(Str(object.bytes));
    out->set_signature(Str(object.signature.span()));
  }

  TokenPlan plan_;
  SignedObject org_cert_;
  std::atomic<int> calls_{0};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A platform root, an organisation certificate it signed (so the client's
// checks of what a page holds pass, and only the paging is wrong), and a
// client pinned to the root.
struct PagingWorld {
  explicit PagingWorld(TokenPlan plan) : server(std::move(plan), OrgCertificate()) {
    ClientOptions options;
    options.address = server.address();
    options.platform_root = root.public_key;
    options.state_file = dir.file("client.state.json");
    auto connected = Client::Connect(options);
    REQUIRE(connected.ok());
    client = std::move(*connected);
  }

  SignedObject OrgCertificate() {
    RootCertificate cert;
    cert.kind = CertificateKind::kOrganisation;
    cert.subject_id = org_id;
    cert.device_id = Id128(std::array<uint8_t, 16>{0xad});
    cert.issued_at_ms = 1;
    cert.sign_key = admin.signing().public_key;
    cert.box_key = admin.box().public_key;
    cert.name = "Stödcentrum Öst";
    auto signed_cert = SignRootCertificate(cert, root);
    REQUIRE(signed_cert.ok());
    return *signed_cert;
  }

  TempDir dir;
  DeterministicRng rng{0x9a};
  SigningKeyPair root = GenerateSigningKeyPair(rng);
  DeviceKeys admin = DeviceKeys::Generate(rng);
  Id128 org_id = Id128(std::array<uint8_t, 16>{0x0a});
  PagingServer server;
  std::unique_ptr<Client> client;
};

bool SaysRepeated(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDataLoss &&
         std::string(status.message()).find("repeated a page token") != std::string::npos;
}

TEST_CASE("a server that repeats a page token forever does not hang the client", "[adversarial][paging]") {
  PagingWorld w([](int) { return std::string("page-2"); });
  auto orgs = w.client->ListOrganisations();
  REQUIRE_FALSE(orgs.ok());
  CHECK(SaysRepeated(orgs.status()));
  CHECK(w.server.calls() == 2);  // the token came back on the second page: stop there
}

TEST_CASE("a server that cycles through a few page tokens cannot keep the organisation log fetch going",
          "[adversarial][paging]") {
  PagingWorld w([](int n) { return "cursor-" + std::to_string(n % 3); });
  auto log = w.client->FetchOrgLog(w.org_id);
  REQUIRE_FALSE(log.ok());
  CHECK(SaysRepeated(log.status()));
  CHECK(w.server.calls() == 4);  // cursor-1, -2, -0, then cursor-1 again
  // Nothing of the refused fetch was remembered as the organisation's head.
  CHECK_FALSE(std::filesystem::exists(w.dir.file("client.state.json")));
}

TEST_CASE("a server that makes up a new page token for every page does not hang the client",
          "[adversarial][paging]") {
  PagingWorld w([](int n) { return "fresh-" + std::to_string(n); });
  DeterministicRng rng{0x9b};
  SystemClock clock;
  KeyStoreContents self{w.org_id, Id128(std::array<uint8_t, 16>{0xad}), DeviceKeys::Generate(rng), {}};
  CaseClient cases(*w.client, self, clock, rng);
  auto listed = cases.ListCases();
  REQUIRE_FALSE(listed.ok());
  CHECK(listed.status().code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(listed.status().message()).find("too many pages") != std::string::npos);
  CHECK(w.server.calls() == 10'000);  // the bound, and not one call more
}

TEST_CASE("a server that repeats the enrolment list's page token does not hang the approving admin",
          "[adversarial][paging]") {
  PagingWorld w([](int n) { return n == 1 ? std::string("first") : std::string("again"); });
  auto pending = w.client->ListEnrolments();
  REQUIRE_FALSE(pending.ok());
  CHECK(SaysRepeated(pending.status()));
  CHECK(w.server.calls() == 3);  // "first", "again", "again"
}

TEST_CASE("a server that alternates two page tokens is caught though each differs from the last",
          "[adversarial][paging]") {
  // An attack on a check that remembers only the previous token: A, B, A.
  PagingWorld w([](int n) { return n % 2 == 1 ? std::string("A") : std::string("B"); });
  auto orgs = w.client->ListOrganisations();
  REQUIRE_FALSE(orgs.ok());
  CHECK(SaysRepeated(orgs.status()));
  CHECK(w.server.calls() == 3);
}

TEST_CASE("a server that repeats the case list's page token gets no half list shown", "[adversarial][paging]") {
  // Each page carries a case, so a client that returned what it had so far
  // would show the caseworker a list the server chose to cut (or to pad).
  PagingWorld w([](int) { return std::string("same"); });
  DeterministicRng rng{0x9c};
  SystemClock clock;
  KeyStoreContents self{w.org_id, Id128(std::array<uint8_t, 16>{0xad}), DeviceKeys::Generate(rng), {}};
  CaseClient cases(*w.client, self, clock, rng);
  auto listed = cases.ListCases();
  REQUIRE_FALSE(listed.ok());
  CHECK(SaysRepeated(listed.status()));
  CHECK(w.server.calls() == 2);
}

TEST_CASE("an honest server's pages are all followed to the end", "[adversarial][paging]") {
  // The control: distinct tokens, then an empty one, is a normal listing.
  PagingWorld w([](int n) { return n < 5 ? "p" + std::to_string(n) : std::string(); });
  auto orgs = w.client->ListOrganisations();
  REQUIRE(orgs.ok());
  CHECK(orgs->size() == 5);
  CHECK(w.server.calls() == 5);
}

}  // namespace
}  // namespace trygg::adversarial_paging
