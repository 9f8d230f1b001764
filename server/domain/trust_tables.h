// SPDX-License-Identifier: Apache-2.0

// The trust area's view of the store: certificates, organisation logs, the
// device registry derived from them, enrolment requests, sealed organisation
// keys, session challenges and sessions. Declared by the domain, implemented
// in server/store/sqlite/trust_tables.cc, reached as Transaction::trust().
//
// Every method runs inside the caller's transaction. Byte fields are stored
// exactly as received (signed bytes are never re-serialised).
// Failure modes: storage faults as Unavailable/Internal; a uniqueness clash as
// AlreadyExists.
#ifndef TRYGG_SERVER_DOMAIN_TRUST_TABLES_H_
#define TRYGG_SERVER_DOMAIN_TRUST_TABLES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/trust.h"

namespace trygg::domain {

struct StoredCertificate {
  CertificateKind kind = CertificateKind::kOrganisation;
  Id128 subject_id;
  SignedObject certificate;
};

// A row of the device registry: what the organisation logs (and coordinator
// certificates) say about one device, kept for fast session checks.
struct DeviceRow {
  Id128 device_id;
  Id128 org_id;
  Role role = Role::kCaseworker;
  SignPublicKey sign_key;
  BoxPublicKey box_key;
  bool revoked = false;
};

struct StoredEnrolment {
  Id128 enrolment_id;
  Id128 org_id;
  Id128 device_id;
  SignedObject request;
  int64_t submitted_at_ms = 0;
};

struct StoredKeyEnvelope {
  Id128 device_id;
  uint32_t generation = 0;
  std::vector<uint8_t> header;  // grant header, as signed
  std::vector<uint8_t> sealed;
  Signature signature;
  Id128 signer_device;
};

class TrustTables {
 public:
  virtual ~TrustTables() = default;

  virtual absl::StatusOr<std::optional<StoredCertificate>> GetCertificate(const Id128& subject_id) = 0;
  virtual absl::Status InsertCertificate(const StoredCertificate& certificate) = 0;
  // Certificates of `kind` with subject_id > `after`, in id order.
  virtual absl::StatusOr<std::vector<StoredCertificate>> ListCertificates(CertificateKind kind,
                                                                          const Id128& after,
                                                                          int limit) = 0;

  // Links of an organisation with seq >= from_seq, in order, at most `limit`.
  virtual absl::StatusOr<std::vector<SignedObject>> GetOrgLog(const Id128& org_id, uint64_t from_seq,
                                                              int limit) = 0;
  virtual absl::StatusOr<uint64_t> OrgLogHeadSeq(const Id128& org_id) = 0;
  virtual absl::Status AppendOrgLogLink(const Id128& org_id, uint64_t seq, const SignedObject& link) = 0;

  virtual absl::StatusOr<std::optional<DeviceRow>> GetDevice(const Id128& device_id) = 0;
  // Device ids, signing keys and box keys are unique across the platform,
  // not per organisation: the registry is one table, and a device of one
  // organisation must never be reachable through another's log.
  // True if any device, of any organisation, has this id, signing key or box key.
  virtual absl::StatusOr<bool> DeviceIdentityInUse(const Id128& device_id, const SignPublicKey& sign_key,
                                                   const BoxPublicKey& box_key) = 0;
  // A new device: a plain insert (a clash is ALREADY_EXISTS), never an upsert.
  virtual absl::Status InsertDevice(const DeviceRow& device) = 0;
  // Role and revocation of a device of `org_id`; changes exactly that one row.
  virtual absl::Status UpdateDevice(const Id128& org_id, const Id128& device_id, Role role, bool revoked) = 0;

  virtual absl::Status InsertEnrolment(const StoredEnrolment& enrolment) = 0;
  virtual absl::StatusOr<std::optional<StoredEnrolment>> GetEnrolment(const Id128& enrolment_id) = 0;
  // Pending requests of an organisation (device not yet in the registry),
  // oldest first, with enrolment_id > `after`.
  virtual absl::StatusOr<std::vector<StoredEnrolment>> ListPendingEnrolments(const Id128& org_id,
                                                                             const Id128& after,
                                                                             int limit) = 0;
  // The pending request of `device_id` for `org_id`, if there is one.
  virtual absl::StatusOr<std::optional<StoredEnrolment>> GetPendingEnrolmentOfDevice(const Id128& org_id,
                                                                                     const Id128& device_id) = 0;
  // Pending requests of `org_id` submitted at or after `submitted_since_ms`.
  virtual absl::StatusOr<int64_t> CountPendingEnrolments(const Id128& org_id, int64_t submitted_since_ms) = 0;
  // Deletes up to `limit` pending requests (of any organisation) submitted
  // before `submitted_before_ms`; returns how many it deleted.
  virtual absl::StatusOr<int> DeletePendingEnrolmentsBefore(int64_t submitted_before_ms, int limit) = 0;

  // A plain insert: one envelope per device and generation, never replaced.
  virtual absl::Status InsertKeyEnvelope(const StoredKeyEnvelope& envelope) = 0;
  virtual absl::StatusOr<std::vector<StoredKeyEnvelope>> GetKeyEnvelopes(const Id128& device_id,
                                                                         uint32_t min_generation) = 0;

  virtual absl::Status InsertChallenge(const std::array<uint8_t, 32>& nonce, const Id128& device_id,
                                       int64_t expires_at_ms) = 0;
  // Deletes the challenge; true if it existed for this device and had not expired.
  virtual absl::StatusOr<bool> TakeChallenge(const std::array<uint8_t, 32>& nonce, const Id128& device_id,
                                             int64_t now_ms) = 0;
  // Challenges that expire after `now_ms`.
  virtual absl::StatusOr<int64_t> CountChallenges(int64_t now_ms) = 0;

  virtual absl::Status InsertSession(const Hash256& token_hash, const Id128& device_id,
                                     int64_t expires_at_ms) = 0;
  // The session's device and expiry, if the token hash is known.
  virtual absl::StatusOr<std::optional<std::pair<Id128, int64_t>>> GetSession(const Hash256& token_hash) = 0;
  virtual absl::Status DeleteSession(const Hash256& token_hash) = 0;
  virtual absl::Status DeleteSessionsOfDevice(const Id128& device_id) = 0;
  // Sessions that expire after `now_ms`.
  virtual absl::StatusOr<int64_t> CountSessions(int64_t now_ms) = 0;
  // The organisation public key of each key generation, as its log announced.
  virtual absl::Status PutOrgGeneration(const Id128& org_id, uint32_t generation, const BoxPublicKey& key) = 0;
  // The newest generation and its key, if the organisation has rotated once.
  virtual absl::StatusOr<std::optional<std::pair<uint32_t, BoxPublicKey>>> CurrentOrgGeneration(
      const Id128& org_id) = 0;

  // Removes expired challenges and sessions.
  virtual absl::Status DeleteExpired(int64_t now_ms) = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_TRUST_TABLES_H_
