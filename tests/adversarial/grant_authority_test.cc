// SPDX-License-Identifier: Apache-2.0

// A malicious member organisation that holds a grant of another
// organisation's case. It seals its own grants and versions with the
// library's code and sends them through raw CaseService stubs. Who reads a
// case is its owner's decision alone: the holder can neither grant the case
// on, nor overwrite a grant, nor move the case to an epoch only it holds.
// Each attempt is refused and the grants and the case's head stay as they
// were.
#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include "client-lib/src/internal/wire.h"
#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg::adversarial_grants {
namespace {

using internal::AsSpan;
using internal::ToProto;
using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

std::string GrantsSnapshot(const TrustWorld& world) {
  return testing::Snapshot(world.db_path(), "SELECT * FROM grants ORDER BY scope_id, epoch, org_id");
}

struct SharedCase {
  TrustWorld world;
  TestDevice& owner = world.AdmitOrganisation("Skyddat boende Väst");
  TestDevice& holder = world.AdmitOrganisation("Juridisk rådgivning");
  TestDevice& third = world.AdmitOrganisation("Tredje förening");
  CaseClient owner_cases{*owner.client, owner.keys, world.clock(), world.rng()};
  Id128 case_id;
  Id128 scope_id;
  uint32_t epoch = 0;

  SharedCase() {
    auto created = owner_cases.CreateCase(Text("Namn: Maria, född 1990"), 1);
    REQUIRE(created.ok());
    case_id = *created;
    auto scope = owner_cases.CurrentScope(case_id);
    REQUIRE(scope.ok());
    scope_id = scope->scope_id;
    epoch = scope->epoch;
    // The owner shares the case with the holder: the one legitimate grant.
    trygg::v1::PutGrantsRequest request;
    request.set_case_id(ToProto(case_id.span()));
    AddGrant(owner, holder.keys.org_id, epoch, scope->key, request.add_grants());
    REQUIRE(PutGrants(owner, request).ok());
  }

  // A grant of `key` for (scope_id, epoch) to `org`, made and signed by `by`.
  void AddGrant(TestDevice& by, const Id128& org, uint32_t at_epoch, const SecretKey& key, trygg::v1::Grant* out) {
    auto log = by.client->FetchOrgLog(org);
    REQUIRE(log.ok());
    auto grant = SealGrant(GrantParams{GrantKind::kScopeKey, scope_id, at_epoch, by.keys.device_id}, key,
                           log->org_box_key(), by.keys.device.signing(), world.clock(), world.rng());
    REQUIRE(grant.ok());
    internal::GrantToProto(*grant, scope_id, at_epoch, org, out);
  }

  grpc::Status PutGrants(TestDevice& as, const trygg::v1::PutGrantsRequest& request) {
    auto stub = trygg::v1::CaseService::NewStub(as.client->channel());
    auto context = as.client->NewCallContext();
    trygg::v1::PutGrantsResponse response;
    return stub->PutGrants(context.get(), request, &response);
  }

  int64_t HeadVersion() {
    return QueryInt(world.db_path(),
                    "SELECT head_version FROM cases WHERE case_id = x'" + HexEncode(case_id.span()) + "'");
  }
};

SecretKey RandomKey(Rng& rng) {
  SecretKey key;
  rng.Fill(key.span());
  return key;
}

}  // namespace

TEST_CASE("a grant holder cannot grant another organisation's case onward", "[adversarial][grants]") {
  SharedCase s;
  const std::string before = GrantsSnapshot(s.world);
  trygg::v1::PutGrantsRequest request;
  request.set_case_id(ToProto(s.case_id.span()));
  SecretKey key = RandomKey(s.world.rng());
  s.AddGrant(s.holder, s.third.keys.org_id, s.epoch, key, request.add_grants());
  grpc::Status status = s.PutGrants(s.holder, request);
  CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(GrantsSnapshot(s.world) == before);
  // The third organisation still cannot see the case.
  CaseClient third_cases(*s.third.client, s.third.keys, s.world.clock(), s.world.rng());
  CHECK(third_cases.ReadCase(s.case_id).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("a grant holder cannot overwrite the owner's grant", "[adversarial][grants]") {
  SharedCase s;
  const std::string before = GrantsSnapshot(s.world);
  // A grant to the owner of a key of the holder's making: once stored over
  // the owner's own, the owner's devices would write under a key the holder
  // chose.
  trygg::v1::PutGrantsRequest request;
  request.set_case_id(ToProto(s.case_id.span()));
  SecretKey key = RandomKey(s.world.rng());
  s.AddGrant(s.holder, s.owner.keys.org_id, s.epoch, key, request.add_grants());
  CHECK(s.PutGrants(s.holder, request).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(GrantsSnapshot(s.world) == before);
  CaseClient reread(*s.owner.client, s.owner.keys, s.world.clock(), s.world.rng());
  auto read = reread.ReadCase(s.case_id);
  INFO(read.status().ToString());
  CHECK(read.ok());
}

TEST_CASE("a grant is never replaced, not even by the owner", "[adversarial][grants]") {
  SharedCase s;
  const std::string before = GrantsSnapshot(s.world);
  trygg::v1::PutGrantsRequest request;
  request.set_case_id(ToProto(s.case_id.span()));
  SecretKey key = RandomKey(s.world.rng());
  s.AddGrant(s.owner, s.holder.keys.org_id, s.epoch, key, request.add_grants());
  CHECK(s.PutGrants(s.owner, request).error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(GrantsSnapshot(s.world) == before);
}

TEST_CASE("a grant holder cannot move the case to an epoch only it holds", "[adversarial][grants]") {
  SharedCase s;
  const std::string grants_before = GrantsSnapshot(s.world);
  const int64_t head_before = s.HeadVersion();

  auto stub = trygg::v1::CaseService::NewStub(s.holder.client->channel());
  auto get_context = s.holder.client->NewCallContext();
  trygg::v1::GetCaseRequest get;
  get.set_case_id(ToProto(s.case_id.span()));
  trygg::v1::GetCaseResponse stored;
  REQUIRE(stub->GetCase(get_context.get(), get, &stored).ok());
  REQUIRE(stored.versions_size() == 1);
  auto head = internal::EnvelopeFromServer(stored.versions(0));
  REQUIRE(head.ok());
  auto header = ParseRecordHeader(head->header);
  REQUIRE(header.ok());

  RecordDraft draft;
  draft.case_id = s.case_id;
  draft.scope_id = s.scope_id;
  draft.epoch = s.epoch + 1;
  draft.record_id = header->record_id;
  draft.version = 2;
  draft.prev_hash = RecordHash(*head);
  draft.author_org = s.holder.keys.org_id;
  draft.author_device = s.holder.keys.device_id;
  draft.content_type = 1;
  SecretKey next_scope = RandomKey(s.world.rng());
  auto version = SealRecord(draft, Text("nu är ärendet mitt"), {}, GenerateDataKey(s.world.rng()), next_scope,
                            s.holder.keys.device.signing(), s.world.clock(), s.world.rng());
  REQUIRE(version.ok());
  trygg::v1::AppendCaseVersionRequest append;
  internal::EnvelopeToProto(*version, append.mutable_version());
  s.AddGrant(s.holder, s.holder.keys.org_id, s.epoch + 1, next_scope, append.add_grants());
  auto context = s.holder.client->NewCallContext();
  trygg::v1::AppendCaseVersionResponse response;
  CHECK(stub->AppendCaseVersion(context.get(), append, &response).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  CHECK(s.HeadVersion() == head_before);
  CHECK(GrantsSnapshot(s.world) == grants_before);
  CaseClient reread(*s.owner.client, s.owner.keys, s.world.clock(), s.world.rng());
  auto read = reread.ReadCase(s.case_id);
  REQUIRE(read.ok());
  CHECK(read->versions.size() == 1);
}

}  // namespace trygg::adversarial_grants
