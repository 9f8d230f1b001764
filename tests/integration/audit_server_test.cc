// The audit RPCs of the real tryggd and `trygg-audit verify`,
// `consistency` and `check-included` against it: a log filled through the
// real store verifies from scratch, grows consistently across restarts, and
// an entry edited behind the server's back is found and named.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <string>

#include "audit_test_util.h"
#include "server/audit/tree_head.h"
#include "server/audit/verify.h"
#include "testing/temp_dir.h"
#include "testing/tryggd_process.h"
#include "trygg/v1/audit.grpc.pb.h"

namespace trygg::audit_testing {
namespace {

using testing::TempDir;
using testing::TryggdProcess;

std::vector<std::string> Args(const TempDir& dir) {
  return {"--listen", "127.0.0.1:0", "--data-dir", dir.path()};
}

void Fill(const TempDir& dir, uint32_t from, uint32_t to) {
  LogBuilder builder(dir.file("trygg.db"));
  for (uint32_t i = from; i < to; ++i) builder.Record(CaseVersion(i));
}

// The public half of the key tryggd made in its data directory.
std::string ServerKeyHex(const TempDir& dir) {
  std::ifstream in(dir.file("server-signing.key"), std::ios::binary);
  std::array<uint8_t, 32> seed{};
  in.read(reinterpret_cast<char*>(seed.data()), seed.size());
  REQUIRE(in.gcount() == 32);
  return HexEncode(SigningKeyPairFromSeed(seed).public_key.span());
}

std::unique_ptr<trygg::v1::AuditService::Stub> Stub(const TryggdProcess& server) {
  return trygg::v1::AuditService::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
}

trygg::v1::GetSignedTreeHeadResponse Head(const TryggdProcess& server) {
  grpc::ClientContext context;
  trygg::v1::GetSignedTreeHeadResponse response;
  REQUIRE(Stub(server)->GetSignedTreeHead(&context, {}, &response).ok());
  return response;
}

TEST_CASE("tryggd serves signed heads, proofs and pages; bad requests are INVALID_ARGUMENT",
          "[audit][server]") {
  TempDir dir;
  Fill(dir, 0, 25);
  TryggdProcess server(Args(dir));
  REQUIRE(server.ok());
  struct stat st;
  REQUIRE(stat(dir.file("server-signing.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  const trygg::v1::GetSignedTreeHeadResponse head = Head(server);
  const std::string& bytes = head.tree_head().bytes();
  absl::StatusOr<audit::TreeHead> decoded = audit::DecodeTreeHead(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  REQUIRE(decoded.ok());
  CHECK(decoded->tree_size == 25);
  CHECK(HexEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(head.tree_head().signer_id().data()),
                                           head.tree_head().signer_id().size())) == ServerKeyHex(dir));

  auto stub = Stub(server);
  auto expect_invalid = [&](auto call, const char* fragment) {
    grpc::ClientContext context;
    grpc::Status status = call(context);
    INFO(fragment << ": " << status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message().find(fragment) != std::string::npos);
  };
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::GetInclusionProofRequest r;
    r.set_leaf_index(25);
    r.set_tree_size(25);
    trygg::v1::GetInclusionProofResponse out;
    return stub->GetInclusionProof(&c, r, &out);
  }, "leaf_index 25");
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::GetInclusionProofRequest r;
    r.set_leaf_index(1);
    r.set_tree_size(26);
    trygg::v1::GetInclusionProofResponse out;
    return stub->GetInclusionProof(&c, r, &out);
  }, "tree_size 26");
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::GetConsistencyProofRequest r;
    r.set_first_size(10);
    r.set_second_size(9);
    trygg::v1::GetConsistencyProofResponse out;
    return stub->GetConsistencyProof(&c, r, &out);
  }, "first_size 10");
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::GetConsistencyProofRequest r;
    r.set_first_size(0);
    r.set_second_size(9);
    trygg::v1::GetConsistencyProofResponse out;
    return stub->GetConsistencyProof(&c, r, &out);
  }, "first_size must be at least 1");
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::GetConsistencyProofRequest r;
    r.set_first_size(3);
    r.set_second_size(99);
    trygg::v1::GetConsistencyProofResponse out;
    return stub->GetConsistencyProof(&c, r, &out);
  }, "second_size 99");
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::ListEntriesRequest r;
    r.set_page_token("not-a-token");
    trygg::v1::ListEntriesResponse out;
    return stub->ListEntries(&c, r, &out);
  }, "page_token");
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::ListEntriesRequest r;
    r.set_page_size(-5);
    trygg::v1::ListEntriesResponse out;
    return stub->ListEntries(&c, r, &out);
  }, "page_size -5");
  expect_invalid([&](grpc::ClientContext& c) {
    trygg::v1::ListEntriesRequest r;
    r.set_start_index(26);
    trygg::v1::ListEntriesResponse out;
    return stub->ListEntries(&c, r, &out);
  }, "start index 26");

  // Nothing changed: the same head is served, and it still verifies.
  CHECK(Head(server).tree_head().bytes() == bytes);

  // A proof from the server verifies against the signed root.
  grpc::ClientContext context;
  trygg::v1::GetInclusionProofRequest request;
  request.set_leaf_index(13);
  request.set_tree_size(25);
  trygg::v1::GetInclusionProofResponse proof;
  REQUIRE(stub->GetInclusionProof(&context, request, &proof).ok());
  std::vector<audit::Hash> path;
  for (const std::string& h : proof.path()) {
    path.push_back(*audit::Hash::FromBytes(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(h.data()), h.size())));
  }
  const audit::EncodedAuditEvent entry = audit::EncodeAuditEvent(CaseVersion(13));
  CHECK(audit::VerifyInclusion(audit::HashLeaf(entry), 13, 25, path, decoded->root_hash).ok());

  // Pages: 25 entries in pages of 10 with tokens.
  std::string token;
  uint64_t seen = 0;
  do {
    grpc::ClientContext page_context;
    trygg::v1::ListEntriesRequest page_request;
    page_request.set_page_size(10);
    page_request.set_page_token(token);
    trygg::v1::ListEntriesResponse page;
    REQUIRE(stub->ListEntries(&page_context, page_request, &page).ok());
    for (const auto& e : page.entries()) CHECK(e.index() == seen++);
    token = page.next_page_token();
  } while (!token.empty());
  CHECK(seen == 25);
}

TEST_CASE("trygg-audit verifies a live log, follows it and finds an edited entry", "[audit][server]") {
  TempDir dir;
  TempDir home;
  const std::string state = home.file("state/audit-head.json");
  Fill(dir, 0, 30);
  std::string key;
  {
    TryggdProcess server(Args(dir));
    REQUIRE(server.ok());
    key = ServerKeyHex(dir);
    ToolResult r = RunAudit({"verify", "--server", server.address(), "--server-key", key, "--state", state});
    INFO(Describe(r));
    REQUIRE(r.code == 0);
    CHECK(r.out.find("OK: 30 entries") != std::string::npos);
    struct stat st;
    REQUIRE(stat(state.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    ToolResult included = RunAudit({"check-included", "--server", server.address(), "--server-key", key,
                                    "--index", "0", "--index", "29", "--index", "7", "--entry",
                                    EntryHex(0), "--entry", EntryHex(29), "--entry", EntryHex(7)});
    INFO(Describe(included));
    CHECK(included.code == 0);
    CHECK(included.out.find("OK: entry 29 is in the signed log of size 30") != std::string::npos);

    ToolResult not_included = RunAudit({"check-included", "--server", server.address(), "--server-key",
                                        key, "--index", "7", "--entry", EntryHex(8), "--json"});
    CHECK(not_included.code == 3);
    CHECK(nlohmann::json::parse(not_included.out)["entries"][0]["included"] == false);
    ToolResult beyond = RunAudit({"check-included", "--server", server.address(), "--server-key", key,
                                  "--index", "30"});
    CHECK(beyond.code == 3);
    CHECK(beyond.out.find("beyond the signed log of size 30") != std::string::npos);

    ToolResult stats = RunAudit({"stats", "--server", server.address(), "--server-key", key,
                                 "--format", "json"});
    INFO(Describe(stats));
    CHECK(stats.code == 0);
    CHECK(nlohmann::json::parse(stats.out)["entries_read"] == 30);
    REQUIRE(server.Stop(SIGTERM).code == 0);
  }

  // The log grows while the server is down; consistency proves the old
  // 30 entries are an unchanged prefix of the new 45.
  Fill(dir, 30, 45);
  {
    TryggdProcess server(Args(dir));
    REQUIRE(server.ok());
    ToolResult r = RunAudit({"consistency", "--server", server.address(), "--state", state, "--json"});
    INFO(Describe(r));
    REQUIRE(r.code == 0);
    nlohmann::json json = nlohmann::json::parse(r.out);
    CHECK(json["saved_head"]["tree_size"] == 30);
    CHECK(json["latest_head"]["tree_size"] == 45);
    REQUIRE(server.Stop(SIGTERM).code == 0);
  }

  // Someone edits entry 33 in the database; the server keeps serving it,
  // and a fresh verify names the entry.
  Sql(dir.file("trygg.db"), "UPDATE audit_entries SET entry = x'" + EntryHex(900) + "' WHERE idx = 33");
  {
    TryggdProcess server(Args(dir));
    REQUIRE(server.ok());
    ToolResult r = RunAudit({"verify", "--server", server.address(), "--server-key", key, "--state", state});
    INFO(Describe(r));
    CHECK(r.code == 3);
    CHECK(r.out.find("TAMPERED: entry 33 differs from the signed log") != std::string::npos);
    // Statistics over a log that does not verify are refused.
    ToolResult stats = RunAudit({"stats", "--server", server.address(), "--server-key", key});
    CHECK(stats.code == 3);
    CHECK(stats.out.find("do not match the signed tree head") != std::string::npos);
    // The state file still holds the last good head.
    ToolResult consistency = RunAudit({"consistency", "--server", server.address(), "--state", state});
    CHECK(consistency.code == 0);
  }
}

TEST_CASE("trygg-audit consistency without a saved head, or with another key, refuses", "[audit][server]") {
  TempDir dir;
  TempDir home;
  TryggdProcess server(Args(dir));
  REQUIRE(server.ok());
  ToolResult none = RunAudit({"consistency", "--server", server.address(), "--state", home.file("none.json")});
  CHECK(none.code == 1);
  CHECK(none.err.find("run `trygg-audit verify` first") != std::string::npos);

  const std::string state = home.file("head.json");
  REQUIRE(RunAudit({"verify", "--server", server.address(), "--server-key", ServerKeyHex(dir), "--state",
                    state})
              .code == 0);
  ToolResult other = RunAudit({"consistency", "--server", server.address(), "--state", state,
                               "--server-key", std::string(64, 'b')});
  CHECK(other.code == 1);
  CHECK(other.err.find("differs from the key of the saved head") != std::string::npos);
  ToolResult wrong = RunAudit({"verify", "--server", server.address(), "--server-key", std::string(64, 'b'),
                               "--state", home.file("other.json")});
  CHECK(wrong.code == 3);
  CHECK(wrong.out.find("is not signed by server key") != std::string::npos);
}

}  // namespace
}  // namespace trygg::audit_testing
