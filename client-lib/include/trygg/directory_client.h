// SPDX-License-Identifier: Apache-2.0

// DirectoryClient: the service directory from a device. Org admins publish,
// update the capacity of and retire their organisation's listings, each
// signed here with the device key (trygg/listing.h); anyone logged in
// searches, reads and exports. Every listing the server returns is verified
// before it is handed out: its signed revision, capacity update and
// retirement against the organisation log that Client::FetchOrgLog verified
// to the pinned root (signed by an active admin device of that
// organisation); the returned fields come from the signed bytes, never from
// the server's copy of them.
//
// Ownership: borrows the Client (logged in), the device's key store contents
// and the clock and generator; all must outlive the DirectoryClient.
// Thread-safety: safe to call from several threads; a DirectoryClient keeps
// no state of its own, so calls run in parallel over the (thread-safe)
// Client. The Clock and Rng given must be safe to share (SystemClock and
// SystemRng are).
// Failure modes: server statuses as the Client returns them (INVALID_ARGUMENT
// naming the field, PERMISSION_DENIED, NOT_FOUND, ABORTED for a revision
// race); local validation failures as InvalidArgument naming the field;
// verification failures carry a CryptoError (kBadSignature,
// kUnauthorisedSigner, kFieldMismatch, kMalformed).
#ifndef TRYGG_DIRECTORY_CLIENT_H_
#define TRYGG_DIRECTORY_CLIENT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/listing.h"

namespace trygg {

// A listing whose signatures this client checked.
struct VerifiedListing {
  Listing listing;
  // From the verified capacity update when there is one, else the listing.
  int32_t capacity_free = kCapacityNotCounted;
  int64_t capacity_updated_at_ms = 0;
  std::optional<CapacityUpdate> capacity_update;
  std::optional<Retirement> retirement;
  bool retired() const { return retirement.has_value(); }
  // The server's judgement (its configured maximum age).
  bool capacity_stale = false;
};

struct ListingQuery {
  uint8_t category = 0;           // ServiceCategory number; 0 any
  std::string region;             // ISO 3166-2; "" any
  std::string language;           // BCP 47; "" any
  uint8_t target_group = 0;       // TargetGroup number; 0 any
  uint8_t exploitation_form = 0;  // ExploitationForm number; 0 any
  bool open_capacity_only = false;
  int page_size = 0;              // 0: the server's default
  std::string page_token;
};

struct ListingResults {
  // Only listings that verified.
  std::vector<VerifiedListing> listings;
  std::string next_page_token;  // "" at the end
  // Listings the server returned that did not verify (e.g. signed by an
  // admin device revoked since, or edited by the server) are left out and
  // counted here, with the first failure, so one bad listing does not hide
  // the others. A caller should show that some results were withheld.
  int rejected = 0;
  absl::Status first_rejection;
};

// The signed objects as the server returned them (for tools and tests).
struct SignedListingObjects {
  SignedObject listing;
  std::optional<SignedObject> capacity_update;
  std::optional<SignedObject> retirement;
};

class DirectoryClient {
 public:
  DirectoryClient(Client& client, const KeyStoreContents& self, Clock& clock, Rng& rng)
      : client_(client), self_(self), clock_(clock), rng_(rng) {}

  // Publishes `listing` for this device's organisation. A zero listing_id
  // makes a new listing (random id, revision 1); otherwise the next revision
  // of the stored one. org_id, signer_device, created_at and revision are
  // filled in here; regions and languages are canonicalised, then every
  // field is validated before anything is sent. Returns the verified result.
  absl::StatusOr<VerifiedListing> Publish(Listing listing);
  // Signs and sends {listing id, current revision, places, now}.
  absl::Status UpdateCapacity(const Id128& listing_id, int32_t capacity_free);
  absl::Status Retire(const Id128& listing_id);

  absl::StatusOr<VerifiedListing> Get(const Id128& listing_id);
  absl::StatusOr<ListingResults> Search(const ListingQuery& query);
  // The whole directory as HSDS 3 JSON, as the server made it.
  absl::StatusOr<std::string> ExportHsds();

  // Lower level, for tools and tests: sends already-signed objects.
  absl::StatusOr<std::pair<Id128, uint64_t>> PublishSigned(const SignedObject& signed_listing);
  absl::Status UpdateCapacitySigned(const Id128& listing_id, const SignedObject& signed_update);
  absl::Status RetireSigned(const Id128& listing_id, const SignedObject& signed_retirement);
  // The raw signed objects of a listing, unverified.
  absl::StatusOr<SignedListingObjects> GetSigned(const Id128& listing_id);

  // Verifies what the server sent against the organisation's verified log
  // (fetched once per organisation per call).
  absl::StatusOr<VerifiedListing> Verify(const SignedListingObjects& objects, bool capacity_stale,
                                         std::map<Id128, OrgLogState>& logs);

 private:
  Client& client_;
  const KeyStoreContents& self_;
  Clock& clock_;
  Rng& rng_;
};

}  // namespace trygg

#endif  // TRYGG_DIRECTORY_CLIENT_H_
