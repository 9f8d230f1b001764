// SPDX-License-Identifier: Apache-2.0

// Trust (server/domain/trust.cc) in process: which certificates, log links,
// enrolment requests and key envelopes the server accepts, who may read and
// write them (every kind of caller), and that each refusal has its code and
// changes nothing.
#include "server/domain/trust.h"

#include <catch2/catch.hpp>

#include "server/domain/audit_table.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/grant.h"
#include "trygg/status_macros.h"
#include "unit/server/domain/domain_world.h"

namespace trygg::domain_test {
namespace {

using domain::Caller;
using domain::Trust;
using domain::StoredKeyEnvelope;
using domain::Transaction;
using Code = absl::StatusCode;

struct TrustFixture {
  DomainWorld world;
  WorldOrg& a = world.AdmitOrganisation("A");
  WorldOrg& b = world.AdmitOrganisation("B");
  WorldDevice& anna = world.AddDevice(a, Role::kCaseworker);
  WorldDevice& coordinator = world.AddCoordinator("Samordnare");

  SignedObject Certificate(CertificateKind kind, const Id128& subject, const WorldDevice& device,
                           const SigningKeyPair& root, const std::string& name = "Org") {
    RootCertificate cert;
    cert.kind = kind;
    cert.subject_id = subject;
    cert.device_id = device.device_id;
    cert.issued_at_ms = world.clock().NowUnixMillis();
    cert.sign_key = device.signing().public_key;
    cert.box_key = device.keys.box().public_key;
    cert.name = name;
    auto signed_cert = SignRootCertificate(cert, root);
    REQUIRE(signed_cert.ok());
    return *signed_cert;
  }
  absl::StatusOr<Id128> Upload(CertificateKind kind, const SignedObject& cert) {
    return world.Write([&](Transaction& txn) { return world.trust().UploadCertificate(txn, kind, cert); });
  }
  absl::StatusOr<uint64_t> Append(const Caller& caller, const Id128& org_id, const SignedObject& link) {
    return world.Write(
        [&](Transaction& txn) { return world.trust().AppendOrgLogLink(txn, caller, org_id, link); });
  }
  SignedObject Enrolment(const WorldDevice& device, Role role = Role::kCaseworker) {
    EnrolmentRequest request;
    request.org_id = device.org_id;
    request.device_id = device.device_id;
    request.sign_key = device.signing().public_key;
    request.box_key = device.keys.box().public_key;
    request.requested_role = role;
    request.created_at_ms = world.clock().NowUnixMillis();
    request.label = "laptop";
    auto signed_request = SignEnrolmentRequest(request, device.signing());
    REQUIRE(signed_request.ok());
    return *signed_request;
  }
  // As the api does: the pure check of the request sent for `org_id`, then the write.
  absl::StatusOr<Id128> Submit(const SignedObject& request, const Id128& org_id) {
    absl::StatusOr<Trust::CheckedEnrolment> checked = Trust::CheckEnrolmentRequest(org_id, request);
    if (!checked.ok()) return checked.status();
    return world.Write([&](Transaction& txn) { return world.trust().SubmitEnrolment(txn, *checked); });
  }
  // The organisation seed of `org` sealed to `device` by `granter`.
  StoredKeyEnvelope Envelope(const WorldOrg& org, const WorldDevice& granter, const WorldDevice& device,
                             uint32_t generation = 1) {
    GrantParams params;
    params.kind = GrantKind::kOrgSeed;
    params.scope_id = org.org_id;
    params.epoch = generation;
    params.granter_device = granter.device_id;
    auto grant = SealGrant(params, org.key.seed, device.keys.box().public_key, granter.signing(), world.clock(),
                           world.rng());
    REQUIRE(grant.ok());
    return StoredKeyEnvelope{device.device_id, generation, grant->header, grant->sealed, grant->signature,
                             granter.device_id};
  }
  absl::Status PutEnvelopes(const Caller& caller, const std::vector<StoredKeyEnvelope>& envelopes) {
    return world.Write([&](Transaction& txn) { return world.trust().PutKeyEnvelopes(txn, caller, envelopes); });
  }
  // The world's rules with other limits: same store, clock and keys.
  Trust Limited(const domain::TrustLimits& limits) {
    return Trust(world.root().public_key, world.server_key().public_key, world.clock(), world.rng(), limits);
  }
  absl::StatusOr<Id128> SubmitTo(const Trust& trust, const SignedObject& request) {
    absl::StatusOr<Trust::CheckedEnrolment> checked = Trust::CheckEnrolmentRequest(a.org_id, request);
    if (!checked.ok()) return checked.status();
    return world.Write([&](Transaction& txn) { return trust.SubmitEnrolment(txn, *checked); });
  }
  absl::StatusOr<int> DeleteExpired(const Trust& trust, int limit) {
    return world.Write([&](Transaction& txn) { return trust.DeleteExpiredEnrolments(txn, limit); });
  }
  audit::AuditEvent LastAuditEvent() {
    const uint64_t size = world.AuditSize();
    auto bytes = world.Read([&](Transaction& txn) -> absl::StatusOr<std::vector<uint8_t>> {
      TRYGG_ASSIGN_OR_RETURN(auto entries, txn.audit().Entries(size - 1, 1));
      if (entries.size() != 1) return absl::InternalError("no last entry");
      return entries.front().bytes;
    });
    REQUIRE(bytes.ok());
    auto event = audit::DecodeAuditEvent(*bytes);
    REQUIRE(event.ok());
    return *event;
  }
};

// A caller whose role is none of the three (a corrupt registry row, say).
Caller NoRole(const WorldDevice& device) {
  Caller caller = device.caller();
  caller.role = static_cast<Role>(0);
  return caller;
}

TEST_CASE_METHOD(TrustFixture, "certificates: the pinned root's signature is the authority", "[trust]") {
  WorldDevice& admin = world.Stranger(world.NewId(0x0a), Role::kOrgAdmin);
  const SignedObject cert = Certificate(CertificateKind::kOrganisation, admin.org_id, admin, world.root());
  SECTION("admitted once, a resend is the same, and its admin is registered") {
    const uint64_t audit_before = world.AuditSize();
    auto id = Upload(CertificateKind::kOrganisation, cert);
    REQUIRE(id.ok());
    CHECK(*id == admin.org_id);
    CHECK(world.AuditSize() == audit_before + 1);
    const std::string before = world.Snapshot();
    CHECK(Upload(CertificateKind::kOrganisation, cert).ok());
    CHECK(world.Snapshot() == before);
    RefusedUnchanged(world, Code::kAlreadyExists, [&] {
      return Upload(CertificateKind::kOrganisation,
                    Certificate(CertificateKind::kOrganisation, admin.org_id, admin, world.root(), "Other name"));
    });
  }
  SECTION("signed by another root") {
    const SigningKeyPair other_root = GenerateSigningKeyPair(world.rng());
    RefusedUnchanged(world, Code::kPermissionDenied, [&] {
      return Upload(CertificateKind::kOrganisation,
                    Certificate(CertificateKind::kOrganisation, admin.org_id, admin, other_root));
    });
  }
  SECTION("uploaded as another kind") {
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Upload(CertificateKind::kCoordinator, cert); });
  }
  SECTION("a device key already registered to another organisation") {
    WorldDevice reused{admin.device_id, world.NewId(0x0a), Role::kOrgAdmin, DeviceKeys::FromSeeds(
                                                                                anna.keys.sign_seed(),
                                                                                anna.keys.box_seed())};
    // Refused before the certificate is stored: the store has nothing to
    // undo (no batch run again).
    const uint64_t retries = world.BatchRetries();
    RefusedUnchanged(world, Code::kAlreadyExists, [&] {
      return Upload(CertificateKind::kOrganisation,
                    Certificate(CertificateKind::kOrganisation, reused.org_id, reused, world.root()));
    });
    CHECK(world.BatchRetries() == retries);
  }
  SECTION("a server without a pinned root admits nobody") {
    domain::Trust unpinned(std::nullopt, world.server_key().public_key, world.clock(), world.rng());
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] {
      return world.Write(
          [&](Transaction& txn) { return unpinned.UploadCertificate(txn, CertificateKind::kOrganisation, cert); });
    });
  }
}

TEST_CASE_METHOD(TrustFixture, "the server certificate must certify this server's key, once", "[trust]") {
  auto server_cert = [&](const SignPublicKey& key) {
    RootCertificate cert;
    cert.kind = CertificateKind::kServer;
    cert.subject_id = world.NewId(0x5e);
    cert.device_id = world.NewId(0x5e);
    cert.issued_at_ms = world.clock().NowUnixMillis();
    cert.sign_key = key;
    cert.name = "tryggd";
    auto signed_cert = SignRootCertificate(cert, world.root());
    REQUIRE(signed_cert.ok());
    return *signed_cert;
  };
  RefusedUnchanged(world, Code::kFailedPrecondition,
                   [&] { return Upload(CertificateKind::kServer, server_cert(anna.signing().public_key)); });
  auto none = world.Read([&](Transaction& txn) { return world.trust().ServerCertificate(txn); });
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(Upload(CertificateKind::kServer, server_cert(world.server_key().public_key)).ok());
  auto one = world.Read([&](Transaction& txn) { return world.trust().ServerCertificate(txn); });
  REQUIRE(one.ok());
  CHECK(one->has_value());
  RefusedUnchanged(world, Code::kAlreadyExists,
                   [&] { return Upload(CertificateKind::kServer, server_cert(world.server_key().public_key)); });
}

TEST_CASE_METHOD(TrustFixture, "reading organisations and logs: members and coordinators", "[trust][authz]") {
  auto list = [&](const Caller& caller) {
    return world.Read([&](Transaction& txn) { return world.trust().ListOrganisations(txn, caller, Id128(), 100); });
  };
  auto log = [&](const Caller& caller, const Id128& org_id, int limit) {
    return world.Read([&](Transaction& txn) { return world.trust().GetOrgLog(txn, caller, org_id, 1, limit); });
  };
  for (const Caller& caller : {anna.caller(), a.admin->caller(), coordinator.caller()}) {
    auto orgs = list(caller);
    REQUIRE(orgs.ok());
    CHECK(orgs->size() == 2);
    auto page = log(caller, b.org_id, 100);
    REQUIRE(page.ok());
    CHECK(page->links.size() == 1);  // B's key rotation
    CHECK_FALSE(page->more);
  }
  auto first = log(anna.caller(), a.org_id, 1);
  REQUIRE(first.ok());
  CHECK(first->links.size() == 1);
  CHECK(first->more);
  TRYGG_CHECK_CODE(list(NoRole(anna)), Code::kPermissionDenied);
  TRYGG_CHECK_CODE(log(NoRole(anna), a.org_id, 10), Code::kPermissionDenied);
  TRYGG_CHECK_CODE(log(anna.caller(), world.NewId(0x0a), 10), Code::kNotFound);
  TRYGG_CHECK_CODE(log(anna.caller(), coordinator.org_id, 10), Code::kNotFound);
}

TEST_CASE_METHOD(TrustFixture, "log links: only the organisation's admin device, signing them itself",
                 "[trust][authz]") {
  WorldDevice& newcomer = world.Stranger(a.org_id, Role::kCaseworker);
  const SignedObject link = world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &newcomer);
  SECTION("a caseworker of the organisation") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Append(anna.caller(), a.org_id, link); });
  }
  SECTION("another organisation's admin") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Append(b.admin->caller(), a.org_id, link); });
  }
  SECTION("a coordinator") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Append(coordinator.caller(), a.org_id, link); });
  }
  SECTION("an admin sending another admin's link") {
    WorldDevice& second_admin = world.AddDevice(a, Role::kOrgAdmin);
    const SignedObject by_first = world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &newcomer);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Append(second_admin.caller(), a.org_id, by_first); });
  }
  SECTION("a link of another organisation, sent for this one") {
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Append(b.admin->caller(), b.org_id, link); });
  }
  SECTION("the admin: accepted, audited, the device registered; a resend changes nothing") {
    const uint64_t audit_before = world.AuditSize();
    auto seq = world.AppendLink(a, *a.admin, link);
    REQUIRE(seq.ok());
    CHECK(world.AuditSize() == audit_before + 1);
    const std::string before = world.Snapshot();
    CHECK(Append(a.admin->caller(), a.org_id, link).ok());
    CHECK(world.Snapshot() == before);
  }
}

TEST_CASE_METHOD(TrustFixture, "log links that break the log's rules", "[trust]") {
  SECTION("not at the head: ABORTED, re-read and retry") {
    WorldDevice& first = world.Stranger(a.org_id, Role::kCaseworker);
    WorldDevice& second = world.Stranger(a.org_id, Role::kCaseworker);
    const SignedObject stale = world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &second);
    REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &first)).ok());
    RefusedUnchanged(world, Code::kAborted, [&] { return Append(a.admin->caller(), a.org_id, stale); });
  }
  SECTION("revoking the last admin") {
    const SignedObject link = world.NextLink(a, *a.admin, OrgLogAction::kRevokeDevice, a.admin);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Append(a.admin->caller(), a.org_id, link); });
  }
  SECTION("a generation that skips one") {
    const SignedObject link =
        world.NextLink(a, *a.admin, OrgLogAction::kRotateOrgKey, nullptr, Role::kCaseworker, 3);
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Append(a.admin->caller(), a.org_id, link); });
  }
  SECTION("a device id or key of another organisation's device") {
    WorldDevice twin{b.admin->device_id, a.org_id, Role::kCaseworker, DeviceKeys::Generate(world.rng())};
    const SignedObject link = world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &twin);
    RefusedUnchanged(world, Code::kAlreadyExists, [&] { return Append(a.admin->caller(), a.org_id, link); });
  }
  SECTION("a revocation marks the device revoked in the registry") {
    world.Revoke(a, anna);
    auto row = world.Read([&](Transaction& txn) { return txn.trust().GetDevice(anna.device_id); });
    REQUIRE(row.ok());
    REQUIRE(row->has_value());
    CHECK((*row)->revoked);
  }
}

// AppendOrgLogLink keeps each organisation's verified log state in memory
// (OrgLogCache). A state cached by an append whose write then rolled back
// must never be used: not at a head the store does not hold (another seq),
// nor at the same seq with another link there.
TEST_CASE_METHOD(TrustFixture, "a cached log state from a rolled-back append is never used", "[trust]") {
  WorldDevice& first = world.Stranger(a.org_id, Role::kCaseworker);
  WorldDevice& second = world.Stranger(a.org_id, Role::kCaseworker);
  const Trust other = Limited(domain::TrustLimits());  // its own cache, the same store
  // Adds `first` as the next link, then fails, so the write rolls back.
  auto append_then_fail = [&](const Trust& trust) {
    const SignedObject link = world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &first);
    const absl::Status status = world.store().WriteAndWait([&](Transaction& txn) -> absl::Status {
      absl::StatusOr<uint64_t> seq = trust.AppendOrgLogLink(txn, a.admin->caller(), a.org_id, link);
      if (!seq.ok()) return seq.status();
      return absl::InternalError("a later step of the same write failed");
    });
    REQUIRE(status.code() == Code::kInternal);
  };
  auto first_registered = [&] {
    auto row = world.Read([&](Transaction& txn) { return txn.trust().GetDevice(first.device_id); });
    REQUIRE(row.ok());
    return row->has_value();
  };
  SECTION("a later append at the same seq starts from the stored head") {
    append_then_fail(world.trust());
    CHECK_FALSE(first_registered());
    REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &second)).ok());
    // Had the rolled-back state been used, `first` would be in the log already.
    REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &first)).ok());
    CHECK(first_registered());
  }
  SECTION("a cached state at the stored seq but for another link there is not used") {
    append_then_fail(other);  // `other` caches the state with `first` at the next seq
    REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &second)).ok());
    // The stored head now has that seq, with `second`'s link: `other` must
    // rebuild from the store, where `first` is not yet a device.
    const SignedObject add_first = world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &first);
    auto seq = world.Write(
        [&](Transaction& txn) { return other.AppendOrgLogLink(txn, a.admin->caller(), a.org_id, add_first); });
    INFO(seq.status().ToString());
    REQUIRE(seq.ok());
    CHECK(first_registered());
  }
}

TEST_CASE_METHOD(TrustFixture, "enrolment: public to submit, the organisation's admin to list", "[trust][authz]") {
  WorldDevice& laptop = world.Stranger(a.org_id, Role::kCaseworker);
  const SignedObject request = Enrolment(laptop);
  auto id = Submit(request, a.org_id);
  REQUIRE(id.ok());
  SECTION("a resend is the same enrolment") {
    const std::string before = world.Snapshot();
    auto again = Submit(request, a.org_id);
    REQUIRE(again.ok());
    CHECK(*again == *id);
    CHECK(world.Snapshot() == before);
  }
  SECTION("another request for the same device id") {
    world.clock().Advance(1);
    RefusedUnchanged(world, Code::kAlreadyExists, [&] { return Submit(Enrolment(laptop, Role::kOrgAdmin), a.org_id); });
  }
  SECTION("a device id already registered") {
    RefusedUnchanged(world, Code::kAlreadyExists, [&] { return Submit(Enrolment(anna), a.org_id); });
  }
  SECTION("an unknown organisation") {
    WorldDevice& lost = world.Stranger(world.NewId(0x0a), Role::kCaseworker);
    RefusedUnchanged(world, Code::kNotFound, [&] { return Submit(Enrolment(lost), lost.org_id); });
  }
  SECTION("a request sent for another organisation than it names") {
    const SignedObject for_a = Enrolment(world.Stranger(a.org_id, Role::kCaseworker));
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Submit(for_a, b.org_id); });
  }
  SECTION("who lists pending requests") {
    auto list = [&](const Caller& caller) {
      return world.Read([&](Transaction& txn) { return world.trust().ListEnrolments(txn, caller, Id128(), 100); });
    };
    auto pending = list(a.admin->caller());
    REQUIRE(pending.ok());
    REQUIRE(pending->size() == 1);
    CHECK(pending->front().enrolment_id == *id);
    auto other_org = list(b.admin->caller());
    REQUIRE(other_org.ok());
    CHECK(other_org->empty());
    TRYGG_CHECK_CODE(list(anna.caller()), Code::kPermissionDenied);
    TRYGG_CHECK_CODE(list(coordinator.caller()), Code::kPermissionDenied);
  }
}

// Issue 12: an unauthenticated request must not grow the audit log. The
// request is recorded only when an admin approves it, by the device_added
// entry of the approving link.
TEST_CASE_METHOD(TrustFixture, "a submitted enrolment appends no audit entry, and its approval records the request",
                 "[trust][limits]") {
  WorldDevice& laptop = world.Stranger(a.org_id, Role::kCaseworker);
  const int64_t submitted_at = world.clock().NowUnixMillis();
  const uint64_t audit_before = world.AuditSize();
  REQUIRE(Submit(Enrolment(laptop, Role::kOrgAdmin), a.org_id).ok());
  CHECK(world.AuditSize() == audit_before);
  CHECK(world.Rows("enrolments") == 1);

  world.clock().Advance(kHourMs);
  // The admin grants a lesser role than was asked for.
  REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &laptop,
                                                       Role::kCaseworker))
              .ok());
  CHECK(world.AuditSize() == audit_before + 1);
  const audit::AuditEvent added = LastAuditEvent();
  CHECK(added.kind == audit::AuditEventKind::kDeviceAdded);
  CHECK(added.actor_device_id == a.admin->device_id.array());
  CHECK(added.code == static_cast<uint8_t>(Role::kCaseworker));
  CHECK(added.number == static_cast<uint32_t>(Role::kOrgAdmin));
  CHECK(added.due_ms == submitted_at);
  CHECK(added.time_ms == submitted_at + kHourMs);

  SECTION("a device added without a request: number and due_ms stay zero") {
    WorldDevice& direct = world.Stranger(a.org_id, Role::kCaseworker);
    REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &direct,
                                                         Role::kCaseworker))
                .ok());
    const audit::AuditEvent plain = LastAuditEvent();
    CHECK(plain.kind == audit::AuditEventKind::kDeviceAdded);
    CHECK(plain.number == 0);
    CHECK(plain.due_ms == 0);
  }
}

TEST_CASE_METHOD(TrustFixture, "an organisation has at most max_pending_enrolments requests waiting",
                 "[trust][limits]") {
  domain::TrustLimits limits;
  limits.max_pending_enrolments = 2;
  limits.enrolment_ttl_ms = 10 * kHourMs;
  const Trust trust = Limited(limits);
  WorldDevice& first_device = world.Stranger(a.org_id, Role::kCaseworker);
  const SignedObject first = Enrolment(first_device);
  auto first_id = SubmitTo(trust, first);
  REQUIRE(first_id.ok());
  REQUIRE(SubmitTo(trust, Enrolment(world.Stranger(a.org_id, Role::kCaseworker))).ok());
  const SignedObject third = Enrolment(world.Stranger(a.org_id, Role::kCaseworker));

  SECTION("past it: RESOURCE_EXHAUSTED, and nothing changes") {
    RefusedUnchanged(world, Code::kResourceExhausted, [&] { return SubmitTo(trust, third); });
  }
  SECTION("a resend of a waiting request is still answered with its id") {
    auto again = SubmitTo(trust, first);
    REQUIRE(again.ok());
    CHECK(*again == *first_id);
  }
  SECTION("another organisation is not affected") {
    absl::StatusOr<Trust::CheckedEnrolment> for_b =
        Trust::CheckEnrolmentRequest(b.org_id, Enrolment(world.Stranger(b.org_id, Role::kCaseworker)));
    REQUIRE(for_b.ok());
    CHECK(world.Write([&](Transaction& txn) { return trust.SubmitEnrolment(txn, *for_b); }).ok());
  }
  SECTION("an approved request no longer waits, and frees its place") {
    REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &first_device,
                                                         Role::kCaseworker))
                .ok());
    CHECK(SubmitTo(trust, third).ok());
  }
  SECTION("expired requests count for nothing, even before they are deleted") {
    world.clock().Advance(10 * kHourMs + 1);
    CHECK(SubmitTo(trust, third).ok());
  }
}

TEST_CASE_METHOD(TrustFixture, "pending enrolments expire and are deleted in batches, and approved ones stay",
                 "[trust][limits]") {
  domain::TrustLimits limits;
  limits.enrolment_ttl_ms = 72 * kHourMs;
  const Trust trust = Limited(limits);
  WorldDevice& approved = world.Stranger(a.org_id, Role::kCaseworker);
  auto approved_id = SubmitTo(trust, Enrolment(approved));
  REQUIRE(approved_id.ok());
  REQUIRE(SubmitTo(trust, Enrolment(world.Stranger(a.org_id, Role::kCaseworker))).ok());
  REQUIRE(SubmitTo(trust, Enrolment(world.Stranger(a.org_id, Role::kCaseworker))).ok());
  REQUIRE(world.AppendLink(a, *a.admin, world.NextLink(a, *a.admin, OrgLogAction::kAddDevice, &approved,
                                                       Role::kCaseworker))
              .ok());
  world.clock().Advance(kHourMs);
  const SignedObject young = Enrolment(world.Stranger(a.org_id, Role::kCaseworker));
  REQUIRE(SubmitTo(trust, young).ok());
  REQUIRE(world.Rows("enrolments") == 4);

  // One millisecond before the two older pending requests expire: nothing.
  world.clock().Advance(71 * kHourMs);
  auto none = DeleteExpired(trust, 500);
  REQUIRE(none.ok());
  CHECK(*none == 0);
  CHECK(world.Rows("enrolments") == 4);

  const uint64_t audit_before = world.AuditSize();
  world.clock().Advance(1);
  auto first_batch = DeleteExpired(trust, 1);
  REQUIRE(first_batch.ok());
  CHECK(*first_batch == 1);
  auto second_batch = DeleteExpired(trust, 1);
  REQUIRE(second_batch.ok());
  CHECK(*second_batch == 1);
  auto done = DeleteExpired(trust, 1);
  REQUIRE(done.ok());
  CHECK(*done == 0);
  // The approved request stays (its device fetches its key envelopes by its
  // id), and so does the younger pending one; the log records no deletion.
  CHECK(world.Rows("enrolments") == 2);
  CHECK(world.AuditSize() == audit_before);
  auto kept = world.Read([&](Transaction& txn) { return txn.trust().GetEnrolment(*approved_id); });
  REQUIRE(kept.ok());
  CHECK(kept->has_value());
  auto pending = world.Read(
      [&](Transaction& txn) { return trust.ListEnrolments(txn, a.admin->caller(), Id128(), 100); });
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  CHECK(pending->front().request.bytes == young.bytes);
}

TEST_CASE_METHOD(TrustFixture, "more key envelopes in one call than the limit are INVALID_ARGUMENT",
                 "[trust][limits]") {
  domain::TrustLimits limits;
  limits.max_key_envelopes_per_call = 1;
  const Trust trust = Limited(limits);
  WorldDevice& bo = world.AddDevice(a, Role::kCaseworker);
  const std::vector<StoredKeyEnvelope> two = {Envelope(a, *a.admin, anna), Envelope(a, *a.admin, bo)};
  auto put = [&](const std::vector<StoredKeyEnvelope>& envelopes) {
    return world.Write([&](Transaction& txn) { return trust.PutKeyEnvelopes(txn, a.admin->caller(), envelopes); });
  };
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return put(two); });
  CHECK(put({two[0]}).ok());
  CHECK(put({two[1]}).ok());
}

// The signature is checked once, by the pure Trust::CheckEnrolmentRequest the
// api runs before it queues the write: a badly self-signed request never
// reaches the writer and is INVALID_ARGUMENT, as trust.h says.
TEST_CASE_METHOD(TrustFixture, "an enrolment request with a bad self-signature is INVALID_ARGUMENT",
                 "[trust]") {
  SignedObject forged = Enrolment(world.Stranger(a.org_id, Role::kCaseworker));
  forged.signature = Sign(anna.signing(), SigningContext::kEnrolment, forged.bytes);
  RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Submit(forged, a.org_id); });
}

TEST_CASE_METHOD(TrustFixture, "key envelopes: from the organisation's admin to its active devices", "[trust][authz]") {
  const StoredKeyEnvelope to_anna = Envelope(a, *a.admin, anna);
  SECTION("the admin: stored, audited, a resend changes nothing, anna reads it") {
    const uint64_t audit_before = world.AuditSize();
    REQUIRE(PutEnvelopes(a.admin->caller(), {to_anna}).ok());
    CHECK(world.AuditSize() == audit_before + 1);
    const std::string before = world.Snapshot();
    CHECK(PutEnvelopes(a.admin->caller(), {to_anna}).ok());
    CHECK(world.Snapshot() == before);
    auto mine = world.Read([&](Transaction& txn) {
      return world.trust().GetKeyEnvelopes(txn, anna.caller(), std::nullopt, 1);
    });
    REQUIRE(mine.ok());
    CHECK(mine->size() == 1);
    RefusedUnchanged(world, Code::kAlreadyExists,
                     [&] { return PutEnvelopes(a.admin->caller(), {Envelope(a, *a.admin, anna)}); });
  }
  SECTION("two different ones for one device and generation in one call: refused whole, nothing stored first") {
    const uint64_t retries = world.BatchRetries();
    RefusedUnchanged(world, Code::kAlreadyExists, [&] {
      return PutEnvelopes(a.admin->caller(), {to_anna, Envelope(a, *a.admin, anna)});
    });
    CHECK(world.BatchRetries() == retries);  // the store had nothing to undo
  }
  SECTION("a caseworker or coordinator") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return PutEnvelopes(anna.caller(), {to_anna}); });
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return PutEnvelopes(coordinator.caller(), {to_anna}); });
  }
  SECTION("to a device of another organisation") {
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return PutEnvelopes(a.admin->caller(), {Envelope(a, *a.admin, *b.admin)}); });
  }
  SECTION("to a revoked device") {
    world.Revoke(a, anna);
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return PutEnvelopes(a.admin->caller(), {Envelope(a, *a.admin, anna)}); });
  }
  SECTION("from an admin revoked after its session was looked up") {
    // Its Caller still says admin, as a session read before the revocation
    // committed would; the write reads the device again.
    WorldDevice& bea = world.AddDevice(a, Role::kOrgAdmin);
    const Caller looked_up = bea.caller();
    world.Revoke(a, bea);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return PutEnvelopes(looked_up, {Envelope(a, bea, anna)}); });
  }
  SECTION("a header for another generation than the envelope says") {
    StoredKeyEnvelope wrong = to_anna;
    wrong.generation = 2;
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return PutEnvelopes(a.admin->caller(), {wrong}); });
  }
  SECTION("not signed by the calling device (trust.h: PERMISSION_DENIED)") {
    StoredKeyEnvelope forged = to_anna;
    forged.signature = Signature();
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return PutEnvelopes(a.admin->caller(), {forged}); });
  }
  SECTION("before a session: by enrolment id only") {
    auto get = [&](const std::optional<Id128>& enrolment) {
      return world.Read([&](Transaction& txn) {
        return world.trust().GetKeyEnvelopes(txn, std::nullopt, enrolment, 1);
      });
    };
    TRYGG_CHECK_CODE(get(std::nullopt), Code::kUnauthenticated);
    TRYGG_CHECK_CODE(get(world.NewId(0xe0)), Code::kNotFound);
  }
}

}  // namespace
}  // namespace trygg::domain_test
