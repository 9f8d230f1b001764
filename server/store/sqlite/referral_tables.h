// SPDX-License-Identifier: Apache-2.0

// SqliteReferralTables: domain::ReferralTables over one SQLite connection,
// inside the transaction SqliteStore opened. See migration 6 for the tables.
//
// Ownership: borrows the connection for one transaction.
// Thread-safety: none; used on the transaction's thread only.
#ifndef TRYGG_SERVER_STORE_SQLITE_REFERRAL_TABLES_H_
#define TRYGG_SERVER_STORE_SQLITE_REFERRAL_TABLES_H_

#include "server/domain/referral_tables.h"
#include "server/store/sqlite/connection.h"

namespace trygg::store::sqlite {

class SqliteReferralTables final : public domain::ReferralTables {
 public:
  explicit SqliteReferralTables(Connection& db) : db_(db) {}

  absl::Status InsertConsent(const domain::ConsentRow& consent) override;
  absl::StatusOr<std::optional<domain::ConsentRow>> GetConsent(const Id128& consent_id) override;
  absl::StatusOr<std::vector<domain::ConsentRow>> ListConsents(const Id128& case_id) override;
  absl::Status MarkConsentWithdrawn(const Id128& consent_id, const Id128& org_id, int64_t at_ms,
                                    const SignedObject& withdrawal) override;
  absl::Status InsertReferral(const domain::ReferralRow& referral) override;
  absl::StatusOr<std::optional<domain::ReferralRow>> GetReferral(const Id128& referral_id) override;
  absl::Status UpdateReferralState(const Id128& referral_id, domain::ReferralState state, uint8_t code,
                                   int64_t updated_at_ms) override;
  absl::Status AppendTransition(const Id128& referral_id, const domain::StoredTransition& transition) override;
  absl::StatusOr<std::vector<domain::StoredTransition>> GetTransitions(const Id128& referral_id) override;
  absl::StatusOr<std::vector<domain::ReferralRow>> ListReferrals(const Id128& org_id, bool inbox,
                                                                 const domain::ReferralFilter& filter,
                                                                 const domain::ReferralCursor& after,
                                                                 int limit) override;
  absl::StatusOr<std::vector<domain::ReferralRow>> ListOverdue(int64_t now_ms, int limit) override;
  absl::StatusOr<std::vector<domain::ReferralRow>> ListConsentLapsed(int64_t now_ms, int limit) override;
  absl::StatusOr<std::vector<domain::ReferralRow>> ListByConsent(const Id128& consent_id) override;
  absl::Status ShredCase(const Id128& case_id) override;

 private:
  absl::StatusOr<std::vector<domain::ReferralRow>> Referrals(Statement& stmt);
  Connection& db_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_REFERRAL_TABLES_H_
