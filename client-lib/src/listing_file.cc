// SPDX-License-Identifier: Apache-2.0

#include "trygg/listing_file.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "trygg/names.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

using google::protobuf::Value;

absl::Status WrongType(const std::string& key, std::string_view expected) {
  return absl::InvalidArgumentError("the listing file's '" + key + "' must be " + std::string(expected));
}

absl::StatusOr<std::string> Text(const std::string& key, const Value& value) {
  if (value.kind_case() != Value::kStringValue) return WrongType(key, "a string");
  return value.string_value();
}

absl::StatusOr<std::vector<std::string>> Texts(const std::string& key, const Value& value) {
  if (value.kind_case() != Value::kListValue) return WrongType(key, "a list of strings");
  std::vector<std::string> out;
  for (const Value& item : value.list_value().values()) {
    if (item.kind_case() != Value::kStringValue) return WrongType(key, "a list of strings");
    out.push_back(item.string_value());
  }
  return out;
}

absl::StatusOr<int64_t> Integer(const std::string& key, const Value& value, int64_t min, int64_t max) {
  const double n = value.number_value();
  if (value.kind_case() != Value::kNumberValue || std::trunc(n) != n || n < static_cast<double>(min) ||
      n > static_cast<double>(max)) {
    return WrongType(key, "a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<int64_t>(n);
}

absl::StatusOr<uint8_t> Named(NamedEnum kind, const std::string& name, std::string_view what) {
  const std::optional<uint8_t> value = ParseName(kind, name);
  if (!value.has_value()) {
    return absl::InvalidArgumentError("unknown " + std::string(what) + " '" + name + "'");
  }
  return *value;
}

}  // namespace

absl::StatusOr<Listing> ParseListingFile(std::string_view json) {
  google::protobuf::Struct doc;
  google::protobuf::util::JsonParseOptions options;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &doc, options).ok()) {
    return absl::InvalidArgumentError("the listing file is not a JSON object");
  }
  // In key order, so that of several mistakes the same one is named each time.
  std::vector<std::string> keys;
  for (const auto& field : doc.fields()) keys.push_back(field.first);
  std::sort(keys.begin(), keys.end());
  Listing l;
  for (const std::string& key : keys) {
    const Value& value = doc.fields().at(key);
    if (key == "category") {
      TRYGG_ASSIGN_OR_RETURN(std::string name, Text(key, value));
      TRYGG_ASSIGN_OR_RETURN(l.category, Named(NamedEnum::kServiceCategory, name, "category"));
    } else if (key == "regions") {
      TRYGG_ASSIGN_OR_RETURN(l.regions, Texts(key, value));
    } else if (key == "languages") {
      TRYGG_ASSIGN_OR_RETURN(l.languages, Texts(key, value));
    } else if (key == "target_groups" || key == "exploitation_forms") {
      const bool groups = key == "target_groups";
      TRYGG_ASSIGN_OR_RETURN(std::vector<std::string> names, Texts(key, value));
      for (const std::string& name : names) {
        TRYGG_ASSIGN_OR_RETURN(uint8_t n, groups ? Named(NamedEnum::kTargetGroup, name, "target group")
                                                 : Named(NamedEnum::kExploitationForm, name, "form of exploitation"));
        (groups ? l.target_groups : l.exploitation_forms) |= static_cast<uint8_t>(1u << (n - 1));
      }
    } else if (key == "capacity_free") {
      TRYGG_ASSIGN_OR_RETURN(int64_t n, Integer(key, value, std::numeric_limits<int32_t>::min(),
                                                std::numeric_limits<int32_t>::max()));
      l.capacity_free = static_cast<int32_t>(n);
    } else if (key == "response_time_hours") {
      TRYGG_ASSIGN_OR_RETURN(int64_t n, Integer(key, value, 0, std::numeric_limits<uint32_t>::max()));
      l.response_time_hours = static_cast<uint32_t>(n);
    } else if (key == "contact_hours") {
      TRYGG_ASSIGN_OR_RETURN(l.contact_hours, Text(key, value));
    } else if (key == "description") {
      TRYGG_ASSIGN_OR_RETURN(l.description, Text(key, value));
    } else {
      return absl::InvalidArgumentError("the listing file has an unknown key '" + key + "'");
    }
  }
  return l;
}

}  // namespace trygg
