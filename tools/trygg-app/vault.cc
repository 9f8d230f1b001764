// SPDX-License-Identifier: Apache-2.0

#include "vault.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "audit_rules.h"
#include "trygg/crypto_error.h"
#include "trygg/fingerprint.h"
#include "trygg/membership.h"
#include "trygg/status_macros.h"

namespace trygg::app {
namespace {

// Wall-clock time, for the Watch deadline the library takes in Unix ms.
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// For the idle lock: a monotonic clock, which a change of the system time
// (by hand, NTP) neither fires early nor holds off.
int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::Status OpenDevice::SetAlias(const Id128& case_id, std::string_view alias) {
  TRYGG_RETURN_IF_ERROR(aliases_status);
  TRYGG_RETURN_IF_ERROR(CheckAlias(alias));
  // On a copy, so a failed save leaves the index as the file has it.
  absl::StatusOr<AliasIndex> before = AliasIndex::Load(aliases_path, keys);
  TRYGG_RETURN_IF_ERROR(before.status());
  TRYGG_RETURN_IF_ERROR(before->Set(case_id, alias));
  TRYGG_RETURN_IF_ERROR(before->Save(aliases_path, rng));
  *aliases = std::move(*before);
  return absl::OkStatus();
}

absl::Status OpenDevice::ApproveEnrolment(const Id128& enrolment_id, std::string_view typed) {
  if (login.role != Role::kOrgAdmin) {
    return absl::PermissionDeniedError("only an organisation admin approves devices");
  }
  TRYGG_ASSIGN_OR_RETURN(std::vector<PendingEnrolment> pending, client->ListEnrolments());
  auto found = std::find_if(pending.begin(), pending.end(),
                            [&](const PendingEnrolment& p) { return p.enrolment_id == enrolment_id; });
  if (found == pending.end()) return absl::NotFoundError("no pending enrolment request with this id");
  // The ceremony: the admin vouches that this key is the person's device.
  absl::Status match = CheckSafetyNumber(typed, found->request.sign_key);
  if (absl::IsInvalidArgument(match)) {
    return absl::InvalidArgumentError("the safety number must be all 60 digits");
  }
  if (!match.ok()) {
    return absl::PermissionDeniedError(
        "the safety number does not match this request: do not approve; ask the person to enrol again");
  }
  return trygg::ApproveEnrolment(*client, keys, *found, clock, rng).status();
}

absl::StatusOr<RekeyReport> OpenDevice::RevokeDevice(const Id128& device_id, std::string_view passphrase) {
  if (login.role != Role::kOrgAdmin) {
    return absl::PermissionDeniedError("only an organisation admin revokes devices");
  }
  if (device_id == keys.device_id) {
    return absl::InvalidArgumentError("this device cannot revoke itself; another admin's device does");
  }
  TRYGG_ASSIGN_OR_RETURN(OrgLogState log, client->FetchOrgLog(keys.org_id));
  if (log.ActiveDevice(device_id) == nullptr) {
    return absl::NotFoundError("no active device with this id in the organisation");
  }
  // The key store is rewritten with the new organisation key: check the
  // passphrase first, so a wrong one changes nothing.
  absl::StatusOr<KeyStoreContents> check = OpenKeyStore(session->key_store_path(), passphrase, open_options);
  if (!check.ok()) {
    if (GetCryptoError(check.status()) == CryptoError::kWrongPassphrase) {
      return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase,
                             "wrong passphrase: nothing was revoked");
    }
    return check.status();
  }
  KeyStoreContents& own = session->keys();
  TRYGG_RETURN_IF_ERROR(trygg::RevokeDevice(*client, own, device_id, clock, rng));
  absl::Status saved = SaveKeyStore(session->key_store_path(), passphrase, own, save_limits, rng);
  if (!saved.ok()) {
    return absl::Status(saved.code(), "the device is revoked, but the key store was not saved (" +
                                          std::string(saved.message()) +
                                          "); do not lock the app, and run `trygg org rekey` after fixing this");
  }
  absl::StatusOr<RekeyReport> report = cases->RekeyStaleCases();
  if (!report.ok()) {
    return absl::Status(report.status().code(),
                        "the device is revoked and the organisation key rotated, but re-keying the cases stopped (" +
                            std::string(report.status().message()) + "); finish with `trygg org rekey`");
  }
  return report;
}

Vault::Vault(VaultConfig config) : config_(std::move(config)) {
  audit_.since_ms = NowMs();
  audit_since_steady_ = SteadyMs();
  idle_thread_ = std::thread([this] { IdleLoop(); });
}

Vault::~Vault() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    shutting_down_ = true;
    LockLocked(lock);
  }
  wake_.notify_all();
  idle_thread_.join();
  std::lock_guard<std::mutex> retiring_lock(retiring_mutex_);
  for (Retiring& r : retiring_) r.thread.join();
}

bool Vault::unlocked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return device_ != nullptr;
}

bool Vault::has_key_store() const {
  std::error_code ec;
  return std::filesystem::exists(config_.keystore, ec);
}

DeviceSessionOptions Vault::SessionOptions() const {
  DeviceSessionOptions options;
  options.client.address = config_.server;
  options.client.tls_root_certificates = config_.tls_roots_pem;
  options.client.platform_root = config_.platform_root;
  // The state file is "<key store>.heads", the CLI's too, so a server that
  // rolls back what the CLI saw is caught by the app as well.
  options.key_store.allow_weak_kdf_for_tests = config_.allow_weak_kdf_for_tests;
  options.save_limits = config_.save_limits;
  return options;
}

absl::StatusOr<EnrolmentTicket> Vault::Enrol(std::string_view passphrase, const Id128& org_id, Role role,
                                             std::string_view label) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (device_ != nullptr) return absl::FailedPreconditionError("this device is unlocked: it is enrolled already");
  const bool created = !has_key_store();
  if (created) {
    SystemRng rng;
    TRYGG_RETURN_IF_ERROR(InitDevice(config_.keystore, passphrase, org_id, config_.save_limits, rng).status());
  }
  absl::StatusOr<EnrolmentTicket> ticket = [&]() -> absl::StatusOr<EnrolmentTicket> {
    DeviceSessionOptions options = SessionOptions();
    options.login = false;
    TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<DeviceSession> session,
                           DeviceSession::Open(config_.keystore, passphrase, options));
    if (session->keys().org_id != org_id) {
      return absl::FailedPreconditionError("this computer's key store belongs to another organisation");
    }
    return RequestEnrolment(*session, role, label);
  }();
  // A key store this call made for a request that failed (an unknown
  // organisation, the server out of reach) goes again, with its state file,
  // so that the caseworker can start over with the right details: the page
  // says nothing was changed. One that was there before stays.
  if (!ticket.ok() && created) {
    std::error_code ec;
    std::filesystem::remove(config_.keystore, ec);
    std::filesystem::path heads = config_.keystore;
    heads += ".heads";
    std::filesystem::remove(heads, ec);
  }
  return ticket;
}

absl::StatusOr<int> Vault::Activate(std::string_view passphrase) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (device_ != nullptr) return absl::FailedPreconditionError("this device is unlocked: it is active already");
  DeviceSessionOptions options = SessionOptions();
  options.keep_passphrase = true;
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<DeviceSession> session,
                         DeviceSession::Open(config_.keystore, passphrase, options));
  return ActivateDevice(*session);
}

absl::Status Vault::Unlock(std::string_view passphrase) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (device_ != nullptr) return absl::OkStatus();
  DeviceSessionOptions options = SessionOptions();
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<DeviceSession> session,
                         DeviceSession::Open(config_.keystore, passphrase, options));
  auto device = std::make_unique<OpenDevice>(std::move(session));
  TRYGG_ASSIGN_OR_RETURN(OrgLogState own_log, device->client->FetchOrgLog(device->login.org_id));
  device->org_name = own_log.name();
  device->cases = std::make_unique<CaseClient>(*device->client, device->keys, device->clock, device->rng);
  device->referrals =
      std::make_unique<ReferralClient>(*device->client, device->keys, *device->cases, device->clock, device->rng);
  device->directory = std::make_unique<DirectoryClient>(*device->client, device->keys, device->clock, device->rng);
  device->save_limits = config_.save_limits;
  device->open_options = options.key_store;
  device->aliases_path = AliasIndexPathFor(config_.keystore);
  absl::StatusOr<AliasIndex> aliases = AliasIndex::Load(device->aliases_path, device->keys);
  if (aliases.ok()) {
    device->aliases = std::make_unique<AliasIndex>(std::move(*aliases));
  } else {
    // Never replaced: the pages show this error and refuse new aliases.
    device->aliases_status = aliases.status();
    device->aliases = std::make_unique<AliasIndex>(AliasIndex::Empty(device->keys));
    std::fprintf(stderr, "trygg-app: the alias index did not open: %s\n",
                 std::string(aliases.status().message()).c_str());
  }
  device_ = std::move(device);
  last_activity_ms_ = SteadyMs();
  watch_stop_ = std::make_shared<std::atomic<bool>>(false);
  watcher_ = std::thread([this, client = device_->client, keys = &device_->keys, stop = watch_stop_] {
    Watch(client, keys, *stop);
  });
  uint64_t generation = 0;
  {
    // An alarm, the count of checks and the time of the last that passed
    // outlive the lock: a server caught once cannot clear its alarm by
    // failing the checks of the next unlock another way.
    std::lock_guard<std::mutex> audit_lock(audit_mutex_);
    generation = ++audit_generation_;
    audit_.checked = false;
    audit_.running = false;
    audit_.proven_since_unlock = 0;
    audit_requested_ = false;
    audit_next_steady_ = 0;
    audit_client_ = device_->client;
  }
  // The first check starts at once: a server that rolled its log back or
  // dropped a write since this device last looked is shown on the first page.
  auditor_ = std::thread([this, client = device_->client, stop = watch_stop_, generation] {
    AuditLoop(client, *stop, generation);
  });
  wake_.notify_all();
  return absl::OkStatus();
}

void Vault::Lock() {
  std::unique_lock<std::mutex> lock(mutex_);
  LockLocked(lock);
}

void Vault::LockLocked(std::unique_lock<std::mutex>& lock) {
  if (device_ == nullptr) return;
  // Taken out under the lock, so a concurrent Lock (button and idle timer)
  // finds nothing to do and a page request finds the app locked.
  std::unique_ptr<OpenDevice> device = std::move(device_);
  std::thread watcher = std::move(watcher_);
  std::thread auditor = std::move(auditor_);
  watch_stop_->store(true);
  wake_.notify_all();
  {
    // Before the lock is let go: an Unlock while this Lock finishes makes a
    // generation of its own, which nothing of this one's touches.
    std::lock_guard<std::mutex> audit_lock(audit_mutex_);
    audit_client_ = nullptr;
  }
  audit_cv_.notify_all();
  {
    // Before the lock is let go too, so that an Unlock meanwhile keeps its
    // own notices; the watcher takes no more once it sees watch_stop_.
    std::lock_guard<std::mutex> notices_lock(notices_mutex_);
    notices_.clear();
    watch_error_.clear();
  }
  // The watcher checks watch_stop_ at least once a second and takes no lock
  // of ours while it streams.
  lock.unlock();
  if (watcher.joinable()) watcher.join();
  // Wipe first, then log out: Logout is an RPC that may take its whole
  // deadline when the server is away, and the keys must not wait for it.
  // The alias index (its key and the names) and the typed clients go first (the CaseClient's cached scope keys), then
  // the organisation keys and the device keys are replaced, which frees
  // and wipes their locked memory (SecretBytes).
  device->aliases->Wipe();
  device->aliases.reset();
  device->directory.reset();
  device->referrals.reset();
  device->cases.reset();
  KeyStoreContents& keys = device->session->keys();
  keys.org_keys.clear();
  keys.device = DeviceKeys::FromSeeds(SecretKey(), SecretKey());
  // A running audit check needs the Client, not the keys, and its calls may
  // each take their whole deadline against a stalling server; the logout
  // may take its own. Both finish in the background: the check saw
  // watch_stop_ and starts no other, and after a later unlock it records
  // only an alarm it found (RecordAudit).
  {
    std::lock_guard<std::mutex> retiring_lock(retiring_mutex_);
    std::erase_if(retiring_, [](Retiring& r) {
      if (!r.done->load()) return false;
      r.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([device = std::move(device), auditor = std::move(auditor), done]() mutable {
      // The session ends first (a running check's next call then fails at
      // once), then the check, then the device.
      if (device->client->logged_in()) device->client->Logout().IgnoreError();
      if (auditor.joinable()) auditor.join();
      device.reset();
      done->store(true);
    });
    retiring_.push_back(Retiring{std::move(thread), std::move(done)});
  }
  lock.lock();
}

absl::Status Vault::With(const std::function<absl::Status(OpenDevice&)>& fn, Activity activity) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (device_ == nullptr) return absl::FailedPreconditionError("locked");
  const bool use = activity == Activity::kUse;
  if (use) last_activity_ms_ = SteadyMs();
  absl::Status status = fn(*device_);
  if (use) last_activity_ms_ = SteadyMs();
  return status;
}

std::vector<Notice> Vault::NoticesAfter(uint64_t after_seq, uint64_t& newest) const {
  std::lock_guard<std::mutex> lock(notices_mutex_);
  std::vector<Notice> out;
  for (const Notice& n : notices_) {
    if (n.seq > after_seq) out.push_back(n);
  }
  newest = next_seq_ - 1;
  return out;
}

std::string Vault::watch_error() const {
  std::lock_guard<std::mutex> lock(notices_mutex_);
  return watch_error_;
}

void Vault::Watch(Client* client, const KeyStoreContents* keys, const std::atomic<bool>& stop) {
  // Its own typed clients: ReferralClient is one call at a time, and the
  // pages use theirs meanwhile. Notices carry ids and states only.
  SystemClock clock;
  SystemRng rng;
  CaseClient cases(*client, *keys, clock, rng);
  ReferralClient referrals(*client, *keys, cases, clock, rng);
  while (!stop.load()) {
    absl::Status status = referrals.Watch(
        [this, &stop](const ReferralNotice& notice) {
          if (stop.load()) return false;  // locked: the notices are cleared
          std::lock_guard<std::mutex> lock(notices_mutex_);
          notices_.push_back(Notice{next_seq_++, notice});
          if (notices_.size() > 1000) notices_.erase(notices_.begin());
          return true;
        },
        NowMs() + 1000);
    {
      std::lock_guard<std::mutex> lock(notices_mutex_);
      watch_error_ = status.ok() ? "" : std::string(status.message());
    }
    if (!status.ok()) {
      // The server is away: try again in a second, or stop at once on Lock.
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, std::chrono::seconds(1), [&stop] { return stop.load(); });
    }
  }
}

AuditStatus Vault::audit_status() const {
  std::lock_guard<std::mutex> lock(audit_mutex_);
  return audit_;
}

bool Vault::AuditDueLocked(const Client& client, int64_t now_steady) const {
  if (audit_requested_ || !audit_.checked) return true;
  if (now_steady >= audit_next_steady_) return true;
  return audit_.last.ok() && client.pending_audit_writes() > 0 &&
         now_steady - audit_started_steady_ >= kAuditGapMs;
}

void Vault::AwaitAudit(std::chrono::milliseconds wait) const {
  std::unique_lock<std::mutex> lock(audit_mutex_);
  if (audit_client_ == nullptr) return;
  // Only the first check of an unlock, or one a write asked for, is waited
  // for (the page then shows its result, not "being checked"); a retry
  // against a failing server is not.
  const bool fresh = !audit_.checked || (audit_.last.ok() && audit_client_->pending_audit_writes() > 0);
  if (!fresh) return;
  const uint64_t target = audit_.checks + 1;
  const uint64_t generation = audit_generation_;
  audit_cv_.notify_all();
  audit_cv_.wait_for(lock, wait, [&] {
    return audit_.checks >= target || audit_client_ == nullptr || audit_generation_ != generation;
  });
}

absl::Status Vault::CheckAuditNow(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(audit_mutex_);
  if (audit_client_ == nullptr) return absl::FailedPreconditionError("locked");
  // A check already running may have read the queue before the latest
  // write: the one asked for here starts after it.
  const uint64_t target = audit_.checks + (audit_.running ? 2 : 1);
  const uint64_t generation = audit_generation_;
  audit_requested_ = true;
  audit_cv_.notify_all();
  audit_cv_.wait_for(lock, wait, [&] {
    return audit_.checks >= target || audit_client_ == nullptr || audit_generation_ != generation;
  });
  return absl::OkStatus();
}

void Vault::AuditLoop(Client* client, const std::atomic<bool>& stop, uint64_t generation) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(audit_mutex_);
      audit_cv_.wait_for(lock, std::chrono::seconds(1),
                         [&] { return stop.load() || AuditDueLocked(*client, SteadyMs()); });
      if (stop.load() || audit_generation_ != generation) return;
      if (!AuditDueLocked(*client, SteadyMs())) continue;
      audit_requested_ = false;
      audit_.running = true;
      audit_started_steady_ = SteadyMs();
    }
    // Outside every lock of the app's: the calls may take their deadlines.
    const absl::StatusOr<AuditTrailReport> result = client->VerifyAuditTrail();
    RecordAudit(*client, result, generation);
  }
}

void Vault::RecordAudit(const Client& client, const absl::StatusOr<AuditTrailReport>& result,
                        uint64_t generation) {
  const int64_t now_ms = NowMs();
  const int64_t now_steady = SteadyMs();
  std::lock_guard<std::mutex> lock(audit_mutex_);
  const bool current = audit_generation_ == generation;
  if (result.ok()) {
    // A check of an earlier unlock (locked and unlocked since) records
    // nothing but an alarm: the later unlock's state is its own.
    if (!current) return;
    audit_.last = absl::OkStatus();
    audit_.report = *result;
    audit_.proven_since_unlock += result->writes_verified;
    audit_.since_ms = now_ms;
    audit_.alarm = absl::OkStatus();
    audit_.alarm_at_ms = 0;
    audit_.overdue = false;
    audit_since_steady_ = now_steady;
    audit_next_steady_ = now_steady + kAuditRecheckMs;
  } else {
    const absl::Status& failed = result.status();
    const absl::Status shown(failed.code(), PrintableText(failed.message()));
    const absl::Status before = audit_.checked ? audit_.last : absl::OkStatus();
    // The first alarm stays, unless a log found to disagree comes after a
    // refusal: that is the stronger evidence.
    const bool raise = AlarmingFailure(failed, client.audit_head().has_value()) &&
                       (audit_.alarm.ok() || (absl::IsDataLoss(failed) && !absl::IsDataLoss(audit_.alarm)));
    if (raise) {
      audit_.alarm = shown;
      audit_.alarm_at_ms = now_ms;
    }
    if (raise || (current && shown != before)) {
      // Sizes, hashes, entry numbers, or the server's words: never a
      // survivor's data. Once per change, not once a minute.
      std::fprintf(stderr, "trygg-app: the audit log check failed: %s: %s\n",
                   absl::StatusCodeToString(failed.code()).c_str(), std::string(shown.message()).c_str());
    }
    if (!current) {
      if (raise) audit_cv_.notify_all();
      return;
    }
    audit_.last = shown;
    audit_.overdue = now_steady - audit_since_steady_ >= kAuditOverdueMs;
    audit_next_steady_ = now_steady + kAuditRetryMs;
  }
  audit_.checked = true;
  audit_.running = false;
  ++audit_.checks;
  audit_.last_at_ms = now_ms;
  audit_.pending = client.pending_audit_writes();
  audit_cv_.notify_all();
}

void Vault::IdleLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!shutting_down_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (device_ != nullptr && SteadyMs() - last_activity_ms_ >= config_.idle_lock_ms) LockLocked(lock);
  }
}

}  // namespace trygg::app
