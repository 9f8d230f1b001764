// SPDX-License-Identifier: Apache-2.0

// Wire forms shared by libtrygg's typed clients: statuses, ids, timestamps,
// signed objects, record envelopes and grants to and from their protobuf
// messages, and the two grant steps every scope needs (seal to an
// organisation's current key, open with this device's organisation keys).
// What arrives from the server is checked for size here and fails with
// DATA_LOSS, since a well-behaved server never sends it; signatures and
// contents are checked by the callers.
#ifndef TRYGG_CLIENT_LIB_INTERNAL_WIRE_H_
#define TRYGG_CLIENT_LIB_INTERNAL_WIRE_H_

#include <span>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "trygg/client.h"
#include "trygg/grant.h"
#include "trygg/key_store.h"
#include "trygg/record.h"
#include "trygg/v1/case.pb.h"
#include "trygg/v1/common.pb.h"

namespace trygg::internal {

absl::Status FromGrpc(const grpc::Status& status);
inline std::string ToProto(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }
inline std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
Id128 RandomId(Rng& rng);
int64_t ToMillis(const google::protobuf::Timestamp& t);
// A fixed-size value (id, key, signature) the server sent; DATA_LOSS naming
// `what` when it has the wrong size.
template <typename Fixed>
absl::StatusOr<Fixed> FixedFromServer(const std::string& bytes, std::string_view what) {
  absl::StatusOr<Fixed> value = Fixed::FromSpan(AsSpan(bytes));
  if (!value.ok()) return absl::DataLossError("server sent a malformed " + std::string(what));
  return value;
}
inline absl::StatusOr<Id128> IdFromServer(const std::string& bytes, std::string_view what) {
  return FixedFromServer<Id128>(bytes, what);
}

void EnvelopeToProto(const SealedRecord& record, trygg::v1::RecordEnvelope* out);
absl::StatusOr<SealedRecord> EnvelopeFromServer(const trygg::v1::RecordEnvelope& in);
void GrantToProto(const Grant& grant, const Id128& scope_id, uint32_t epoch, const Id128& org_id,
                  trygg::v1::Grant* out);
absl::StatusOr<Grant> GrantFromServer(const trygg::v1::Grant& in);
// The signer is set where the message names one (objects signed by a device).
void SignedToProto(const SignedObject& object, trygg::v1::SignedBlob* out);
void SignedToProto(const SignedObject& object, const Id128& signer, trygg::v1::SignedBlob* out);
absl::StatusOr<SignedObject> SignedFromServer(const trygg::v1::SignedBlob& in);

// Seals `scope_key` to the current key of `org_id`, whose log is fetched and
// verified first. FAILED_PRECONDITION when the organisation has no key yet or
// must rotate first (a device was revoked).
absl::StatusOr<Grant> SealScopeGrant(Client& client, const KeyStoreContents& self, const Id128& org_id,
                                     const Id128& scope_id, uint32_t epoch, const SecretKey& scope_key,
                                     Clock& clock, Rng& rng);
// Opens a scope-key grant made to this device's organisation: finds the
// organisation key it is sealed to, checks the granter is in `granter_org`'s
// verified log, and checks every bound field.
absl::StatusOr<SecretKey> OpenScopeGrant(const Grant& grant, const KeyStoreContents& self,
                                         const OrgLogState& granter_org);

}  // namespace trygg::internal

#endif  // TRYGG_CLIENT_LIB_INTERNAL_WIRE_H_
