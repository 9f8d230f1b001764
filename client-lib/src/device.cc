// SPDX-License-Identifier: Apache-2.0

#include "trygg/device.h"

#include <sodium.h>

#include <cstring>

#include "trygg/fingerprint.h"
#include "trygg/label.h"
#include "trygg/membership.h"
#include "trygg/secret_bytes.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

absl::Status NoKeyStore(const std::filesystem::path& path) {
  return absl::NotFoundError("no key store at " + path.string() + "; initialise the device first");
}

std::string Digits(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

}  // namespace

// The passphrase of a session that may rewrite its key store, in locked
// memory for as long as the session lives.
class DeviceSession::KeptPassphrase {
 public:
  explicit KeptPassphrase(std::string_view text)
      : size_(text.size()), data_(secret_memory::Allocate(size_ == 0 ? 1 : size_)) {
    if (size_ > 0) std::memcpy(data_, text.data(), size_);
  }
  ~KeptPassphrase() { secret_memory::Free(data_, size_ == 0 ? 1 : size_); }
  KeptPassphrase(const KeptPassphrase&) = delete;
  KeptPassphrase& operator=(const KeptPassphrase&) = delete;
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  size_t size_;
  uint8_t* data_;
};

absl::StatusOr<KeyStoreContents> InitDevice(const std::filesystem::path& path, std::string_view passphrase,
                                            const Id128& org_id, const KdfLimits& limits, Rng& rng) {
  if (passphrase.empty()) return absl::InvalidArgumentError("the passphrase is empty");
  if (std::filesystem::exists(path)) {
    return absl::AlreadyExistsError("a key store already exists at " + path.string());
  }
  KeyStoreContents contents{org_id, Id128(), DeviceKeys::Generate(rng), {}};
  rng.Fill(contents.device_id.span());
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) return absl::InternalError("cannot create " + path.parent_path().string() + ": " + error.message());
  }
  TRYGG_RETURN_IF_ERROR(CreateKeyStore(path, passphrase, contents, limits, rng));
  return contents;
}

DeviceSession::DeviceSession(std::filesystem::path key_store, KeyStoreContents keys,
                             const DeviceSessionOptions& options)
    : key_store_(std::move(key_store)),
      keys_(std::move(keys)),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      rng_(options.rng != nullptr ? options.rng : &system_rng_),
      save_limits_(options.save_limits) {}

DeviceSession::~DeviceSession() {
  if (client_ != nullptr && client_->logged_in()) client_->Logout().IgnoreError();
}

absl::StatusOr<std::unique_ptr<DeviceSession>> DeviceSession::Open(const std::filesystem::path& key_store,
                                                                   std::string_view passphrase,
                                                                   const DeviceSessionOptions& options) {
  if (!std::filesystem::exists(key_store)) return NoKeyStore(key_store);
  absl::StatusOr<KeyStoreContents> keys = OpenKeyStore(key_store, passphrase, options.key_store);
  if (absl::IsNotFound(keys.status())) return NoKeyStore(key_store);
  if (!keys.ok()) return keys.status();
  std::unique_ptr<DeviceSession> session(new DeviceSession(key_store, std::move(*keys), options));
  if (options.keep_passphrase) session->passphrase_ = std::make_unique<KeptPassphrase>(passphrase);
  ClientOptions client_options = options.client;
  if (client_options.state_file.empty()) client_options.state_file = key_store.string() + ".heads";
  if (client_options.clock == nullptr) client_options.clock = session->clock_;
  TRYGG_ASSIGN_OR_RETURN(session->client_, Client::Connect(client_options));
  if (options.login) TRYGG_RETURN_IF_ERROR(session->LogIn());
  return session;
}

absl::Status DeviceSession::LogIn() {
  TRYGG_ASSIGN_OR_RETURN(login_, client_->Login(keys_.device_id, keys_.device.signing()));
  return absl::OkStatus();
}

bool DeviceSession::logged_in() const { return client_ != nullptr && client_->logged_in(); }

absl::Status DeviceSession::SaveKeys() {
  if (passphrase_ == nullptr) {
    return absl::FailedPreconditionError("the session was not opened to rewrite the key store (keep_passphrase)");
  }
  return SaveKeyStore(key_store_, passphrase_->view(), keys_, save_limits_, *rng_);
}

absl::StatusOr<EnrolmentTicket> RequestEnrolment(DeviceSession& session, Role role, std::string_view label) {
  if (role == Role::kCoordinator) {
    return absl::InvalidArgumentError("role must be caseworker or org-admin");
  }
  TRYGG_RETURN_IF_ERROR(CheckLabel(label, kMaxEnrolmentLabelChars, "the device label"));
  EnrolmentTicket ticket;
  EnrolmentRequest& request = ticket.request;
  const KeyStoreContents& keys = session.keys();
  request.org_id = keys.org_id;
  request.device_id = keys.device_id;
  request.sign_key = keys.device.signing().public_key;
  request.box_key = keys.device.box().public_key;
  request.requested_role = role;
  request.created_at_ms = session.clock().NowUnixMillis();
  request.label = std::string(label);
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_request, SignEnrolmentRequest(request, keys.device.signing()));
  TRYGG_ASSIGN_OR_RETURN(ticket.enrolment_id, session.client().SubmitEnrolment(signed_request));
  ticket.safety_number = SafetyNumber(request.sign_key);
  return ticket;
}

absl::StatusOr<int> ActivateDevice(DeviceSession& session) {
  if (!session.logged_in()) return absl::FailedPreconditionError("activating a device needs a logged-in session");
  TRYGG_ASSIGN_OR_RETURN(int added, ReceiveOrgKeys(session.client(), session.keys()));
  if (added > 0) TRYGG_RETURN_IF_ERROR(session.SaveKeys());
  return added;
}

absl::Status CheckSafetyNumber(std::string_view typed, const SignPublicKey& key) {
  const std::string expected = Digits(SafetyNumber(key));
  const std::string given = Digits(typed);
  if (given.size() != expected.size()) {
    return absl::InvalidArgumentError("the safety number must be all " + std::to_string(expected.size()) +
                                      " digits");
  }
  if (sodium_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return absl::PermissionDeniedError(
        "the safety number does not match this enrolment request; do not approve it, and ask the person to "
        "enrol again");
  }
  return absl::OkStatus();
}

}  // namespace trygg
