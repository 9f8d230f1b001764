// SPDX-License-Identifier: Apache-2.0

#include "server/domain/cases.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"
#include "server/domain/referral_tables.h"
#include "server/domain/trust_tables.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"

namespace trygg::domain {
namespace {

constexpr char kBadPart[] = "chunk: between 1 byte and one secretstream chunk plus the preamble";
constexpr char kPartTooLong[] = "chunk: the upload is longer than metadata.total_size";
constexpr char kOnlyOwnerGrants[] =
    "only the organisation that opened the case may grant it or move it to a new epoch";

// Grants are added, never replaced: a grant that overwrote another
// organisation's would hand it a key of the granter's choosing, or take its
// access away. An identical resend stores nothing new.
absl::Status StoreGrants(Transaction& txn, const Caller& caller, const Id128& case_id,
                         const std::vector<StoredGrant>& grants, int64_t now) {
  // All of them are checked before the first is stored, against those held
  // and against each other: a refusal changes nothing, so the store has
  // nothing to undo (sqlite_store.cc, CommitBatch).
  constexpr char kHeld[] = "grants: the organisation already holds a grant of this scope and epoch";
  auto same = [](const StoredGrant& x, const StoredGrant& y) {
    return x.grant.header == y.grant.header && x.grant.sealed == y.grant.sealed &&
           x.grant.signature == y.grant.signature;
  };
  // Not held yet, each (scope, organisation, epoch) once, in request order.
  std::map<std::tuple<Id128, Id128, uint32_t>, const StoredGrant*> seen;
  std::vector<const StoredGrant*> fresh;
  for (const StoredGrant& grant : grants) {
    TRYGG_ASSIGN_OR_RETURN(std::vector<StoredGrant> held, txn.cases().GetGrants(grant.scope_id, grant.org_id));
    const auto at_epoch =
        std::find_if(held.begin(), held.end(), [&](const StoredGrant& h) { return h.epoch == grant.epoch; });
    if (at_epoch != held.end()) {
      if (!same(*at_epoch, grant)) return absl::AlreadyExistsError(kHeld);
      continue;  // a resend
    }
    const auto [it, added] = seen.try_emplace({grant.scope_id, grant.org_id, grant.epoch}, &grant);
    if (added) {
      fresh.push_back(&grant);
    } else if (!same(*it->second, grant)) {
      return absl::AlreadyExistsError(kHeld);
    }
  }
  for (const StoredGrant* grant_ptr : fresh) {
    const StoredGrant& grant = *grant_ptr;
    TRYGG_RETURN_IF_ERROR(txn.cases().InsertGrant(grant));
    TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, GrantEvent(caller, now, grant.org_id, grant.epoch, case_id)).status());
  }
  return absl::OkStatus();
}

bool SameEnvelope(const SealedRecord& a, const SealedRecord& b) {
  return a.header == b.header && a.signature == b.signature && a.wrapped_dek == b.wrapped_dek && a.body == b.body;
}

}  // namespace

absl::StatusOr<SignPublicKey> Cases::CallerKey(Transaction& txn, const Caller& caller) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<DeviceRow> device, txn.trust().GetDevice(caller.device_id));
  if (!device.has_value() || device->revoked) return absl::UnauthenticatedError("the device has been revoked");
  return device->sign_key;
}

absl::StatusOr<RecordHeader> Cases::CheckAuthoredEnvelope(Transaction& txn, const Caller& caller,
                                                          const SealedRecord& record) {
  absl::StatusOr<RecordHeader> header = ParseRecordHeader(record.header);
  if (!header.ok()) return absl::InvalidArgumentError("version.header is not a record header");
  if (header->author_org != caller.org_id || header->author_device != caller.device_id) {
    return absl::PermissionDeniedError("the envelope's author is not the calling device");
  }
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey key, CallerKey(txn, caller));
  if (!RecordSignatureValid(caller.prechecked.get(), key, record)) {
    return absl::InvalidArgumentError("the envelope is malformed or not signed by the calling device");
  }
  return header;
}

absl::Status Cases::CheckGrant(Transaction& txn, const Caller& caller, const StoredGrant& grant,
                               const Id128& scope_id, uint32_t epoch) {
  absl::StatusOr<GrantHeader> header = ParseGrantHeader(grant.grant.header);
  if (!header.ok() || grant.grant.sealed.size() != kGrantSealedSize) {
    return absl::InvalidArgumentError("grants: malformed grant");
  }
  if (header->kind != GrantKind::kScopeKey || header->scope_id != scope_id || header->epoch != epoch ||
      grant.scope_id != scope_id || grant.epoch != epoch) {
    return absl::InvalidArgumentError("grants: a grant is for another scope or epoch");
  }
  if (header->granter_device != caller.device_id) {
    return absl::PermissionDeniedError("grants: a grant must be made by the calling device");
  }
  TRYGG_ASSIGN_OR_RETURN(auto generation, txn.trust().CurrentOrgGeneration(grant.org_id));
  if (!generation.has_value() || header->recipient_key_id != BoxKeyId(generation->second)) {
    return absl::InvalidArgumentError("grants: a grant is not sealed to the organisation's current key");
  }
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey key, CallerKey(txn, caller));
  if (!GrantSignatureValid(caller.prechecked.get(), key, grant.grant)) {
    return absl::InvalidArgumentError("grants: a grant is not signed by the calling device");
  }
  return absl::OkStatus();
}

absl::Status Cases::BeginAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                                    const Id128& attachment_id, uint64_t max_size) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  TRYGG_RETURN_IF_ERROR(VisibleCase(txn, caller.org_id, case_id).status());
  if (attachment_id.IsZero()) return absl::InvalidArgumentError("metadata.attachment_id must not be zero");
  if (max_size > kMaxAttachmentStreamBytes) {
    return absl::InvalidArgumentError("metadata.total_size: an attachment holds at most 1 GiB");
  }
  // Only padded lengths: a server that stored an exact one would learn the
  // file's size (protocol.md 6).
  if (!IsAttachmentStreamSize(max_size)) {
    return absl::InvalidArgumentError("metadata.total_size: not the length of a padded attachment stream");
  }
  // Ids are never reused, not even for a retry (which takes a fresh id): two
  // uploads under one id could otherwise interleave their parts. (An orphaned
  // upload's id is free again once the expiry loop deleted it: its stream is
  // long gone, and only its own device could name it.)
  TRYGG_ASSIGN_OR_RETURN(std::optional<AttachmentRow> existing, txn.cases().GetAttachment(case_id, attachment_id));
  if (existing.has_value()) return absl::AlreadyExistsError("an attachment or upload with this id exists");
  // The whole announced size is reserved now, so that no part of the upload
  // can take the organisation past its quota later.
  TRYGG_ASSIGN_OR_RETURN(uint64_t used, txn.cases().AttachmentBytesOfOrg(caller.org_id));
  if (used > limits_.attachment_quota_bytes_per_org || max_size > limits_.attachment_quota_bytes_per_org - used) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the organisation's attachments would pass its quota of ", limits_.attachment_quota_bytes_per_org,
                     " bytes (", used, " in use); erase cases it no longer needs or ask the operator"));
  }
  AttachmentRow row;
  row.case_id = case_id;
  row.attachment_id = attachment_id;
  row.uploader_device = caller.device_id;
  row.total_size = max_size;
  row.created_at_ms = clock_.NowUnixMillis();
  return txn.cases().InsertAttachment(row);
}

namespace {

// The calling device's unfinished upload.
absl::StatusOr<AttachmentRow> OpenUpload(Transaction& txn, const Caller& caller, const Id128& case_id,
                                         const Id128& attachment_id) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<AttachmentRow> row, txn.cases().GetAttachment(case_id, attachment_id));
  if (!row.has_value() || row->uploader_device != caller.device_id) return absl::NotFoundError("no such upload");
  if (row->hash.has_value()) return absl::FailedPreconditionError("the upload is already complete");
  return *row;
}

}  // namespace

absl::Status Cases::AppendAttachmentPart(Transaction& txn, const Caller& caller, const Id128& case_id,
                                         const Id128& attachment_id, std::span<const uint8_t> bytes) const {
  TRYGG_ASSIGN_OR_RETURN(AttachmentRow row, OpenUpload(txn, caller, case_id, attachment_id));
  if (bytes.empty() || bytes.size() > kMaxAttachmentPartBytes) return absl::InvalidArgumentError(kBadPart);
  if (row.stored_size + bytes.size() > row.total_size) return absl::InvalidArgumentError(kPartTooLong);
  return txn.cases().AppendAttachmentPart(case_id, attachment_id, row.parts, bytes, clock_.NowUnixMillis());
}

absl::Status Cases::AppendAttachmentParts(Transaction& txn, const Caller& caller, const Id128& case_id,
                                          const Id128& attachment_id,
                                          const std::vector<std::vector<uint8_t>>& parts) const {
  // Checked whole before the first part is stored (each is checked again as
  // it is): a refusal changes nothing, so the store has nothing to undo
  // (sqlite_store.cc, CommitBatch).
  TRYGG_ASSIGN_OR_RETURN(AttachmentRow row, OpenUpload(txn, caller, case_id, attachment_id));
  uint64_t size = row.stored_size;
  for (const std::vector<uint8_t>& part : parts) {
    if (part.empty() || part.size() > kMaxAttachmentPartBytes) return absl::InvalidArgumentError(kBadPart);
    size += part.size();
    if (size > row.total_size) return absl::InvalidArgumentError(kPartTooLong);
  }
  for (const std::vector<uint8_t>& part : parts) {
    TRYGG_RETURN_IF_ERROR(AppendAttachmentPart(txn, caller, case_id, attachment_id, part));
  }
  return absl::OkStatus();
}

absl::Status Cases::CompleteAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                                       const Id128& attachment_id, const Hash256& hash) const {
  TRYGG_ASSIGN_OR_RETURN(AttachmentRow row, OpenUpload(txn, caller, case_id, attachment_id));
  if (row.stored_size < kAttachmentMinStreamBytes) {
    return absl::InvalidArgumentError("the upload is shorter than any attachment stream");
  }
  if (row.stored_size != row.total_size) {
    return absl::InvalidArgumentError("the upload is shorter than metadata.total_size");
  }
  return txn.cases().CompleteAttachment(case_id, attachment_id, hash);
}

absl::Status Cases::AbandonAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                                      const Id128& attachment_id) const {
  absl::StatusOr<AttachmentRow> row = OpenUpload(txn, caller, case_id, attachment_id);
  if (!row.ok()) return absl::OkStatus();  // nothing of this device's left to delete
  return txn.cases().DeleteAttachment(case_id, attachment_id);
}

absl::StatusOr<int> Cases::DeleteOrphanedUploads(Transaction& txn, int limit) const {
  return txn.cases().DeleteUnfinishedAttachmentsBefore(clock_.NowUnixMillis() - limits_.orphan_upload_timeout_ms,
                                                       limit);
}

absl::Status Cases::CheckGrantCount(const std::vector<StoredGrant>& grants) const {
  // The request, not the server's state, is too large: the same call never
  // succeeds, so INVALID_ARGUMENT (the client splits it, PutGrants takes the
  // rest), not a RESOURCE_EXHAUSTED that invites a retry.
  if (grants.size() > static_cast<size_t>(limits_.max_grants_per_call)) {
    return absl::InvalidArgumentError(absl::StrCat("grants: at most ", limits_.max_grants_per_call,
                                                   " per call; send the rest with PutGrants"));
  }
  return absl::OkStatus();
}

absl::StatusOr<AttachmentRow> Cases::FindAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                                                    const Hash256& hash) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  TRYGG_RETURN_IF_ERROR(VisibleCase(txn, caller.org_id, case_id).status());
  TRYGG_ASSIGN_OR_RETURN(std::optional<AttachmentRow> row, txn.cases().FindAttachment(case_id, hash));
  if (!row.has_value()) return absl::NotFoundError("no such attachment");
  return *row;
}

absl::StatusOr<std::vector<std::vector<uint8_t>>> Cases::AttachmentParts(Transaction& txn,
                                                                           const AttachmentRow& attachment,
                                                                           int64_t from_seq, int limit) const {
  return txn.cases().GetAttachmentParts(attachment.case_id, attachment.attachment_id, from_seq, limit);
}

absl::StatusOr<CaseRow> Cases::VisibleCase(Transaction& txn, const Id128& org_id, const Id128& case_id) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<CaseRow> row, txn.cases().GetCase(case_id));
  if (row.has_value() && !row->erased) {
    TRYGG_ASSIGN_OR_RETURN(bool granted, txn.cases().HasGrant(row->scope_id, row->epoch, org_id));
    if (granted) return *row;
  }
  return absl::NotFoundError("no such case");
}

absl::StatusOr<Id128> Cases::CreateCase(Transaction& txn, const Caller& caller, const SealedRecord& first,
                                        const std::vector<StoredGrant>& grants) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  TRYGG_RETURN_IF_ERROR(CheckGrantCount(grants));
  TRYGG_ASSIGN_OR_RETURN(RecordHeader header, CheckAuthoredEnvelope(txn, caller, first));
  if (header.version != 1 || !header.prev_hash.IsZero()) {
    return absl::InvalidArgumentError("a case starts at version 1 with a zero prev_hash");
  }
  TRYGG_ASSIGN_OR_RETURN(std::optional<CaseRow> existing, txn.cases().GetCase(header.case_id));
  if (existing.has_value()) {
    TRYGG_ASSIGN_OR_RETURN(auto stored, txn.cases().GetVersions(header.case_id, 0, 1));
    if (!existing->erased && !stored.empty() && SameEnvelope(stored.front(), first) &&
        existing->owner_org == caller.org_id) {
      return header.case_id;  // a resend
    }
    return absl::AlreadyExistsError("a case with this id exists");
  }
  TRYGG_ASSIGN_OR_RETURN(bool scope_taken, txn.cases().ScopeInUse(header.scope_id));
  if (scope_taken) return absl::InvalidArgumentError("first_version: its scope_id is in use; a case needs a fresh one");
  bool own_grant = false;
  for (const StoredGrant& grant : grants) {
    TRYGG_RETURN_IF_ERROR(CheckGrant(txn, caller, grant, header.scope_id, header.epoch));
    own_grant = own_grant || grant.org_id == caller.org_id;
  }
  if (!own_grant) return absl::InvalidArgumentError("grants: the case must be granted to the creating organisation");

  const int64_t now = clock_.NowUnixMillis();
  CaseRow row;
  row.case_id = header.case_id;
  row.owner_org = caller.org_id;
  row.record_id = header.record_id;
  row.scope_id = header.scope_id;
  row.epoch = header.epoch;
  row.head_version = 1;
  row.head_hash = RecordHash(first);
  row.created_at_ms = row.updated_at_ms = now;
  TRYGG_RETURN_IF_ERROR(txn.cases().InsertCase(row));
  TRYGG_RETURN_IF_ERROR(txn.cases().InsertVersion(row.case_id, 1, first));
  // The record hash lets coordinators see two different records under one
  // version of a case (a fork shown to different devices), and the author
  // check that the entry names the record it wrote (docs/audit.md 6).
  TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, CaseCreatedEvent(caller, now, row.case_id, row.head_hash)).status());
  TRYGG_RETURN_IF_ERROR(StoreGrants(txn, caller, row.case_id, grants, now));
  return row.case_id;
}

absl::StatusOr<uint64_t> Cases::AppendVersion(Transaction& txn, const Caller& caller, const SealedRecord& version,
                                              const std::vector<StoredGrant>& grants) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  TRYGG_RETURN_IF_ERROR(CheckGrantCount(grants));
  absl::StatusOr<RecordHeader> parsed = ParseRecordHeader(version.header);
  if (!parsed.ok()) return absl::InvalidArgumentError("version.header is not a record header");
  TRYGG_ASSIGN_OR_RETURN(CaseRow row, VisibleCase(txn, caller.org_id, parsed->case_id));
  TRYGG_ASSIGN_OR_RETURN(RecordHeader header, CheckAuthoredEnvelope(txn, caller, version));
  if (header.version <= row.head_version) {
    TRYGG_ASSIGN_OR_RETURN(auto stored, txn.cases().GetVersions(row.case_id, header.version - 1, 1));
    if (!stored.empty() && SameEnvelope(stored.front(), version)) return header.version;  // a resend
  }
  if (header.version != row.head_version + 1 || header.prev_hash != row.head_hash) {
    return absl::FailedPreconditionError("the version does not extend the case's head; read the case and retry");
  }
  if (header.record_id != row.record_id || header.scope_id != row.scope_id) {
    return absl::InvalidArgumentError("the version belongs to another record or scope");
  }
  if (header.epoch != row.epoch && header.epoch != row.epoch + 1) {
    return absl::InvalidArgumentError("the version's epoch must be the case's or the next");
  }
  // Who reads a case is the owner's decision: another organisation holding a
  // grant may add versions, but neither grant the case on nor move it to an
  // epoch that only it holds.
  if ((header.epoch != row.epoch || !grants.empty()) && row.owner_org != caller.org_id) {
    return absl::PermissionDeniedError(kOnlyOwnerGrants);
  }
  bool own_grant = header.epoch == row.epoch;
  for (const StoredGrant& grant : grants) {
    TRYGG_RETURN_IF_ERROR(CheckGrant(txn, caller, grant, row.scope_id, header.epoch));
    own_grant = own_grant || grant.org_id == caller.org_id;
  }
  if (!own_grant) return absl::InvalidArgumentError("grants: a new epoch must be granted to the caller's organisation");

  const int64_t now = clock_.NowUnixMillis();
  TRYGG_RETURN_IF_ERROR(txn.cases().InsertVersion(row.case_id, header.version, version));
  row.head_version = header.version;
  row.head_hash = RecordHash(version);
  row.epoch = header.epoch;
  row.updated_at_ms = now;
  TRYGG_RETURN_IF_ERROR(txn.cases().UpdateCaseHead(row));
  TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, CaseVersionEvent(caller, now, row.case_id,
                                                              static_cast<uint32_t>(header.version), row.head_hash))
                            .status());
  TRYGG_RETURN_IF_ERROR(StoreGrants(txn, caller, row.case_id, grants, now));
  return header.version;
}

absl::StatusOr<CaseView> Cases::GetCase(Transaction& txn, const Caller& caller, const Id128& case_id,
                                        uint64_t after_version, size_t page_bytes) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  CaseView view;
  TRYGG_ASSIGN_OR_RETURN(view.row, VisibleCase(txn, caller.org_id, case_id));
  // Sizes are read before contents (CaseTables::GetVersionPage), so a case of
  // thousands of large versions never sits in memory at once: at most the
  // page's budget plus one version.
  TRYGG_ASSIGN_OR_RETURN(CaseTables::VersionPage page, txn.cases().GetVersionPage(case_id, after_version, page_bytes));
  view.versions = std::move(page.versions);
  view.more = page.more;
  TRYGG_ASSIGN_OR_RETURN(view.grants, txn.cases().GetGrants(view.row.scope_id, caller.org_id));
  return view;
}

absl::StatusOr<std::vector<CaseRow>> Cases::ListCases(Transaction& txn, const Caller& caller, const Id128& after,
                                                      int limit) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  return txn.cases().ListCasesForOrg(caller.org_id, after, limit);
}

absl::Status Cases::PutGrants(Transaction& txn, const Caller& caller, const Id128& case_id,
                              const std::vector<StoredGrant>& grants) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  TRYGG_ASSIGN_OR_RETURN(CaseRow row, VisibleCase(txn, caller.org_id, case_id));
  if (row.owner_org != caller.org_id) return absl::PermissionDeniedError(kOnlyOwnerGrants);
  if (grants.empty()) return absl::InvalidArgumentError("grants is empty");
  TRYGG_RETURN_IF_ERROR(CheckGrantCount(grants));
  for (const StoredGrant& grant : grants) {
    TRYGG_RETURN_IF_ERROR(CheckGrant(txn, caller, grant, row.scope_id, row.epoch));
  }
  return StoreGrants(txn, caller, case_id, grants, clock_.NowUnixMillis());
}

absl::Status Cases::EraseCase(Transaction& txn, const Caller& caller, const Id128& case_id,
                              const SignedObject& statement) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle cases"));
  TRYGG_ASSIGN_OR_RETURN(CaseRow row, VisibleCase(txn, caller.org_id, case_id));
  if (row.owner_org != caller.org_id) {
    return absl::PermissionDeniedError("only the organisation that opened the case may erase it");
  }
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey key, CallerKey(txn, caller));
  absl::StatusOr<ErasureStatement> erasure = VerifyErasureStatement(statement, key);
  if (!erasure.ok() || erasure->case_id != case_id || erasure->device_id != caller.device_id) {
    return absl::InvalidArgumentError("statement is not an erasure statement for this case by the calling device");
  }
  const int64_t now = clock_.NowUnixMillis();
  TRYGG_RETURN_IF_ERROR(txn.referrals().ShredCase(case_id));
  TRYGG_RETURN_IF_ERROR(txn.cases().EraseCase(case_id, now));
  // The reply waits until no copy of the deleted ciphertext and grants is
  // left in the database's free space or its write-ahead log.
  txn.ScrubAfterCommit();
  return AuditLog::Record(txn, CaseErasedEvent(caller, now, case_id)).status();
}

}  // namespace trygg::domain
