// SPDX-License-Identifier: Apache-2.0

#include "server/domain/trust.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"
#include "trygg/crypto_error.h"
#include "trygg/grant.h"
#include "trygg/org_log.h"
#include "trygg/status_macros.h"

namespace trygg::domain {
namespace {

constexpr std::string_view kNotOrgAdmin = "only an admin device of the organisation may do this";

// Rebuilds an organisation's verified state from its stored certificate and
// links: every link's signature again, so AppendOrgLogLink asks OrgLogCache
// first.
absl::StatusOr<OrgLogState> LoadOrgLog(TrustTables& tables, const SignPublicKey& root, const Id128& org_id) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<StoredCertificate> cert, tables.GetCertificate(org_id));
  if (!cert.has_value() || cert->kind != CertificateKind::kOrganisation) {
    return absl::NotFoundError("no such organisation");
  }
  TRYGG_ASSIGN_OR_RETURN(OrgLogState state, OrgLogState::FromCertificate(cert->certificate, root));
  constexpr int kBatch = 512;
  for (uint64_t from = 1;; from += kBatch) {
    TRYGG_ASSIGN_OR_RETURN(std::vector<SignedObject> links, tables.GetOrgLog(org_id, from, kBatch));
    for (const SignedObject& link : links) {
      absl::Status applied = state.Apply(link);
      if (!applied.ok()) {
        return absl::DataLossError(absl::StrCat("stored org log no longer verifies: ", applied.message()));
      }
    }
    if (links.size() < static_cast<size_t>(kBatch)) return state;
  }
}

// A link that breaks a rule of the log is an illegal transition of it.
absl::Status LinkRejected(const absl::Status& status) {
  if (GetCryptoError(status) == CryptoError::kIllegalLink) {
    return absl::FailedPreconditionError(status.message());
  }
  return status;
}

}  // namespace

std::optional<OrgLogState> OrgLogCache::Find(const Id128& org_id, const OrgLogHead& head) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(org_id);
  if (it == states_.end()) return std::nullopt;
  const OrgLogHead cached = it->second.head();
  if (cached.seq != head.seq || cached.hash != head.hash) return std::nullopt;
  return it->second;
}

void OrgLogCache::Put(const Id128& org_id, const OrgLogState& state) {
  std::lock_guard<std::mutex> lock(mu_);
  states_.insert_or_assign(org_id, state);
}

absl::StatusOr<Id128> Trust::UploadCertificate(Transaction& txn, CertificateKind kind,
                                               const SignedObject& certificate) const {
  if (!root_.has_value()) {
    return absl::FailedPreconditionError("this server has no platform_root_public_key configured");
  }
  TRYGG_ASSIGN_OR_RETURN(RootCertificate cert, VerifyRootCertificate(certificate, *root_, kind));
  if (kind == CertificateKind::kServer && cert.sign_key != server_key_) {
    return absl::FailedPreconditionError("the server certificate certifies another key than this server's");
  }
  TrustTables& tables = txn.trust();
  TRYGG_ASSIGN_OR_RETURN(std::optional<StoredCertificate> existing, tables.GetCertificate(cert.subject_id));
  if (existing.has_value()) {
    if (existing->certificate.bytes == certificate.bytes) return cert.subject_id;  // a resend
    return absl::AlreadyExistsError("a different certificate exists for this subject");
  }
  if (kind == CertificateKind::kServer) {
    // One server certificate: a new one replaces nothing silently.
    TRYGG_ASSIGN_OR_RETURN(auto servers, tables.ListCertificates(CertificateKind::kServer, Id128(), 1));
    if (!servers.empty()) return absl::AlreadyExistsError("a server certificate is already stored");
  }
  if (kind != CertificateKind::kServer) {
    // Checked before anything is stored: a refusal changes nothing, so the
    // store has nothing to undo (sqlite_store.cc, CommitBatch).
    TRYGG_ASSIGN_OR_RETURN(bool in_use, tables.DeviceIdentityInUse(cert.device_id, cert.sign_key, cert.box_key));
    if (in_use) return absl::AlreadyExistsError("the certificate's device id or keys are already registered");
  }
  TRYGG_RETURN_IF_ERROR(tables.InsertCertificate({kind, cert.subject_id, certificate}));
  if (kind != CertificateKind::kServer) {
    DeviceRow row;
    row.device_id = cert.device_id;
    row.org_id = cert.subject_id;
    row.role = kind == CertificateKind::kOrganisation ? Role::kOrgAdmin : Role::kCoordinator;
    row.sign_key = cert.sign_key;
    row.box_key = cert.box_key;
    TRYGG_RETURN_IF_ERROR(tables.InsertDevice(row));
  }
  const int64_t now = clock_.NowUnixMillis();
  TRYGG_RETURN_IF_ERROR(
      AuditLog::Record(txn, kind == CertificateKind::kOrganisation
                                ? OrganisationAdmittedEvent(cert.subject_id, cert.device_id, now)
                                : CertificateUploadedEvent(cert.subject_id, cert.device_id, now, kind))
          .status());
  return cert.subject_id;
}

absl::StatusOr<std::optional<SignedObject>> Trust::ServerCertificate(Transaction& txn) {
  TRYGG_ASSIGN_OR_RETURN(auto servers, txn.trust().ListCertificates(CertificateKind::kServer, Id128(), 1));
  if (servers.empty()) return std::nullopt;
  return servers.front().certificate;
}

absl::StatusOr<std::optional<SignPublicKey>> Trust::CertifiedServerKey(Transaction& txn) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<SignedObject> stored, ServerCertificate(txn));
  if (!stored.has_value()) return std::nullopt;
  absl::StatusOr<RootCertificate> cert = ParseRootCertificate(stored->bytes);
  if (!cert.ok()) return absl::DataLossError("the stored server certificate no longer parses");
  return cert->sign_key;
}

absl::StatusOr<std::vector<StoredCertificate>> Trust::ListOrganisations(Transaction& txn, const Caller& caller,
                                                                        const Id128& after, int limit) const {
  TRYGG_RETURN_IF_ERROR(RequireMemberOrCoordinator(caller));
  return txn.trust().ListCertificates(CertificateKind::kOrganisation, after, limit);
}

absl::StatusOr<OrganisationPage> Trust::ListOrganisationPage(Transaction& txn, const Caller& caller,
                                                            const Id128& after, int limit) const {
  TRYGG_ASSIGN_OR_RETURN(std::vector<StoredCertificate> certs, ListOrganisations(txn, caller, after, limit + 1));
  OrganisationPage page;
  page.more = certs.size() > static_cast<size_t>(limit);
  if (page.more) certs.pop_back();
  for (StoredCertificate& cert : certs) {
    absl::StatusOr<RootCertificate> parsed = ParseRootCertificate(cert.certificate.bytes);
    if (!parsed.ok()) return absl::DataLossError("a stored certificate no longer parses");
    OrganisationSummary& org = page.organisations.emplace_back();
    org.org_id = cert.subject_id;
    org.display_name = parsed->name;
    org.certificate = std::move(cert.certificate);
    TRYGG_ASSIGN_OR_RETURN(org.log_head_seq, txn.trust().OrgLogHeadSeq(org.org_id));
  }
  return page;
}

absl::StatusOr<uint64_t> Trust::AppendOrgLogLink(Transaction& txn, const Caller& caller, const Id128& org_id,
                                                 const SignedObject& link) const {
  TRYGG_RETURN_IF_ERROR(RequireOrgAdmin(caller, org_id, kNotOrgAdmin));
  TRYGG_ASSIGN_OR_RETURN(OrgLogLink parsed, ParseOrgLogLink(link.bytes));
  if (parsed.org_id != org_id) return absl::InvalidArgumentError("the link is for another organisation");
  if (parsed.signer_device != caller.device_id) {
    return absl::PermissionDeniedError("the link must be signed by the calling device");
  }
  TrustTables& tables = txn.trust();
  TRYGG_ASSIGN_OR_RETURN(uint64_t head, tables.OrgLogHeadSeq(org_id));
  if (parsed.seq <= head) {
    TRYGG_ASSIGN_OR_RETURN(std::vector<SignedObject> stored, tables.GetOrgLog(org_id, parsed.seq, 1));
    if (!stored.empty() && stored[0].bytes == link.bytes && stored[0].signature == link.signature) {
      return parsed.seq;  // a resend of what is stored
    }
  }
  if (parsed.seq != head + 1) {
    return absl::AbortedError(absl::StrCat("the log's head is at ", head, ", the link is for ", parsed.seq,
                                           "; re-read the log and retry"));
  }
  // The stored head, to find the verified state it ends in (OrgLogCache).
  std::optional<OrgLogState> state;
  if (head > 0) {
    TRYGG_ASSIGN_OR_RETURN(std::vector<SignedObject> last, tables.GetOrgLog(org_id, head, 1));
    if (!last.empty()) state = org_logs_->Find(org_id, OrgLogHead{head, SignedObjectHash(last[0])});
  }
  if (!state.has_value()) {
    TRYGG_ASSIGN_OR_RETURN(OrgLogState loaded, LoadOrgLog(tables, *root_, org_id));
    state.emplace(std::move(loaded));
  }
  TRYGG_RETURN_IF_ERROR(LinkRejected(state->Apply(link)));
  // The log checks that ids are unused within this organisation; the
  // registry is platform-wide, so an id or key of any other organisation's
  // device is refused too (else one organisation's admin could reach
  // another's devices through its own log).
  if (parsed.action == OrgLogAction::kAddDevice) {
    TRYGG_ASSIGN_OR_RETURN(bool in_use,
                           tables.DeviceIdentityInUse(parsed.device_id, parsed.sign_key, parsed.box_key));
    if (in_use) return absl::AlreadyExistsError("a device with this id or key is already registered");
  }
  TRYGG_RETURN_IF_ERROR(tables.AppendOrgLogLink(org_id, parsed.seq, link));

  // The caller is an admin of `org_id` (checked first), so it is the actor.
  const int64_t now = clock_.NowUnixMillis();
  audit::AuditEvent event;
  switch (parsed.action) {
    case OrgLogAction::kAddDevice: {
      // The request itself was not logged (SubmitEnrolment): this entry
      // records what it asked for and when, read before the device row
      // below makes it no longer pending.
      TRYGG_ASSIGN_OR_RETURN(std::optional<StoredEnrolment> enrolment,
                             tables.GetPendingEnrolmentOfDevice(org_id, parsed.device_id));
      std::optional<EnrolmentRequested> requested;
      if (enrolment.has_value()) {
        absl::StatusOr<EnrolmentRequest> request = ParseEnrolmentRequest(enrolment->request.bytes);
        if (!request.ok()) return absl::DataLossError("a stored enrolment request no longer parses");
        requested = EnrolmentRequested{request->requested_role, enrolment->submitted_at_ms};
      }
      event = DeviceAddedEvent(caller, now, parsed.role, requested);
      break;
    }
    case OrgLogAction::kRevokeDevice:
      event = DeviceRevokedEvent(caller, now);
      break;
    case OrgLogAction::kRotateOrgKey:
      event = OrgKeyRotatedEvent(caller, now, parsed.generation);
      TRYGG_RETURN_IF_ERROR(tables.PutOrgGeneration(org_id, parsed.generation, parsed.org_box_key));
      break;
    case OrgLogAction::kChangeRole:
      event = RoleChangedEvent(caller, now, parsed.role);
      break;
  }
  TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, event).status());

  if (parsed.action != OrgLogAction::kRotateOrgKey) {
    const DeviceRecord* device = state->FindDevice(parsed.device_id);
    TRYGG_CHECK(device != nullptr);
    if (parsed.action == OrgLogAction::kAddDevice) {
      DeviceRow row{device->device_id, org_id, device->role, device->sign_key, device->box_key, device->revoked};
      TRYGG_RETURN_IF_ERROR(tables.InsertDevice(row));
    } else {
      TRYGG_RETURN_IF_ERROR(tables.UpdateDevice(org_id, device->device_id, device->role, device->revoked));
    }
    // A revoked device is refused at once: its sessions end with this commit.
    if (device->revoked) TRYGG_RETURN_IF_ERROR(tables.DeleteSessionsOfDevice(device->device_id));
  }
  // Used only once this link is the stored head (OrgLogCache).
  org_logs_->Put(org_id, *state);
  return parsed.seq;
}

absl::StatusOr<OrgLogPage> Trust::GetOrgLog(Transaction& txn, const Caller& caller, const Id128& org_id,
                                            uint64_t from_seq, int limit) const {
  TRYGG_RETURN_IF_ERROR(RequireMemberOrCoordinator(caller));
  TRYGG_ASSIGN_OR_RETURN(std::optional<StoredCertificate> cert, txn.trust().GetCertificate(org_id));
  if (!cert.has_value() || cert->kind != CertificateKind::kOrganisation) {
    return absl::NotFoundError("no such organisation");
  }
  OrgLogPage page;
  page.certificate = cert->certificate;
  TRYGG_ASSIGN_OR_RETURN(page.links, txn.trust().GetOrgLog(org_id, std::max<uint64_t>(from_seq, 1), limit + 1));
  page.more = page.links.size() > static_cast<size_t>(limit);
  if (page.more) page.links.pop_back();
  return page;
}

absl::StatusOr<Trust::CheckedEnrolment> Trust::CheckEnrolmentRequest(const Id128& org_id,
                                                                     const SignedObject& request) {
  absl::StatusOr<EnrolmentRequest> parsed = VerifyEnrolmentRequest(request);
  if (!parsed.ok()) return absl::InvalidArgumentError("request is malformed or not signed by its own key");
  if (parsed->org_id != org_id) return absl::InvalidArgumentError("request is for another org_id");
  return CheckedEnrolment{*std::move(parsed), request};
}

absl::StatusOr<Id128> Trust::SubmitEnrolment(Transaction& txn, const CheckedEnrolment& checked) const {
  const EnrolmentRequest& parsed = checked.parsed;
  const SignedObject& request = checked.request;
  TrustTables& tables = txn.trust();
  TRYGG_ASSIGN_OR_RETURN(std::optional<StoredCertificate> org, tables.GetCertificate(parsed.org_id));
  if (!org.has_value() || org->kind != CertificateKind::kOrganisation) {
    return absl::NotFoundError("no such organisation");
  }
  TRYGG_ASSIGN_OR_RETURN(bool in_use, tables.DeviceIdentityInUse(parsed.device_id, parsed.sign_key, parsed.box_key));
  if (in_use) return absl::AlreadyExistsError("this device id or key is already enrolled");
  TRYGG_ASSIGN_OR_RETURN(std::optional<StoredEnrolment> same_device,
                         tables.GetPendingEnrolmentOfDevice(parsed.org_id, parsed.device_id));
  if (same_device.has_value()) {
    if (same_device->request.bytes == request.bytes) return same_device->enrolment_id;  // a resend
    return absl::AlreadyExistsError("another enrolment request is pending for this device id");
  }
  const int64_t now = clock_.NowUnixMillis();
  // Requests past their time count for nothing, even before the expiry loop
  // has deleted them.
  TRYGG_ASSIGN_OR_RETURN(int64_t pending,
                         tables.CountPendingEnrolments(parsed.org_id, now - limits_.enrolment_ttl_ms));
  if (pending >= limits_.max_pending_enrolments) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the organisation already has ", pending,
                     " enrolment requests waiting for an admin; ask the admin to approve or let them expire, "
                     "then submit again"));
  }
  StoredEnrolment enrolment;
  rng_.Fill(enrolment.enrolment_id.span());
  enrolment.org_id = parsed.org_id;
  enrolment.device_id = parsed.device_id;
  enrolment.request = request;
  enrolment.submitted_at_ms = now;
  TRYGG_RETURN_IF_ERROR(tables.InsertEnrolment(enrolment));
  // No audit entry here (trust.h): the approving link's entry records it.
  return enrolment.enrolment_id;
}

absl::StatusOr<std::vector<StoredEnrolment>> Trust::ListEnrolments(Transaction& txn, const Caller& caller,
                                                                   const Id128& after, int limit) const {
  TRYGG_RETURN_IF_ERROR(RequireOrgAdmin(caller, caller.org_id, kNotOrgAdmin));
  return txn.trust().ListPendingEnrolments(caller.org_id, after, limit);
}

absl::StatusOr<int> Trust::DeleteExpiredEnrolments(Transaction& txn, int limit) const {
  return txn.trust().DeletePendingEnrolmentsBefore(clock_.NowUnixMillis() - limits_.enrolment_ttl_ms, limit);
}

absl::Status Trust::PutKeyEnvelopes(Transaction& txn, const Caller& caller,
                                    const std::vector<StoredKeyEnvelope>& envelopes) const {
  TRYGG_RETURN_IF_ERROR(RequireOrgAdmin(caller, caller.org_id, kNotOrgAdmin));
  // A request, not the server's state, is too large: the same call will
  // never succeed, so INVALID_ARGUMENT (a client splits it), not a
  // retryable RESOURCE_EXHAUSTED.
  if (envelopes.size() > static_cast<size_t>(limits_.max_key_envelopes_per_call)) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", limits_.max_key_envelopes_per_call,
                                                   " key envelopes per call; send the rest in another call"));
  }
  TrustTables& tables = txn.trust();
  TRYGG_ASSIGN_OR_RETURN(std::optional<DeviceRow> signer, tables.GetDevice(caller.device_id));
  if (!signer.has_value()) return absl::PermissionDeniedError("unknown calling device");
  // The caller's role is what its session found before the write was
  // queued; a revocation or demotion committed since then is obeyed here.
  if (signer->revoked || signer->role != Role::kOrgAdmin || signer->org_id != caller.org_id) {
    return absl::PermissionDeniedError(std::string(kNotOrgAdmin));
  }
  const int64_t now = clock_.NowUnixMillis();
  auto same = [](const StoredKeyEnvelope& x, const StoredKeyEnvelope& y) {
    return x.header == y.header && x.sealed == y.sealed && x.signature == y.signature;
  };
  // Every envelope is checked before the first is stored: a refusal changes
  // nothing, so the store has nothing to undo (sqlite_store.cc, CommitBatch).
  // Not stored yet, each (device, generation) once, in request order.
  std::map<std::pair<Id128, uint32_t>, const StoredKeyEnvelope*> seen;
  std::vector<const StoredKeyEnvelope*> fresh;
  for (const StoredKeyEnvelope& envelope : envelopes) {
    TRYGG_ASSIGN_OR_RETURN(std::optional<DeviceRow> device, tables.GetDevice(envelope.device_id));
    if (!device.has_value() || device->org_id != caller.org_id || device->revoked) {
      return absl::PermissionDeniedError("envelopes go only to active devices of the caller's organisation");
    }
    TRYGG_ASSIGN_OR_RETURN(GrantHeader header, ParseGrantHeader(envelope.header));
    if (header.kind != GrantKind::kOrgSeed || header.scope_id != caller.org_id ||
        header.epoch != envelope.generation || envelope.generation == 0 ||
        header.recipient_key_id != BoxKeyId(device->box_key) || header.granter_device != caller.device_id ||
        envelope.signer_device != caller.device_id) {
      return absl::InvalidArgumentError("the envelope's signed header does not match its device or generation");
    }
    Grant grant{envelope.header, envelope.sealed, envelope.signature};
    if (envelope.sealed.size() != kGrantSealedSize) {
      return absl::InvalidArgumentError("the sealed organisation key has the wrong size");
    }
    TRYGG_RETURN_IF_ERROR(VerifyGrantSignature(grant, signer->sign_key));
    // An envelope is never replaced: a different one for the same device
    // and generation could hand the device a seed of the sender's making.
    TRYGG_ASSIGN_OR_RETURN(std::vector<StoredKeyEnvelope> stored,
                           tables.GetKeyEnvelopes(envelope.device_id, envelope.generation));
    if (!stored.empty() && stored.front().generation == envelope.generation) {
      if (same(stored.front(), envelope)) continue;  // a resend
      return absl::AlreadyExistsError("an envelope for this device and generation is already stored");
    }
    // Twice in this call: the same bytes are one envelope, others would
    // replace it.
    const auto [it, added] = seen.try_emplace({envelope.device_id, envelope.generation}, &envelope);
    if (added) {
      fresh.push_back(&envelope);
    } else if (!same(*it->second, envelope)) {
      return absl::AlreadyExistsError("an envelope for this device and generation is already stored");
    }
  }
  for (const StoredKeyEnvelope* envelope_ptr : fresh) {
    const StoredKeyEnvelope& envelope = *envelope_ptr;
    TRYGG_RETURN_IF_ERROR(tables.InsertKeyEnvelope(envelope));
    // An organisation key generation sealed to one of its devices.
    TRYGG_RETURN_IF_ERROR(
        AuditLog::Record(txn, GrantEvent(caller, now, caller.org_id, envelope.generation)).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredKeyEnvelope>> Trust::GetKeyEnvelopes(Transaction& txn,
                                                                      const std::optional<Caller>& caller,
                                                                      const std::optional<Id128>& enrolment_id,
                                                                      uint32_t min_generation) const {
  TrustTables& tables = txn.trust();
  if (caller.has_value()) return tables.GetKeyEnvelopes(caller->device_id, min_generation);
  if (!enrolment_id.has_value()) return absl::UnauthenticatedError("a session or an enrolment id is required");
  TRYGG_ASSIGN_OR_RETURN(std::optional<StoredEnrolment> enrolment, tables.GetEnrolment(*enrolment_id));
  if (!enrolment.has_value()) return absl::NotFoundError("no such enrolment");
  return tables.GetKeyEnvelopes(enrolment->device_id, min_generation);
}

}  // namespace trygg::domain
