// SPDX-License-Identifier: Apache-2.0

// The service directory (server/domain/directory.cc) in process: who may
// publish, update and retire a listing (every kind of caller), what a listing
// may say, revisions, search filters and order, stale capacity (by moving the
// FixedClock), and that each refusal has its code and changes nothing.
#include "server/domain/directory.h"

#include <catch2/catch.hpp>

#include "unit/server/domain/domain_world.h"

namespace trygg::domain_test {
namespace {

using domain::Caller;
using domain::ListingSearch;
using domain::Transaction;
using Code = absl::StatusCode;

struct DirectoryFixture {
  DomainWorld world;
  WorldOrg& a = world.AdmitOrganisation("A");
  WorldOrg& b = world.AdmitOrganisation("B");
  WorldDevice& anna = world.AddDevice(a, Role::kCaseworker);
  WorldDevice& coordinator = world.AddCoordinator("Samordnare");

  // Signed as is, without libtrygg's field checks: the server must refuse
  // what an honest client would never send.
  SignedObject Signed(const Listing& listing, const WorldDevice& signer) {
    auto bytes = SerializeListing(listing);
    REQUIRE(bytes.ok());
    return SignedObject{*bytes, Sign(signer.signing(), SigningContext::kListing, *bytes)};
  }
  absl::StatusOr<std::pair<Id128, uint64_t>> Publish(const Caller& caller, const SignedObject& listing) {
    return world.Write([&](Transaction& txn) { return world.directory().Publish(txn, caller, listing); });
  }
  SignedObject Capacity(const Listing& listing, const WorldDevice& signer, int32_t free, int64_t at_ms,
                        uint64_t revision = 0) {
    CapacityUpdate update{listing.listing_id, listing.org_id, revision == 0 ? listing.revision : revision, free,
                          at_ms, signer.device_id};
    std::vector<uint8_t> bytes = SerializeCapacityUpdate(update);
    return SignedObject{bytes, Sign(signer.signing(), SigningContext::kListingCapacity, bytes)};
  }
  absl::Status UpdateCapacity(const Caller& caller, const Id128& listing_id, const SignedObject& update) {
    return world.Write(
        [&](Transaction& txn) { return world.directory().UpdateCapacity(txn, caller, listing_id, update); });
  }
  SignedObject Retirement(const Listing& listing, const WorldDevice& signer) {
    return SignRetirement(trygg::Retirement{listing.listing_id, listing.org_id, listing.revision,
                                            world.clock().NowUnixMillis(), signer.device_id},
                          signer.signing());
  }
  absl::Status Retire(const Caller& caller, const Id128& listing_id, const SignedObject& retirement) {
    return world.Write(
        [&](Transaction& txn) { return world.directory().Retire(txn, caller, listing_id, retirement); });
  }
  absl::StatusOr<domain::ListingPage> Search(const Caller& caller, const ListingSearch& search, int page_size = 0,
                                            const std::string& token = "") {
    return world.Read(
        [&](Transaction& txn) { return world.directory().Search(txn, caller, search, page_size, token); });
  }
  absl::StatusOr<domain::ListingView> Get(const Caller& caller, const Id128& listing_id) {
    return world.Read([&](Transaction& txn) { return world.directory().Get(txn, caller, listing_id); });
  }
};

TEST_CASE_METHOD(DirectoryFixture, "publishing: only an admin of the listing's organisation", "[directory][authz]") {
  Listing listing = world.ListingDraft(a, ServiceCategory::kShelter, 48);
  const SignedObject signed_listing = Signed(listing, *a.admin);
  SECTION("a caseworker of the organisation") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Publish(anna.caller(), signed_listing); });
  }
  SECTION("another organisation's admin") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Publish(b.admin->caller(), signed_listing); });
  }
  SECTION("a coordinator") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Publish(coordinator.caller(), signed_listing); });
  }
  SECTION("signed by a caseworker, sent by the admin") {
    listing.signer_device = anna.device_id;
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Publish(a.admin->caller(), Signed(listing, anna)); });
  }
  SECTION("signed by a revoked admin") {
    WorldDevice& second = world.AddDevice(a, Role::kOrgAdmin);
    world.Revoke(a, second);
    listing.signer_device = second.device_id;
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Publish(a.admin->caller(), Signed(listing, second)); });
  }
  SECTION("a bad signature") {
    SignedObject forged = signed_listing;
    forged.signature = Signature();
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Publish(a.admin->caller(), forged); });
  }
  SECTION("the admin: stored, audited; a resend changes nothing") {
    const uint64_t audit_before = world.AuditSize();
    auto published = Publish(a.admin->caller(), signed_listing);
    REQUIRE(published.ok());
    CHECK(published->first == listing.listing_id);
    CHECK(published->second == 1);
    CHECK(world.AuditSize() == audit_before + 1);
    const std::string before = world.Snapshot();
    CHECK(Publish(a.admin->caller(), signed_listing).ok());
    CHECK(world.Snapshot() == before);
  }
}

TEST_CASE_METHOD(DirectoryFixture, "what a listing may say, and its revisions", "[directory]") {
  Listing listing = world.ListingDraft(a, ServiceCategory::kShelter, 48);
  SECTION("an unknown category") {
    listing.category = kMaxServiceCategory + 1;
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Publish(a.admin->caller(), Signed(listing, *a.admin)); });
  }
  SECTION("a response time beyond the limit") {
    listing.response_time_hours = kMaxResponseTimeHours + 1;
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Publish(a.admin->caller(), Signed(listing, *a.admin)); });
  }
  SECTION("a zero listing id") {
    listing.listing_id = Id128();
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Publish(a.admin->caller(), Signed(listing, *a.admin)); });
  }
  SECTION("a time too far in the future") {
    listing.created_at_ms = world.clock().NowUnixMillis() + domain::DirectoryOptions().max_future_skew_ms + 1;
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Publish(a.admin->caller(), Signed(listing, *a.admin)); });
  }
  SECTION("a new listing at revision 2") {
    listing.revision = 2;
    RefusedUnchanged(world, Code::kInvalidArgument, [&] { return Publish(a.admin->caller(), Signed(listing, *a.admin)); });
  }
  SECTION("revisions go up by one") {
    REQUIRE(Publish(a.admin->caller(), Signed(listing, *a.admin)).ok());
    Listing skip = listing;
    skip.revision = 3;
    RefusedUnchanged(world, Code::kAborted, [&] { return Publish(a.admin->caller(), Signed(skip, *a.admin)); });
    Listing same = listing;
    same.description = "changed without a new revision";
    RefusedUnchanged(world, Code::kAborted, [&] { return Publish(a.admin->caller(), Signed(same, *a.admin)); });
    Listing next = listing;
    next.revision = 2;
    next.description = "revision 2";
    CHECK(Publish(a.admin->caller(), Signed(next, *a.admin)).ok());
  }
  SECTION("another organisation may not take over the id") {
    REQUIRE(Publish(a.admin->caller(), Signed(listing, *a.admin)).ok());
    Listing taken = world.ListingDraft(b, ServiceCategory::kShelter, 48);
    taken.listing_id = listing.listing_id;
    taken.revision = 2;
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Publish(b.admin->caller(), Signed(taken, *b.admin)); });
  }
}

TEST_CASE_METHOD(DirectoryFixture, "capacity updates and retirement", "[directory][authz]") {
  Listing listing = world.ListingDraft(a, ServiceCategory::kShelter, 48);
  REQUIRE(Publish(a.admin->caller(), Signed(listing, *a.admin)).ok());
  world.clock().Advance(1000);
  const int64_t now = world.clock().NowUnixMillis();
  const SignedObject update = Capacity(listing, *a.admin, 0, now);
  SECTION("who may update") {
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return UpdateCapacity(anna.caller(), listing.listing_id, update); });
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return UpdateCapacity(b.admin->caller(), listing.listing_id, update); });
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return UpdateCapacity(coordinator.caller(), listing.listing_id, update); });
    const uint64_t audit_before = world.AuditSize();
    REQUIRE(UpdateCapacity(a.admin->caller(), listing.listing_id, update).ok());
    CHECK(world.AuditSize() == audit_before + 1);
    auto view = Get(anna.caller(), listing.listing_id);
    REQUIRE(view.ok());
    CHECK(view->row.capacity_free == 0);
  }
  SECTION("each broken rule") {
    RefusedUnchanged(world, Code::kInvalidArgument,
                     [&] { return UpdateCapacity(a.admin->caller(), world.NewId(0x11), update); });
    RefusedUnchanged(world, Code::kInvalidArgument, [&] {
      return UpdateCapacity(a.admin->caller(), listing.listing_id, Capacity(listing, *a.admin, -2, now));
    });
    RefusedUnchanged(world, Code::kAborted, [&] {
      return UpdateCapacity(a.admin->caller(), listing.listing_id, Capacity(listing, *a.admin, 1, now, 2));
    });
    RefusedUnchanged(world, Code::kAborted, [&] {
      return UpdateCapacity(a.admin->caller(), listing.listing_id,
                            Capacity(listing, *a.admin, 1, listing.created_at_ms));
    });
    RefusedUnchanged(world, Code::kPermissionDenied, [&] {
      return UpdateCapacity(a.admin->caller(), listing.listing_id, Capacity(listing, anna, 1, now));
    });
    Listing unknown = world.ListingDraft(a, ServiceCategory::kShelter, 48);
    RefusedUnchanged(world, Code::kNotFound, [&] {
      return UpdateCapacity(a.admin->caller(), unknown.listing_id, Capacity(unknown, *a.admin, 1, now));
    });
  }
  SECTION("retirement: only the admin, once; a retired listing changes no more") {
    const SignedObject retirement = Retirement(listing, *a.admin);
    RefusedUnchanged(world, Code::kPermissionDenied, [&] { return Retire(anna.caller(), listing.listing_id, retirement); });
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Retire(coordinator.caller(), listing.listing_id, retirement); });
    RefusedUnchanged(world, Code::kPermissionDenied,
                     [&] { return Retire(b.admin->caller(), listing.listing_id, retirement); });
    REQUIRE(Retire(a.admin->caller(), listing.listing_id, retirement).ok());
    const std::string before = world.Snapshot();
    CHECK(Retire(a.admin->caller(), listing.listing_id, retirement).ok());  // a resend
    CHECK(world.Snapshot() == before);
    world.clock().Advance(1);
    RefusedUnchanged(world, Code::kFailedPrecondition,
                     [&] { return Retire(a.admin->caller(), listing.listing_id, Retirement(listing, *a.admin)); });
    RefusedUnchanged(world, Code::kFailedPrecondition,
                     [&] { return UpdateCapacity(a.admin->caller(), listing.listing_id, update); });
    Listing next = listing;
    next.revision = 2;
    RefusedUnchanged(world, Code::kFailedPrecondition, [&] { return Publish(a.admin->caller(), Signed(next, *a.admin)); });
    // Still readable, marked retired; no longer found by search.
    auto view = Get(anna.caller(), listing.listing_id);
    REQUIRE(view.ok());
    CHECK(view->row.retired);
    auto found = Search(anna.caller(), ListingSearch());
    REQUIRE(found.ok());
    CHECK(found->listings.empty());
  }
}

TEST_CASE_METHOD(DirectoryFixture, "search: filters, open capacity first, paging, and every caller may read",
                 "[directory]") {
  Listing shelter = world.ListingDraft(a, ServiceCategory::kShelter, 48);
  shelter.capacity_free = 0;
  Listing legal = world.ListingDraft(b, ServiceCategory::kLegalAdvice, 48);
  legal.regions = {"SE-O"};
  legal.languages = {"ro"};
  legal.capacity_free = 2;
  REQUIRE(Publish(a.admin->caller(), Signed(shelter, *a.admin)).ok());
  REQUIRE(Publish(b.admin->caller(), Signed(legal, *b.admin)).ok());

  for (const Caller& caller : {anna.caller(), a.admin->caller(), coordinator.caller()}) {
    auto all = Search(caller, ListingSearch());
    REQUIRE(all.ok());
    REQUIRE(all->listings.size() == 2);
    CHECK(all->listings[0].row.listing_id == legal.listing_id);  // open capacity first
    CHECK(all->listings[1].row.listing_id == shelter.listing_id);
  }
  ListingSearch by_category;
  by_category.category = static_cast<uint8_t>(ServiceCategory::kShelter);
  ListingSearch by_region;
  by_region.region = "SE-O";
  ListingSearch by_language;
  by_language.language = "ro";
  ListingSearch open_only;
  open_only.open_capacity_only = true;
  for (const auto& [search, expected] : std::vector<std::pair<ListingSearch, Id128>>{
           {by_category, shelter.listing_id},
           {by_region, legal.listing_id},
           {by_language, legal.listing_id},
           {open_only, legal.listing_id}}) {
    auto found = Search(anna.caller(), search);
    REQUIRE(found.ok());
    REQUIRE(found->listings.size() == 1);
    CHECK(found->listings.front().row.listing_id == expected);
  }
  auto first = Search(anna.caller(), ListingSearch(), 1);
  REQUIRE(first.ok());
  REQUIRE(first->listings.size() == 1);
  REQUIRE_FALSE(first->next_page_token.empty());
  auto second = Search(anna.caller(), ListingSearch(), 1, first->next_page_token);
  REQUIRE(second.ok());
  REQUIRE(second->listings.size() == 1);
  CHECK(second->listings.front().row.listing_id != first->listings.front().row.listing_id);
  CHECK(second->next_page_token.empty());

  ListingSearch bad_category;
  bad_category.category = kMaxServiceCategory + 1;
  ListingSearch bad_region;
  bad_region.region = "Narnia";
  TRYGG_CHECK_CODE(Search(anna.caller(), bad_category), Code::kInvalidArgument);
  TRYGG_CHECK_CODE(Search(anna.caller(), bad_region), Code::kInvalidArgument);
  TRYGG_CHECK_CODE(Search(anna.caller(), ListingSearch(), -1), Code::kInvalidArgument);
  TRYGG_CHECK_CODE(Search(anna.caller(), ListingSearch(), 1, "not a token"), Code::kInvalidArgument);
  TRYGG_CHECK_CODE(Get(anna.caller(), world.NewId(0x11)), Code::kNotFound);
}

TEST_CASE_METHOD(DirectoryFixture, "capacity goes stale after its time, by the clock, not by sleeping",
                 "[directory]") {
  Listing counted = world.ListingDraft(a, ServiceCategory::kShelter, 48);
  Listing uncounted = world.ListingDraft(a, ServiceCategory::kCounselling, 48);
  uncounted.capacity_free = kCapacityNotCounted;
  REQUIRE(Publish(a.admin->caller(), Signed(counted, *a.admin)).ok());
  REQUIRE(Publish(a.admin->caller(), Signed(uncounted, *a.admin)).ok());
  const int64_t stale_after = domain::DirectoryOptions().capacity_stale_ms;
  auto stale = [&](const Listing& listing) {
    auto view = Get(anna.caller(), listing.listing_id);
    REQUIRE(view.ok());
    return view->capacity_stale;
  };
  world.clock().Advance(stale_after);
  CHECK_FALSE(stale(counted));
  world.clock().Advance(1);
  CHECK(stale(counted));
  CHECK_FALSE(stale(uncounted));  // nothing to go stale
  // A fresh update makes it current again.
  REQUIRE(UpdateCapacity(a.admin->caller(), counted.listing_id,
                         Capacity(counted, *a.admin, 1, world.clock().NowUnixMillis()))
              .ok());
  CHECK_FALSE(stale(counted));
}

TEST_CASE_METHOD(DirectoryFixture, "the HSDS export holds the active listings, for every caller", "[directory]") {
  Listing kept = world.ListingDraft(a, ServiceCategory::kShelter, 48);
  Listing retired = world.ListingDraft(b, ServiceCategory::kLegalAdvice, 48);
  REQUIRE(Publish(a.admin->caller(), Signed(kept, *a.admin)).ok());
  REQUIRE(Publish(b.admin->caller(), Signed(retired, *b.admin)).ok());
  REQUIRE(Retire(b.admin->caller(), retired.listing_id, Retirement(retired, *b.admin)).ok());
  for (const Caller& caller : {anna.caller(), a.admin->caller(), coordinator.caller()}) {
    auto active = world.Read([&](Transaction& txn) { return world.directory().AllActive(txn, caller); });
    REQUIRE(active.ok());
    REQUIRE(active->size() == 1);
    CHECK(active->front().row.listing_id == kept.listing_id);
    auto json = world.Read([&](Transaction& txn) { return world.directory().ExportHsds(txn, caller); });
    REQUIRE(json.ok());
    CHECK(json->find("\"A\"") != std::string::npos);  // the organisation's certified name
    CHECK(json->find("\"B\"") == std::string::npos);
  }
}

TEST_CASE_METHOD(DirectoryFixture, "a referral route names the listing's organisation and retirement",
                 "[directory]") {
  Listing listing = world.ListingDraft(b, ServiceCategory::kInterpreting, 12);
  REQUIRE(Publish(b.admin->caller(), Signed(listing, *b.admin)).ok());
  auto route = world.Read([&](Transaction& txn) { return domain::Directory::RouteFor(txn, listing.listing_id); });
  REQUIRE(route.ok());
  CHECK(route->org_id == b.org_id);
  CHECK(route->category == static_cast<uint8_t>(ServiceCategory::kInterpreting));
  CHECK(route->response_time_hours == 12);
  CHECK_FALSE(route->retired);
  TRYGG_CHECK_CODE(
      world.Read([&](Transaction& txn) { return domain::Directory::RouteFor(txn, world.NewId(0x11)); }),
      Code::kNotFound);
}

}  // namespace
}  // namespace trygg::domain_test
