// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/trust_tables.h"

#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

absl::StatusOr<SignedObject> SignedColumns(const Statement& stmt, int bytes_col, int signature_col) {
  SignedObject object;
  object.bytes = stmt.ColumnBlob(bytes_col);
  TRYGG_ASSIGN_OR_RETURN(object.signature, stmt.ColumnFixed<Signature>(signature_col));
  return object;
}

absl::StatusOr<domain::StoredEnrolment> EnrolmentRow(const Statement& stmt) {
  domain::StoredEnrolment e;
  TRYGG_ASSIGN_OR_RETURN(e.enrolment_id, stmt.ColumnFixed<Id128>(0));
  TRYGG_ASSIGN_OR_RETURN(e.org_id, stmt.ColumnFixed<Id128>(1));
  TRYGG_ASSIGN_OR_RETURN(e.device_id, stmt.ColumnFixed<Id128>(2));
  TRYGG_ASSIGN_OR_RETURN(e.request, SignedColumns(stmt, 3, 4));
  e.submitted_at_ms = stmt.ColumnInt(5);
  return e;
}

constexpr char kEnrolmentColumns[] = "enrolment_id, org_id, device_id, bytes, signature, submitted_at";

}  // namespace

absl::StatusOr<std::optional<domain::StoredCertificate>> SqliteTrustTables::GetCertificate(const Id128& subject_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT kind, bytes, signature FROM certificates WHERE subject_id = ?1"));
  stmt->BindBlob(1, subject_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  domain::StoredCertificate cert;
  cert.kind = static_cast<CertificateKind>(stmt->ColumnInt(0));
  cert.subject_id = subject_id;
  TRYGG_ASSIGN_OR_RETURN(cert.certificate, SignedColumns(*stmt, 1, 2));
  return cert;
}

absl::Status SqliteTrustTables::InsertCertificate(const domain::StoredCertificate& cert) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare("INSERT INTO certificates (subject_id, kind, bytes, signature) VALUES (?1, ?2, ?3, ?4)"));
  return stmt->BindBlob(1, cert.subject_id.span())
      .Bind(2, static_cast<int64_t>(cert.kind))
      .BindBlob(3, cert.certificate.bytes)
      .BindBlob(4, cert.certificate.signature.span())
      .Run();
}

absl::StatusOr<std::vector<domain::StoredCertificate>> SqliteTrustTables::ListCertificates(CertificateKind kind,
                                                                                           const Id128& after,
                                                                                           int limit) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT subject_id, bytes, signature FROM certificates "
                                     "WHERE kind = ?1 AND subject_id > ?2 ORDER BY subject_id LIMIT ?3"));
  stmt->Bind(1, static_cast<int64_t>(kind)).BindBlob(2, after.span()).Bind(3, limit);
  std::vector<domain::StoredCertificate> certs;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return certs;
    domain::StoredCertificate cert;
    cert.kind = kind;
    TRYGG_ASSIGN_OR_RETURN(cert.subject_id, stmt->ColumnFixed<Id128>(0));
    TRYGG_ASSIGN_OR_RETURN(cert.certificate, SignedColumns(*stmt, 1, 2));
    certs.push_back(std::move(cert));
  }
}

absl::StatusOr<std::vector<SignedObject>> SqliteTrustTables::GetOrgLog(const Id128& org_id, uint64_t from_seq,
                                                                       int limit) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT bytes, signature FROM org_log WHERE org_id = ?1 AND seq >= ?2 "
                                     "ORDER BY seq LIMIT ?3"));
  stmt->BindBlob(1, org_id.span()).Bind(2, static_cast<int64_t>(from_seq)).Bind(3, limit);
  std::vector<SignedObject> links;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return links;
    TRYGG_ASSIGN_OR_RETURN(SignedObject link, SignedColumns(*stmt, 0, 1));
    links.push_back(std::move(link));
  }
}

absl::StatusOr<uint64_t> SqliteTrustTables::OrgLogHeadSeq(const Id128& org_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT coalesce(max(seq), 0) FROM org_log WHERE org_id = ?1"));
  stmt->BindBlob(1, org_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  TRYGG_CHECK(row);
  return static_cast<uint64_t>(stmt->ColumnInt(0));
}

absl::Status SqliteTrustTables::AppendOrgLogLink(const Id128& org_id, uint64_t seq, const SignedObject& link) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare("INSERT INTO org_log (org_id, seq, bytes, signature) VALUES (?1, ?2, ?3, ?4)"));
  return stmt->BindBlob(1, org_id.span())
      .Bind(2, static_cast<int64_t>(seq))
      .BindBlob(3, link.bytes)
      .BindBlob(4, link.signature.span())
      .Run();
}

absl::StatusOr<std::optional<domain::DeviceRow>> SqliteTrustTables::GetDevice(const Id128& device_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT org_id, role, sign_key, box_key, revoked FROM devices "
                                     "WHERE device_id = ?1"));
  stmt->BindBlob(1, device_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  domain::DeviceRow device;
  device.device_id = device_id;
  TRYGG_ASSIGN_OR_RETURN(device.org_id, stmt->ColumnFixed<Id128>(0));
  device.role = static_cast<Role>(stmt->ColumnInt(1));
  TRYGG_ASSIGN_OR_RETURN(device.sign_key, stmt->ColumnFixed<SignPublicKey>(2));
  TRYGG_ASSIGN_OR_RETURN(device.box_key, stmt->ColumnFixed<BoxPublicKey>(3));
  device.revoked = stmt->ColumnInt(4) != 0;
  return device;
}

absl::StatusOr<bool> SqliteTrustTables::DeviceIdentityInUse(const Id128& device_id, const SignPublicKey& sign_key,
                                                            const BoxPublicKey& box_key) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT 1 FROM devices WHERE device_id = ?1 OR sign_key = ?2 OR box_key = ?3 "
                                     "LIMIT 1"));
  stmt->BindBlob(1, device_id.span()).BindBlob(2, sign_key.span()).BindBlob(3, box_key.span());
  return stmt->Step();
}

absl::Status SqliteTrustTables::InsertDevice(const domain::DeviceRow& device) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("INSERT INTO devices (device_id, org_id, role, sign_key, box_key, revoked) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  return stmt->BindBlob(1, device.device_id.span())
      .BindBlob(2, device.org_id.span())
      .Bind(3, static_cast<int64_t>(device.role))
      .BindBlob(4, device.sign_key.span())
      .BindBlob(5, device.box_key.span())
      .Bind(6, device.revoked ? 1 : 0)
      .Run();
}

absl::Status SqliteTrustTables::UpdateDevice(const Id128& org_id, const Id128& device_id, Role role, bool revoked) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("UPDATE devices SET role = ?3, revoked = ?4 WHERE org_id = ?1 AND device_id = ?2"));
  return stmt->BindBlob(1, org_id.span())
      .BindBlob(2, device_id.span())
      .Bind(3, static_cast<int64_t>(role))
      .Bind(4, revoked ? 1 : 0)
      .RunChangingOne();
}

absl::Status SqliteTrustTables::InsertEnrolment(const domain::StoredEnrolment& e) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("INSERT INTO enrolments (", kEnrolmentColumns,
                                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)")));
  return stmt->BindBlob(1, e.enrolment_id.span())
      .BindBlob(2, e.org_id.span())
      .BindBlob(3, e.device_id.span())
      .BindBlob(4, e.request.bytes)
      .BindBlob(5, e.request.signature.span())
      .Bind(6, e.submitted_at_ms)
      .Run();
}

absl::StatusOr<std::optional<domain::StoredEnrolment>> SqliteTrustTables::GetEnrolment(const Id128& enrolment_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare(absl::StrCat("SELECT ", kEnrolmentColumns,
                                                                    " FROM enrolments WHERE enrolment_id = ?1")));
  stmt->BindBlob(1, enrolment_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  return EnrolmentRow(*stmt);
}

absl::StatusOr<std::vector<domain::StoredEnrolment>> SqliteTrustTables::ListPendingEnrolments(const Id128& org_id,
                                                                                              const Id128& after,
                                                                                              int limit) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare(absl::StrCat("SELECT ", kEnrolmentColumns,
                               " FROM enrolments e WHERE org_id = ?1 AND enrolment_id > ?2 AND NOT EXISTS "
                               "(SELECT 1 FROM devices d WHERE d.device_id = e.device_id) "
                               "ORDER BY enrolment_id LIMIT ?3")));
  stmt->BindBlob(1, org_id.span()).BindBlob(2, after.span()).Bind(3, limit);
  std::vector<domain::StoredEnrolment> enrolments;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return enrolments;
    TRYGG_ASSIGN_OR_RETURN(domain::StoredEnrolment e, EnrolmentRow(*stmt));
    enrolments.push_back(std::move(e));
  }
}

// A request is pending while its device is not in the registry.
constexpr char kPending[] = "NOT EXISTS (SELECT 1 FROM devices d WHERE d.device_id = e.device_id)";

absl::StatusOr<std::optional<domain::StoredEnrolment>> SqliteTrustTables::GetPendingEnrolmentOfDevice(
    const Id128& org_id, const Id128& device_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT ", kEnrolmentColumns,
                                                  " FROM enrolments e WHERE org_id = ?1 AND device_id = ?2 AND ",
                                                  kPending, " LIMIT 1")));
  stmt->BindBlob(1, org_id.span()).BindBlob(2, device_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  return EnrolmentRow(*stmt);
}

absl::StatusOr<int64_t> SqliteTrustTables::CountPendingEnrolments(const Id128& org_id, int64_t submitted_since_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT count(*) FROM enrolments e WHERE org_id = ?1 AND "
                                                  "submitted_at >= ?2 AND ",
                                                  kPending)));
  stmt->BindBlob(1, org_id.span()).Bind(2, submitted_since_ms);
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return absl::InternalError("sqlite: count(*) returned no row");
  return stmt->ColumnInt(0);
}

absl::StatusOr<int> SqliteTrustTables::DeletePendingEnrolmentsBefore(int64_t submitted_before_ms, int limit) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare(absl::StrCat("DELETE FROM enrolments WHERE enrolment_id IN (SELECT enrolment_id FROM enrolments e "
                               "WHERE submitted_at < ?1 AND ",
                               kPending, " LIMIT ?2) RETURNING 1")));
  stmt->Bind(1, submitted_before_ms).Bind(2, limit);
  int deleted = 0;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return deleted;
    ++deleted;
  }
}

absl::Status SqliteTrustTables::InsertKeyEnvelope(const domain::StoredKeyEnvelope& envelope) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare("INSERT INTO key_envelopes (device_id, generation, header, sealed, signature, signer) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  return stmt->BindBlob(1, envelope.device_id.span())
      .Bind(2, static_cast<int64_t>(envelope.generation))
      .BindBlob(3, envelope.header)
      .BindBlob(4, envelope.sealed)
      .BindBlob(5, envelope.signature.span())
      .BindBlob(6, envelope.signer_device.span())
      .Run();
}

absl::StatusOr<std::vector<domain::StoredKeyEnvelope>> SqliteTrustTables::GetKeyEnvelopes(const Id128& device_id,
                                                                                          uint32_t min_generation) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT generation, header, sealed, signature, signer FROM key_envelopes "
                                     "WHERE device_id = ?1 AND generation >= ?2 ORDER BY generation"));
  stmt->BindBlob(1, device_id.span()).Bind(2, static_cast<int64_t>(min_generation));
  std::vector<domain::StoredKeyEnvelope> envelopes;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return envelopes;
    domain::StoredKeyEnvelope e;
    e.device_id = device_id;
    e.generation = static_cast<uint32_t>(stmt->ColumnInt(0));
    e.header = stmt->ColumnBlob(1);
    e.sealed = stmt->ColumnBlob(2);
    TRYGG_ASSIGN_OR_RETURN(e.signature, stmt->ColumnFixed<Signature>(3));
    TRYGG_ASSIGN_OR_RETURN(e.signer_device, stmt->ColumnFixed<Id128>(4));
    envelopes.push_back(std::move(e));
  }
}

absl::Status SqliteTrustTables::InsertChallenge(const std::array<uint8_t, 32>& nonce, const Id128& device_id,
                                                int64_t expires_at_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("INSERT INTO challenges (nonce, device_id, expires_at) VALUES (?1, ?2, ?3)"));
  return stmt->BindBlob(1, nonce).BindBlob(2, device_id.span()).Bind(3, expires_at_ms).Run();
}

absl::StatusOr<bool> SqliteTrustTables::TakeChallenge(const std::array<uint8_t, 32>& nonce, const Id128& device_id,
                                                      int64_t now_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("DELETE FROM challenges WHERE nonce = ?1 AND device_id = ?2 "
                                     "AND expires_at > ?3 RETURNING 1"));
  stmt->BindBlob(1, nonce).BindBlob(2, device_id.span()).Bind(3, now_ms);
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (row) TRYGG_RETURN_IF_ERROR(stmt->Run());
  return row;
}

absl::StatusOr<int64_t> SqliteTrustTables::CountChallenges(int64_t now_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare("SELECT count(*) FROM challenges WHERE expires_at > ?1"));
  stmt->Bind(1, now_ms);
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return absl::InternalError("sqlite: count(*) returned no row");
  return stmt->ColumnInt(0);
}

absl::Status SqliteTrustTables::InsertSession(const Hash256& token_hash, const Id128& device_id,
                                              int64_t expires_at_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("INSERT INTO sessions (token_hash, device_id, expires_at) VALUES (?1, ?2, ?3)"));
  return stmt->BindBlob(1, token_hash.span()).BindBlob(2, device_id.span()).Bind(3, expires_at_ms).Run();
}

absl::StatusOr<std::optional<std::pair<Id128, int64_t>>> SqliteTrustTables::GetSession(const Hash256& token_hash) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT device_id, expires_at FROM sessions WHERE token_hash = ?1"));
  stmt->BindBlob(1, token_hash.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  TRYGG_ASSIGN_OR_RETURN(Id128 device_id, stmt->ColumnFixed<Id128>(0));
  return std::make_pair(device_id, stmt->ColumnInt(1));
}

absl::Status SqliteTrustTables::DeleteSession(const Hash256& token_hash) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare("DELETE FROM sessions WHERE token_hash = ?1"));
  return stmt->BindBlob(1, token_hash.span()).Run();
}

absl::Status SqliteTrustTables::DeleteSessionsOfDevice(const Id128& device_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare("DELETE FROM sessions WHERE device_id = ?1"));
  return stmt->BindBlob(1, device_id.span()).Run();
}

absl::Status SqliteTrustTables::PutOrgGeneration(const Id128& org_id, uint32_t generation,
                                                 const BoxPublicKey& key) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("INSERT INTO org_generations (org_id, generation, box_key) VALUES (?1, ?2, ?3)"));
  return stmt->BindBlob(1, org_id.span()).Bind(2, static_cast<int64_t>(generation)).BindBlob(3, key.span()).Run();
}

absl::StatusOr<std::optional<std::pair<uint32_t, BoxPublicKey>>> SqliteTrustTables::CurrentOrgGeneration(
    const Id128& org_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT generation, box_key FROM org_generations WHERE org_id = ?1 "
                                     "ORDER BY generation DESC LIMIT 1"));
  stmt->BindBlob(1, org_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  TRYGG_ASSIGN_OR_RETURN(BoxPublicKey key, stmt->ColumnFixed<BoxPublicKey>(1));
  return std::make_pair(static_cast<uint32_t>(stmt->ColumnInt(0)), key);
}

absl::StatusOr<int64_t> SqliteTrustTables::CountSessions(int64_t now_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare("SELECT count(*) FROM sessions WHERE expires_at > ?1"));
  stmt->Bind(1, now_ms);
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return absl::InternalError("sqlite: count(*) returned no row");
  return stmt->ColumnInt(0);
}

absl::Status SqliteTrustTables::DeleteExpired(int64_t now_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * challenges, db_.Prepare("DELETE FROM challenges WHERE expires_at <= ?1"));
  TRYGG_RETURN_IF_ERROR(challenges->Bind(1, now_ms).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * sessions, db_.Prepare("DELETE FROM sessions WHERE expires_at <= ?1"));
  return sessions->Bind(1, now_ms).Run();
}

}  // namespace trygg::store::sqlite
