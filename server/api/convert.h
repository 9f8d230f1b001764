// SPDX-License-Identifier: Apache-2.0

// Conversions between wire messages and domain values, with the checks every
// handler needs: sizes of ids, keys and signatures, and page tokens. Each
// failure is INVALID_ARGUMENT naming the field.
#ifndef TRYGG_SERVER_API_CONVERT_H_
#define TRYGG_SERVER_API_CONVERT_H_

#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trygg/bytes.h"
#include "trygg/trust.h"
#include "trygg/v1/common.pb.h"
#include <google/protobuf/timestamp.pb.h>

namespace trygg::api {

absl::StatusOr<Id128> IdFromProto(const std::string& bytes, absl::string_view field);
absl::StatusOr<SignedObject> SignedFromProto(const trygg::v1::SignedBlob& blob, absl::string_view field);
void SignedToProto(const SignedObject& object, std::span<const uint8_t> signer_id, trygg::v1::SignedBlob* blob);

inline std::string BytesToProto(std::span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
inline std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Unix milliseconds as a Timestamp, exact to the millisecond (nanos stay in
// [0, 1e9) for times before 1970 too).
void TimeToProto(int64_t unix_ms, google::protobuf::Timestamp* out);

// The page sizes of the list RPCs, unless one says otherwise (docs/api.md).
inline constexpr int kDefaultPage = 50;
inline constexpr int kMaxPage = 500;

// page_size: 0 means `default_size`; negative is an error; capped at `max_size`.
absl::StatusOr<int> PageSize(int requested, int default_size, int max_size);

// Opaque page tokens carry the last id of the previous page.
std::string IdPageToken(const Id128& last);
absl::StatusOr<Id128> IdFromPageToken(const std::string& token);  // "" -> all zero
std::string SeqPageToken(uint64_t next_seq);
absl::StatusOr<uint64_t> SeqFromPageToken(const std::string& token, uint64_t if_empty);

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_CONVERT_H_
