// SPDX-License-Identifier: Apache-2.0

// Wire forms of record envelopes and grants, shared by the case and referral
// handlers. Each conversion checks sizes and fails with INVALID_ARGUMENT
// naming the field; bytes pass through exactly as the device made them.
#ifndef TRYGG_SERVER_API_CASE_CONVERT_H_
#define TRYGG_SERVER_API_CASE_CONVERT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/caller.h"
#include "server/domain/case_tables.h"
#include "trygg/v1/case.pb.h"

namespace trygg::api {

absl::StatusOr<SealedRecord> EnvelopeFromProto(const trygg::v1::RecordEnvelope& in, absl::string_view field);
void EnvelopeToProto(const SealedRecord& record, trygg::v1::RecordEnvelope* out);
absl::StatusOr<std::vector<domain::StoredGrant>> GrantsFromProto(
    const google::protobuf::RepeatedPtrField<trygg::v1::Grant>& in);
void GrantToProto(const domain::StoredGrant& grant, trygg::v1::Grant* out);

// `caller` with the signatures of `record` and of `grants` checked now under
// its session's key, before the write is queued (prechecked_signatures.h).
domain::Caller PrecheckEnvelope(domain::Caller caller, const SealedRecord& record,
                                const std::vector<domain::StoredGrant>& grants);

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_CASE_CONVERT_H_
