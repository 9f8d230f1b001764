// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/referral_tables.h"

#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

constexpr char kConsentColumns[] =
    "consent_id, case_id, to_org, services, purpose, recorded_at, expires_at, withdrawn_at, recorder, bytes, "
    "signature, evidence, withdrawal, withdrawal_signature";
constexpr char kReferralColumns[] =
    "referral_id, case_id, from_org, to_org, listing_id, consent_id, scope_id, service, urgency, basis, state, "
    "code, created_at, updated_at, answer_by, sender, bytes, signature, packet_header, packet_wrapped_dek, "
    "packet_body, packet_signature, justification";

absl::StatusOr<domain::ConsentRow> ConsentOf(const Statement& stmt) {
  domain::ConsentRow c;
  TRYGG_ASSIGN_OR_RETURN(c.consent_id, stmt.ColumnFixed<Id128>(0));
  TRYGG_ASSIGN_OR_RETURN(c.case_id, stmt.ColumnFixed<Id128>(1));
  TRYGG_ASSIGN_OR_RETURN(c.to_org, stmt.ColumnFixed<Id128>(2));
  c.services = static_cast<uint16_t>(stmt.ColumnInt(3));
  c.purpose = static_cast<uint8_t>(stmt.ColumnInt(4));
  c.recorded_at_ms = stmt.ColumnInt(5);
  c.expires_at_ms = stmt.ColumnInt(6);
  if (!stmt.ColumnIsNull(7)) c.withdrawn_at_ms = stmt.ColumnInt(7);
  TRYGG_ASSIGN_OR_RETURN(c.recorder_device, stmt.ColumnFixed<Id128>(8));
  c.signed_consent.bytes = stmt.ColumnBlob(9);
  TRYGG_ASSIGN_OR_RETURN(c.signed_consent.signature, stmt.ColumnFixed<Signature>(10));
  c.evidence = stmt.ColumnBlob(11);
  if (!stmt.ColumnIsNull(12)) {
    SignedObject withdrawal;
    withdrawal.bytes = stmt.ColumnBlob(12);
    TRYGG_ASSIGN_OR_RETURN(withdrawal.signature, stmt.ColumnFixed<Signature>(13));
    c.withdrawal = std::move(withdrawal);
  }
  return c;
}

absl::StatusOr<domain::ReferralRow> ReferralOf(const Statement& stmt) {
  domain::ReferralRow r;
  TRYGG_ASSIGN_OR_RETURN(r.referral_id, stmt.ColumnFixed<Id128>(0));
  TRYGG_ASSIGN_OR_RETURN(r.case_id, stmt.ColumnFixed<Id128>(1));
  TRYGG_ASSIGN_OR_RETURN(r.from_org, stmt.ColumnFixed<Id128>(2));
  TRYGG_ASSIGN_OR_RETURN(r.to_org, stmt.ColumnFixed<Id128>(3));
  TRYGG_ASSIGN_OR_RETURN(r.listing_id, stmt.ColumnFixed<Id128>(4));
  TRYGG_ASSIGN_OR_RETURN(r.consent_id, stmt.ColumnFixed<Id128>(5));
  TRYGG_ASSIGN_OR_RETURN(r.scope_id, stmt.ColumnFixed<Id128>(6));
  r.service = static_cast<uint8_t>(stmt.ColumnInt(7));
  r.urgency = static_cast<uint8_t>(stmt.ColumnInt(8));
  r.basis = static_cast<uint8_t>(stmt.ColumnInt(9));
  r.state = static_cast<domain::ReferralState>(stmt.ColumnInt(10));
  r.code = static_cast<uint8_t>(stmt.ColumnInt(11));
  r.created_at_ms = stmt.ColumnInt(12);
  r.updated_at_ms = stmt.ColumnInt(13);
  r.answer_by_ms = stmt.ColumnInt(14);
  TRYGG_ASSIGN_OR_RETURN(r.sender_device, stmt.ColumnFixed<Id128>(15));
  r.signed_referral.bytes = stmt.ColumnBlob(16);
  TRYGG_ASSIGN_OR_RETURN(r.signed_referral.signature, stmt.ColumnFixed<Signature>(17));
  r.packet.header = stmt.ColumnBlob(18);
  r.packet.wrapped_dek = stmt.ColumnBlob(19);
  r.packet.body = stmt.ColumnBlob(20);
  if (!r.packet.header.empty()) {
    TRYGG_ASSIGN_OR_RETURN(r.packet.signature, stmt.ColumnFixed<Signature>(21));
  }
  r.justification = stmt.ColumnBlob(22);
  return r;
}

}  // namespace

absl::Status SqliteReferralTables::InsertConsent(const domain::ConsentRow& c) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("INSERT INTO consents (", kConsentColumns,
                                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?10, ?11, "
                                                  "NULL, NULL)")));
  return stmt->BindBlob(1, c.consent_id.span())
      .BindBlob(2, c.case_id.span())
      .BindBlob(3, c.to_org.span())
      .Bind(4, c.services)
      .Bind(5, c.purpose)
      .Bind(6, c.recorded_at_ms)
      .Bind(7, c.expires_at_ms)
      .BindBlob(8, c.recorder_device.span())
      .BindBlob(9, c.signed_consent.bytes)
      .BindBlob(10, c.signed_consent.signature.span())
      .BindBlob(11, c.evidence)
      .Run();
}

absl::StatusOr<std::optional<domain::ConsentRow>> SqliteReferralTables::GetConsent(const Id128& consent_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare(absl::StrCat("SELECT ", kConsentColumns,
                                                                    " FROM consents WHERE consent_id = ?1")));
  stmt->BindBlob(1, consent_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  return ConsentOf(*stmt);
}

absl::StatusOr<std::vector<domain::ConsentRow>> SqliteReferralTables::ListConsents(const Id128& case_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT ", kConsentColumns,
                                                  " FROM consents WHERE case_id = ?1 ORDER BY recorded_at")));
  stmt->BindBlob(1, case_id.span());
  std::vector<domain::ConsentRow> consents;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return consents;
    TRYGG_ASSIGN_OR_RETURN(domain::ConsentRow c, ConsentOf(*stmt));
    consents.push_back(std::move(c));
  }
}

absl::Status SqliteReferralTables::MarkConsentWithdrawn(const Id128& consent_id, const Id128& org_id, int64_t at_ms,
                                                        const SignedObject& withdrawal) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("UPDATE consents SET withdrawn_at = ?2, withdrawal = ?3, "
                                     "withdrawal_signature = ?4 WHERE consent_id = ?1 AND withdrawn_at IS NULL "
                                     "AND recorder IN (SELECT device_id FROM devices WHERE org_id = ?5)"));
  return stmt->BindBlob(1, consent_id.span())
      .Bind(2, at_ms)
      .BindBlob(3, withdrawal.bytes)
      .BindBlob(4, withdrawal.signature.span())
      .BindBlob(5, org_id.span())
      .RunChangingOne();
}

absl::Status SqliteReferralTables::InsertReferral(const domain::ReferralRow& r) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("INSERT INTO referrals (", kReferralColumns,
                                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                                  "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)")));
  return stmt->BindBlob(1, r.referral_id.span())
      .BindBlob(2, r.case_id.span())
      .BindBlob(3, r.from_org.span())
      .BindBlob(4, r.to_org.span())
      .BindBlob(5, r.listing_id.span())
      .BindBlob(6, r.consent_id.span())
      .BindBlob(7, r.scope_id.span())
      .Bind(8, r.service)
      .Bind(9, r.urgency)
      .Bind(10, r.basis)
      .Bind(11, static_cast<int64_t>(r.state))
      .Bind(12, r.code)
      .Bind(13, r.created_at_ms)
      .Bind(14, r.updated_at_ms)
      .Bind(15, r.answer_by_ms)
      .BindBlob(16, r.sender_device.span())
      .BindBlob(17, r.signed_referral.bytes)
      .BindBlob(18, r.signed_referral.signature.span())
      .BindBlob(19, r.packet.header)
      .BindBlob(20, r.packet.wrapped_dek)
      .BindBlob(21, r.packet.body)
      .BindBlob(22, r.packet.signature.span())
      .BindBlob(23, r.justification)
      .Run();
}

absl::StatusOr<std::vector<domain::ReferralRow>> SqliteReferralTables::Referrals(Statement& stmt) {
  std::vector<domain::ReferralRow> rows;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return rows;
    TRYGG_ASSIGN_OR_RETURN(domain::ReferralRow r, ReferralOf(stmt));
    rows.push_back(std::move(r));
  }
}

absl::StatusOr<std::optional<domain::ReferralRow>> SqliteReferralTables::GetReferral(const Id128& referral_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare(absl::StrCat("SELECT ", kReferralColumns,
                                                                    " FROM referrals WHERE referral_id = ?1")));
  stmt->BindBlob(1, referral_id.span());
  TRYGG_ASSIGN_OR_RETURN(auto rows, Referrals(*stmt));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

absl::Status SqliteReferralTables::UpdateReferralState(const Id128& referral_id, domain::ReferralState state,
                                                       uint8_t code, int64_t updated_at_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("UPDATE referrals SET state = ?2, code = ?3, updated_at = ?4 "
                                     "WHERE referral_id = ?1"));
  return stmt->BindBlob(1, referral_id.span())
      .Bind(2, static_cast<int64_t>(state))
      .Bind(3, code)
      .Bind(4, updated_at_ms)
      .Run();
}

absl::Status SqliteReferralTables::AppendTransition(const Id128& referral_id, const domain::StoredTransition& t) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare("INSERT INTO referral_transitions (referral_id, seq, actor, to_state, at, bytes, signature) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  return stmt->BindBlob(1, referral_id.span())
      .Bind(2, static_cast<int64_t>(t.seq))
      .BindBlob(3, t.actor_device.span())
      .Bind(4, static_cast<int64_t>(t.to))
      .Bind(5, t.at_ms)
      .BindBlob(6, t.transition.bytes)
      .BindBlob(7, t.transition.signature.span())
      .Run();
}

absl::StatusOr<std::vector<domain::StoredTransition>> SqliteReferralTables::GetTransitions(const Id128& referral_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT seq, actor, to_state, at, bytes, signature FROM referral_transitions "
                                     "WHERE referral_id = ?1 ORDER BY seq"));
  stmt->BindBlob(1, referral_id.span());
  std::vector<domain::StoredTransition> transitions;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return transitions;
    domain::StoredTransition t;
    t.seq = static_cast<uint32_t>(stmt->ColumnInt(0));
    TRYGG_ASSIGN_OR_RETURN(t.actor_device, stmt->ColumnFixed<Id128>(1));
    t.to = static_cast<domain::ReferralState>(stmt->ColumnInt(2));
    t.at_ms = stmt->ColumnInt(3);
    t.transition.bytes = stmt->ColumnBlob(4);
    TRYGG_ASSIGN_OR_RETURN(t.transition.signature, stmt->ColumnFixed<Signature>(5));
    transitions.push_back(std::move(t));
  }
}

absl::StatusOr<std::vector<domain::ReferralRow>> SqliteReferralTables::ListReferrals(
    const Id128& org_id, bool inbox, const domain::ReferralFilter& filter, const domain::ReferralCursor& after,
    int limit) {
  // States as a bit set, so one prepared statement serves every filter.
  int64_t states = 0;
  for (domain::ReferralState s : filter.states) states |= int64_t{1} << static_cast<int>(s);
  const std::string sql = absl::StrCat(
      "SELECT ", kReferralColumns, " FROM referrals WHERE ", inbox ? "to_org" : "from_org",
      " = ?1 AND (?2 = 0 OR ((?2 >> state) & 1) = 1) AND (?3 = 0 OR service = ?3) AND "
      "(?4 = 1 OR updated_at < ?5 OR (updated_at = ?5 AND referral_id < ?6)) "
      "ORDER BY updated_at DESC, referral_id DESC LIMIT ?7");
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare(sql));
  stmt->BindBlob(1, org_id.span())
      .Bind(2, states)
      .Bind(3, filter.service)
      .Bind(4, after.start ? 1 : 0)
      .Bind(5, after.updated_at_ms)
      .BindBlob(6, after.referral_id.span())
      .Bind(7, limit);
  return Referrals(*stmt);
}

absl::StatusOr<std::vector<domain::ReferralRow>> SqliteReferralTables::ListOverdue(int64_t now_ms, int limit) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT ", kReferralColumns, " FROM referrals WHERE state = ",
                                                  static_cast<int>(domain::ReferralState::kSent),
                                                  " AND answer_by <= ?1 ORDER BY answer_by LIMIT ?2")));
  stmt->Bind(1, now_ms).Bind(2, limit);
  return Referrals(*stmt);
}

absl::StatusOr<std::vector<domain::ReferralRow>> SqliteReferralTables::ListConsentLapsed(int64_t now_ms,
                                                                                         int limit) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      // Runs every second on the writer thread (the expiry round). Left to
      // itself SQLite walks every SENT and ACCEPTED referral through
      // referrals_due and reads each row for its consent: a million rows a
      // second at a million open referrals. From the lapsed consents instead,
      // it costs a probe per lapsed consent (docs/benchmarks.md, "What grows").
      db_.Prepare(absl::StrCat("SELECT ", kReferralColumns,
                               " FROM referrals INDEXED BY referrals_by_consent_state WHERE state IN (",
                               static_cast<int>(domain::ReferralState::kSent), ", ",
                               static_cast<int>(domain::ReferralState::kAccepted),
                               ") AND consent_id IN (SELECT consent_id FROM consents WHERE withdrawn_at IS NULL "
                               "AND expires_at <= ?1) LIMIT ?2")));
  stmt->Bind(1, now_ms).Bind(2, limit);
  return Referrals(*stmt);
}

absl::StatusOr<std::vector<domain::ReferralRow>> SqliteReferralTables::ListByConsent(const Id128& consent_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare(absl::StrCat("SELECT ", kReferralColumns,
                                                                    " FROM referrals WHERE consent_id = ?1")));
  stmt->BindBlob(1, consent_id.span());
  return Referrals(*stmt);
}

absl::Status SqliteReferralTables::ShredCase(const Id128& case_id) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * grants,
      db_.Prepare("DELETE FROM grants WHERE scope_id IN (SELECT scope_id FROM referrals WHERE case_id = ?1)"));
  TRYGG_RETURN_IF_ERROR(grants->BindBlob(1, case_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * referrals,
                         db_.Prepare("UPDATE referrals SET packet_header = x'', packet_wrapped_dek = x'', "
                                     "packet_body = x'', justification = x'' WHERE case_id = ?1"));
  TRYGG_RETURN_IF_ERROR(referrals->BindBlob(1, case_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * consents,
                         db_.Prepare("UPDATE consents SET evidence = x'' WHERE case_id = ?1"));
  return consents->BindBlob(1, case_id.span()).Run();
}

}  // namespace trygg::store::sqlite
