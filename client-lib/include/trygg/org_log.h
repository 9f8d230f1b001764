// SPDX-License-Identifier: Apache-2.0

// OrgLogState: an organisation's devices, roles and key generation, obtained
// by verifying its log link by link from the root-signed certificate. The
// server runs it before storing a link; every client runs it over the whole
// chain it fetches, so a server that substitutes, hides or adds a key or
// device is caught (DESIGN.md, security property 3).
//
// Rules checked for each link (docs/protocol.md, "Organisation log"):
//  - same organisation, seq = head + 1, prev_hash = hash of the head;
//  - signed by a device that is an active admin before the link;
//  - created_at not before the previous link's;
//  - add: a new device id and signing key (ids are never reused);
//  - revoke: an active device, not the last active admin;
//  - rotate: generation = current + 1;
//  - change role: an active device, a different role, not demoting the last admin.
//
// Ownership: a value; copies are independent.
// Thread-safety: not synchronised; const methods may run concurrently.
// Failure modes: Apply returns a status tagged with a CryptoError (kMalformed,
// kBadSignature, kBrokenChain, kUnauthorisedSigner, kIllegalLink) and leaves
// the state unchanged. CheckContinues reports kRollback or kFork.
#ifndef TRYGG_ORG_LOG_H_
#define TRYGG_ORG_LOG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/trust.h"

namespace trygg {

struct DeviceRecord {
  Id128 device_id;
  Role role = Role::kCaseworker;
  SignPublicKey sign_key;
  BoxPublicKey box_key;
  bool revoked = false;
  // Sequence number of the link that added it (0: the certificate).
  uint64_t added_seq = 0;
  // The revocation link's signed time, when revoked.
  int64_t revoked_at_ms = 0;
};

// Whether an object that `device` signed at `signed_at_ms` (the time inside
// the signed bytes) may be trusted: always for an active device; for a
// revoked one, only if signed before its revocation. Objects signed before a
// revocation stay valid; a stolen key signing afterwards is refused. The
// time is the signer's claim: a stolen key could backdate, which only a
// server that also accepts it could use, and which cannot reach content of
// an epoch created after the revocation (threat-model.md, "Revocation").
inline bool TrustedAt(const DeviceRecord& device, int64_t signed_at_ms) {
  return !device.revoked || signed_at_ms < device.revoked_at_ms;
}

// What a client remembers of an organisation's log between sessions.
struct OrgLogHead {
  uint64_t seq = 0;
  Hash256 hash;
};

class OrgLogState {
 public:
  // Starts from a certificate verified against the pinned root key.
  static absl::StatusOr<OrgLogState> FromCertificate(const SignedObject& certificate,
                                                     const SignPublicKey& root);

  // Verifies `link` as the next one and applies it.
  absl::Status Apply(const SignedObject& link);

  const Id128& org_id() const { return org_id_; }
  const std::string& name() const { return name_; }
  OrgLogHead head() const { return {seq(), hashes_.back()}; }
  uint64_t seq() const { return hashes_.size() - 1; }
  // Current organisation key generation (0 before the first rotation) and
  // its public key.
  uint32_t generation() const { return generation_; }
  const BoxPublicKey& org_box_key() const { return org_box_key_; }
  // The organisation public key the log announced for `generation`, if any.
  const BoxPublicKey* OrgBoxKeyOf(uint32_t generation) const;
  // True when a device was revoked after the last rotation: the remaining
  // devices must rotate the organisation key before sharing anything new.
  bool rotation_due() const { return rotation_due_; }

  const DeviceRecord* FindDevice(const Id128& device_id) const;
  // An active (not revoked) device, or nullptr.
  const DeviceRecord* ActiveDevice(const Id128& device_id) const;
  const std::map<Id128, DeviceRecord>& devices() const { return devices_; }

  // Checks that this chain continues what a client saw before: not shorter
  // (rollback) and with the same link at the remembered position (fork).
  absl::Status CheckContinues(const OrgLogHead& remembered) const;

 private:
  OrgLogState() = default;
  absl::Status CheckLink(const OrgLogLink& link, const SignedObject& signed_link) const;

  Id128 org_id_;
  std::string name_;
  // hashes_[0] is the certificate's hash, hashes_[n] the hash of link n.
  std::vector<Hash256> hashes_;
  int64_t last_created_at_ms_ = 0;
  uint32_t generation_ = 0;
  BoxPublicKey org_box_key_;
  std::map<uint32_t, BoxPublicKey> org_box_keys_;
  bool rotation_due_ = false;
  std::map<Id128, DeviceRecord> devices_;
};

}  // namespace trygg

#endif  // TRYGG_ORG_LOG_H_
