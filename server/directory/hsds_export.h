// SPDX-License-Identifier: Apache-2.0

// The directory as Open Referral HSDS 3 JSON (DESIGN.md, "Service
// directory"; ../shared/standards/README.md, "Notes for the directory
// export"). One document:
//   {"hsds_version": "3.0", "generated_at": ..., "organizations": [...],
//    "services": [...]}
// where each service is a dereferenced HSDS service: its `organization`,
// `service_areas` (one per ISO 3166-2 region, the code in name and extent),
// `languages` (ISO 639 code = the BCP 47 language subtag; the full tag in
// `note`), `schedules` (contact hours as free text), `attributes` (category,
// target groups, forms of exploitation and response time as taxonomy terms of
// Trygg's own taxonomies) and `capacities`, HSDS 3.1's service_capacity shape
// ({id, service_id, unit, available, updated}) for services that count places.
// Ids are UUIDs: listing and organisation ids as they are, derived objects'
// ids from a hash (stable between exports).
//
// Pure function of its input; thread-safe.
#ifndef TRYGG_SERVER_DIRECTORY_HSDS_EXPORT_H_
#define TRYGG_SERVER_DIRECTORY_HSDS_EXPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "trygg/bytes.h"
#include "trygg/listing.h"

namespace trygg::directory {

struct ExportedListing {
  Listing listing;
  // Current places and when they were stated (from the newest capacity update).
  int32_t capacity_free = kCapacityNotCounted;
  int64_t capacity_at_ms = 0;
  bool capacity_stale = false;
};

struct ExportedOrganisation {
  Id128 org_id;
  std::string name;
};

// `organisations` must include every listing's organisation. Output is
// compact JSON (UTF-8), deterministic for the same input.
std::string ExportHsdsJson(const std::vector<ExportedOrganisation>& organisations,
                           const std::vector<ExportedListing>& listings, int64_t generated_at_ms);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case.
std::string UuidString(const Id128& id);
// RFC 3339 UTC with milliseconds: "2026-11-28T13:31:47.123Z".
std::string Rfc3339(int64_t unix_ms);

}  // namespace trygg::directory

#endif  // TRYGG_SERVER_DIRECTORY_HSDS_EXPORT_H_
