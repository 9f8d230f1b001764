// SPDX-License-Identifier: Apache-2.0

#include "server/directory/hsds_export.h"

#include <ctime>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace trygg::directory {
namespace {

using nlohmann::json;

constexpr char kCategoryTaxonomy[] = "trygg-service-category";
constexpr char kTargetGroupTaxonomy[] = "trygg-target-group";
constexpr char kExploitationTaxonomy[] = "trygg-exploitation-form";
constexpr char kResponseTimeTaxonomy[] = "trygg-response-time";

// A stable UUID (version 8, RFC 9562 "custom") for an object derived from
// `parts`, so the same directory exports with the same ids every time.
std::string DerivedUuid(std::initializer_list<std::string_view> parts) {
  std::string input = "trygg/v1/hsds-id";
  for (std::string_view part : parts) {
    input.push_back('\0');
    input.append(part);
  }
  const Hash256 hash = Blake2b256(AsBytes(input));
  std::array<uint8_t, 16> id;
  std::copy_n(hash.data(), 16, id.begin());
  id[6] = static_cast<uint8_t>((id[6] & 0x0F) | 0x80);
  id[8] = static_cast<uint8_t>((id[8] & 0x3F) | 0x80);
  return UuidString(Id128(id));
}

std::string IdKey(const Id128& id) { return HexEncode(id.span()); }

// "legal-advice" (a trygg/names.h name) -> "Legal advice".
std::string Title(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = ' ';
  }
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

json Attribute(const std::string& service_id, std::string_view taxonomy, std::string_view code,
               std::string_view description, const std::string& value) {
  const std::string term_id = DerivedUuid({"term", taxonomy, code});
  json term = {{"id", term_id},
               {"code", std::string(code)},
               {"name", Title(code)},
               {"description", std::string(description)},
               {"taxonomy", std::string(taxonomy)}};
  json attribute = {{"id", DerivedUuid({"attribute", service_id, taxonomy, code})},
                    {"link_id", service_id},
                    {"link_type", "service"},
                    {"link_entity", "service"},
                    {"taxonomy_term_id", term_id},
                    {"taxonomy_term", std::move(term)}};
  if (!value.empty()) attribute["value"] = value;
  return attribute;
}

}  // namespace

std::string UuidString(const Id128& id) {
  const std::string hex = HexEncode(id.span());
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20, 12);
}

std::string Rfc3339(int64_t unix_ms) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
}

std::string ExportHsdsJson(const std::vector<ExportedOrganisation>& organisations,
                           const std::vector<ExportedListing>& listings, int64_t generated_at_ms) {
  std::map<std::string, json> orgs;
  for (const ExportedOrganisation& org : organisations) {
    orgs[IdKey(org.org_id)] = json{{"id", UuidString(org.org_id)},
                                   {"name", org.name},
                                   {"description", org.name + " (a Trygg member organisation)"}};
  }
  json services = json::array();
  for (const ExportedListing& exported : listings) {
    const Listing& l = exported.listing;
    const std::string service_id = UuidString(l.listing_id);
    const auto org = orgs.find(IdKey(l.org_id));
    const std::string org_name = org != orgs.end() ? org->second["name"].get<std::string>() : "";
    const std::string category(ServiceCategoryName(l.category));
    json service = {{"id", service_id},
                    {"organization_id", UuidString(l.org_id)},
                    {"name", Title(category) + (org_name.empty() ? "" : " — " + org_name)},
                    {"status", "active"}};
    if (!l.description.empty()) service["description"] = l.description;
    if (org != orgs.end()) service["organization"] = org->second;

    json areas = json::array();
    for (const std::string& region : l.regions) {
      json area = {{"id", DerivedUuid({"area", service_id, region})},
                   {"service_id", service_id},
                   {"name", region},
                   {"extent", region},
                   {"extent_type", "text"}};
      for (const Subdivision& county : SwedishCounties()) {
        if (county.code == region) area["description"] = std::string(county.name);
      }
      areas.push_back(std::move(area));
    }
    service["service_areas"] = std::move(areas);

    json languages = json::array();
    for (const std::string& tag : l.languages) {
      languages.push_back({{"id", DerivedUuid({"language", service_id, tag})},
                           {"service_id", service_id},
                           {"code", std::string(PrimaryLanguage(tag))},
                           {"note", "BCP 47: " + tag}});
    }
    service["languages"] = std::move(languages);

    if (!l.contact_hours.empty()) {
      service["schedules"] = json::array({{{"id", DerivedUuid({"schedule", service_id})},
                                           {"service_id", service_id},
                                           {"description", l.contact_hours}}});
    }

    json attributes = json::array();
    attributes.push_back(Attribute(service_id, kCategoryTaxonomy, category, "Service category", ""));
    for (uint8_t g = 1; g <= kMaxTargetGroup; ++g) {
      if (l.HasTargetGroup(static_cast<TargetGroup>(g))) {
        attributes.push_back(Attribute(service_id, kTargetGroupTaxonomy, TargetGroupName(g), "Target group", ""));
      }
    }
    for (uint8_t f = 1; f <= kMaxExploitationForm; ++f) {
      if (l.HasExploitationForm(static_cast<ExploitationForm>(f))) {
        attributes.push_back(Attribute(service_id, kExploitationTaxonomy, ExploitationFormName(f),
                                       "Form of exploitation the service works with", ""));
      }
    }
    attributes.push_back(Attribute(service_id, kResponseTimeTaxonomy, "response_time_hours",
                                   "Hours within which the service answers a referral",
                                   std::to_string(l.response_time_hours)));
    service["attributes"] = std::move(attributes);

    if (exported.capacity_free != kCapacityNotCounted) {
      // HSDS 3.1 service_capacity; 3.0 schemas accept it as an extra property.
      service["capacities"] = json::array({{{"id", DerivedUuid({"capacity", service_id})},
                                            {"service_id", service_id},
                                            {"unit", {{"id", DerivedUuid({"unit", "places"})}, {"name", "places"}}},
                                            {"available", exported.capacity_free},
                                            {"updated", Rfc3339(exported.capacity_at_ms)}}});
    }
    services.push_back(std::move(service));
  }
  json organizations = json::array();
  for (auto& [key, org] : orgs) organizations.push_back(org);
  json document = {{"hsds_version", "3.0"},
                   {"generated_at", Rfc3339(generated_at_ms)},
                   {"organizations", std::move(organizations)},
                   {"services", std::move(services)}};
  return document.dump();
}

}  // namespace trygg::directory
