// SPDX-License-Identifier: Apache-2.0

#include "trygg/referral_client.h"

#include <algorithm>
#include <array>
#include <map>

#include <grpcpp/grpcpp.h>

#include "internal/audit_witness.h"
#include "internal/wire.h"
#include "trygg/crypto_error.h"
#include "trygg/referral_workflow.h"
#include "trygg/status_macros.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/referral.grpc.pb.h"

namespace trygg {

using internal::AsSpan;
using internal::FromGrpc;
using internal::IdFromServer;
using internal::RandomId;
using internal::SignedToProto;
using internal::ToMillis;
using internal::ToProto;

namespace {

void SetTime(int64_t ms, google::protobuf::Timestamp* out) {
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
}

std::string RequestId(Rng& rng) {
  Id128 id = RandomId(rng);
  return HexEncode(id.span());
}

absl::Status Tampered(std::string_view what) {
  return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kBadSignature,
                         "referral: " + std::string(what));
}

absl::Status ConsentTampered(std::string_view what) {
  return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kBadSignature, "consent: " + std::string(what));
}

// The hash chain that identifies a referral's history at each length
// (docs/protocol.md section 14): the signed record, then each signed move.
Hash256 HistoryHash(uint8_t tag, const Hash256* previous, const SignedObject& object) {
  std::vector<uint8_t> bytes;
  bytes.reserve(1 + 32 + 32 + 64);
  bytes.push_back(tag);
  if (previous != nullptr) bytes.insert(bytes.end(), previous->span().begin(), previous->span().end());
  const Hash256 body = Blake2b256(object.bytes);
  bytes.insert(bytes.end(), body.span().begin(), body.span().end());
  bytes.insert(bytes.end(), object.signature.span().begin(), object.signature.span().end());
  return Blake2b256(bytes);
}
Hash256 ReferralRecordHash(const SignedObject& record) { return HistoryHash(0x00, nullptr, record); }
Hash256 NextMoveHash(const Hash256& previous, const SignedObject& move) { return HistoryHash(0x01, &previous, move); }
Hash256 WithdrawalHash(const SignedObject& withdrawal) { return HistoryHash(0x02, nullptr, withdrawal); }


}  // namespace

// Fetches (once per call) and returns the verified log of `org_id`.
const OrgLogState* ReferralClient::OrgLog(const Id128& org_id, std::map<Id128, OrgLogState>& logs,
                                          absl::Status& error) {
  auto it = logs.find(org_id);
  if (it != logs.end()) return &it->second;
  absl::StatusOr<OrgLogState> log = client_.FetchOrgLog(org_id);
  if (!log.ok()) {
    error = log.status();
    return nullptr;
  }
  return &logs.emplace(org_id, *std::move(log)).first->second;
}

namespace {

// A signed object whose signer is a device of one of `orgs` (in order).
struct SignerLookup {
  const DeviceRecord* device = nullptr;
  Id128 org_id;
};

SignerLookup FindSigner(const Id128& device_id, std::initializer_list<const OrgLogState*> orgs) {
  for (const OrgLogState* org : orgs) {
    if (org == nullptr) continue;
    if (const DeviceRecord* d = org->FindDevice(device_id)) return {d, org->org_id()};
  }
  return {};
}

}  // namespace

absl::StatusOr<Id128> ReferralClient::RecordConsent(const ConsentTerms& terms) {
  if (terms.services == 0 || (terms.services & ~kAllServicesMask) != 0) {
    return absl::InvalidArgumentError("services: name at least one service category");
  }
  const int64_t now = clock_.NowUnixMillis();
  if (terms.expires_at_ms <= now) return absl::InvalidArgumentError("expires_at: must be in the future");
  if (terms.evidence.empty()) return absl::InvalidArgumentError("evidence: say what the survivor agreed to and how");
  TRYGG_ASSIGN_OR_RETURN(CaseScope scope, cases_.CurrentScope(terms.case_id));

  ConsentRecord record;
  record.consent_id = RandomId(rng_);
  record.case_id = terms.case_id;
  record.to_org_id = terms.to_org;
  record.services = terms.services;
  record.purpose = terms.purpose;
  record.recorded_at_ms = now;
  record.expires_at_ms = terms.expires_at_ms;
  record.recorder_device_id = self_.device_id;
  TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> evidence,
                         SealBlob(BlobKind::kConsentEvidence, record.consent_id, terms.evidence, scope.key, rng_));
  record.evidence_hash = Blake2b256(evidence);
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_record, SignConsentRecord(record, self_.device.signing()));

  trygg::v1::RecordConsentRequest request;
  request.set_request_id(RequestId(rng_));
  trygg::v1::Consent* consent = request.mutable_consent();
  consent->set_consent_id(ToProto(record.consent_id.span()));
  consent->set_case_id(ToProto(record.case_id.span()));
  if (!record.to_org_id.IsZero()) consent->set_to_org_id(ToProto(record.to_org_id.span()));
  for (uint8_t s = 1; s <= kMaxServiceCategory; ++s) {
    if (record.services & ServiceBit(s)) consent->add_services(static_cast<trygg::v1::ServiceCategory>(s));
  }
  consent->set_purpose(static_cast<trygg::v1::ConsentPurpose>(record.purpose));
  SetTime(record.expires_at_ms, consent->mutable_expires_at());
  consent->set_evidence(ToProto(evidence));
  SignedToProto(signed_record, self_.device_id, consent->mutable_signed_());
  trygg::v1::RecordConsentResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::CaseService::NewStub(client_.channel())->RecordConsent(context.get(), request, &response)));
  AuditExpectation expected =
      internal::Expecting("consent", {audit::AuditEventKind::kConsentRecorded}, AuditSubject::kCase, record.case_id,
                          static_cast<uint32_t>(record.services));
  expected.counterpart_org = record.to_org_id;
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, std::move(expected));
  return record.consent_id;
}

absl::Status ReferralClient::WithdrawConsent(const Id128& case_id, const Id128& consent_id) {
  ConsentWithdrawal withdrawal{consent_id, case_id, clock_.NowUnixMillis(), self_.device_id};
  TRYGG_ASSIGN_OR_RETURN(SignedObject statement, SignConsentWithdrawal(withdrawal, self_.device.signing()));
  trygg::v1::WithdrawConsentRequest request;
  request.set_request_id(RequestId(rng_));
  request.set_consent_id(ToProto(consent_id.span()));
  SignedToProto(statement, self_.device_id, request.mutable_statement());
  trygg::v1::WithdrawConsentResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::CaseService::NewStub(client_.channel())->WithdrawConsent(context.get(), request, &response)));
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id,
                             internal::Expecting("consent withdrawal", {audit::AuditEventKind::kConsentWithdrawn},
                                                 AuditSubject::kCase, case_id));
  // A later list that hides this withdrawal is caught (ListConsents).
  const Hash256 head = WithdrawalHash(statement);
  return client_.RememberHistory(HistoryKind::kConsentWithdrawal, consent_id, std::span(&head, 1));
}

absl::StatusOr<std::vector<ConsentView>> ReferralClient::ListConsents(const Id128& case_id) {
  trygg::v1::ListConsentsRequest request;
  request.set_case_id(ToProto(case_id.span()));
  trygg::v1::ListConsentsResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::CaseService::NewStub(client_.channel())->ListConsents(context.get(), request, &response)));
  std::map<Id128, OrgLogState> logs;
  absl::Status log_error;
  const OrgLogState* own = OrgLog(self_.org_id, logs, log_error);
  if (own == nullptr) return log_error;

  std::vector<ConsentView> consents;
  for (const trygg::v1::Consent& in : response.consents()) {
    TRYGG_ASSIGN_OR_RETURN(SignedObject signed_record, internal::SignedFromServer(in.signed_()));
    TRYGG_ASSIGN_OR_RETURN(ConsentRecord parsed, ParseConsentRecord(signed_record.bytes));
    if (parsed.case_id != case_id) return Tampered("the server listed a consent of another case");
    const DeviceRecord* recorder = own->FindDevice(parsed.recorder_device_id);
    if (recorder == nullptr || !TrustedAt(*recorder, parsed.recorded_at_ms)) {
      return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kBadSignature,
                             "consent: recorded by a device that is not in the organisation log, or after its "
                             "revocation");
    }
    ConsentView view;
    TRYGG_ASSIGN_OR_RETURN(view.record, VerifyConsentRecord(signed_record, recorder->sign_key));
    std::span<const uint8_t> blob = AsSpan(in.evidence());
    if (Blake2b256(blob) != view.record.evidence_hash) {
      return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kHashMismatch,
                             "consent: the evidence differs from the one the recorder signed");
    }
    // Evidence recorded before a re-key is sealed under an older epoch.
    TRYGG_ASSIGN_OR_RETURN(view.evidence,
                           cases_.OpenScopeBlob(case_id, BlobKind::kConsentEvidence, view.record.consent_id, blob));
    // A withdrawal counts only as the signed statement (12.2) of a device of
    // the recording organisation, for this consent; its time is the signed
    // one. The server's own `withdrawn_at` is never believed.
    std::vector<Hash256> withdrawal_head;
    if (in.has_withdrawal()) {
      TRYGG_ASSIGN_OR_RETURN(SignedObject statement, internal::SignedFromServer(in.withdrawal()));
      absl::StatusOr<ConsentWithdrawal> w = ParseConsentWithdrawal(statement.bytes);
      if (!w.ok()) return ConsentTampered("the server sent a withdrawal that is not a consent withdrawal");
      const DeviceRecord* withdrawer = own->FindDevice(w->device_id);
      if (withdrawer == nullptr || !TrustedAt(*withdrawer, w->withdrawn_at_ms) ||
          w->consent_id != view.record.consent_id || w->case_id != case_id ||
          !VerifyConsentWithdrawal(statement, withdrawer->sign_key).ok()) {
        return ConsentTampered("its withdrawal is not one a device of its organisation signed for it");
      }
      view.withdrawn_at_ms = w->withdrawn_at_ms;
      withdrawal_head.push_back(WithdrawalHash(statement));
    } else if (in.has_withdrawn_at()) {
      return ConsentTampered("the server says it was withdrawn but shows no signed withdrawal");
    }
    // A withdrawal this device has seen cannot disappear or change.
    TRYGG_RETURN_IF_ERROR(
        client_.RememberHistory(HistoryKind::kConsentWithdrawal, view.record.consent_id, withdrawal_head));
    consents.push_back(std::move(view));
  }
  return consents;
}

absl::StatusOr<Id128> ReferralClient::Refer(const ReferralDraft& draft) {
  if (draft.service < 1 || draft.service > kMaxServiceCategory) {
    return absl::InvalidArgumentError("service: unknown service category");
  }
  if (draft.to_org == self_.org_id) return absl::InvalidArgumentError("a referral goes to another organisation");
  if (draft.packet.empty()) return absl::InvalidArgumentError("packet: write what the receiver needs to know");
  const bool vital = !draft.consent_id.has_value();
  if (vital && draft.justification.empty()) {
    return absl::InvalidArgumentError("a referral without consent needs a vital-interests justification");
  }
  if (!vital && !draft.justification.empty()) {
    return absl::InvalidArgumentError("a referral on consent carries no vital-interests justification");
  }
  // Reads and verifies the case first: a referral is made from what this
  // device has verified, and it fails early for a case it may not see.
  TRYGG_RETURN_IF_ERROR(cases_.CurrentScope(draft.case_id).status());

  const Id128 referral_id = RandomId(rng_);
  const Id128 scope_id = RandomId(rng_);
  constexpr uint32_t kEpoch = 1;
  SecretKey scope_key;
  rng_.Fill(scope_key.span());

  RecordDraft packet_draft;
  packet_draft.case_id = draft.case_id;
  packet_draft.scope_id = scope_id;
  packet_draft.epoch = kEpoch;
  packet_draft.record_id = RandomId(rng_);
  packet_draft.author_org = self_.org_id;
  packet_draft.author_device = self_.device_id;
  packet_draft.content_type = draft.content_type;
  SecretKey dek = GenerateDataKey(rng_);
  TRYGG_ASSIGN_OR_RETURN(SealedRecord packet, SealRecord(packet_draft, draft.packet, {}, dek, scope_key,
                                                         self_.device.signing(), clock_, rng_));
  TRYGG_ASSIGN_OR_RETURN(Grant to_sender, internal::SealScopeGrant(client_, self_, self_.org_id, scope_id, kEpoch,
                                                                   scope_key, clock_, rng_));
  TRYGG_ASSIGN_OR_RETURN(Grant to_receiver, internal::SealScopeGrant(client_, self_, draft.to_org, scope_id, kEpoch,
                                                                     scope_key, clock_, rng_));

  ReferralRecord record;
  record.referral_id = referral_id;
  record.case_id = draft.case_id;
  record.from_org_id = self_.org_id;
  record.to_org_id = draft.to_org;
  record.listing_id = draft.listing_id;
  record.service = draft.service;
  record.urgency = draft.urgency;
  record.basis = vital ? ReferralBasis::kVitalInterests : ReferralBasis::kConsent;
  if (!vital) record.consent_id = *draft.consent_id;
  record.created_at_ms = clock_.NowUnixMillis();
  record.packet_hash = RecordHash(packet);
  record.sender_device_id = self_.device_id;
  std::vector<uint8_t> justification;
  if (vital) {
    TRYGG_ASSIGN_OR_RETURN(justification, SealBlob(BlobKind::kReferralJustification, referral_id,
                                                   draft.justification, scope_key, rng_));
    record.justification_hash = Blake2b256(justification);
  }
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_record, SignReferralRecord(record, self_.device.signing()));

  trygg::v1::CreateReferralRequest request;
  request.set_request_id(RequestId(rng_));
  SignedToProto(signed_record, self_.device_id, request.mutable_referral()->mutable_signed_());
  internal::EnvelopeToProto(packet, request.mutable_packet());
  internal::GrantToProto(to_sender, scope_id, kEpoch, self_.org_id, request.add_grants());
  internal::GrantToProto(to_receiver, scope_id, kEpoch, draft.to_org, request.add_grants());
  request.set_vital_interests_justification(ToProto(justification));
  trygg::v1::CreateReferralResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::ReferralService::NewStub(client_.channel())->CreateReferral(context.get(), request, &response)));
  AuditExpectation expected =
      internal::Expecting("referral", {audit::AuditEventKind::kReferralCreated}, AuditSubject::kReferral, referral_id);
  expected.counterpart_org = draft.to_org;
  expected.service = draft.service;
  expected.flags = vital ? audit::kFlagVitalInterests : uint8_t{0};
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, std::move(expected));
  const Hash256 head = ReferralRecordHash(signed_record);
  TRYGG_RETURN_IF_ERROR(client_.RememberHistory(HistoryKind::kReferral, referral_id, std::span(&head, 1)));
  return referral_id;
}

namespace {

// What every read of a referral checks: the sender's signature on the
// record, and the chain of signed moves that leads to the state the server
// reports. Moves are referral transitions (12.4) or, for referrals a consent
// withdrawal ended, the signed withdrawal itself (12.2); the only unsigned
// moves are the server's own (expiry, lapsed consent), which end a history.
struct VerifiedReferral {
  ReferralRecord record;
  ReferralStatus state = ReferralStatus::kSent;
  uint8_t code = 0;
  std::vector<SignedTransitionView> transitions;
  // The history's head hash at each length (record, then each move), and
  // whether the server ended it with one of its unsigned moves.
  std::vector<Hash256> history;
  bool ended_by_server = false;
};

}  // namespace

static absl::StatusOr<VerifiedReferral> VerifyReferralMessage(const trygg::v1::Referral& in, const OrgLogState& from,
                                                               const OrgLogState& to) {
  VerifiedReferral out;
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_record, internal::SignedFromServer(in.signed_()));
  TRYGG_ASSIGN_OR_RETURN(ReferralRecord parsed, ParseReferralRecord(signed_record.bytes));
  const DeviceRecord* sender = from.FindDevice(parsed.sender_device_id);
  if (sender == nullptr) return Tampered("sent by a device that is not in the sending organisation's log");
  if (!TrustedAt(*sender, parsed.created_at_ms)) return Tampered("signed by its sender after the device was revoked");
  TRYGG_ASSIGN_OR_RETURN(out.record, VerifyReferralRecord(signed_record, sender->sign_key));
  if (out.record.from_org_id != from.org_id() || out.record.to_org_id != to.org_id()) {
    return Tampered("the server's routing differs from the signed referral");
  }
  out.history.push_back(ReferralRecordHash(signed_record));

  ReferralStatus state = ReferralStatus::kSent;
  for (const trygg::v1::SignedBlob& blob : in.transitions()) {
    TRYGG_ASSIGN_OR_RETURN(SignedObject move, internal::SignedFromServer(blob));
    if (absl::StatusOr<ConsentWithdrawal> w = ParseConsentWithdrawal(move.bytes); w.ok()) {
      SignerLookup signer = FindSigner(w->device_id, {&from});
      if (signer.device == nullptr || !TrustedAt(*signer.device, w->withdrawn_at_ms) ||
          w->case_id != out.record.case_id || w->consent_id != out.record.consent_id ||
          !VerifyConsentWithdrawal(move, signer.device->sign_key).ok()) {
        return Tampered("a consent withdrawal in its history is not one the sender signed for its consent");
      }
      const ReferralStatus to_state = state == ReferralStatus::kSent ? ReferralStatus::kWithdrawn
                                                                    : ReferralStatus::kClosed;
      if (!CheckReferralTransition(state, to_state, ReferralParty::kSender, 0).ok()) {
        return Tampered("a consent withdrawal out of order in its history");
      }
      ReferralTransition t{out.record.referral_id, static_cast<uint8_t>(state), static_cast<uint8_t>(to_state), 0,
                           w->device_id, w->withdrawn_at_ms};
      out.transitions.push_back({t, signer.org_id});
      out.history.push_back(NextMoveHash(out.history.back(), move));
      state = to_state;
      out.code = 0;
      continue;
    }
    TRYGG_ASSIGN_OR_RETURN(ReferralTransition t, ParseReferralTransition(move.bytes));
    SignerLookup signer = FindSigner(t.actor_device_id, {&from, &to});
    if (signer.device == nullptr) return Tampered("a transition by a device of neither organisation");
    if (!TrustedAt(*signer.device, t.at_ms)) return Tampered("a transition signed after its device was revoked");
    TRYGG_RETURN_IF_ERROR(VerifyReferralTransition(move, signer.device->sign_key).status());
    if (t.referral_id != out.record.referral_id) return Tampered("a transition of another referral in its history");
    if (t.from_state != static_cast<uint8_t>(state)) return Tampered("its transitions do not follow each other");
    // Each move must be one the state machine allows to the signer's side
    // (a move the server refused, kept and replayed, is caught here).
    const ReferralParty party = signer.org_id == from.org_id() ? ReferralParty::kSender : ReferralParty::kReceiver;
    if (!CheckReferralTransition(state, static_cast<ReferralStatus>(t.to_state), party, t.code).ok()) {
      return Tampered("its history holds a move its signer may not make");
    }
    out.transitions.push_back({t, signer.org_id});
    out.history.push_back(NextMoveHash(out.history.back(), move));
    state = static_cast<ReferralStatus>(t.to_state);
    out.code = t.code;
  }
  // The server's own moves carry no signature: SENT -> EXPIRED (no answer
  // in time, or the consent lapsed) and ACCEPTED -> CLOSED (the consent
  // lapsed). Both only end access; docs/threat-model.md explains why they
  // cannot be proven and what a server gains by faking one (nothing to read).
  const auto reported = static_cast<ReferralStatus>(in.state());
  if ((reported == ReferralStatus::kExpired && state == ReferralStatus::kSent) ||
      (reported == ReferralStatus::kClosed && state == ReferralStatus::kAccepted)) {
    state = reported;
    out.code = 0;
    out.ended_by_server = true;
  } else if (reported != state) {
    return Tampered("the server reports a state its signed history does not reach");
  }
  out.state = state;
  return out;
}

absl::StatusOr<ReferralView> ReferralClient::Get(const Id128& referral_id) {
  trygg::v1::GetReferralRequest request;
  request.set_referral_id(ToProto(referral_id.span()));
  trygg::v1::GetReferralResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::ReferralService::NewStub(client_.channel())->GetReferral(context.get(), request, &response)));

  std::map<Id128, OrgLogState> logs;
  absl::Status log_error;
  TRYGG_ASSIGN_OR_RETURN(Id128 from_id, IdFromServer(response.referral().from_org_id(), "organisation id"));
  TRYGG_ASSIGN_OR_RETURN(Id128 to_id, IdFromServer(response.referral().to_org_id(), "organisation id"));
  if (from_id != self_.org_id && to_id != self_.org_id) return Tampered("neither sent to nor by this organisation");
  const OrgLogState* from = OrgLog(from_id, logs, log_error);
  const OrgLogState* to = from ? OrgLog(to_id, logs, log_error) : nullptr;
  if (to == nullptr) return log_error;
  TRYGG_ASSIGN_OR_RETURN(VerifiedReferral verified, VerifyReferralMessage(response.referral(), *from, *to));
  if (verified.record.referral_id != referral_id) return Tampered("the server answered with another referral");
  // A history shorter than, or different from, what this device has seen
  // before (in this run or an earlier one) is a rollback or a fork.
  TRYGG_RETURN_IF_ERROR(client_.RememberHistory(HistoryKind::kReferral, referral_id, verified.history, 1,
                                                verified.ended_by_server));

  ReferralView view;
  view.record = verified.record;
  view.state = verified.state;
  view.code = verified.code;
  view.transitions = std::move(verified.transitions);
  view.updated_at_ms = ToMillis(response.referral().updated_at());
  view.answer_by_ms = ToMillis(response.referral().answer_by());
  view.incoming = to_id == self_.org_id;
  view.from_org_name = from->name();
  view.to_org_name = to->name();
  if (!response.has_packet() || response.grants().empty()) return view;

  // The packet: the scope key from this organisation's grant (made by the
  // sending device), then the envelope, tied to the signed record by hash.
  const OrgLogState* own = OrgLog(self_.org_id, logs, log_error);
  if (own == nullptr) return log_error;
  TRYGG_ASSIGN_OR_RETURN(Grant grant, internal::GrantFromServer(response.grants(0)));
  TRYGG_ASSIGN_OR_RETURN(GrantHeader grant_header, ParseGrantHeader(grant.header));
  if (grant_header.granter_device != view.record.sender_device_id) {
    return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kWrongGranter,
                           "referral: its scope was granted by another device than its sender");
  }
  TRYGG_ASSIGN_OR_RETURN(SecretKey scope_key, internal::OpenScopeGrant(grant, self_, *from));
  TRYGG_ASSIGN_OR_RETURN(SealedRecord packet, internal::EnvelopeFromServer(response.packet()));
  if (RecordHash(packet) != view.record.packet_hash) {
    return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kHashMismatch,
                           "referral: the packet differs from the one the sender signed");
  }
  TRYGG_ASSIGN_OR_RETURN(RecordHeader packet_header, ParseRecordHeader(packet.header));
  if (packet_header.author_device != view.record.sender_device_id) {
    return Tampered("the packet was written by another device than the sender");
  }
  RecordExpectation expected{view.record.case_id, grant_header.scope_id, grant_header.epoch, kRecordFormatV1};
  RecordChainState fresh;  // a referral shares one version: any is the anchor
  const SignPublicKey& sender_key = from->FindDevice(view.record.sender_device_id)->sign_key;
  TRYGG_ASSIGN_OR_RETURN(OpenedRecord opened, OpenRecord(packet, expected, sender_key, scope_key, fresh));
  view.packet = std::move(opened.plaintext);
  if (view.record.basis == ReferralBasis::kVitalInterests) {
    std::span<const uint8_t> blob = AsSpan(response.vital_interests_justification());
    if (Blake2b256(blob) != view.record.justification_hash) {
      return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kHashMismatch,
                             "referral: the justification differs from the one the sender signed");
    }
    TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> justification,
                           OpenBlob(BlobKind::kReferralJustification, referral_id, blob, scope_key));
    view.justification = std::move(justification);
  }
  return view;
}

namespace {

audit::AuditEventKind TransitionKind(ReferralStatus to) {
  switch (to) {
    case ReferralStatus::kAccepted: return audit::AuditEventKind::kReferralAccepted;
    case ReferralStatus::kDeclined: return audit::AuditEventKind::kReferralDeclined;
    case ReferralStatus::kWithdrawn: return audit::AuditEventKind::kReferralWithdrawn;
    case ReferralStatus::kExpired: return audit::AuditEventKind::kReferralExpired;
    case ReferralStatus::kCompleted: return audit::AuditEventKind::kReferralCompleted;
    case ReferralStatus::kClosed: return audit::AuditEventKind::kReferralClosed;
    default: break;
  }
  return audit::AuditEventKind::kReferralCreated;  // no move goes there; the check will say so
}

}  // namespace

absl::StatusOr<ReferralView> ReferralClient::SendTransition(const Id128& referral_id, ReferralStatus from,
                                                            ReferralStatus to, uint8_t code) {
  ReferralTransition transition{referral_id,      static_cast<uint8_t>(from), static_cast<uint8_t>(to), code,
                                self_.device_id, clock_.NowUnixMillis()};
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_move, SignReferralTransition(transition, self_.device.signing()));
  trygg::v1::TransitionReferralRequest request;
  request.set_request_id(RequestId(rng_));
  request.set_referral_id(ToProto(referral_id.span()));
  SignedToProto(signed_move, self_.device_id, request.mutable_transition());
  trygg::v1::TransitionReferralResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(trygg::v1::ReferralService::NewStub(client_.channel())
                                     ->TransitionReferral(context.get(), request, &response)));
  AuditExpectation expected = internal::Expecting("referral transition", {TransitionKind(to)},
                                                  AuditSubject::kReferral, referral_id);
  expected.code = code;  // decline reason or outcome; 0 for the others
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, std::move(expected));
  return Get(referral_id);
}

absl::StatusOr<ReferralView> ReferralClient::Move(const Id128& referral_id, ReferralStatus to, uint8_t code) {
  TRYGG_ASSIGN_OR_RETURN(ReferralView current, Get(referral_id));
  // This device signs only moves the state machine allows its side.
  const ReferralParty party = current.incoming ? ReferralParty::kReceiver : ReferralParty::kSender;
  TRYGG_RETURN_IF_ERROR(CheckReferralTransition(current.state, to, party, code));
  return SendTransition(referral_id, current.state, to, code);
}

absl::StatusOr<ReferralView> ReferralClient::Accept(const Id128& referral_id) {
  return Move(referral_id, ReferralStatus::kAccepted, 0);
}
absl::StatusOr<ReferralView> ReferralClient::Decline(const Id128& referral_id, DeclineReason reason) {
  return Move(referral_id, ReferralStatus::kDeclined, static_cast<uint8_t>(reason));
}
absl::StatusOr<ReferralView> ReferralClient::Withdraw(const Id128& referral_id) {
  return Move(referral_id, ReferralStatus::kWithdrawn, 0);
}
absl::StatusOr<ReferralView> ReferralClient::Complete(const Id128& referral_id, ReferralOutcome outcome) {
  return Move(referral_id, ReferralStatus::kCompleted, static_cast<uint8_t>(outcome));
}
absl::StatusOr<ReferralView> ReferralClient::Close(const Id128& referral_id) {
  return Move(referral_id, ReferralStatus::kClosed, 0);
}

absl::StatusOr<ReferralPage> ReferralClient::List(const ReferralQuery& query, bool inbox) {
  auto stub = trygg::v1::ReferralService::NewStub(client_.channel());
  google::protobuf::RepeatedPtrField<trygg::v1::Referral> rows;
  ReferralPage page;
  auto context = client_.NewCallContext();
  if (inbox) {
    trygg::v1::ListInboxRequest request;
    request.set_page_size(query.page_size);
    request.set_page_token(query.page_token);
    for (ReferralStatus s : query.states) request.add_states(static_cast<trygg::v1::ReferralState>(s));
    request.set_service(static_cast<trygg::v1::ServiceCategory>(query.service));
    trygg::v1::ListInboxResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(stub->ListInbox(context.get(), request, &response)));
    rows.Swap(response.mutable_referrals());
    page.next_page_token = response.next_page_token();
  } else {
    trygg::v1::ListOutboxRequest request;
    request.set_page_size(query.page_size);
    request.set_page_token(query.page_token);
    for (ReferralStatus s : query.states) request.add_states(static_cast<trygg::v1::ReferralState>(s));
    request.set_service(static_cast<trygg::v1::ServiceCategory>(query.service));
    trygg::v1::ListOutboxResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(stub->ListOutbox(context.get(), request, &response)));
    rows.Swap(response.mutable_referrals());
    page.next_page_token = response.next_page_token();
  }
  std::map<Id128, OrgLogState> logs;
  absl::Status log_error;
  // Each referral's history against what this device has seen, with one
  // write of the state file for the page.
  std::vector<Client::HistoryUpdate> seen;
  for (const trygg::v1::Referral& in : rows) {
    TRYGG_ASSIGN_OR_RETURN(Id128 from_id, IdFromServer(in.from_org_id(), "organisation id"));
    TRYGG_ASSIGN_OR_RETURN(Id128 to_id, IdFromServer(in.to_org_id(), "organisation id"));
    if ((inbox ? to_id : from_id) != self_.org_id) {
      return Tampered(inbox ? "the inbox holds a referral to another organisation"
                            : "the outbox holds a referral from another organisation");
    }
    const OrgLogState* from = OrgLog(from_id, logs, log_error);
    const OrgLogState* to = from ? OrgLog(to_id, logs, log_error) : nullptr;
    if (to == nullptr) return log_error;
    TRYGG_ASSIGN_OR_RETURN(VerifiedReferral verified, VerifyReferralMessage(in, *from, *to));
    seen.push_back({HistoryKind::kReferral, verified.record.referral_id, std::move(verified.history), 1,
                    verified.ended_by_server});
    ReferralSummary summary;
    summary.record = verified.record;
    summary.state = verified.state;
    summary.code = verified.code;
    summary.updated_at_ms = ToMillis(in.updated_at());
    summary.answer_by_ms = ToMillis(in.answer_by());
    summary.from_org_name = from->name();
    summary.to_org_name = to->name();
    if (!query.states.empty() &&
        std::find(query.states.begin(), query.states.end(), summary.state) == query.states.end()) {
      return Tampered("the server listed a referral outside the requested states");
    }
    if (query.service != 0 && summary.record.service != query.service) {
      return Tampered("the server listed a referral for another service");
    }
    page.referrals.push_back(std::move(summary));
  }
  TRYGG_RETURN_IF_ERROR(client_.RememberHistories(seen));
  return page;
}

absl::StatusOr<ReferralPage> ReferralClient::Inbox(const ReferralQuery& query) { return List(query, true); }
absl::StatusOr<ReferralPage> ReferralClient::Outbox(const ReferralQuery& query) { return List(query, false); }

void WatchCancel::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (stop_) stop_();
}

bool WatchCancel::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

absl::Status ReferralClient::Watch(const std::function<bool(const ReferralNotice&)>& on_notice,
                                   int64_t deadline_ms, const std::function<void()>& on_open, WatchCancel* cancel) {
  auto context = client_.NewCallContext();
  if (deadline_ms > 0) {
    context->set_deadline(std::chrono::system_clock::time_point(std::chrono::milliseconds(deadline_ms)));
  } else {
    context->set_deadline(std::chrono::system_clock::time_point::max());
  }
  // Registered before the call starts (TryCancel before the call is honoured
  // when it starts), unregistered before the context goes.
  if (cancel != nullptr) {
    std::lock_guard<std::mutex> lock(cancel->mu_);
    if (cancel->cancelled_) return absl::CancelledError("the watch was cancelled");
    grpc::ClientContext* raw = context.get();
    cancel->stop_ = [raw] { raw->TryCancel(); };
  }
  struct Unregister {
    WatchCancel* cancel;
    ~Unregister() {
      if (cancel == nullptr) return;
      std::lock_guard<std::mutex> lock(cancel->mu_);
      cancel->stop_ = nullptr;
    }
  } unregister{cancel};
  const auto cancelled = [cancel] { return cancel != nullptr && cancel->cancelled(); };
  auto stub = trygg::v1::ReferralService::NewStub(client_.channel());
  std::unique_ptr<grpc::ClientReader<trygg::v1::WatchReferralsResponse>> reader =
      stub->WatchReferrals(context.get(), trygg::v1::WatchReferralsRequest());
  if (on_open) {
    // tryggd sends the initial metadata once the stream is registered; a
    // refused call ends instead, and the loop below reports why.
    reader->WaitForInitialMetadata();
    on_open();
  }
  trygg::v1::WatchReferralsResponse in;
  bool stopped = false;
  while (reader->Read(&in)) {
    absl::StatusOr<Id128> id = IdFromServer(in.referral_id(), "referral id");
    if (!id.ok() || in.state() < 1 || in.state() > kMaxReferralState) {
      context->TryCancel();
      reader->Finish().ok();
      return absl::DataLossError("server sent a malformed referral notice");
    }
    ReferralNotice notice{*id, static_cast<ReferralStatus>(in.state()), in.incoming(), ToMillis(in.at())};
    if (!on_notice(notice)) {
      stopped = true;
      context->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!stopped && cancelled()) return absl::CancelledError("the watch was cancelled");
  if (stopped || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return absl::OkStatus();
  return FromGrpc(status);
}

}  // namespace trygg
