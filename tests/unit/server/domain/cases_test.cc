// SPDX-License-Identifier: Apache-2.0

// Cases (server/domain/cases.cc) in process: who may create, read, version,
// grant and erase a case, for every kind of caller; a denial is NOT_FOUND
// whatever the id; grants are added, never replaced; every refusal changes
// nothing. (Consent, which needs a case, is tested with referrals.)
#include "server/domain/cases.h"

#include <catch2/catch.hpp>
#include <functional>

#include "unit/server/domain/domain_world.h"

namespace trygg::domain_test {
namespace {

using domain::CaseView;
using domain::StoredGrant;
using domain::Transaction;
using Code = absl::StatusCode;

struct CaseWorld {
  DomainWorld world;
  WorldOrg& a = world.AdmitOrganisation("A");
  WorldOrg& b = world.AdmitOrganisation("B");
  WorldDevice& anna = world.AddDevice(a, Role::kCaseworker);
  WorldDevice& bo = world.AddDevice(b, Role::kCaseworker);
  WorldDevice& coordinator = world.AddCoordinator("Samordnare");

  // A fresh, unsent case of A by `author`.
  WorldCase Draft(const WorldDevice& author) {
    WorldCase c{world.NewId(0xca), world.NewId(0x5c), world.NewId(0x4e), 1, GenerateDataKey(world.rng()), {}};
    c.first = world.Seal(author, c.case_id, c.scope_id, 1, c.record_id, 1, Hash256(), c.scope_key);
    return c;
  }
  absl::StatusOr<Id128> Create(const WorldDevice& caller, const SealedRecord& first,
                               const std::vector<StoredGrant>& grants) {
    return world.Write([&](Transaction& txn) { return world.cases().CreateCase(txn, caller.caller(), first, grants); });
  }
  absl::StatusOr<uint64_t> Append(const WorldDevice& caller, const SealedRecord& version,
                                  const std::vector<StoredGrant>& grants = {}) {
    return world.Write(
        [&](Transaction& txn) { return world.cases().AppendVersion(txn, caller.caller(), version, grants); });
  }
  absl::StatusOr<CaseView> Get(const WorldDevice& caller, const Id128& case_id, uint64_t after_version = 0,
                               size_t page_bytes = size_t{1} << 20) {
    return world.Read([&](Transaction& txn) {
      return world.cases().GetCase(txn, caller.caller(), case_id, after_version, page_bytes);
    });
  }
  absl::Status PutGrants(const WorldDevice& caller, const Id128& case_id, const std::vector<StoredGrant>& grants) {
    return world.Write([&](Transaction& txn) { return world.cases().PutGrants(txn, caller.caller(), case_id, grants); });
  }
  SignedObject Erasure(const WorldDevice& device, const Id128& case_id) {
    auto statement = SignErasureStatement(ErasureStatement{case_id, world.clock().NowUnixMillis(), device.device_id},
                                          device.signing());
    REQUIRE(statement.ok());
    return *statement;
  }
  absl::Status Erase(const WorldDevice& caller, const Id128& case_id, const SignedObject& statement) {
    return world.Write(
        [&](Transaction& txn) { return world.cases().EraseCase(txn, caller.caller(), case_id, statement); });
  }
  // Version `version` of case `c` by `author`, extending `prev`.
  SealedRecord Next(const WorldDevice& author, const WorldCase& c, uint64_t version, const SealedRecord& prev,
                    uint32_t epoch = 1) {
    return world.Seal(author, c.case_id, c.scope_id, epoch, c.record_id, version, RecordHash(prev), c.scope_key);
  }
};

TEST_CASE_METHOD(CaseWorld, "a member opens a case granted to its own organisation", "[case]") {
  const WorldDevice* author = GENERATE(0, 1) == 0 ? &anna : nullptr;
  const WorldDevice& by = author != nullptr ? *author : *a.admin;
  WorldCase c = Draft(by);
  const uint64_t audit_before = world.AuditSize();
  auto id = Create(by, c.first, {world.GrantTo(a, by, c.scope_id, 1, c.scope_key)});
  INFO(id.status().ToString());
  REQUIRE(id.ok());
  CHECK(*id == c.case_id);
  CHECK(world.AuditSize() == audit_before + 2);  // the case and its grant
  auto view = Get(anna, c.case_id);
  REQUIRE(view.ok());
  CHECK(view->row.owner_org == a.org_id);
  CHECK(view->versions.size() == 1);
  CHECK(view->grants.size() == 1);
  // A resend is the same case and stores nothing.
  const std::string before = world.Snapshot();
  CHECK(Create(by, c.first, {world.GrantTo(a, by, c.scope_id, 1, c.scope_key)}).ok());
  CHECK(world.Snapshot() == before);
}

TEST_CASE_METHOD(CaseWorld, "who may open a case, and each broken rule", "[case][authz]") {
  WorldCase c = Draft(anna);
  std::vector<StoredGrant> own = {world.GrantTo(a, anna, c.scope_id, 1, c.scope_key)};
  SECTION("a coordinator") {
    WorldCase by_coordinator = Draft(coordinator);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] {
      return Create(coordinator, by_coordinator.first,
                    {world.GrantTo(a, coordinator, by_coordinator.scope_id, 1, by_coordinator.scope_key)});
    });
  }
  SECTION("an envelope authored by another device") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Create(bo, c.first, own); });
  }
  SECTION("a bad signature") {
    c.first.signature = Signature();
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, c.first, own); });
  }
  SECTION("not starting at version 1") {
    SealedRecord second = Next(anna, c, 2, c.first);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Create(anna, second, own); });
  }
  SECTION("without a grant to the creating organisation") {
    RefusedUnchanged(world, Code::kInvalidArgument,
                     [&] { return Create(anna, c.first, {world.GrantTo(b, anna, c.scope_id, 1, c.scope_key)}); });
  }
  SECTION("a grant for another scope") {
    RefusedUnchanged(world, Code::kInvalidArgument, [&] {
      return Create(anna, c.first, {world.GrantTo(a, anna, world.NewId(0x5c), 1, c.scope_key)});
    });
  }
  SECTION("a grant made by another device") {
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Create(anna, c.first, {world.GrantTo(a, *a.admin, c.scope_id, 1, c.scope_key)}); });
  }
  SECTION("a scope in use by another case") {
    WorldCase taken = world.OpenCase(a, anna);
    WorldCase reuse = Draft(anna);
    reuse.first = world.Seal(anna, reuse.case_id, taken.scope_id, 1, reuse.record_id, 1, Hash256(), taken.scope_key);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] {
      return Create(anna, reuse.first, {world.GrantTo(a, anna, taken.scope_id, 1, taken.scope_key)});
    });
  }
  SECTION("a different case under a stored id") {
    REQUIRE(Create(anna, c.first, own).ok());
    WorldCase clash = Draft(anna);
    clash.first = world.Seal(anna, c.case_id, clash.scope_id, 1, clash.record_id, 1, Hash256(), clash.scope_key);
    RefusedUnchanged(world, Code::kAlreadyExists, [&] {
      return Create(anna, clash.first, {world.GrantTo(a, anna, clash.scope_id, 1, clash.scope_key)});
    });
  }
  SECTION("a revoked device") {
    world.Revoke(a, anna);
    RefusedUnchanged(world, Code::kUnauthenticated, [&] { return Create(anna, c.first, own); });
  }
}

TEST_CASE_METHOD(CaseWorld, "an organisation without a grant gets NOT_FOUND, as for an id that does not exist",
                 "[case][authz]") {
  WorldCase c = world.OpenCase(a, anna);
  const Id128 unknown = world.NewId(0xca);
  auto hidden = Get(bo, c.case_id);
  auto missing = Get(bo, unknown);
  CHECK(hidden.status().code() == Code::kNotFound);
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(hidden.status().message() == missing.status().message());
  TRYGG_CHECK_CODE(Get(coordinator, c.case_id), Code::kPermissionDenied);
  auto list = [&](const WorldDevice& caller) {
    return world.Read([&](Transaction& txn) { return world.cases().ListCases(txn, caller.caller(), Id128(), 100); });
  };
  auto mine = list(anna);
  auto theirs = list(bo);
  REQUIRE(mine.ok());
  REQUIRE(theirs.ok());
  CHECK(mine->size() == 1);
  CHECK(theirs->empty());
  TRYGG_CHECK_CODE(list(coordinator), Code::kPermissionDenied);
  // Every write is refused the same way.
  SealedRecord by_bo = world.Seal(bo, c.case_id, c.scope_id, 1, c.record_id, 2, RecordHash(c.first), c.scope_key);
  RefusedUnchanged(world, Code::kNotFound, [&] { return Append(bo, by_bo); });
  RefusedUnchanged(world, Code::kNotFound,
                   [&] { return PutGrants(bo, c.case_id, {world.GrantTo(b, bo, c.scope_id, 1, c.scope_key)}); });
  RefusedUnchanged(world, Code::kNotFound, [&] { return Erase(bo, c.case_id, Erasure(bo, c.case_id)); });
}

TEST_CASE_METHOD(CaseWorld, "versions extend the head, one at a time", "[case]") {
  WorldCase c = world.OpenCase(a, anna);
  SealedRecord v2 = Next(anna, c, 2, c.first);
  REQUIRE(Append(anna, v2).ok());
  SECTION("a resend is accepted and stores nothing") {
    const std::string before = world.Snapshot();
    auto again = Append(anna, v2);
    REQUIRE(again.ok());
    CHECK(*again == 2);
    CHECK(world.Snapshot() == before);
  }
  SECTION("a second version 2 (a fork)") {
    SealedRecord fork = Next(anna, c, 2, c.first);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Append(anna, fork); });
  }
  SECTION("a gap") {
    SealedRecord v4 = world.Seal(anna, c.case_id, c.scope_id, 1, c.record_id, 4, RecordHash(v2), c.scope_key);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Append(anna, v4); });
  }
  SECTION("another record id") {
    SealedRecord other = world.Seal(anna, c.case_id, c.scope_id, 1, world.NewId(0x4e), 3, RecordHash(v2), c.scope_key);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Append(anna, other); });
  }
  SECTION("an epoch two ahead") {
    SealedRecord far = Next(anna, c, 3, v2, 3);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Append(anna, far); });
  }
  SECTION("by a coordinator") {
    SealedRecord v3 = Next(coordinator, c, 3, v2);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Append(coordinator, v3); });
  }
  SECTION("the owner moves the case to a new epoch, granted to itself") {
    const SecretKey epoch2_key = GenerateDataKey(world.rng());
    SealedRecord v3 = world.Seal(anna, c.case_id, c.scope_id, 2, c.record_id, 3, RecordHash(v2), epoch2_key);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Append(anna, v3); });
    CHECK(Append(anna, v3, {world.GrantTo(a, anna, c.scope_id, 2, epoch2_key)}).ok());
  }
}

// The version number in a stored envelope's header.
uint64_t VersionOf(const SealedRecord& record) { return ParseRecordHeader(record.header).value().version; }

// What CreateCase and AppendCaseVersion do (server/api): the record's and
// the grants' signatures are checked under the session's key before the
// write is queued; the rule inside trusts that only for the same record and
// the key the store holds.
TEST_CASE_METHOD(CaseWorld, "a version's signature checked before its write decides as a check inside it",
                 "[case][signature]") {
  WorldCase c = world.OpenCase(a, anna);
  const SealedRecord v2 = Next(anna, c, 2, c.first);
  auto append = [&](const domain::Caller& caller, const SealedRecord& version) {
    return world.Write([&](Transaction& txn) { return world.cases().AppendVersion(txn, caller, version, {}); });
  };
  auto prechecked = [](const WorldDevice& device, const SignPublicKey& session_key, const SealedRecord& record) {
    domain::Caller caller = device.caller();
    caller.sign_key = session_key;
    return domain::WithPrechecked(caller, [&](domain::PrecheckedSignatures& checked, const SignPublicKey& key) {
      checked.CheckRecord(key, record);
    });
  };
  SECTION("a good signature checked before appends the version") {
    auto appended = append(prechecked(anna, anna.signing().public_key, v2), v2);
    REQUIRE(appended.ok());
    CHECK(*appended == 2);
  }
  SECTION("a bad signature checked before is refused with the same code and changes nothing") {
    SealedRecord forged = v2;
    forged.signature = Next(anna, c, 2, c.first).signature;
    RefusedUnchanged(world, Code::kInvalidArgument,
                     [&] { return append(prechecked(anna, anna.signing().public_key, forged), forged); });
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Append(anna, forged); });
  }
  SECTION("a result checked under another key than the stored one is not trusted") {
    WorldDevice impostor{anna.device_id, anna.org_id, anna.role, DeviceKeys::Generate(world.rng())};
    const SealedRecord by_impostor = Next(impostor, c, 2, c.first);
    const domain::Caller caller = prechecked(anna, impostor.signing().public_key, by_impostor);
    REQUIRE(caller.prechecked->FindRecord(impostor.signing().public_key, by_impostor) == std::optional<bool>(true));
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return append(caller, by_impostor); });
  }
  SECTION("a result for another record is not used for this one") {
    SealedRecord forged = v2;
    forged.signature = Next(anna, c, 2, c.first).signature;
    const domain::Caller caller = prechecked(anna, anna.signing().public_key, v2);  // the good one, checked
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return append(caller, forged); });
  }
}

TEST_CASE_METHOD(CaseWorld, "a case is read in pages of a byte budget, from any version on", "[case]") {
  WorldCase c = world.OpenCase(a, anna);
  SealedRecord prev = c.first;
  for (uint64_t v = 2; v <= 40; ++v) {
    SealedRecord next = Next(anna, c, v, prev);
    REQUIRE(Append(anna, next).ok());
    prev = next;
  }
  const size_t one = c.first.header.size() + c.first.wrapped_dek.size() + c.first.body.size() + 64;

  // Pages of about three versions: every version once, in order, and `more`
  // until the last page.
  std::vector<uint64_t> seen;
  uint64_t after = 0;
  int pages = 0;
  for (;;) {
    auto page = Get(anna, c.case_id, after, 3 * one);
    REQUIRE(page.ok());
    REQUIRE(!page->versions.empty());
    CHECK(page->versions.size() <= 3);
    CHECK(page->grants.size() == 1);
    for (const SealedRecord& v : page->versions) seen.push_back(VersionOf(v));
    after = seen.back();
    ++pages;
    if (!page->more) break;
  }
  CHECK(pages == 14);
  REQUIRE(seen.size() == 40);
  for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);

  // A page smaller than one version still carries one, so no case sticks.
  auto tiny = Get(anna, c.case_id, 7, 1);
  REQUIRE(tiny.ok());
  REQUIRE(tiny->versions.size() == 1);
  CHECK(VersionOf(tiny->versions[0]) == 8);
  CHECK(tiny->more);
  // A large page holds all, without `more`.
  auto all = Get(anna, c.case_id, 0, size_t{1} << 30);
  REQUIRE(all.ok());
  CHECK(all->versions.size() == 40);
  CHECK(!all->more);
  // After the last version: nothing, and no more.
  auto past = Get(anna, c.case_id, 40);
  REQUIRE(past.ok());
  CHECK(past->versions.empty());
  CHECK(!past->more);
}

TEST_CASE_METHOD(CaseWorld, "only the owner grants a case or moves its epoch, and grants are never replaced",
                 "[case][authz]") {
  WorldCase c = world.OpenCase(a, anna);
  StoredGrant to_b = world.GrantTo(b, anna, c.scope_id, 1, c.scope_key);
  REQUIRE(PutGrants(anna, c.case_id, {to_b}).ok());
  // B now sees the case and may add versions ...
  auto seen = Get(bo, c.case_id);
  REQUIRE(seen.ok());
  SealedRecord by_bo = Next(bo, c, 2, c.first);
  CHECK(Append(bo, by_bo).ok());
  // ... but neither grant it on, nor move it to an epoch only it holds.
  WorldOrg& third = world.AdmitOrganisation("C");
  RefusedUnchanged(world, Code::kPermissionDenied,
                   [&] { return PutGrants(bo, c.case_id, {world.GrantTo(third, bo, c.scope_id, 1, c.scope_key)}); });
  const SecretKey epoch2_key = GenerateDataKey(world.rng());
  SealedRecord move = world.Seal(bo, c.case_id, c.scope_id, 2, c.record_id, 3, RecordHash(by_bo), epoch2_key);
  RefusedUnchanged(world, Code::kPermissionDenied,
                   [&] { return Append(bo, move, {world.GrantTo(b, bo, c.scope_id, 2, epoch2_key)}); });
  // A different grant for B at the same epoch would replace B's key.
  RefusedUnchanged(world, Code::kAlreadyExists,
                   [&] { return PutGrants(anna, c.case_id, {world.GrantTo(b, anna, c.scope_id, 1, c.scope_key)}); });
  // So would two different ones for C in one call: refused whole, the first
  // not stored first, so the store has nothing to undo (no batch run again).
  const uint64_t retries = world.BatchRetries();
  RefusedUnchanged(world, Code::kAlreadyExists, [&] {
    return PutGrants(anna, c.case_id,
                     {world.GrantTo(third, anna, c.scope_id, 1, c.scope_key),
                      world.GrantTo(third, anna, c.scope_id, 1, c.scope_key)});
  });
  CHECK(world.BatchRetries() == retries);
  // The identical grant is a resend.
  const std::string before = world.Snapshot();
  CHECK(PutGrants(anna, c.case_id, {to_b}).ok());
  CHECK(world.Snapshot() == before);
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return PutGrants(anna, c.case_id, {}); });
  TRYGG_CHECK_CODE(PutGrants(coordinator, c.case_id, {to_b}), Code::kPermissionDenied);
}

TEST_CASE_METHOD(CaseWorld, "only the owner erases, with its own signed statement", "[case][authz]") {
  WorldCase c = world.OpenCase(a, anna);
  REQUIRE(PutGrants(anna, c.case_id, {world.GrantTo(b, anna, c.scope_id, 1, c.scope_key)}).ok());
  SECTION("a grantee may not") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Erase(bo, c.case_id, Erasure(bo, c.case_id)); });
  }
  SECTION("a coordinator may not") {
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Erase(coordinator, c.case_id, Erasure(coordinator, c.case_id)); });
  }
  SECTION("a statement by another device") {
    RefusedUnchanged(world, Code::kInvalidArgument,
                     [&] { return Erase(anna, c.case_id, Erasure(*a.admin, c.case_id)); });
  }
  SECTION("a statement for another case") {
    WorldCase other = world.OpenCase(a, anna);
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Erase(anna, c.case_id, Erasure(anna, other.case_id)); });
  }
  SECTION("the owner: the case is gone for everyone, and its id is never reused") {
    const uint64_t audit_before = world.AuditSize();
    REQUIRE(Erase(anna, c.case_id, Erasure(anna, c.case_id)).ok());
    CHECK(world.AuditSize() == audit_before + 1);
    TRYGG_CHECK_CODE(Get(anna, c.case_id), Code::kNotFound);
    TRYGG_CHECK_CODE(Get(bo, c.case_id), Code::kNotFound);
    CHECK(world.Rows("grants") == 0);
    RefusedUnchanged(world, Code::kAlreadyExists,
                     [&] { return Create(anna, c.first, {world.GrantTo(a, anna, c.scope_id, 1, c.scope_key)}); });
  }
}

TEST_CASE_METHOD(CaseWorld, "a caller of no known role is refused by every case function", "[case][authz]") {
  WorldCase c = world.OpenCase(a, anna);
  domain::Caller nobody = anna.caller();
  nobody.role = static_cast<Role>(0);
  const domain::Cases& cases = world.cases();
  SealedRecord v2 = Next(anna, c, 2, c.first);
  const std::vector<StoredGrant> grants = {world.GrantTo(b, anna, c.scope_id, 1, c.scope_key)};
  const Id128 attachment = world.NewId(0xa7);
  const SealedRecord fresh = Draft(anna).first;
  const SignedObject erasure = Erasure(anna, c.case_id);
  // Built above: the calls run on the store's writer thread.
  const std::vector<std::function<absl::Status(Transaction&)>> calls = {
      [&](Transaction& txn) { return cases.CreateCase(txn, nobody, fresh, {}).status(); },
      [&](Transaction& txn) { return cases.AppendVersion(txn, nobody, v2, {}).status(); },
      [&](Transaction& txn) { return cases.GetCase(txn, nobody, c.case_id, 0, 1 << 20).status(); },
      [&](Transaction& txn) { return cases.ListCases(txn, nobody, Id128(), 10).status(); },
      [&](Transaction& txn) { return cases.PutGrants(txn, nobody, c.case_id, grants); },
      [&](Transaction& txn) { return cases.EraseCase(txn, nobody, c.case_id, erasure); },
      [&](Transaction& txn) {
        return cases.BeginAttachment(txn, nobody, c.case_id, attachment, domain::kAttachmentMinStreamBytes);
      },
      [&](Transaction& txn) { return cases.FindAttachment(txn, nobody, c.case_id, Hash256()).status(); },
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    INFO("call " << i);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return world.Write(calls[i]); });
  }
}

TEST_CASE_METHOD(CaseWorld, "attachments: begin, parts, completion and who may find them", "[case][attachment]") {
  WorldCase c = world.OpenCase(a, anna);
  const Id128 attachment = world.NewId(0xa7);
  const uint64_t size = domain::kAttachmentMinStreamBytes;
  REQUIRE(IsAttachmentStreamSize(size));
  auto begin = [&](const WorldDevice& caller, const Id128& id, uint64_t max) {
    return world.Write(
        [&](Transaction& txn) { return world.cases().BeginAttachment(txn, caller.caller(), c.case_id, id, max); });
  };
  auto part = [&](const WorldDevice& caller, const std::vector<uint8_t>& bytes) {
    return world.Write([&](Transaction& txn) {
      return world.cases().AppendAttachmentPart(txn, caller.caller(), c.case_id, attachment, bytes);
    });
  };
  auto complete = [&](const WorldDevice& caller, const Hash256& hash) {
    return world.Write([&](Transaction& txn) {
      return world.cases().CompleteAttachment(txn, caller.caller(), c.case_id, attachment, hash);
    });
  };
  RefusedUnchanged(world, Code::kNotFound, [&] { return begin(bo, attachment, size); });
  RefusedUnchanged(world, Code::kPermissionDenied, [&] { return begin(coordinator, attachment, size); });
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return begin(anna, Id128(), size); });
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return begin(anna, attachment, size + 1); });
  RefusedUnchanged(world, Code::kInvalidArgument,
                   [&] { return begin(anna, attachment, domain::kMaxAttachmentStreamBytes + 1); });
  REQUIRE(begin(anna, attachment, size).ok());
  RefusedUnchanged(world, Code::kAlreadyExists, [&] { return begin(anna, attachment, size); });
  // Parts flushed together are checked whole before the first is stored: one
  // that takes the upload past its size refuses them all, changes nothing,
  // and leaves the store nothing to undo (no batch run again).
  const uint64_t retries = world.BatchRetries();
  RefusedUnchanged(world, Code::kInvalidArgument, [&] {
    return world.Write([&](Transaction& txn) {
      return world.cases().AppendAttachmentParts(txn, anna.caller(), c.case_id, attachment,
                                                 {std::vector<uint8_t>(10, 0x42), std::vector<uint8_t>(size, 0x42)});
    });
  });
  CHECK(world.BatchRetries() == retries);

  const std::vector<uint8_t> stream(size, 0x42);
  const Hash256 hash = Blake2b256(stream);
  // Only the uploading device writes to its upload.
  WorldDevice& colleague = world.AddDevice(a, Role::kCaseworker);
  RefusedUnchanged(world, Code::kNotFound, [&] { return part(colleague, stream); });
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return part(anna, {}); });
  RefusedUnchanged(world, Code::kInvalidArgument,
                   [&] { return part(anna, std::vector<uint8_t>(size + 1, 0x42)); });
  REQUIRE(part(anna, std::vector<uint8_t>(stream.begin(), stream.begin() + 10)).ok());
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return complete(anna, hash); });
  REQUIRE(part(anna, std::vector<uint8_t>(stream.begin() + 10, stream.end())).ok());
  REQUIRE(complete(anna, hash).ok());
  RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return complete(anna, hash); });

  auto find = [&](const WorldDevice& caller) {
    return world.Read(
        [&](Transaction& txn) { return world.cases().FindAttachment(txn, caller.caller(), c.case_id, hash); });
  };
  CHECK(find(anna).ok());
  CHECK(find(colleague).ok());
  TRYGG_CHECK_CODE(find(bo), Code::kNotFound);
  TRYGG_CHECK_CODE(find(coordinator), Code::kPermissionDenied);
}

TEST_CASE_METHOD(CaseWorld, "an unfinished upload is abandoned only by its own device", "[case][attachment]") {
  WorldCase c = world.OpenCase(a, anna);
  const Id128 attachment = world.NewId(0xa7);
  REQUIRE(world.Write([&](Transaction& txn) {
                 return world.cases().BeginAttachment(txn, anna.caller(), c.case_id, attachment,
                                                      domain::kAttachmentMinStreamBytes);
               }).ok());
  auto abandon = [&](const WorldDevice& caller) {
    return world.Write(
        [&](Transaction& txn) { return world.cases().AbandonAttachment(txn, caller.caller(), c.case_id, attachment); });
  };
  WorldDevice& colleague = world.AddDevice(a, Role::kCaseworker);
  const std::string before = world.Snapshot();
  CHECK(abandon(colleague).ok());  // nothing of its own to delete
  CHECK(world.Snapshot() == before);
  CHECK(abandon(anna).ok());
  CHECK(world.Snapshot() != before);
}

// Issue 12: more grants in one call than the limit is a request that never
// succeeds as sent, so INVALID_ARGUMENT, and it changes nothing.
TEST_CASE_METHOD(CaseWorld, "more grants in one call than the limit are INVALID_ARGUMENT", "[case][limits]") {
  domain::CaseLimits limits;
  limits.max_grants_per_call = 1;
  const domain::Cases cases(world.clock(), limits);
  WorldCase c = Draft(anna);
  const std::vector<StoredGrant> two = {world.GrantTo(a, anna, c.scope_id, 1, c.scope_key),
                                        world.GrantTo(b, anna, c.scope_id, 1, c.scope_key)};
  RefusedUnchanged(world, Code::kInvalidArgument, [&] {
    return world.Write([&](Transaction& txn) { return cases.CreateCase(txn, anna.caller(), c.first, two); });
  });
  REQUIRE(world.Write([&](Transaction& txn) { return cases.CreateCase(txn, anna.caller(), c.first, {two[0]}); }).ok());
  RefusedUnchanged(world, Code::kInvalidArgument, [&] {
    return world.Write([&](Transaction& txn) { return cases.PutGrants(txn, anna.caller(), c.case_id, two); });
  });
  const SealedRecord v2 = Next(anna, c, 2, c.first);
  RefusedUnchanged(world, Code::kInvalidArgument, [&] {
    return world.Write([&](Transaction& txn) { return cases.AppendVersion(txn, anna.caller(), v2, two); });
  });
  CHECK(world.Write([&](Transaction& txn) { return cases.PutGrants(txn, anna.caller(), c.case_id, {two[1]}); }).ok());
}

TEST_CASE_METHOD(CaseWorld, "an upload that would pass the organisation's quota is RESOURCE_EXHAUSTED",
                 "[case][attachment][limits]") {
  const uint64_t size = domain::kAttachmentMinStreamBytes;
  domain::CaseLimits limits;
  limits.attachment_quota_bytes_per_org = 2 * size;
  const domain::Cases cases(world.clock(), limits);
  WorldCase c = world.OpenCase(a, anna);
  WorldDevice& colleague = world.AddDevice(a, Role::kCaseworker);
  auto begin = [&](const WorldDevice& caller, const Id128& case_id, const Id128& id) {
    return world.Write(
        [&](Transaction& txn) { return cases.BeginAttachment(txn, caller.caller(), case_id, id, size); });
  };
  const Id128 first = world.NewId(0xa1);
  REQUIRE(begin(anna, c.case_id, first).ok());
  // Unfinished uploads count at their announced size, whoever of the
  // organisation made them.
  REQUIRE(begin(colleague, c.case_id, world.NewId(0xa2)).ok());
  const Id128 third = world.NewId(0xa3);
  RefusedUnchanged(world, Code::kResourceExhausted, [&] { return begin(anna, c.case_id, third); });

  SECTION("another organisation has its own quota") {
    WorldCase theirs = world.OpenCase(b, bo);
    CHECK(begin(bo, theirs.case_id, world.NewId(0xb1)).ok());
  }
  SECTION("an abandoned upload frees its place") {
    REQUIRE(world.Write([&](Transaction& txn) {
                   return cases.AbandonAttachment(txn, anna.caller(), c.case_id, first);
                 }).ok());
    CHECK(begin(anna, c.case_id, world.NewId(0xa4)).ok());
  }
  SECTION("an upload larger than the whole quota") {
    domain::CaseLimits tiny;
    tiny.attachment_quota_bytes_per_org = size - 1;
    const domain::Cases strict(world.clock(), tiny);
    const Id128 theirs = world.OpenCase(b, bo).case_id;
    const Id128 id = world.NewId(0xb2);
    RefusedUnchanged(world, Code::kResourceExhausted, [&] {
      return world.Write(
          [&](Transaction& txn) { return strict.BeginAttachment(txn, bo.caller(), theirs, id, size); });
    });
  }
}

// An upload cut off by its client, or by a restart of tryggd, leaves its
// parts behind; the expiry loop deletes them once the upload has been idle
// for the timeout. Time passes on the FixedClock.
TEST_CASE_METHOD(CaseWorld, "orphaned uploads are deleted after the timeout, in batches", "[case][attachment][limits]") {
  const uint64_t size = domain::kAttachmentMinStreamBytes;
  domain::CaseLimits limits;
  limits.orphan_upload_timeout_ms = kHourMs;
  const domain::Cases cases(world.clock(), limits);
  WorldCase c = world.OpenCase(a, anna);
  auto begin = [&](const Id128& id) {
    return world.Write([&](Transaction& txn) { return cases.BeginAttachment(txn, anna.caller(), c.case_id, id, size); });
  };
  auto part = [&](const Id128& id, size_t bytes) {
    return world.Write([&](Transaction& txn) {
      return cases.AppendAttachmentPart(txn, anna.caller(), c.case_id, id, std::vector<uint8_t>(bytes, 0x42));
    });
  };
  auto sweep = [&](int limit) {
    auto deleted = world.Write([&](Transaction& txn) { return cases.DeleteOrphanedUploads(txn, limit); });
    REQUIRE(deleted.ok());
    return *deleted;
  };
  // A complete attachment, an upload that keeps storing parts, and one that
  // was cut off after two parts.
  const Id128 complete = world.NewId(0xc1);
  const std::vector<uint8_t> stream(size, 0x42);
  REQUIRE(begin(complete).ok());
  REQUIRE(part(complete, size).ok());
  REQUIRE(world.Write([&](Transaction& txn) {
                 return cases.CompleteAttachment(txn, anna.caller(), c.case_id, complete, Blake2b256(stream));
               }).ok());
  const Id128 slow = world.NewId(0xc2);
  const Id128 cut_off = world.NewId(0xc3);
  REQUIRE(begin(slow).ok());
  REQUIRE(begin(cut_off).ok());
  REQUIRE(part(cut_off, 10).ok());
  REQUIRE(part(cut_off, 10).ok());
  REQUIRE(world.Rows("attachments") == 3);
  REQUIRE(world.Rows("attachment_parts") == 3);

  world.clock().Advance(kHourMs - 1);
  REQUIRE(part(slow, 10).ok());
  CHECK(sweep(500) == 0);

  const uint64_t audit_before = world.AuditSize();
  world.clock().Advance(2);
  // Two parts, then the upload row: one row per write with a batch of 1.
  CHECK(sweep(1) == 1);
  CHECK(sweep(1) == 1);
  CHECK(sweep(1) == 1);
  CHECK(sweep(1) == 0);
  CHECK(world.Rows("attachments") == 2);
  CHECK(world.Rows("attachment_parts") == 2);
  CHECK(world.AuditSize() == audit_before);
  auto gone = world.Read([&](Transaction& txn) { return txn.cases().GetAttachment(c.case_id, cut_off); });
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
  // The cut-off upload's id answers NOT_FOUND, as any unknown upload does.
  TRYGG_CHECK_CODE(part(cut_off, 10), Code::kNotFound);

  // The slow upload goes once it too has been idle for the timeout; the
  // complete attachment never does.
  world.clock().Advance(kHourMs);
  CHECK(sweep(500) == 2);
  CHECK(world.Rows("attachments") == 1);
  CHECK(world.Rows("attachment_parts") == 1);
}

}  // namespace
}  // namespace trygg::domain_test
