// SPDX-License-Identifier: Apache-2.0

// The case record a caseworker writes (trygg.v1.CaseRecord, generated into
// trygg/v1/case_record.pb.h and installed with the SDK) as JSON, to and from
// the record type, so that a partner app needs neither protoc nor a JSON
// library of its own (docs/case-record.md).
//
// The JSON is protobuf's JSON form with the proto field names
// ("primary_language", not "primaryLanguage"). A need's service is written as
// trygg/names.h names it ("shelter"); reading also accepts the proto enum
// value ("SERVICE_CATEGORY_SHELTER") and its number.
//
// Ownership: plain values in and out.
// Thread-safety: pure functions; safe from any thread.
// Failure modes: CaseRecordFromJson returns InvalidArgument for text that is
// not a CaseRecord in JSON (an unknown field, a value of the wrong type) and
// for a field not in its documented form (CheckCaseRecordFields), naming the
// field.
#ifndef TRYGG_CASE_RECORD_H_
#define TRYGG_CASE_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/v1/case_record.pb.h"

namespace trygg {

// Record content types (RecordHeader.content_type) that Trygg's clients
// write and read; another type is the app's own.
inline constexpr uint16_t kContentText = 1;            // UTF-8 text
inline constexpr uint16_t kContentCaseRecord = 2;      // trygg.v1.CaseRecord, serialized
inline constexpr uint16_t kContentReferralPacket = 3;  // trygg.v1.ReferralPacket, serialized

// Every field with a documented form (docs/case-record.md: dates, country
// codes, language tags, phone numbers, e-mail) checked by the HTCDS rules of
// trygg/case_record_check.h.
absl::Status CheckCaseRecordFields(const trygg::v1::CaseRecord& record);

// Parses and checks a case record in JSON.
absl::StatusOr<trygg::v1::CaseRecord> CaseRecordFromJson(std::string_view json);

// Compact JSON, fields in proto order, services by name.
std::string CaseRecordToJson(const trygg::v1::CaseRecord& record);
std::string ReferralPacketToJson(const trygg::v1::ReferralPacket& packet);

}  // namespace trygg

#endif  // TRYGG_CASE_RECORD_H_
