// SPDX-License-Identifier: Apache-2.0

// Membership: the multi-step operations of organisation admins and devices
// over a logged-in Client — approving an enrolment, revoking a device,
// rotating the organisation key, changing a role, and receiving the
// organisation keys sealed to this device.
//
// Each operation first fetches and verifies the organisation log (Client::
// FetchOrgLog), so it acts on the chain as verified to the pinned root, not on
// what the server claims. Organisation keys are sealed to device keys taken
// from that verified log, and received keys are accepted only when sealed and
// signed by an active admin of the verified log and when their public key is
// the one the log announced for that generation.
//
// Ownership: `self` is the caller's key store contents; operations that add
// organisation keys update it, and the caller saves it (SaveKeyStore).
// Thread-safety: none; one operation at a time per device.
// Failure modes: server errors as returned by Client; verification failures
// carry a CryptoError; FailedPrecondition when this device lacks the role or
// the organisation key the operation needs.
#ifndef TRYGG_MEMBERSHIP_H_
#define TRYGG_MEMBERSHIP_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/random.h"

namespace trygg {

// Adds the requesting device with the role it asked for, then seals every
// organisation key generation this admin holds to it. Returns the link's seq.
absl::StatusOr<uint64_t> ApproveEnrolment(Client& client, const KeyStoreContents& self,
                                          const PendingEnrolment& enrolment, Clock& clock, Rng& rng);

// Starts generation g+1: appends the rotation link, seals the new seed to
// every active device (this one included) and adds it to `self`.
absl::StatusOr<uint32_t> RotateOrgKey(Client& client, KeyStoreContents& self, Clock& clock, Rng& rng);

// Revokes a device (its sessions end at once) and rotates the organisation
// key, so that nothing shared from now on reaches it.
absl::Status RevokeDevice(Client& client, KeyStoreContents& self, const Id128& device_id, Clock& clock,
                          Rng& rng);

absl::Status ChangeRole(Client& client, const KeyStoreContents& self, const Id128& device_id, Role role,
                        Clock& clock);

// Fetches the organisation seeds sealed to this device, verifies and opens
// them, and adds new generations to `self`. Returns how many were added.
absl::StatusOr<int> ReceiveOrgKeys(Client& client, KeyStoreContents& self);

}  // namespace trygg

#endif  // TRYGG_MEMBERSHIP_H_
