// SPDX-License-Identifier: Apache-2.0

// The caseworker's unlocked device inside trygg-app: the key store opened
// once with the passphrase, a logged-in libtrygg Client and the typed clients
// the pages use. Lock() (the lock button, or the idle timer, on a steady
// clock, after `idle_lock_ms` without the caseworker's use: a POST or a page
// she opened, not the open page refreshing itself or polling) first wipes
// the keys and the cached scope keys (sodium-locked memory), then leaves a
// running audit check, the logout and the rest to a thread that finishes them
// in the background (the destructor waits for it); the decrypted records the
// pages read exist only while a request is answered.
//
// While unlocked, a thread keeps a WatchReferrals stream open and collects
// the notices (ids and states only) that the pages poll for. It reopens the
// stream every second, because ReferralClient::Watch cannot be cancelled from
// another thread and Lock must not wait longer than that; a change committed
// in the moment between two streams has no notice (the live pages refresh
// their lists every 20 s as well). A Watch that another thread can cancel
// would remove the gap.
//
// Another thread checks the server's audit log (AuditStatus, below), outside
// the lock pages and Lock take.
//
// Ownership: owns everything it opens. Thread-safety: thread-safe; page
// requests run one at a time (With holds a mutex), the watcher on its own
// typed clients over the shared Client (thread-safe once logged in).
// Failure modes: Unlock returns the status of the key store (PermissionDenied
// for a wrong passphrase), connection or login; With returns
// FailedPrecondition when locked.
#ifndef TRYGG_TOOLS_TRYGG_APP_VAULT_H_
#define TRYGG_TOOLS_TRYGG_APP_VAULT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "trygg/alias_index.h"
#include "trygg/case_client.h"
#include "trygg/client.h"
#include "trygg/device.h"
#include "trygg/directory_client.h"
#include "trygg/key_store.h"
#include "trygg/keys.h"
#include "trygg/random.h"
#include "trygg/referral_client.h"

namespace trygg::app {

struct VaultConfig {
  std::string server;          // host:port of tryggd
  std::string tls_roots_pem;   // "" for plaintext loopback
  SignPublicKey platform_root;
  std::filesystem::path keystore;
  int64_t idle_lock_ms = 10 * 60 * 1000;
  bool allow_weak_kdf_for_tests = false;
  // The limits a rewritten key store gets (after a revocation rotates the
  // organisation key).
  KdfLimits save_limits = ModerateKdfLimits();
};

// An open device: valid between Unlock and Lock, used under With's lock.
// The session (libtrygg's DeviceSession) owns the keys, the Client, the
// clock and the randomness; the typed clients borrow them.
struct OpenDevice {
  explicit OpenDevice(std::unique_ptr<DeviceSession> opened)
      : session(std::move(opened)),
        keys(session->keys()),
        client(&session->client()),
        login(session->login()),
        clock(session->clock()),
        rng(session->rng()) {}
  std::unique_ptr<DeviceSession> session;
  const KeyStoreContents& keys;
  Client* client;
  trygg::Session login;
  Clock& clock;
  Rng& rng;
  std::string org_name;
  std::unique_ptr<CaseClient> cases;
  std::unique_ptr<ReferralClient> referrals;
  std::unique_ptr<DirectoryClient> directory;
  // The caseworker's names for her cases ("<key store>.aliases"), opened
  // with the device's keys at unlock and wiped at lock. When the file does
  // not open, `aliases_status` says why, the index is empty and nothing is
  // written over the file.
  std::filesystem::path aliases_path;
  std::unique_ptr<AliasIndex> aliases;
  absl::Status aliases_status;
  // Sets (or with "" removes) an alias and saves the file; refused, and
  // nothing changed, when the file did not open.
  absl::Status SetAlias(const Id128& case_id, std::string_view alias);

  // An admin's part of the enrolment ceremony, as `trygg enrol approve
  // --fingerprint`: `typed` must be the full safety number of the pending
  // request's key (CheckSafetyNumber: InvalidArgument when it is not 60
  // digits, PermissionDenied when it does not match); then libtrygg's
  // ApproveEnrolment. PermissionDenied for a device that is not an admin,
  // NotFound for no such pending request. Nothing changes on a refusal.
  absl::Status ApproveEnrolment(const Id128& enrolment_id, std::string_view typed);
  // As `trygg device revoke`: revokes an active device of this organisation
  // (not this one), which rotates the organisation key; rewrites the key
  // store with the new generation under `passphrase`, which is checked
  // against the key store first (PermissionDenied, nothing changed, when
  // wrong); then re-keys the organisation's cases. PermissionDenied for a
  // device that is not an admin, NotFound for no such active device,
  // InvalidArgument for this device itself.
  absl::StatusOr<RekeyReport> RevokeDevice(const Id128& device_id, std::string_view passphrase);

  KdfLimits save_limits;
  KeyStoreOpenOptions open_options;
};

struct Notice {
  uint64_t seq = 0;
  ReferralNotice notice;
};

// What the app knows of its checks of the server's audit log
// (Client::VerifyAuditTrail: the log is consistent with the head this device
// verified before, and every write it made since is in it, saying what the
// device did), for the overview. Times are wall-clock, for display.
struct AuditStatus {
  bool checked = false;  // a check has finished since unlock
  bool running = false;
  uint64_t checks = 0;     // checks finished since the app started
  int64_t last_at_ms = 0;  // when the last check finished
  absl::Status last;       // how it ended
  AuditTrailReport report;  // of the last check that passed
  uint64_t proven_since_unlock = 0;  // this device's writes proven since unlock
  int64_t since_ms = 0;  // the last check that passed, or the app's start
  // What the server must not be able to hide, kept until a check passes,
  // whatever failures of other kinds come between, and across lock and
  // unlock: a log that disagrees with what the device saw or did
  // (DATA_LOSS), or, once the device has verified a head, a refusal that is
  // no passing trouble (anything but UNAVAILABLE, DEADLINE_EXCEEDED,
  // RESOURCE_EXHAUSTED, UNAUTHENTICATED, ABORTED, CANCELLED): a certificate
  // gone, of the wrong kind or badly signed. The first alarm stays; a later
  // one does not replace it.
  absl::Status alarm;
  int64_t alarm_at_ms = 0;
  // Checks have failed, with no alarm of their own, for kAuditOverdueMs
  // since the last that passed (or since the app started): a server that
  // answers everything else but not these is shown too.
  bool overdue = false;
  size_t pending = 0;  // writes waiting to be proven
};

class Vault {
 public:
  explicit Vault(VaultConfig config);
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  absl::Status Unlock(std::string_view passphrase);
  void Lock();
  bool unlocked() const;
  bool has_key_store() const;

  // The enrolment ceremony of a new device, from the app: creates the key
  // store under `passphrase` for `org_id` when there is none (libtrygg's
  // InitDevice), then signs and submits a request to join with `role` and
  // `label` (RequestEnrolment, without logging in). When the key store
  // exists already, the passphrase must open it (PermissionDenied) and the
  // request is submitted again, for a device whose first request was lost.
  // FailedPrecondition while unlocked.
  absl::StatusOr<EnrolmentTicket> Enrol(std::string_view passphrase, const Id128& org_id, Role role,
                                        std::string_view label);
  // After the admin approved: logs in and receives the organisation keys
  // (ActivateDevice), which rewrites the key store. Returns how many key
  // generations were added. The login's status (Unauthenticated or
  // PermissionDenied) when the device is not approved yet.
  absl::StatusOr<int> Activate(std::string_view passphrase);

  // Whether a request is the caseworker's use, which holds off the idle
  // lock, or the page refreshing itself in the background, which does not.
  enum class Activity { kUse, kBackground };

  // Runs `fn` on the open device, one request at a time; kUse counts as
  // activity for the idle lock. FailedPrecondition when locked.
  absl::Status With(const std::function<absl::Status(OpenDevice&)>& fn, Activity activity = Activity::kUse);

  // The audit log's checks run on a thread of their own while unlocked, never
  // under the lock pages and Lock take, so a slow or stalling server cannot
  // hold the lock button up: at unlock, within a second of a write of this
  // device (at most one check a kAuditGapMs), kAuditRecheckMs after the last
  // that passed, and kAuditRetryMs after one that failed. Lock wipes the keys
  // and leaves a running check and the logout to finish in the background.
  static constexpr int64_t kAuditRecheckMs = 10 * 60 * 1000;
  static constexpr int64_t kAuditRetryMs = 60 * 1000;
  static constexpr int64_t kAuditOverdueMs = 30 * 60 * 1000;
  // At least this long between the starts of two checks asked for by writes.
  static constexpr int64_t kAuditGapMs = 1000;
  AuditStatus audit_status() const;
  // Waits up to `wait` for a running or due check to finish (the overview,
  // so that it shows a fresh result rather than "checking").
  void AwaitAudit(std::chrono::milliseconds wait) const;
  // Asks for a check now and waits up to `wait` for it (the overview's
  // button). FailedPrecondition when locked.
  absl::Status CheckAuditNow(std::chrono::milliseconds wait);

  // Notices after `after_seq`, and the newest seq.
  std::vector<Notice> NoticesAfter(uint64_t after_seq, uint64_t& newest) const;
  // The last error of the watch stream, "" when it is open.
  std::string watch_error() const;

 private:
  void Watch(Client* client, const KeyStoreContents* keys, const std::atomic<bool>& stop);
  void IdleLoop();
  void AuditLoop(Client* client, const std::atomic<bool>& stop, uint64_t generation);
  // Whether a check is due now (audit_mutex_ held).
  bool AuditDueLocked(const Client& client, int64_t now_steady) const;
  void RecordAudit(const Client& client, const absl::StatusOr<AuditTrailReport>& result, uint64_t generation);
  void LockLocked(std::unique_lock<std::mutex>& lock);
  DeviceSessionOptions SessionOptions() const;

  const VaultConfig config_;
  mutable std::mutex mutex_;  // guards device_, watcher_, last_activity_ms_, shutting_down_
  std::condition_variable wake_;
  std::unique_ptr<OpenDevice> device_;
  int64_t last_activity_ms_ = 0;  // steady_clock
  std::shared_ptr<std::atomic<bool>> watch_stop_;  // one per unlock
  bool shutting_down_ = false;
  std::thread watcher_;
  std::thread idle_thread_;

  mutable std::mutex notices_mutex_;
  std::vector<Notice> notices_;
  uint64_t next_seq_ = 1;
  std::string watch_error_;

  mutable std::mutex audit_mutex_;  // guards audit_ and the fields below
  mutable std::condition_variable audit_cv_;
  AuditStatus audit_;
  bool audit_requested_ = false;
  // One per unlock: a check of an earlier unlock, still finishing while the
  // device is locked and unlocked again, records nothing.
  uint64_t audit_generation_ = 0;
  int64_t audit_next_steady_ = 0;      // a failed check's retry, or the next recheck
  int64_t audit_started_steady_ = 0;   // when the last check started
  int64_t audit_since_steady_ = 0;     // last passed check, or the app's start
  Client* audit_client_ = nullptr;     // the open device's, while unlocked
  std::thread auditor_;
  // Locked devices whose running check and logout finish in the background,
  // after their keys were wiped: Lock does not wait for a stalling server.
  struct Retiring {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex retiring_mutex_;
  std::vector<Retiring> retiring_;  // finished ones are joined at the next Lock
};

}  // namespace trygg::app

#endif  // TRYGG_TOOLS_TRYGG_APP_VAULT_H_
