// SPDX-License-Identifier: Apache-2.0

// The rules of the service directory (DESIGN.md, "Service directory"): who
// may publish, update and retire a listing, what a listing may say, how
// searches filter and order, and when capacity is stale.
//
// The signed bytes (trygg/listing.h, docs/protocol.md section 13) are the
// authority: the server parses them, validates every field (INVALID_ARGUMENT
// naming the field), checks that the signer is an active admin device of the
// listing's organisation in its device registry and that the signature
// verifies, and stores the bytes unchanged so clients can verify them
// against the organisation log themselves. Every change records an audit
// entry in the same transaction; a write that fails changes nothing.
//
// Authorisation: publish, capacity updates and retirement need an org admin
// of the listing's organisation (PERMISSION_DENIED otherwise, also for a
// listing id that belongs to another organisation); reads need any
// authenticated caller (the api layer authenticates).
//
// Thread-safety: immutable after construction; methods may run concurrently,
// each in its own transaction. The clock must outlive the Directory.
// Failure modes: INVALID_ARGUMENT bad input; PERMISSION_DENIED as above;
// NOT_FOUND unknown listing; ABORTED a revision that is not the next one, or
// a capacity update for an older revision; FAILED_PRECONDITION a retired
// listing; storage faults as the store reports them.
#ifndef TRYGG_SERVER_DOMAIN_DIRECTORY_H_
#define TRYGG_SERVER_DOMAIN_DIRECTORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/caller.h"
#include "server/domain/directory_tables.h"
#include "server/domain/store.h"
#include "trygg/listing.h"
#include "trygg/random.h"

namespace trygg::domain {

struct DirectoryOptions {
  // Capacity stated longer ago than this is reported as stale.
  int64_t capacity_stale_ms = int64_t{24} * 3600 * 1000;
  // How far in the future a signed time may be (clock skew between devices).
  int64_t max_future_skew_ms = 5 * 60 * 1000;
};

// A listing as the directory serves it.
struct ListingView {
  ListingRow row;
  Listing listing;  // parsed from row.listing (already validated when stored)
  bool capacity_stale = false;
};

struct ListingPage {
  std::vector<ListingView> listings;
  // Empty when there are no more results.
  std::string next_page_token;
};

// What referral creation needs to know about a listing.
struct ListingRoute {
  Id128 org_id;
  uint8_t category = 0;  // trygg.v1.ServiceCategory number
  uint32_t response_time_hours = 0;
  bool retired = false;
};

struct ListingSearch {
  uint8_t category = 0;          // 0: any
  std::string region;            // "": any; else an ISO 3166-2 code
  std::string language;          // "": any; else a BCP 47 tag
  uint8_t target_group = 0;      // 0: any; else a TargetGroup number
  uint8_t exploitation_form = 0; // 0: any; else an ExploitationForm number
  bool open_capacity_only = false;
};

inline constexpr int kDefaultListingPageSize = 50;
inline constexpr int kMaxListingPageSize = 200;

class Directory {
 public:
  Directory(Clock& clock, DirectoryOptions options) : clock_(clock), options_(options) {}

  // Publishes revision 1 of a new listing or the next revision of an
  // existing one. Resending the stored revision's exact bytes returns it.
  // Returns the listing id and revision.
  absl::StatusOr<std::pair<Id128, uint64_t>> Publish(Transaction& txn, const Caller& caller,
                                                     const SignedObject& signed_listing) const;
  // `listing_id` is the id the request named; it must match the signed one.
  absl::Status UpdateCapacity(Transaction& txn, const Caller& caller, const Id128& listing_id,
                              const SignedObject& signed_update) const;
  absl::Status Retire(Transaction& txn, const Caller& caller, const Id128& listing_id,
                      const SignedObject& signed_retirement) const;

  // Also returns retired listings (with their retirement).
  absl::StatusOr<ListingView> Get(Transaction& txn, const Caller& caller, const Id128& listing_id) const;
  // page_size: 0 means the default; negative is INVALID_ARGUMENT; capped.
  absl::StatusOr<ListingPage> Search(Transaction& txn, const Caller& caller, const ListingSearch& search,
                                     int page_size, const std::string& page_token) const;
  // Every active listing, for the HSDS export.
  absl::StatusOr<std::vector<ListingView>> AllActive(Transaction& txn, const Caller& caller) const;
  // The whole active directory as HSDS 3 JSON (server/directory/hsds_export.h).
  absl::StatusOr<std::string> ExportHsds(Transaction& txn, const Caller& caller) const;

  // For referral creation (issue 5): the listing's organisation, category,
  // response time and whether it is retired. NOT_FOUND for an unknown id.
  static absl::StatusOr<ListingRoute> RouteFor(Transaction& txn, const Id128& listing_id);

  const DirectoryOptions& options() const { return options_; }

 private:
  absl::StatusOr<ListingView> View(ListingRow row, int64_t now_ms) const;
  // `signer` is an active admin device of `org_id` and signed `object`
  // (with the result `caller` brings from before the write, if any).
  absl::Status CheckSigner(Transaction& txn, const Caller& caller, const Id128& org_id, const Id128& signer,
                           const SignedObject& object) const;

  Clock& clock_;
  const DirectoryOptions options_;
};

// The opaque page token for a search cursor, and its parser
// (INVALID_ARGUMENT "page_token" for anything this server did not make).
std::string EncodeListingPageToken(const ListingCursor& cursor);
absl::StatusOr<ListingCursor> DecodeListingPageToken(const std::string& token);

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_DIRECTORY_H_
