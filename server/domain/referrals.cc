// SPDX-License-Identifier: Apache-2.0

#include "server/domain/referrals.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "server/domain/audit_log.h"
#include "server/domain/cases.h"
#include "server/domain/trust_tables.h"
#include "server/domain/referral_workflow.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"

namespace trygg::domain {
namespace {

constexpr int64_t kHourMs = 60 * 60 * 1000;

// The referral, if the caller's organisation sent or received it.
absl::StatusOr<ReferralRow> VisibleReferral(Transaction& txn, const Caller& caller, const Id128& referral_id) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<ReferralRow> row, txn.referrals().GetReferral(referral_id));
  if (!row.has_value() || (row->from_org != caller.org_id && row->to_org != caller.org_id)) {
    return absl::NotFoundError("no such referral");
  }
  return *row;
}

// `history`: the referral's stored history; the move is appended to it.
absl::Status AppendMove(Transaction& txn, ReferralRow& row, ReferralState to, uint8_t code, const Id128& actor,
                        const SignedObject& proof, int64_t now, std::vector<StoredTransition>& history) {
  StoredTransition t;
  t.seq = static_cast<uint32_t>(history.size()) + 1;
  t.actor_device = actor;
  t.transition = proof;
  t.to = to;
  t.at_ms = now;
  TRYGG_RETURN_IF_ERROR(txn.referrals().AppendTransition(row.referral_id, t));
  history.push_back(std::move(t));
  row.state = to;
  row.code = code;
  row.updated_at_ms = now;
  return txn.referrals().UpdateReferralState(row.referral_id, to, code, now);
}

// The organisation whose device recorded `consent`. Consents belong to the
// organisation that recorded them: only it refers on them and withdraws them,
// so every referral a withdrawal ends was sent by a device of that
// organisation (which is what readers check, protocol.md 12.7).
absl::StatusOr<Id128> RecordingOrg(Transaction& txn, const ConsentRow& consent) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<DeviceRow> recorder, txn.trust().GetDevice(consent.recorder_device));
  if (!recorder.has_value()) return absl::InternalError("a consent's recorder is not in the device registry");
  return recorder->org_id;
}

// The steps of Referrals::Create, in the order it runs them: each refusal
// comes before anything is stored.

// A referral record the calling device signed for its organisation, on a
// case the organisation can see.
struct SentReferral {
  ReferralRecord record;
  CaseRow case_row;
};

absl::StatusOr<SentReferral> VerifySentReferral(Transaction& txn, const Caller& caller,
                                                const SignedObject& signed_referral) {
  absl::StatusOr<ReferralRecord> parsed = ParseReferralRecord(signed_referral.bytes);
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat("referral: ", parsed.status().message()));
  SentReferral sent;
  sent.record = *std::move(parsed);
  TRYGG_ASSIGN_OR_RETURN(sent.case_row, Cases::VisibleCase(txn, caller.org_id, sent.record.case_id));
  if (sent.record.from_org_id != caller.org_id || sent.record.sender_device_id != caller.device_id) {
    return absl::PermissionDeniedError("the referral must be sent by the calling device for its organisation");
  }
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey key, Cases::CallerKey(txn, caller));
  if (!SignatureValid(caller.prechecked.get(), SignedKind::kReferralRecord, key, signed_referral)) {
    return absl::InvalidArgumentError("the referral is not signed by the calling device");
  }
  return sent;
}

// The live listing the referral names, which must belong to its receiver
// (another organisation) and offer its service.
absl::StatusOr<ReferralRoute> RouteOfReferral(Transaction& txn, const ListingRoutes& routes, const Caller& caller,
                                              const ReferralRecord& record) {
  absl::StatusOr<ReferralRoute> route = routes.RouteFor(txn, record.listing_id);
  if (!route.ok() || route->retired) return absl::NotFoundError("no such service listing");
  if (route->org_id != record.to_org_id || route->category != record.service) {
    return absl::InvalidArgumentError("the referral's receiver and service differ from the listing's");
  }
  if (record.to_org_id == caller.org_id) return absl::InvalidArgumentError("a referral goes to another organisation");
  return *route;
}

// The lawful basis: a live consent the caller's organisation recorded that
// covers the receiver and service, or vital interests with the encrypted
// justification the record hashes.
absl::Status CheckReferralBasis(Transaction& txn, const Caller& caller, const ReferralRecord& record,
                                const std::vector<uint8_t>& justification, int64_t now) {
  if (record.basis != ReferralBasis::kConsent) {
    if (justification.empty() || Blake2b256(justification) != record.justification_hash) {
      return absl::InvalidArgumentError("a vital-interests referral needs its encrypted justification");
    }
    return absl::OkStatus();
  }
  TRYGG_ASSIGN_OR_RETURN(std::optional<ConsentRow> consent, txn.referrals().GetConsent(record.consent_id));
  absl::StatusOr<ConsentRecord> consent_record =
      consent.has_value() ? ParseConsentRecord(consent->signed_consent.bytes) : absl::NotFoundError("");
  absl::StatusOr<Id128> recording_org =
      consent.has_value() ? RecordingOrg(txn, *consent) : absl::StatusOr<Id128>(absl::NotFoundError(""));
  if (!consent.has_value() || consent->case_id != record.case_id || consent->withdrawn_at_ms.has_value() ||
      !recording_org.ok() || *recording_org != caller.org_id || !consent_record.ok() ||
      !ConsentCovers(*consent_record, record.to_org_id, record.service, now)) {
    return absl::FailedPreconditionError(
        "no valid consent recorded by your organisation covers this receiver and service; record consent, or "
        "refer on the vital-interests basis with a justification");
  }
  return absl::OkStatus();
}

// The packet: authored by the calling device, on the referral's case, under
// a fresh scope of its own, and the one the record hashes.
absl::StatusOr<RecordHeader> CheckReferralPacket(Transaction& txn, const Caller& caller, const SentReferral& sent,
                                                 const SealedRecord& packet) {
  TRYGG_ASSIGN_OR_RETURN(RecordHeader header, Cases::CheckAuthoredEnvelope(txn, caller, packet));
  if (header.case_id != sent.record.case_id || header.scope_id == sent.case_row.scope_id ||
      RecordHash(packet) != sent.record.packet_hash) {
    return absl::InvalidArgumentError("the referral packet does not belong to this referral");
  }
  // A scope of its own: reusing another case's or referral's scope would let
  // its grants be overwritten, or deleted when this referral ends.
  TRYGG_ASSIGN_OR_RETURN(bool scope_taken, txn.cases().ScopeInUse(header.scope_id));
  if (scope_taken) return absl::InvalidArgumentError("packet: its scope_id is in use; a referral needs a fresh one");
  return header;
}

// The referral scope's key, sealed by the caller to sender and receiver.
absl::Status CheckReferralGrants(Transaction& txn, const Caller& caller, const ReferralRecord& record,
                                 const RecordHeader& packet, const std::vector<StoredGrant>& grants) {
  // Exactly two organisations hold a referral's scope, so a longer list is
  // malformed; refused before any signature is checked (issue 12's per-call
  // bound on grants, here fixed by the rule itself).
  if (grants.size() > 2) {
    return absl::InvalidArgumentError("grants: a referral's scope goes to its sender and receiver, one grant each");
  }
  bool to_sender = false;
  bool to_receiver = false;
  for (const StoredGrant& grant : grants) {
    TRYGG_RETURN_IF_ERROR(Cases::CheckGrant(txn, caller, grant, packet.scope_id, packet.epoch));
    to_sender = to_sender || grant.org_id == caller.org_id;
    to_receiver = to_receiver || grant.org_id == record.to_org_id;
  }
  if (!to_sender || !to_receiver) {
    return absl::InvalidArgumentError("grants: the referral scope must be granted to sender and receiver");
  }
  return absl::OkStatus();
}

// The stored referral: SENT now, to be answered within the listing's
// response time.
ReferralRow NewReferralRow(const Caller& caller, const ReferralRecord& record, const NewReferral& in,
                           const Id128& scope_id, const ReferralRoute& route, int64_t now) {
  ReferralRow row;
  row.referral_id = record.referral_id;
  row.case_id = record.case_id;
  row.from_org = caller.org_id;
  row.to_org = record.to_org_id;
  row.listing_id = record.listing_id;
  row.consent_id = record.consent_id;
  row.scope_id = scope_id;
  row.service = record.service;
  row.urgency = static_cast<uint8_t>(record.urgency);
  row.basis = static_cast<uint8_t>(record.basis);
  row.state = ReferralState::kSent;
  row.created_at_ms = row.updated_at_ms = now;
  row.answer_by_ms = now + int64_t{route.response_time_hours} * kHourMs;
  row.sender_device = caller.device_id;
  row.signed_referral = in.signed_referral;
  row.packet = in.packet;
  row.justification = in.justification;
  return row;
}

// Stores the referral and the referral scope's key, sealed to the two
// organisations (a grant each), each change with its audit entry.
absl::Status StoreReferral(Transaction& txn, const Caller& caller, const ReferralRow& row,
                           const std::vector<StoredGrant>& grants, int64_t now) {
  TRYGG_RETURN_IF_ERROR(txn.referrals().InsertReferral(row));
  TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, ReferralCreatedEvent(caller, now, row)).status());
  for (const StoredGrant& grant : grants) {
    TRYGG_RETURN_IF_ERROR(txn.cases().InsertGrant(grant));
    TRYGG_RETURN_IF_ERROR(
        AuditLog::Record(txn, GrantEvent(caller, now, grant.org_id, grant.epoch, row.case_id, row.referral_id))
            .status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Referrals::EndForReceiver(Transaction& txn, ReferralRow& row, ReferralState to, uint8_t code,
                                       const Id128& actor_org, const Id128& actor_device,
                                       const SignedObject& proof, int64_t now,
                                       std::vector<StoredTransition>* history) const {
  std::vector<StoredTransition> read;
  if (history == nullptr) {
    TRYGG_ASSIGN_OR_RETURN(read, txn.referrals().GetTransitions(row.referral_id));
    history = &read;
  }
  TRYGG_RETURN_IF_ERROR(AppendMove(txn, row, to, code, actor_device, proof, now, *history));
  if (ReceiverLosesAccess(to)) TRYGG_RETURN_IF_ERROR(txn.cases().DeleteGrants(row.scope_id, row.to_org));
  return AuditLog::Record(txn, ReferralMovedEvent(actor_org, actor_device, now, row)).status();
}

absl::StatusOr<Id128> Referrals::RecordConsent(Transaction& txn, const Caller& caller, const SignedObject& consent,
                                               const std::vector<uint8_t>& evidence) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle referrals"));
  absl::StatusOr<ConsentRecord> parsed = ParseConsentRecord(consent.bytes);
  if (!parsed.ok()) return absl::InvalidArgumentError("consent is not a consent record");
  TRYGG_RETURN_IF_ERROR(Cases::VisibleCase(txn, caller.org_id, parsed->case_id).status());
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey key, Cases::CallerKey(txn, caller));
  if (parsed->recorder_device_id != caller.device_id ||
      !SignatureValid(caller.prechecked.get(), SignedKind::kConsentRecord, key, consent)) {
    return absl::InvalidArgumentError("consent is not signed by the calling device");
  }
  if (Blake2b256(evidence) != parsed->evidence_hash) {
    return absl::InvalidArgumentError("evidence does not match the consent's evidence hash");
  }
  TRYGG_ASSIGN_OR_RETURN(std::optional<ConsentRow> existing, txn.referrals().GetConsent(parsed->consent_id));
  if (existing.has_value()) {
    if (existing->signed_consent.bytes == consent.bytes) return parsed->consent_id;  // a resend
    return absl::AlreadyExistsError("a different consent exists under this id");
  }
  const int64_t now = clock_.NowUnixMillis();
  if (parsed->expires_at_ms <= now) return absl::InvalidArgumentError("consent has already expired");
  ConsentRow row;
  row.consent_id = parsed->consent_id;
  row.case_id = parsed->case_id;
  row.to_org = parsed->to_org_id;
  row.services = parsed->services;
  row.purpose = static_cast<uint8_t>(parsed->purpose);
  row.recorded_at_ms = now;
  row.expires_at_ms = parsed->expires_at_ms;
  row.recorder_device = caller.device_id;
  row.signed_consent = consent;
  row.evidence = evidence;
  TRYGG_RETURN_IF_ERROR(txn.referrals().InsertConsent(row));
  TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, ConsentRecordedEvent(caller, now, row)).status());
  return row.consent_id;
}

absl::StatusOr<std::vector<ReferralRow>> Referrals::WithdrawConsent(Transaction& txn, const Caller& caller,
                                                                    const SignedObject& withdrawal) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle referrals"));
  absl::StatusOr<ConsentWithdrawal> parsed = ParseConsentWithdrawal(withdrawal.bytes);
  if (!parsed.ok()) return absl::InvalidArgumentError("statement is not a consent withdrawal");
  TRYGG_ASSIGN_OR_RETURN(std::optional<ConsentRow> consent, txn.referrals().GetConsent(parsed->consent_id));
  if (!consent.has_value() || consent->case_id != parsed->case_id ||
      !Cases::VisibleCase(txn, caller.org_id, consent->case_id).ok()) {
    return absl::NotFoundError("no such consent");
  }
  TRYGG_ASSIGN_OR_RETURN(Id128 recording_org, RecordingOrg(txn, *consent));
  if (recording_org != caller.org_id) {
    return absl::PermissionDeniedError("only the organisation that recorded a consent may withdraw it");
  }
  if (consent->withdrawn_at_ms.has_value()) {
    if (consent->withdrawal.has_value() && consent->withdrawal->bytes == withdrawal.bytes) {
      return std::vector<ReferralRow>{};  // a resend: done already
    }
    return absl::FailedPreconditionError("consent is already withdrawn");
  }
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey key, Cases::CallerKey(txn, caller));
  if (parsed->device_id != caller.device_id || !VerifyConsentWithdrawal(withdrawal, key).ok()) {
    return absl::InvalidArgumentError("statement is not signed by the calling device");
  }
  const int64_t now = clock_.NowUnixMillis();
  TRYGG_RETURN_IF_ERROR(txn.referrals().MarkConsentWithdrawn(consent->consent_id, caller.org_id, now, withdrawal));
  TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, ConsentWithdrawnEvent(caller, now, *consent)).status());

  // The access the consent gave ends: open referrals that relied on it are
  // withdrawn (or closed, once accepted) by the sending side, and their
  // receivers lose the referral scope.
  std::vector<ReferralRow> ended;
  TRYGG_ASSIGN_OR_RETURN(std::vector<ReferralRow> relying, txn.referrals().ListByConsent(consent->consent_id));
  for (ReferralRow& row : relying) {
    if (IsFinal(row.state)) continue;
    const ReferralState to = row.state == ReferralState::kSent ? ReferralState::kWithdrawn : ReferralState::kClosed;
    TRYGG_RETURN_IF_ERROR(EndForReceiver(txn, row, to, 0, caller.org_id, caller.device_id, withdrawal, now));
    ended.push_back(row);
  }
  return ended;
}

absl::StatusOr<std::vector<ConsentRow>> Referrals::ListConsents(Transaction& txn, const Caller& caller,
                                                                const Id128& case_id) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle referrals"));
  TRYGG_RETURN_IF_ERROR(Cases::VisibleCase(txn, caller.org_id, case_id).status());
  TRYGG_ASSIGN_OR_RETURN(std::vector<ConsentRow> all, txn.referrals().ListConsents(case_id));
  std::vector<ConsentRow> own;  // each organisation manages the consents it recorded
  for (ConsentRow& consent : all) {
    TRYGG_ASSIGN_OR_RETURN(Id128 recording_org, RecordingOrg(txn, consent));
    if (recording_org == caller.org_id) own.push_back(std::move(consent));
  }
  return own;
}

absl::StatusOr<ReferralRow> Referrals::Create(Transaction& txn, const Caller& caller,
                                              const NewReferral& in) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle referrals"));
  TRYGG_ASSIGN_OR_RETURN(SentReferral sent, VerifySentReferral(txn, caller, in.signed_referral));
  TRYGG_ASSIGN_OR_RETURN(std::optional<ReferralRow> existing, txn.referrals().GetReferral(sent.record.referral_id));
  if (existing.has_value()) {
    if (existing->signed_referral.bytes == in.signed_referral.bytes) return *existing;  // a resend
    return absl::AlreadyExistsError("a different referral exists under this id");
  }
  TRYGG_ASSIGN_OR_RETURN(ReferralRoute route, RouteOfReferral(txn, routes_, caller, sent.record));
  const int64_t now = clock_.NowUnixMillis();
  TRYGG_RETURN_IF_ERROR(CheckReferralBasis(txn, caller, sent.record, in.justification, now));
  TRYGG_ASSIGN_OR_RETURN(RecordHeader packet, CheckReferralPacket(txn, caller, sent, in.packet));
  TRYGG_RETURN_IF_ERROR(CheckReferralGrants(txn, caller, sent.record, packet, in.grants));
  const ReferralRow row = NewReferralRow(caller, sent.record, in, packet.scope_id, route, now);
  TRYGG_RETURN_IF_ERROR(StoreReferral(txn, caller, row, in.grants, now));
  return row;
}

absl::StatusOr<ReferralRow> Referrals::Transition(Transaction& txn, const Caller& caller, const Id128& referral_id,
                                                  const SignedObject& transition) const {
  std::vector<StoredTransition> history;
  return Move(txn, caller, referral_id, transition, history);
}

absl::StatusOr<ReferralRow> Referrals::Move(Transaction& txn, const Caller& caller, const Id128& referral_id,
                                            const SignedObject& transition,
                                            std::vector<StoredTransition>& history) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle referrals"));
  TRYGG_ASSIGN_OR_RETURN(ReferralRow row, VisibleReferral(txn, caller, referral_id));
  absl::StatusOr<ReferralTransition> parsed = ParseReferralTransition(transition.bytes);
  if (!parsed.ok()) return absl::InvalidArgumentError("transition is not a referral transition");
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey key, Cases::CallerKey(txn, caller));
  if (parsed->referral_id != referral_id || parsed->actor_device_id != caller.device_id ||
      !SignatureValid(caller.prechecked.get(), SignedKind::kReferralTransition, key, transition)) {
    return absl::InvalidArgumentError("transition is not for this referral or not signed by the calling device");
  }
  TRYGG_ASSIGN_OR_RETURN(history, txn.referrals().GetTransitions(referral_id));
  if (!history.empty() && history.back().transition.bytes == transition.bytes) return row;  // a resend

  const auto to = static_cast<ReferralState>(parsed->to_state);
  if (static_cast<ReferralState>(parsed->from_state) != row.state) {
    return absl::FailedPreconditionError(
        absl::StrCat("the referral is ", std::string(ReferralStateName(row.state)), ", not ",
                     std::string(ReferralStateName(static_cast<ReferralState>(parsed->from_state)))));
  }
  const int64_t now = clock_.NowUnixMillis();
  if (row.state == ReferralState::kSent && now >= row.answer_by_ms) {
    return absl::FailedPreconditionError("the referral has expired: its answer-by time has passed");
  }
  const ReferralParty party = row.to_org == caller.org_id ? ReferralParty::kReceiver : ReferralParty::kSender;
  TRYGG_RETURN_IF_ERROR(CheckReferralTransition(row.state, to, party, parsed->code));
  TRYGG_RETURN_IF_ERROR(
      EndForReceiver(txn, row, to, parsed->code, caller.org_id, caller.device_id, transition, now, &history));
  return row;
}

absl::StatusOr<ReferralWithHistory> Referrals::TransitionWithHistory(Transaction& txn, const Caller& caller,
                                                                     const Id128& referral_id,
                                                                     const SignedObject& transition) const {
  ReferralWithHistory moved;
  TRYGG_ASSIGN_OR_RETURN(moved.row, Move(txn, caller, referral_id, transition, moved.transitions));
  return moved;
}

absl::StatusOr<ReferralView> Referrals::Get(Transaction& txn, const Caller& caller, const Id128& referral_id) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle referrals"));
  ReferralView view;
  TRYGG_ASSIGN_OR_RETURN(view.row, VisibleReferral(txn, caller, referral_id));
  TRYGG_ASSIGN_OR_RETURN(view.transitions, txn.referrals().GetTransitions(referral_id));
  TRYGG_ASSIGN_OR_RETURN(view.grants, txn.cases().GetGrants(view.row.scope_id, caller.org_id));
  view.packet_visible = !view.grants.empty() && !view.row.packet.header.empty();
  return view;
}

absl::StatusOr<std::vector<ReferralRow>> Referrals::List(Transaction& txn, const Caller& caller, bool inbox,
                                                         const ReferralFilter& filter, const ReferralCursor& after,
                                                         int limit) const {
  TRYGG_RETURN_IF_ERROR(RequireMember(caller, "handle referrals"));
  return txn.referrals().ListReferrals(caller.org_id, inbox, filter, after, limit);
}

absl::StatusOr<ReferralListPage> Referrals::ListPage(Transaction& txn, const Caller& caller, bool inbox,
                                                     const ReferralFilter& filter, const ReferralCursor& after,
                                                     int limit) const {
  TRYGG_ASSIGN_OR_RETURN(std::vector<ReferralRow> rows, List(txn, caller, inbox, filter, after, limit + 1));
  ReferralListPage page;
  page.more = rows.size() > static_cast<size_t>(limit);
  if (page.more) rows.pop_back();
  for (ReferralRow& row : rows) {
    ReferralWithHistory& item = page.referrals.emplace_back();
    TRYGG_ASSIGN_OR_RETURN(item.transitions, txn.referrals().GetTransitions(row.referral_id));
    item.row = std::move(row);
  }
  return page;
}

absl::Status Referrals::AuthoriseWatch(const Caller& caller) const {
  return RequireMember(caller, "watch referrals");
}

absl::StatusOr<std::vector<ReferralRow>> Referrals::ExpireDue(Transaction& txn, int limit) const {
  const int64_t now = clock_.NowUnixMillis();
  TRYGG_ASSIGN_OR_RETURN(std::vector<ReferralRow> due, txn.referrals().ListOverdue(now, limit));
  TRYGG_ASSIGN_OR_RETURN(std::vector<ReferralRow> lapsed, txn.referrals().ListConsentLapsed(now, limit));
  std::vector<ReferralRow> ended;
  std::set<Id128> seen;  // a referral can be both overdue and without consent
  for (std::vector<ReferralRow>* rows : {&due, &lapsed}) {
    for (ReferralRow& row : *rows) {
      if (!seen.insert(row.referral_id).second) continue;
      // Unanswered in time, or the consent it relied on expired: a SENT
      // referral expires, an ACCEPTED one is closed; the receiver loses access.
      const ReferralState to = row.state == ReferralState::kSent ? ReferralState::kExpired : ReferralState::kClosed;
      TRYGG_RETURN_IF_ERROR(CheckReferralTransition(row.state, to, ReferralParty::kServer, 0));
      // The server acts, so the device is zero; the entry names the sender as
      // actor and the receiver as counterpart, so both organisations read it.
      TRYGG_RETURN_IF_ERROR(EndForReceiver(txn, row, to, 0, row.from_org, Id128(), SignedObject{}, now));
      ended.push_back(row);
    }
  }
  return ended;
}

}  // namespace trygg::domain
