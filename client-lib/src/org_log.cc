// SPDX-License-Identifier: Apache-2.0

#include "trygg/org_log.h"

#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

absl::Status Illegal(std::string_view why) {
  return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kIllegalLink,
                         "org log: " + std::string(why));
}

}  // namespace

absl::StatusOr<OrgLogState> OrgLogState::FromCertificate(const SignedObject& certificate,
                                                         const SignPublicKey& root) {
  TRYGG_ASSIGN_OR_RETURN(RootCertificate cert,
                         VerifyRootCertificate(certificate, root, CertificateKind::kOrganisation));
  OrgLogState state;
  state.org_id_ = cert.subject_id;
  state.name_ = cert.name;
  state.hashes_.push_back(SignedObjectHash(certificate));
  state.last_created_at_ms_ = cert.issued_at_ms;
  DeviceRecord admin;
  admin.device_id = cert.device_id;
  admin.role = Role::kOrgAdmin;
  admin.sign_key = cert.sign_key;
  admin.box_key = cert.box_key;
  state.devices_.emplace(admin.device_id, admin);
  return state;
}

const DeviceRecord* OrgLogState::FindDevice(const Id128& device_id) const {
  auto it = devices_.find(device_id);
  return it == devices_.end() ? nullptr : &it->second;
}

const DeviceRecord* OrgLogState::ActiveDevice(const Id128& device_id) const {
  const DeviceRecord* device = FindDevice(device_id);
  return device != nullptr && !device->revoked ? device : nullptr;
}

absl::Status OrgLogState::CheckLink(const OrgLogLink& link, const SignedObject& signed_link) const {
  if (link.org_id != org_id_) return Illegal("link belongs to another organisation");
  if (link.seq != seq() + 1 || link.prev_hash != hashes_.back()) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kBrokenChain,
                           "org log: link " + std::to_string(link.seq) +
                               " does not follow the head at " + std::to_string(seq()));
  }
  const DeviceRecord* signer = ActiveDevice(link.signer_device);
  if (signer == nullptr || signer->role != Role::kOrgAdmin) {
    return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kUnauthorisedSigner,
                           "org log: signer is not an active admin device of the organisation");
  }
  TRYGG_RETURN_IF_ERROR(Verify(signer->sign_key, SigningContext::kOrgLog, signed_link.bytes,
                               signed_link.signature));
  if (link.created_at_ms < last_created_at_ms_) return Illegal("link is dated before its predecessor");

  auto active_admins = [this] {
    int n = 0;
    for (const auto& [id, device] : devices_) n += !device.revoked && device.role == Role::kOrgAdmin;
    return n;
  };
  switch (link.action) {
    case OrgLogAction::kAddDevice:
      if (FindDevice(link.device_id) != nullptr) return Illegal("device id is already in the log");
      for (const auto& [id, device] : devices_) {
        if (device.sign_key == link.sign_key || device.box_key == link.box_key) {
          return Illegal("device key is already in the log");
        }
      }
      return absl::OkStatus();
    case OrgLogAction::kRevokeDevice: {
      const DeviceRecord* device = ActiveDevice(link.device_id);
      if (device == nullptr) return Illegal("revoked device is not an active device");
      if (device->role == Role::kOrgAdmin && active_admins() == 1) {
        return Illegal("cannot revoke the last active admin");
      }
      return absl::OkStatus();
    }
    case OrgLogAction::kRotateOrgKey:
      if (link.generation != generation_ + 1) return Illegal("generation must be the current one plus 1");
      return absl::OkStatus();
    case OrgLogAction::kChangeRole: {
      const DeviceRecord* device = ActiveDevice(link.device_id);
      if (device == nullptr) return Illegal("device is not an active device");
      if (device->role == link.role) return Illegal("device already has this role");
      if (device->role == Role::kOrgAdmin && active_admins() == 1) {
        return Illegal("cannot demote the last active admin");
      }
      return absl::OkStatus();
    }
  }
  return Illegal("unknown action");
}

absl::Status OrgLogState::Apply(const SignedObject& signed_link) {
  TRYGG_ASSIGN_OR_RETURN(OrgLogLink link, ParseOrgLogLink(signed_link.bytes));
  TRYGG_RETURN_IF_ERROR(CheckLink(link, signed_link));
  switch (link.action) {
    case OrgLogAction::kAddDevice: {
      DeviceRecord device;
      device.device_id = link.device_id;
      device.role = link.role;
      device.sign_key = link.sign_key;
      device.box_key = link.box_key;
      device.added_seq = link.seq;
      devices_.emplace(device.device_id, device);
      break;
    }
    case OrgLogAction::kRevokeDevice:
      devices_[link.device_id].revoked = true;
      devices_[link.device_id].revoked_at_ms = link.created_at_ms;
      rotation_due_ = true;
      break;
    case OrgLogAction::kRotateOrgKey:
      generation_ = link.generation;
      org_box_key_ = link.org_box_key;
      org_box_keys_[link.generation] = link.org_box_key;
      rotation_due_ = false;
      break;
    case OrgLogAction::kChangeRole:
      devices_[link.device_id].role = link.role;
      break;
  }
  last_created_at_ms_ = link.created_at_ms;
  hashes_.push_back(SignedObjectHash(signed_link));
  return absl::OkStatus();
}

const BoxPublicKey* OrgLogState::OrgBoxKeyOf(uint32_t generation) const {
  auto it = org_box_keys_.find(generation);
  return it == org_box_keys_.end() ? nullptr : &it->second;
}

absl::Status OrgLogState::CheckContinues(const OrgLogHead& remembered) const {
  if (remembered.seq > seq()) {
    return MakeCryptoError(absl::StatusCode::kAborted, CryptoError::kRollback,
                           "org log: the server shows " + std::to_string(seq()) +
                               " links, fewer than the " + std::to_string(remembered.seq) +
                               " seen before (rollback)");
  }
  if (hashes_[remembered.seq] != remembered.hash) {
    return MakeCryptoError(absl::StatusCode::kAborted, CryptoError::kFork,
                           "org log: link " + std::to_string(remembered.seq) +
                               " differs from the one seen before (fork)");
  }
  return absl::OkStatus();
}

}  // namespace trygg
