// SPDX-License-Identifier: Apache-2.0

// DomainWorld: a small platform for the domain's in-process unit tests. It
// runs the real rules (server/domain/) against the real SqliteStore on a
// temporary file, with a FixedClock and a DeterministicRng, and builds every
// signed object (certificates, organisation log links, records, grants,
// consents, referrals, listings) with libtrygg exactly as a device would. No
// gRPC, no tryggd.
//
// Ownership: the world owns its store, clock, generator, keys and devices;
// references it returns live as long as the world.
// Thread-safety: one test thread; the store runs writes on its own thread.
// Failure modes: set-up steps that must succeed REQUIRE it (a broken world is
// a failed test, not a skipped one); the rules under test return their
// absl::Status to the test.
#ifndef TRYGG_TESTS_UNIT_SERVER_DOMAIN_DOMAIN_WORLD_H_
#define TRYGG_TESTS_UNIT_SERVER_DOMAIN_DOMAIN_WORLD_H_

#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/caller.h"
#include "server/domain/cases.h"
#include "server/domain/directory.h"
#include "server/domain/referrals.h"
#include "server/domain/sessions.h"
#include "server/domain/store.h"
#include "server/domain/trust.h"
#include "server/store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"
#include "trygg/keys.h"
#include "trygg/listing.h"
#include "trygg/random.h"
#include "trygg/record.h"
#include "trygg/signing.h"
#include "trygg/workflow.h"

namespace trygg::domain_test {

inline absl::Status StatusOf(const absl::Status& status) { return status; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

// 2026-01-01T00:00:00Z: where every world's clock starts.
inline constexpr int64_t kWorldStartMs = 1'767'225'600'000;
inline constexpr int64_t kHourMs = 60 * 60 * 1000;

struct WorldDevice {
  Id128 device_id;
  Id128 org_id;
  Role role = Role::kCaseworker;
  DeviceKeys keys;
  // The domain's view of this device when it calls (as the authenticator
  // would build it from a live session).
  domain::Caller caller() const {
    return domain::Caller{device_id, org_id, role, kWorldStartMs + 30 * 60 * 1000, keys.signing().public_key};
  }
  const SigningKeyPair& signing() const { return keys.signing(); }
};

struct WorldOrg {
  Id128 org_id;
  WorldDevice* admin = nullptr;
  OrgKey key;  // generation 1
  uint64_t head_seq = 0;
  Hash256 head_hash;  // SignedObjectHash of the last link (or the certificate)
};

// A case as its owner made it: the scope key, and version 1.
struct WorldCase {
  Id128 case_id;
  Id128 scope_id;
  Id128 record_id;
  uint32_t epoch = 1;
  SecretKey scope_key;
  SealedRecord first;
};

// Everything a sender needs to create one referral, before it is created.
struct ReferralDraft {
  ReferralRecord record;
  domain::NewReferral request;
};

// Referrals find listings through the directory, as tryggd wires them.
class WorldRoutes final : public domain::ListingRoutes {
 public:
  absl::StatusOr<domain::ReferralRoute> RouteFor(domain::Transaction& txn, const Id128& listing_id) const override;
};

class DomainWorld {
 public:
  DomainWorld();
  ~DomainWorld();
  DomainWorld(const DomainWorld&) = delete;
  DomainWorld& operator=(const DomainWorld&) = delete;

  domain::Store& store() { return *store_; }
  // Batches the store ran a second time because a write failed after it
  // changed something (SqliteStore::BatchRetries): a refusal that changes
  // nothing first leaves this unmoved.
  uint64_t BatchRetries() const { return sqlite_->BatchRetries(); }
  FixedClock& clock() { return clock_; }
  Rng& rng() { return rng_; }
  const SigningKeyPair& root() const { return root_; }
  const SigningKeyPair& server_key() const { return server_key_; }
  const domain::Trust& trust() const { return *trust_; }
  const domain::Sessions& sessions() const { return *sessions_; }
  const domain::Cases& cases() const { return *cases_; }
  const domain::Referrals& referrals() const { return *referrals_; }
  const domain::Directory& directory() const { return *directory_; }
  const Id128& instance_id() const { return instance_id_; }
  std::string db_path() const { return dir_.file("trygg.db"); }

  // Runs `rule(txn)` as one write (all or nothing: a refusal changes
  // nothing) and returns what it returned, or the store's failure.
  template <typename F>
  auto Write(F&& rule) {
    using R = std::invoke_result_t<F&, domain::Transaction&>;
    std::optional<R> result;
    absl::Status written = store_->WriteAndWait([&](domain::Transaction& txn) {
      result.emplace(rule(txn));
      return StatusOf(*result);
    });
    if (!result.has_value() || (!written.ok() && StatusOf(*result).ok())) return R(written);
    return std::move(*result);
  }
  // The same, in a read-only snapshot.
  template <typename F>
  auto Read(F&& rule) {
    using R = std::invoke_result_t<F&, domain::Transaction&>;
    std::optional<R> result;
    absl::Status read = store_->Read([&](domain::Transaction& txn) {
      result.emplace(rule(txn));
      return StatusOf(*result);
    });
    if (!result.has_value() || (!read.ok() && StatusOf(*result).ok())) return R(read);
    return std::move(*result);
  }

  // Every row of every table, as text, sorted: equal before and after a call
  // means the call changed nothing in the database.
  std::string Snapshot();
  // Entries in the audit log.
  uint64_t AuditSize();
  // Rows of one table.
  int64_t Rows(const std::string& table);

  // An organisation admitted by the root, its first admin device registered,
  // and its organisation key at generation 1.
  WorldOrg& AdmitOrganisation(const std::string& name);
  // A device added to `org` by its admin's log link.
  WorldDevice& AddDevice(WorldOrg& org, Role role);
  // A root-certified coordinator device.
  WorldDevice& AddCoordinator(const std::string& name);
  // A device no log or certificate mentions: the registry does not know it.
  WorldDevice& Stranger(const Id128& org_id, Role role);

  // The next signed log link of `org`, made by `signer` (not yet appended).
  SignedObject NextLink(const WorldOrg& org, const WorldDevice& signer, OrgLogAction action,
                        const WorldDevice* subject = nullptr, Role role = Role::kCaseworker,
                        uint32_t generation = 0);
  // Appends a link through Trust (the rule under test) and advances the
  // org's head when it is accepted.
  absl::StatusOr<uint64_t> AppendLink(WorldOrg& org, const WorldDevice& caller, const SignedObject& link);
  // Revokes `device` through its organisation's admin.
  void Revoke(WorldOrg& org, const WorldDevice& device);

  // A scope key sealed to `org`'s current key by `granter`.
  domain::StoredGrant GrantTo(const WorldOrg& org, const WorldDevice& granter, const Id128& scope_id, uint32_t epoch,
                              const SecretKey& scope_key);
  // A record envelope authored by `author`.
  SealedRecord Seal(const WorldDevice& author, const Id128& case_id, const Id128& scope_id, uint32_t epoch,
                    const Id128& record_id, uint64_t version, const Hash256& prev_hash, const SecretKey& scope_key);
  // A case opened by `author` of `owner` through Cases::CreateCase, granted
  // to the owner only.
  WorldCase OpenCase(WorldOrg& owner, const WorldDevice& author);

  // A listing of `org`, published by its admin; returns its id.
  Id128 PublishListing(WorldOrg& org, ServiceCategory category, uint32_t response_time_hours = 72);
  Listing ListingDraft(const WorldOrg& org, ServiceCategory category, uint32_t response_time_hours);

  // A consent recorded by `recorder` for `to_org` (zero: any) and `services`.
  ConsentRecord ConsentDraft(const WorldDevice& recorder, const WorldCase& c, const Id128& to_org, uint16_t services,
                             int64_t expires_at_ms);
  // The consent recorded through Referrals::RecordConsent; REQUIREs success.
  Id128 RecordConsent(const WorldDevice& recorder, const WorldCase& c, const Id128& to_org, uint16_t services,
                      int64_t expires_at_ms);

  // A referral of case `c` from `sender` to `receiver`'s listing, on consent
  // `consent_id` (zero: vital interests, with a justification), granted to
  // both organisations.
  ReferralDraft DraftReferral(const WorldDevice& sender, const WorldOrg& from, const WorldCase& c,
                              const WorldOrg& to, const Id128& listing_id, ServiceCategory service,
                              const Id128& consent_id);
  // A transition of referral `referral_id` signed by `actor`, made even when
  // libtrygg's signer would refuse it (a code out of range, say).
  SignedObject Move(const WorldDevice& actor, const Id128& referral_id, ReferralState from, ReferralState to,
                    uint8_t code = 0);

  // A fresh id, different each call.
  Id128 NewId(uint8_t kind);

 private:
  // A new device of a new subject (id tagged `id_tag`) with `role`, holding a
  // root certificate of `kind` naming it `name`, uploaded to the server (and
  // copied to `certificate` when given).
  WorldDevice& CertifiedDevice(CertificateKind kind, Role role, uint8_t id_tag, const std::string& name,
                               SignedObject* certificate = nullptr);

  testing::TempDir dir_;
  FixedClock clock_{kWorldStartMs};
  DeterministicRng rng_{0x3d};
  SigningKeyPair root_;
  SigningKeyPair server_key_;
  std::unique_ptr<domain::Store> store_;
  store::sqlite::SqliteStore* sqlite_ = nullptr;  // store_, as what it is
  Id128 instance_id_;
  WorldRoutes routes_;
  std::unique_ptr<domain::Trust> trust_;
  std::unique_ptr<domain::Sessions> sessions_;
  std::unique_ptr<domain::Cases> cases_;
  std::unique_ptr<domain::Referrals> referrals_;
  std::unique_ptr<domain::Directory> directory_;
  std::deque<WorldDevice> devices_;
  std::deque<WorldOrg> orgs_;
  uint32_t next_id_ = 1;
};

// The exact status code, with the message shown when it differs.
#define TRYGG_CHECK_CODE(expr, expected_code)                          \
  do {                                                                 \
    const absl::Status trygg_check_code_status = ::trygg::domain_test::StatusOf(expr);               \
    INFO("status: " << trygg_check_code_status.ToString());            \
    CHECK(trygg_check_code_status.code() == (expected_code));          \
  } while (false)

// `call` is refused with `code` and leaves every row, and the audit log, as
// they were.
template <typename Call>
void RefusedUnchanged(DomainWorld& world, absl::StatusCode code, Call&& call) {
  const std::string before = world.Snapshot();
  const uint64_t audit_before = world.AuditSize();
  TRYGG_CHECK_CODE(call(), code);
  CHECK(world.AuditSize() == audit_before);
  CHECK(world.Snapshot() == before);
}

}  // namespace trygg::domain_test

#endif  // TRYGG_TESTS_UNIT_SERVER_DOMAIN_DOMAIN_WORLD_H_
