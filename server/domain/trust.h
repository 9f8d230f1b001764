// SPDX-License-Identifier: Apache-2.0

// The rules of "Keys and trust" on the server: which certificates, log links,
// enrolment requests and sealed organisation keys it accepts, and who may read
// them. The server is not trusted for keys (clients verify every chain
// themselves); these checks keep garbage and forgeries out of the database and
// give honest clients early, precise errors.
//
// Every function runs inside a store Transaction (domain/store.h), so a check
// and the change it guards commit together. Inputs that need no database
// (parsing, self-signatures) are checked before.
//
// Thread-safety: Trust is immutable after construction; methods may run
// concurrently (each on its own transaction).
// Failure modes (gRPC codes via api/status.cc): INVALID_ARGUMENT malformed or
// badly self-signed input; PERMISSION_DENIED caller's role or organisation, or
// a signature not by the pinned root or the right device; NOT_FOUND unknown
// organisation or enrolment; ALREADY_EXISTS a different object under the same
// id; ABORTED a log link that does not extend the current head;
// FAILED_PRECONDITION a link that breaks a rule of the log, or no root key;
// RESOURCE_EXHAUSTED an organisation with TrustLimits::max_pending_enrolments
// requests already waiting; INVALID_ARGUMENT also for more key envelopes in
// one call than TrustLimits::max_key_envelopes_per_call.
#ifndef TRYGG_SERVER_DOMAIN_TRUST_H_
#define TRYGG_SERVER_DOMAIN_TRUST_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/caller.h"
#include "server/domain/store.h"
#include "server/domain/trust_tables.h"
#include "trygg/org_log.h"
#include "trygg/random.h"

namespace trygg::domain {

struct OrgLogPage {
  SignedObject certificate;
  std::vector<SignedObject> links;
  bool more = false;
};

// An admitted organisation as a listing shows it: its certificate, the name
// the certificate gives it, and the seq of its log's last link (0: none).
struct OrganisationSummary {
  Id128 org_id;
  std::string display_name;
  SignedObject certificate;
  uint64_t log_head_seq = 0;
};

// A page of organisations: `more` when others follow the last one.
struct OrganisationPage {
  std::vector<OrganisationSummary> organisations;
  bool more = false;
};

// What one organisation's unauthenticated enrolment requests, and one
// admin's call, may cost the server (tryggd.toml [limits], operator-guide.md).
struct TrustLimits {
  // Requests waiting for an admin, per organisation: anyone may submit one,
  // so without a bound a stranger could fill the table and the admin's list.
  int max_pending_enrolments = 20;
  // A request not approved within this time is deleted (Trust::
  // DeleteExpiredEnrolments); the device submits a new one.
  int64_t enrolment_ttl_ms = int64_t{72} * 60 * 60 * 1000;
  // Key envelopes in one PutKeyEnvelopes call (one per device of the
  // organisation at a key rotation).
  int max_key_envelopes_per_call = 1000;
};

// The verified state of each organisation's log as of its last link, so an
// append verifies its one new link instead of replaying the whole log.
// An entry is used only when its head (seq and link hash) is the head the
// store holds now, read in the same transaction: a state put by a write that
// later failed, or whose batch rolled back, names a head that is not stored and is
// never used, and a link hash fixes the whole chain before it (each link
// signs its predecessor's hash). The cache lives in memory only, so a
// restored database starts with an empty one.
//
// Thread-safety: all methods are thread-safe.
class OrgLogCache {
 public:
  std::optional<OrgLogState> Find(const Id128& org_id, const OrgLogHead& head) const;
  void Put(const Id128& org_id, const OrgLogState& state);

 private:
  mutable std::mutex mu_;
  std::map<Id128, OrgLogState> states_;
};

class Trust {
 public:
  // `root` is the pinned platform root key (nullopt: not configured);
  // `server_key` the server's own signing key, which a server certificate
  // must certify. Clock and Rng must outlive Trust.
  Trust(std::optional<SignPublicKey> root, SignPublicKey server_key, Clock& clock, Rng& rng,
        TrustLimits limits = TrustLimits())
      : root_(root), server_key_(server_key), clock_(clock), rng_(rng), limits_(limits) {}

  // Public: the root's signature is the authority. Returns the subject id.
  absl::StatusOr<Id128> UploadCertificate(Transaction& txn, CertificateKind kind,
                                          const SignedObject& certificate) const;
  // The server certificate, once uploaded.
  static absl::StatusOr<std::optional<SignedObject>> ServerCertificate(Transaction& txn);
  // The signing key the stored server certificate certifies (nullopt: none
  // uploaded yet). tryggd compares it with its key file before it starts, so
  // a database restored without its key is refused rather than re-keyed.
  // DATA_LOSS if the stored certificate no longer parses.
  static absl::StatusOr<std::optional<SignPublicKey>> CertifiedServerKey(Transaction& txn);

  absl::StatusOr<std::vector<StoredCertificate>> ListOrganisations(Transaction& txn, const Caller& caller,
                                                                   const Id128& after, int limit) const;
  // ListOrganisations, at most `limit` of them, each with its name and log
  // head. DATA_LOSS if a stored certificate no longer parses.
  absl::StatusOr<OrganisationPage> ListOrganisationPage(Transaction& txn, const Caller& caller, const Id128& after,
                                                        int limit) const;
  // Org admins only, for their own organisation; the link must be signed by
  // the calling device. Resending the stored link at its seq returns its seq.
  absl::StatusOr<uint64_t> AppendOrgLogLink(Transaction& txn, const Caller& caller, const Id128& org_id,
                                            const SignedObject& link) const;
  absl::StatusOr<OrgLogPage> GetOrgLog(Transaction& txn, const Caller& caller, const Id128& org_id,
                                       uint64_t from_seq, int limit) const;

  // An enrolment request whose self-signature has been checked.
  struct CheckedEnrolment {
    EnrolmentRequest parsed;
    SignedObject request;
  };
  // Public, and pure: a request sent for organisation `org_id` is
  // INVALID_ARGUMENT when it is malformed, not signed by its own key, or for
  // another organisation. The api runs it before queueing the write, so a
  // bad unauthenticated request never takes the writer thread; this is the
  // one place the request's signature is checked.
  static absl::StatusOr<CheckedEnrolment> CheckEnrolmentRequest(const Id128& org_id, const SignedObject& request);
  // Stores a checked request. Returns the enrolment id (the same one for a
  // resent request). It appends no audit entry: anyone may submit, and the
  // log must not grow at a stranger's wish. The device_added entry of the
  // link that approves it records the requested role and when it was
  // submitted (docs/audit.md). RESOURCE_EXHAUSTED, changing nothing, when the
  // organisation already has TrustLimits::max_pending_enrolments live
  // requests.
  absl::StatusOr<Id128> SubmitEnrolment(Transaction& txn, const CheckedEnrolment& enrolment) const;
  absl::StatusOr<std::vector<StoredEnrolment>> ListEnrolments(Transaction& txn, const Caller& caller,
                                                              const Id128& after, int limit) const;
  // Deletes up to `limit` pending requests older than
  // TrustLimits::enrolment_ttl_ms, of any organisation; returns how many.
  // Approved ones stay: their device reads its key envelopes by enrolment id.
  // For the server's expiry loop, which calls it until it returns < limit.
  absl::StatusOr<int> DeleteExpiredEnrolments(Transaction& txn, int limit) const;

  // Org admins: organisation seeds sealed to active devices of their own
  // organisation, each signed by the calling device; at most
  // TrustLimits::max_key_envelopes_per_call of them.
  absl::Status PutKeyEnvelopes(Transaction& txn, const Caller& caller,
                               const std::vector<StoredKeyEnvelope>& envelopes) const;
  // The calling device's envelopes, or, before it has a session, those of
  // the device that made enrolment `enrolment_id`.
  absl::StatusOr<std::vector<StoredKeyEnvelope>> GetKeyEnvelopes(Transaction& txn,
                                                                 const std::optional<Caller>& caller,
                                                                 const std::optional<Id128>& enrolment_id,
                                                                 uint32_t min_generation) const;

 private:
  std::optional<SignPublicKey> root_;
  SignPublicKey server_key_;
  Clock& clock_;
  Rng& rng_;
  const TrustLimits limits_;
  std::shared_ptr<OrgLogCache> org_logs_ = std::make_shared<OrgLogCache>();
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_TRUST_H_
