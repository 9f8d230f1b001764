// SPDX-License-Identifier: Apache-2.0

#include "trygg/case_record.h"

#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <optional>

#include "trygg/case_record_check.h"
#include "trygg/names.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

// The end of the JSON string token that starts at `begin` (a '"'): one past
// its closing quote, or the end of the text.
size_t StringTokenEnd(std::string_view json, size_t begin) {
  size_t i = begin + 1;
  while (i < json.size() && json[i] != '"') i += json[i] == '\\' ? 2 : 1;
  return std::min(i + 1, json.size());
}

size_t SkipSpace(std::string_view json, size_t i) {
  while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  return i;
}

// Rewrites the value of every "service" key of `json`: `name` returns the
// replacement for the value token, or nullopt to keep it. Strings are
// skipped whole, so text inside a value can never be taken for a key.
// Within a CaseRecord or ReferralPacket only Need has a field "service".
template <typename Rename>
std::string RenameServices(std::string_view json, Rename name) {
  std::string out;
  out.reserve(json.size() + 64);
  size_t i = 0;
  while (i < json.size()) {
    if (json[i] != '"') {
      out.push_back(json[i++]);
      continue;
    }
    const size_t end = StringTokenEnd(json, i);
    const std::string_view token = json.substr(i, end - i);
    out.append(token);
    i = end;
    if (token != "\"service\"") continue;
    const size_t colon = SkipSpace(json, i);
    if (colon >= json.size() || json[colon] != ':') continue;
    const size_t value = SkipSpace(json, colon + 1);
    size_t value_end = value;
    if (value < json.size() && json[value] == '"') {
      value_end = StringTokenEnd(json, value);
    } else {
      while (value_end < json.size() && (std::isdigit(static_cast<unsigned char>(json[value_end])) ||
                                         json[value_end] == '-')) {
        ++value_end;
      }
    }
    const std::optional<std::string> replacement = name(json.substr(value, value_end - value));
    if (!replacement.has_value()) continue;
    out.append(json.substr(i, value - i));
    out.append(*replacement);
    i = value_end;
  }
  return out;
}

// A service number as protobuf prints it becomes "shelter".
std::optional<std::string> ServiceNameToken(std::string_view token) {
  if (token.empty() || token.size() > 6 || token[0] == '"') return std::nullopt;
  int64_t number = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + (c - '0');
  }
  const std::string_view name =
      number > 0 && number <= 255 ? ServiceCategoryName(static_cast<uint8_t>(number)) : std::string_view();
  // Appended piece by piece: GCC 12 at -O3 takes "x" + std::string&& for an
  // overlapping copy (-Wrestrict, a false positive) and -Werror stops there.
  std::string out = "\"";
  if (name.empty()) {
    out += "unknown (";
    out += std::to_string(number);
    out += ")";
  } else {
    out += name;
  }
  out += "\"";
  return out;
}

// "shelter" becomes its number; the proto enum's own names are left to the
// proto parser.
std::optional<std::string> ServiceNumberToken(std::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return std::nullopt;
  const std::optional<uint8_t> number = ServiceCategoryFromName(token.substr(1, token.size() - 2));
  if (!number.has_value()) return std::nullopt;
  return std::to_string(*number);
}

std::string MessageJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_enums_as_ints = true;
  std::string text;
  // Printing a message that parsed cannot fail: a failure is a bug here.
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) return "{}";
  return RenameServices(text, ServiceNameToken);
}

// A field path of the record's own fields ("person.birthdate",
// "needs[0].service") or a key as a person would type one: letters, digits,
// '_', '.', '[', ']', at most 96 characters.
bool IsPlainFieldPath(std::string_view path) {
  if (path.empty() || path.size() > 96) return false;
  for (char c : path) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '[' && c != ']') return false;
  }
  return true;
}

// What the error of a JSON parse says, never what the parser said: its
// messages quote the input (a name beside a missing comma,
// "invalid value 19900101"), which is survivor data that must not reach a
// Status, trygg_last_error or a log. Only a field path survives, and only
// when it is made of field-name characters.
std::string CaseRecordParseError(std::string_view parser_message) {
  constexpr std::string_view kPrefix = "the case record is not a trygg.v1.CaseRecord in JSON: ";
  std::string_view path;
  std::string_view rest = parser_message;
  if (!rest.empty() && rest.front() == '(') {
    const size_t close = rest.find(')');
    if (close != std::string_view::npos) {
      path = rest.substr(1, close - 1);
      rest = rest.substr(close + 1);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == ':')) rest.remove_prefix(1);
    }
  }
  constexpr std::string_view kUnknown = ": Cannot find field.";
  if (rest.size() > kUnknown.size() && rest.substr(rest.size() - kUnknown.size()) == kUnknown) {
    const std::string_view key = rest.substr(0, rest.size() - kUnknown.size());
    if (IsPlainFieldPath(key) && (path.empty() || IsPlainFieldPath(path))) {
      return std::string(kPrefix) + "no field '" + (path.empty() ? "" : std::string(path) + ".") + std::string(key) +
             "'";
    }
    return std::string(kPrefix) + "a field it does not have" +
           (IsPlainFieldPath(path) ? " (in " + std::string(path) + ")" : std::string());
  }
  if (IsPlainFieldPath(path)) return std::string(kPrefix) + std::string(path) + " has a value of the wrong type or range";
  return std::string(kPrefix) + "the text is not well-formed JSON";
}

}  // namespace

absl::Status CheckCaseRecordFields(const trygg::v1::CaseRecord& record) {
  const trygg::v1::Person& p = record.person();
  TRYGG_RETURN_IF_ERROR(CheckFieldFormat(FieldFormat::kDate, "person.birthdate", p.birthdate()));
  for (int i = 0; i < p.citizenship_size(); ++i) {
    TRYGG_RETURN_IF_ERROR(CheckFieldFormat(FieldFormat::kCountryCode,
                                           "person.citizenship[" + std::to_string(i) + "]", p.citizenship(i)));
  }
  TRYGG_RETURN_IF_ERROR(CheckFieldFormat(FieldFormat::kLanguageTag, "person.primary_language", p.primary_language()));
  TRYGG_RETURN_IF_ERROR(
      CheckFieldFormat(FieldFormat::kLanguageTag, "person.secondary_language", p.secondary_language()));
  TRYGG_RETURN_IF_ERROR(CheckFieldFormat(FieldFormat::kPhoneNumber, "person.mobile_phone", p.mobile_phone()));
  TRYGG_RETURN_IF_ERROR(CheckFieldFormat(FieldFormat::kEmail, "person.email", p.email()));
  TRYGG_RETURN_IF_ERROR(CheckFieldFormat(FieldFormat::kCountryCode, "person.mailing_country", p.mailing_country()));
  TRYGG_RETURN_IF_ERROR(CheckFieldFormat(FieldFormat::kDate, "support_plan.planned_end_date",
                                         record.support_plan().planned_end_date()));
  return absl::OkStatus();
}

absl::StatusOr<trygg::v1::CaseRecord> CaseRecordFromJson(std::string_view json) {
  trygg::v1::CaseRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const std::string numbered = RenameServices(json, ServiceNumberToken);
  auto status = google::protobuf::util::JsonStringToMessage(numbered, &record, options);
  if (!status.ok()) return absl::InvalidArgumentError(CaseRecordParseError(std::string(status.message())));
  if (absl::Status fields = CheckCaseRecordFields(record); !fields.ok()) {
    return absl::InvalidArgumentError("the case record: " + std::string(fields.message()));
  }
  return record;
}

std::string CaseRecordToJson(const trygg::v1::CaseRecord& record) { return MessageJson(record); }

std::string ReferralPacketToJson(const trygg::v1::ReferralPacket& packet) { return MessageJson(packet); }

}  // namespace trygg
