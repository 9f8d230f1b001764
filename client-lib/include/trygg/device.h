// SPDX-License-Identifier: Apache-2.0

// A device: its key store on disk, and a session with tryggd signed in with
// the device's keys. This is how a partner app (and each of Trygg's own
// tools) starts: InitDevice once, RequestEnrolment, wait for an organisation
// admin to compare the safety number and approve, ActivateDevice, then
// DeviceSession::Open for each working session (docs/partner-guide.md).
//
//   InitDevice(path, passphrase, org_id, ModerateKdfLimits(), rng)
//   DeviceSession::Open(path, passphrase, {.client = ..., .login = false})
//     -> RequestEnrolment(session, Role::kCaseworker, "Anna's laptop")
//   ... the admin runs ApproveEnrolment after CheckSafetyNumber ...
//   DeviceSession::Open(path, passphrase, {.client = ..., .keep_passphrase = true})
//     -> ActivateDevice(session)
//
// Ownership: a DeviceSession owns the key store contents (secrets in
// sodium-locked memory), the Client, and (unless the options lend them) the
// clock and randomness that the CaseClient, ReferralClient and
// DirectoryClient made over it borrow: keep it alive while they are used.
// Passphrases are only borrowed for the call, except with keep_passphrase,
// which copies the passphrase into locked memory that is wiped when the
// session ends. The caller wipes its own copy.
// Thread-safety: a DeviceSession is not itself synchronised: open it, log in
// and (re)write its keys from one thread. The Client it owns is as safe as
// client.h says. InitDevice and CheckSafetyNumber are plain functions.
// Failure modes: NotFound when there is no key store (naming the path),
// AlreadyExists when InitDevice finds one, the key store's CryptoError
// (wrong passphrase, damaged file, weak KDF limits), then the status of the
// connect or login that failed; FailedPrecondition for SaveKeys or
// ActivateDevice on a session opened without keep_passphrase.
#ifndef TRYGG_DEVICE_H_
#define TRYGG_DEVICE_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/keys.h"
#include "trygg/random.h"
#include "trygg/trust.h"

namespace trygg {

// Creates this device's key store at `path` (parent directories included):
// a fresh device id and device keys, for the organisation `org_id` (for a
// coordinator, its coordinator id), sealed under `passphrase` with `limits`.
// Refuses (AlreadyExists) when a file is already there: device init does
// not run twice. Returns the contents written.
absl::StatusOr<KeyStoreContents> InitDevice(const std::filesystem::path& path, std::string_view passphrase,
                                            const Id128& org_id, const KdfLimits& limits, Rng& rng);

struct DeviceSessionOptions {
  // Where tryggd is and the pinned platform root. An empty state_file is
  // set to "<key store>.heads": the organisation log heads and audit state
  // this device verified are remembered beside its keys.
  ClientOptions client;
  // False: connected but not logged in (before the device is approved, or
  // to ask for the server's identity first; LogIn later).
  bool login = true;
  // True: keep the passphrase (in locked memory) so that SaveKeys can
  // rewrite the key store after organisation keys were added or rotated.
  bool keep_passphrase = false;
  KeyStoreOpenOptions key_store;
  // The passphrase hashing limits SaveKeys writes the key store with.
  KdfLimits save_limits = ModerateKdfLimits();
  // Borrowed; must outlive the session. Null: the system clock and
  // libsodium's generator, owned by the session.
  Clock* clock = nullptr;
  Rng* rng = nullptr;
};

class DeviceSession {
 public:
  // Opens the key store (NotFound naming `key_store` when there is none),
  // connects with the pinned root and, with options.login, signs the login
  // challenge with the device key.
  static absl::StatusOr<std::unique_ptr<DeviceSession>> Open(const std::filesystem::path& key_store,
                                                             std::string_view passphrase,
                                                             const DeviceSessionOptions& options);

  // Logs out when logged in (best effort).
  ~DeviceSession();
  DeviceSession(const DeviceSession&) = delete;
  DeviceSession& operator=(const DeviceSession&) = delete;

  // Signs in when the session was opened without; Unauthenticated or
  // PermissionDenied as Client::Login returns them.
  absl::Status LogIn();
  bool logged_in() const;

  // Rewrites the key store with keys(); FailedPrecondition unless opened
  // with keep_passphrase.
  absl::Status SaveKeys();

  Client& client() { return *client_; }
  KeyStoreContents& keys() { return keys_; }
  const KeyStoreContents& keys() const { return keys_; }
  // Who the server says this device is (empty until logged in).
  const Session& login() const { return login_; }
  Clock& clock() { return *clock_; }
  Rng& rng() { return *rng_; }
  const std::filesystem::path& key_store_path() const { return key_store_; }

 private:
  class KeptPassphrase;
  DeviceSession(std::filesystem::path key_store, KeyStoreContents keys, const DeviceSessionOptions& options);

  std::filesystem::path key_store_;
  KeyStoreContents keys_;
  SystemClock system_clock_;
  SystemRng system_rng_;
  Clock* clock_;
  Rng* rng_;
  KdfLimits save_limits_;
  std::unique_ptr<KeptPassphrase> passphrase_;
  std::unique_ptr<Client> client_;
  Session login_;
};

// An enrolment request as submitted: the admin approves it after comparing
// `safety_number` with the one this device shows.
struct EnrolmentTicket {
  Id128 enrolment_id;
  EnrolmentRequest request;
  std::string safety_number;
};

// Signs and submits this device's request to join its organisation with
// `role` (caseworker or org-admin; a coordinator is certified by the root
// instead: InvalidArgument). `label` names the device for the admin
// (CheckLabel, kMaxEnrolmentLabelChars). Works on a session that is not
// logged in.
absl::StatusOr<EnrolmentTicket> RequestEnrolment(DeviceSession& session, Role role, std::string_view label);

// After approval: receives the organisation keys sealed to this device,
// verifies them against the organisation log, and saves the key store when
// any were added. Needs a logged-in session opened with keep_passphrase.
// Returns how many key generations were added.
absl::StatusOr<int> ActivateDevice(DeviceSession& session);

// The approval ceremony's check, for the admin's side: `typed` (digits,
// spaces or dashes ignored) must be the full safety number of `key`.
// InvalidArgument when it has the wrong number of digits, PermissionDenied
// when it does not match (do not approve; ask the person to enrol again).
absl::Status CheckSafetyNumber(std::string_view typed, const SignPublicKey& key);

}  // namespace trygg

#endif  // TRYGG_DEVICE_H_
