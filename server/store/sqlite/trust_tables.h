// SPDX-License-Identifier: Apache-2.0

// SqliteTrustTables: domain::TrustTables over one SQLite connection, inside
// the transaction SqliteStore opened. See migration 3 for the tables.
//
// Ownership: borrows the connection for one transaction.
// Thread-safety: none; used on the transaction's thread only.
#ifndef TRYGG_SERVER_STORE_SQLITE_TRUST_TABLES_H_
#define TRYGG_SERVER_STORE_SQLITE_TRUST_TABLES_H_

#include "server/domain/trust_tables.h"
#include "server/store/sqlite/connection.h"

namespace trygg::store::sqlite {

class SqliteTrustTables final : public domain::TrustTables {
 public:
  explicit SqliteTrustTables(Connection& db) : db_(db) {}

  absl::StatusOr<std::optional<domain::StoredCertificate>> GetCertificate(const Id128& subject_id) override;
  absl::Status InsertCertificate(const domain::StoredCertificate& certificate) override;
  absl::StatusOr<std::vector<domain::StoredCertificate>> ListCertificates(CertificateKind kind,
                                                                          const Id128& after,
                                                                          int limit) override;
  absl::StatusOr<std::vector<SignedObject>> GetOrgLog(const Id128& org_id, uint64_t from_seq,
                                                      int limit) override;
  absl::StatusOr<uint64_t> OrgLogHeadSeq(const Id128& org_id) override;
  absl::Status AppendOrgLogLink(const Id128& org_id, uint64_t seq, const SignedObject& link) override;
  absl::StatusOr<std::optional<domain::DeviceRow>> GetDevice(const Id128& device_id) override;
  absl::StatusOr<bool> DeviceIdentityInUse(const Id128& device_id, const SignPublicKey& sign_key,
                                           const BoxPublicKey& box_key) override;
  absl::Status InsertDevice(const domain::DeviceRow& device) override;
  absl::Status UpdateDevice(const Id128& org_id, const Id128& device_id, Role role, bool revoked) override;
  absl::Status InsertEnrolment(const domain::StoredEnrolment& enrolment) override;
  absl::StatusOr<std::optional<domain::StoredEnrolment>> GetEnrolment(const Id128& enrolment_id) override;
  absl::StatusOr<std::vector<domain::StoredEnrolment>> ListPendingEnrolments(const Id128& org_id,
                                                                             const Id128& after,
                                                                             int limit) override;
  absl::StatusOr<std::optional<domain::StoredEnrolment>> GetPendingEnrolmentOfDevice(const Id128& org_id,
                                                                                     const Id128& device_id) override;
  absl::StatusOr<int64_t> CountPendingEnrolments(const Id128& org_id, int64_t submitted_since_ms) override;
  absl::StatusOr<int> DeletePendingEnrolmentsBefore(int64_t submitted_before_ms, int limit) override;
  absl::Status InsertKeyEnvelope(const domain::StoredKeyEnvelope& envelope) override;
  absl::StatusOr<std::vector<domain::StoredKeyEnvelope>> GetKeyEnvelopes(const Id128& device_id,
                                                                         uint32_t min_generation) override;
  absl::Status InsertChallenge(const std::array<uint8_t, 32>& nonce, const Id128& device_id,
                               int64_t expires_at_ms) override;
  absl::StatusOr<bool> TakeChallenge(const std::array<uint8_t, 32>& nonce, const Id128& device_id,
                                     int64_t now_ms) override;
  absl::StatusOr<int64_t> CountChallenges(int64_t now_ms) override;
  absl::Status InsertSession(const Hash256& token_hash, const Id128& device_id, int64_t expires_at_ms) override;
  absl::StatusOr<std::optional<std::pair<Id128, int64_t>>> GetSession(const Hash256& token_hash) override;
  absl::Status DeleteSession(const Hash256& token_hash) override;
  absl::Status DeleteSessionsOfDevice(const Id128& device_id) override;
  absl::Status PutOrgGeneration(const Id128& org_id, uint32_t generation, const BoxPublicKey& key) override;
  absl::StatusOr<std::optional<std::pair<uint32_t, BoxPublicKey>>> CurrentOrgGeneration(
      const Id128& org_id) override;
  absl::StatusOr<int64_t> CountSessions(int64_t now_ms) override;
  absl::Status DeleteExpired(int64_t now_ms) override;

 private:
  Connection& db_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_TRUST_TABLES_H_
