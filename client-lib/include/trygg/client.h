// SPDX-License-Identifier: Apache-2.0

// trygg::Client: the typed connection to a tryggd server. It sends and
// receives the signed objects that the rest of libtrygg makes and checks, and
// it trusts the server for nothing but availability: every organisation log it
// fetches is verified link by link to the pinned platform root, and checked
// against the head this device saw before (rollback and fork detection,
// remembered in a small state file). The same state file remembers the head
// of every case, referral history and consent withdrawal this device has read
// or written (RememberHistory), so that a server serving an older or a
// different history is caught even by a new Client, such as the next run of
// the CLI (docs/protocol.md section 14).
//
// Ownership: a Client owns its channel and its session token (kept as raw
// bytes in locked memory and never logged; gRPC's copy of the call metadata
// is outside libtrygg's control).
// Thread-safety: a Client may be used from several threads. Login and
// Logout may run while other calls do: those go with the old session until
// the new token is in place (the token is read and replaced under a lock);
// after Logout, or a Login that failed, calls go without a session.
// ThreadSanitizer checks this (tests/integration/thread_safety_test.cc).
// Failure modes: server errors come back as absl::Status with the gRPC code
// and message; verification failures carry a CryptoError (crypto_error.h).
#ifndef TRYGG_CLIENT_H_
#define TRYGG_CLIENT_H_

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/grant.h"
#include "trygg/org_log.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"
#include "trygg/server_info.h"
#include "trygg/signing.h"
#include "trygg/trust.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace trygg {
namespace internal {
class AuditWitness;
}  // namespace internal

struct ClientOptions {
  // host:port of tryggd.
  std::string address;
  // PEM roots to verify the server's TLS certificate; empty means plaintext,
  // which is accepted only for loopback addresses.
  std::string tls_root_certificates;
  // The pinned platform root key every chain is verified against.
  SignPublicKey platform_root;
  // Where this device remembers the organisation log heads it has verified,
  // its audit state and the histories it has seen (docs/protocol.md section
  // 14); empty keeps them in memory only.
  std::filesystem::path state_file;
  // The device's clock, which the times in audit entries of its own writes
  // are checked against (VerifyAuditTrail); must outlive the Client. Null:
  // the system clock.
  Clock* clock = nullptr;
};

struct Session {
  Id128 device_id;
  Id128 org_id;
  Role role = Role::kCaseworker;
  int64_t expires_at_ms = 0;
};

struct OrganisationSummary {
  Id128 org_id;
  std::string display_name;
  uint64_t log_head_seq = 0;
};

struct PendingEnrolment {
  Id128 enrolment_id;
  EnrolmentRequest request;  // verified self-signature
  int64_t submitted_at_ms = 0;
};

// The last audit log tree head this device verified: signed by the server's
// root-certified key, and consistent with every head it verified before.
struct AuditHead {
  uint64_t tree_size = 0;
  int64_t timestamp_ms = 0;
  Hash256 root_hash;
};

// What the audit entries of one write must say (docs/audit.md, "Entry
// encoding"; 4.1). Every entry in the write's receipt must name this device
// and `actor_org` as the actor and carry a time within the call (allowing for
// clock skew), and at least one must be of a kind in `kinds` (bit k set =
// entry kind k), name `subject_id` in the `subject` field, and carry each of
// the optional fields that is set.
enum class AuditSubject : uint8_t { kNone, kCase, kReferral, kListing };
struct AuditExpectation {
  std::string what;  // for messages: "case version", "referral transition"
  uint32_t kinds = 0;
  AuditSubject subject = AuditSubject::kNone;
  Id128 subject_id;
  std::optional<uint32_t> number;         // case version, capacity, key generation
  std::optional<uint8_t> code;            // decline reason, outcome, role
  std::optional<Id128> counterpart_org;   // the other organisation of a referral or consent
  std::optional<uint8_t> service;         // service category of a referral or listing
  std::optional<uint8_t> flags;           // e.g. vital interests
  std::optional<Hash256> record_hash;     // a case version's record hash (entry format 2)
};

// Taken just before a write call (Client::BeginAuditedWrite): the log size
// this device already knew of, so that a receipt cannot point at entries
// older than the write, and the time the call started.
struct AuditWriteStart {
  uint64_t floor = 0;
  int64_t started_ms = 0;
};

struct AuditTrailReport {
  AuditHead head;
  // The size of the head verified before; 0 when this was the first.
  uint64_t previous_tree_size = 0;
  size_t writes_verified = 0;
  size_t entries_verified = 0;
  // Writes made while this verification ran: checked by the next one.
  size_t writes_pending = 0;
};

// The histories whose heads a device remembers (docs/protocol.md section 14).
enum class HistoryKind : uint8_t {
  kCase,               // a case's versions; length = highest version
  kReferral,           // a referral record and its signed moves; length = 1 + moves
  kConsentWithdrawal,  // a consent's signed withdrawal; length 1 once withdrawn
};

// The head of a history as this device last saw it: its length and a hash
// that commits to every element up to that length (a case version's record
// hash, which chains by prev_hash; for referrals and withdrawals the hash
// chain of protocol.md 14). `ended_by_server`: a referral the server ended
// with one of its own unsigned moves (expiry, lapsed consent), after which
// nothing may follow.
struct HistoryHead {
  uint64_t length = 0;
  Hash256 hash;
  bool ended_by_server = false;
  friend bool operator==(const HistoryHead&, const HistoryHead&) = default;
};

// An organisation seed sealed to a device: a grant of kind kOrgSeed.
struct KeyEnvelope {
  Id128 device_id;
  uint32_t generation = 0;
  Grant grant;
  Id128 signer_device;
};

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();

  absl::StatusOr<ServerInfo> GetServerInfo();

  // Signs a fresh server challenge with the device key and keeps the token.
  // The server instance named in the first challenge this device signs is
  // pinned in the state file; a later challenge from another instance (a
  // server swapped for another, or one relaying another server's challenge)
  // is refused with FAILED_PRECONDITION before anything is signed.
  absl::StatusOr<Session> Login(const Id128& device_id, const SigningKeyPair& device_key);
  // The pinned server instance, if any.
  std::optional<Id128> pinned_server_instance() const;
  // Forgets the pinned instance, so the next Login pins the server it then
  // reaches. For after the operator has moved the platform to a new
  // database on purpose (a restored backup keeps its instance); never automatic.
  absl::Status ForgetServerInstance();
  absl::StatusOr<Session> WhoAmI();
  absl::Status Logout();
  bool logged_in() const;

  absl::StatusOr<Id128> UploadCertificate(CertificateKind kind, const SignedObject& certificate);
  absl::StatusOr<std::vector<OrganisationSummary>> ListOrganisations();

  // The organisation's log, verified to the pinned root, continuing the
  // remembered head; then remembers the new head. The first fetch of an
  // organisation reads and verifies the whole log and keeps the verified
  // state in memory; later fetches ask only for the links from the cached
  // head on, check that the server shows the cached head link unchanged (the
  // same certificate and the same bytes for every link up to it that it
  // resends), and verify and apply only the new links. Anything else (a
  // changed link or certificate, a log without the cached head, a link that
  // does not verify) is decided by a full fetch from the start, so the
  // refusal is exactly the uncached one: ABORTED with ROLLBACK or FORK,
  // BAD_SIGNATURE, BROKEN_CHAIN (threat-model.md, "Organisation-log cache").
  // A refused fetch changes neither the cache nor the remembered head.
  absl::StatusOr<OrgLogState> FetchOrgLog(const Id128& org_id);
  absl::StatusOr<uint64_t> AppendOrgLogLink(const Id128& org_id, const SignedObject& link);

  absl::StatusOr<Id128> SubmitEnrolment(const SignedObject& request);
  absl::StatusOr<std::vector<PendingEnrolment>> ListEnrolments();

  absl::Status PutKeyEnvelopes(const std::vector<KeyEnvelope>& envelopes);
  // The calling device's envelopes; before login, pass the enrolment id.
  absl::StatusOr<std::vector<KeyEnvelope>> GetKeyEnvelopes(std::optional<Id128> enrolment_id,
                                                           uint32_t min_generation = 0);

  // Proves to this device that the server's audit log records the writes it
  // made and was never rewritten (DESIGN.md, "Audit and statistics"):
  // fetches the latest signed tree head and checks its signature under the
  // server key the platform root certified; checks it is consistent with the
  // last head this device verified (RFC 9162 consistency proof); then, for
  // each write made since, fetches the entries its audit receipt names,
  // checks that they say what the device did, and checks their inclusion
  // proofs against the head. On success the head is remembered (in the state
  // file, if any) and the proven writes are forgotten.
  // FAILED_PRECONDITION: the server presents no root-certified key, so its
  // heads prove nothing. DATA_LOSS: the log shrank, forked or was rewritten,
  // a head is badly signed, or a write's entries are missing or say something
  // else; the message says which, and nothing remembered changes, so the
  // next call finds the same fault. Server errors as the server reports them.
  absl::StatusOr<AuditTrailReport> VerifyAuditTrail();
  // Writes not yet proven by VerifyAuditTrail. Each queued write is kept in
  // the state file until proven, so verify regularly.
  size_t pending_audit_writes() const;
  // Forgets the remembered head and the queued writes, so the next
  // VerifyAuditTrail starts afresh from whatever log the server now serves.
  // For after a reported fault has been investigated (a server restored from
  // a backup legitimately "shrinks"); never automatic.
  absl::Status ForgetAuditState();
  std::optional<AuditHead> audit_head() const;

  // For libtrygg's typed clients, around each write call made while logged
  // in: BeginAuditedWrite just before it; after it succeeded,
  // ExpectAuditEntries with its `context` (from NewCallContext) queues the
  // audit receipt the server attached (docs/api.md, "Audit receipts") with
  // what its entries must say. A reply without a receipt is queued too, and
  // reported by the next VerifyAuditTrail. Not logged in: ignored.
  AuditWriteStart BeginAuditedWrite() const;
  void ExpectAuditEntries(const grpc::ClientContext& context, const AuditWriteStart& start,
                          const Id128& actor_org, AuditExpectation expected);

  // For libtrygg's other typed clients (directory, cases, referrals): the
  // channel, and a call context with a deadline and this client's session.
  std::shared_ptr<grpc::Channel> channel() const;
  std::unique_ptr<grpc::ClientContext> NewCallContext() const;
  const ClientOptions& options() const { return options_; }

  // The remembered heads (for tests and `trygg status`; not while other
  // threads fetch organisation logs).
  const std::map<Id128, OrgLogHead>& remembered_heads() const { return heads_; }

  // For libtrygg's case and referral clients, after they verified what the
  // server sent: checks that a history continues what this device has seen
  // of it, then remembers its new head (and saves the state file when the
  // head moved). `hashes[i]` is the head hash at length `first_length + i`
  // (see HistoryHead); the caller vouches that hashes[0] extends what it
  // verified before. An empty `hashes` says the history has length
  // `first_length - 1` (0: the server shows no withdrawal of a consent).
  // DATA_LOSS tagged kRollback: the history is shorter than this device has
  // seen, or a referral the server had ended was reopened; kFork: it holds a
  // different element at a length this device has seen. The message names
  // the history and the lengths; nothing remembered changes. Thread-safe.
  absl::Status RememberHistory(HistoryKind kind, const Id128& id, std::span<const Hash256> hashes,
                               uint64_t first_length = 1, bool ended_by_server = false);
  // The same for several histories (a page of referrals) with one write of
  // the state file: all are checked before any is remembered, so on error
  // nothing changes.
  struct HistoryUpdate {
    HistoryKind kind = HistoryKind::kCase;
    Id128 id;
    std::vector<Hash256> hashes;
    uint64_t first_length = 1;
    bool ended_by_server = false;
  };
  absl::Status RememberHistories(std::span<const HistoryUpdate> updates);
  std::optional<HistoryHead> remembered_history(HistoryKind kind, const Id128& id) const;

 private:
  struct Stubs;
  Client(ClientOptions options, std::unique_ptr<Stubs> stubs);
  absl::Status LoadState();
  // kMerge folds in what other sessions of this device saved since (under the
  // state file's lock) before writing; kReplace (the Forget calls) writes
  // this session's state as it is.
  enum class StateSave { kMerge, kReplace };
  absl::Status SaveState(StateSave how = StateSave::kMerge);
  absl::Status MergeSavedStateLocked();  // state_mu_ and the file lock held
  int64_t NowMs() const;

  ClientOptions options_;
  std::unique_ptr<Stubs> stubs_;
  absl::StatusOr<Session> SignIn(const Id128& device_id, const SigningKeyPair& device_key);
  // The session's own state, read by every call and replaced by Login and
  // Logout on whichever thread runs them.
  std::optional<Session> current_session() const;
  // FetchOrgLog's two ways: the whole log from the root; or only what
  // follows `cached`, nullopt when the server shows anything `cached` does
  // not extend (then the whole log decides).
  absl::StatusOr<OrgLogState> FetchWholeOrgLog(const Id128& org_id);
  absl::StatusOr<std::optional<OrgLogState>> ExtendOrgLog(const OrgLogState& cached);
  mutable std::mutex session_mu_;
  SecretBytes<32> token_;
  bool logged_in_ = false;
  std::optional<Session> session_;
  std::unique_ptr<internal::AuditWitness> audit_;
  // Guards heads_, org_logs_, histories_ and the state file: writes on several threads
  // save it.
  mutable std::mutex state_mu_;
  std::map<Id128, OrgLogHead> heads_;
  // Verified organisation logs (FetchOrgLog), in memory only.
  std::map<Id128, OrgLogState> org_logs_;
  std::map<std::pair<HistoryKind, Id128>, HistoryHead> histories_;
  std::optional<Id128> server_instance_;  // pinned at the first login
};

}  // namespace trygg

#endif  // TRYGG_CLIENT_H_
