// SPDX-License-Identifier: Apache-2.0

// A listing file: a service listing as an organisation admin writes it
// (docs/directory.md, "Listing files"), read into the Listing that
// DirectoryClient::Publish signs and sends.
//
//   {"category": "shelter", "regions": ["SE-AB"], "languages": ["ro", "sv"],
//    "target_groups": ["women", "children"], "exploitation_forms": ["sexual"],
//    "capacity_free": 2, "response_time_hours": 24,
//    "contact_hours": "Mon-Fri 08-17", "description": "..."}
//
// Names as trygg/names.h spells them. Every key may be left out; the
// directory's own checks (trygg/listing.h) run when the listing is published.
//
// Ownership: plain values. Thread-safety: a pure function.
// Failure modes: InvalidArgument for text that is not a JSON object, for an
// unknown key, a value of the wrong type, and an unknown name, each named.
#ifndef TRYGG_LISTING_FILE_H_
#define TRYGG_LISTING_FILE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "trygg/listing.h"

namespace trygg {

absl::StatusOr<Listing> ParseListingFile(std::string_view json);

}  // namespace trygg

#endif  // TRYGG_LISTING_FILE_H_
