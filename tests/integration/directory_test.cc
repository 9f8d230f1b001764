// SPDX-License-Identifier: Apache-2.0

// The service directory end to end: the client library against a real tryggd
// with a real SQLite file. Publishing, capacity updates and retirement by org
// admins; every filter combination, the order and paging of searches; stale
// capacity; every bad input (INVALID_ARGUMENT naming the field, nothing
// stored); authorisation; signatures checked by the server and by clients
// (also against a database edited behind their backs); the audit entries;
// and the HSDS export validated against the HSDS 3 schemas.

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "trygg/audit/audit_entry.h"
#include "testing/temp_dir.h"
#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/crypto_error.h"
#include "trygg/directory_client.h"
#include "trygg/v1/audit.grpc.pb.h"
#include "trygg/v1/directory.grpc.pb.h"


namespace trygg {
namespace {

using testing::TestDevice;
using testing::Exec;
using testing::QueryInt;
using testing::TrustWorld;

std::string Str(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }
std::string HexLiteral(std::span<const uint8_t> bytes) { return "x'" + HexEncode(bytes) + "'"; }

// Every table the directory writes, and the audit log, as row counts: what
// "nothing stored" is checked against.
std::string Snapshot(const std::string& db) {
  return std::to_string(QueryInt(db, "SELECT count(*) FROM listings")) + "/" +
         std::to_string(QueryInt(db, "SELECT count(*) FROM listing_regions")) + "/" +
         std::to_string(QueryInt(db, "SELECT count(*) FROM listing_languages")) + "/" +
         std::to_string(QueryInt(db, "SELECT total(revision) + total(capacity_free) + total(capacity_at) + "
                                     "total(retired) FROM listings")) +
         "/" + std::to_string(QueryInt(db, "SELECT count(*) FROM audit_entries"));
}

uint8_t Bit(int n) { return static_cast<uint8_t>(1u << (n - 1)); }

Listing Shelter() {
  Listing l;
  l.category = static_cast<uint8_t>(ServiceCategory::kShelter);
  l.regions = {"SE-AB", "SE-O"};
  l.languages = {"ro", "sv"};
  l.target_groups = Bit(1) | Bit(3);
  l.exploitation_forms = Bit(1);
  l.capacity_free = 2;
  l.response_time_hours = 24;
  l.contact_hours = "Dygnet runt";
  l.description = "Skyddat boende för kvinnor med barn.";
  return l;
}

// A listing signed here exactly as the caller shapes it (for bad input and
// backdated times), by the admin device `admin`.
SignedObject SignRaw(const TestDevice& admin, Listing l) {
  l.org_id = admin.keys.org_id;
  l.signer_device = admin.keys.device_id;
  auto bytes = SerializeListing(l);
  REQUIRE(bytes.ok());
  SignedObject object;
  object.bytes = *bytes;
  object.signature = Sign(admin.keys.device.signing(), SigningContext::kListing, object.bytes);
  return object;
}

// The audit entries `reader` may read: those naming its organisation.
std::vector<audit::AuditEvent> AuditEvents(const TestDevice& reader) {
  auto stub = trygg::v1::AuditService::NewStub(reader.client->channel());
  std::vector<audit::AuditEvent> events;
  std::string token;
  do {
    auto context = reader.client->NewCallContext();
    trygg::v1::ListEntriesRequest request;
    request.set_page_token(token);
    trygg::v1::ListEntriesResponse response;
    REQUIRE(stub->ListEntries(context.get(), request, &response).ok());
    for (const auto& entry : response.entries()) {
      auto event = audit::DecodeAuditEvent(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(entry.entry().data()), entry.entry().size()));
      REQUIRE(event.ok());
      events.push_back(*event);
    }
    token = response.next_page_token();
  } while (!token.empty());
  return events;
}

int CountKind(const std::vector<audit::AuditEvent>& events, audit::AuditEventKind kind) {
  return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.kind == kind; }));
}

struct DirectoryWorld {
  TrustWorld world;
  TestDevice* admin_a = nullptr;
  TestDevice* admin_b = nullptr;
  TestDevice* caseworker_a = nullptr;
  explicit DirectoryWorld(std::vector<std::string> args = {}) : world(std::move(args)) {
    REQUIRE(world.ok());
    admin_a = &world.AdmitOrganisation("Kvinnojouren Stockholm");
    admin_b = &world.AdmitOrganisation("Juristbyrån Göteborg");
    caseworker_a = &world.AddDevice(*admin_a, Role::kCaseworker);
  }
  DirectoryClient For(TestDevice& device) { return DirectoryClient(*device.client, device.keys, world.clock(), world.rng()); }
};

TEST_CASE("an org admin publishes, revises, updates capacity and retires, and clients verify", "[directory]") {
  DirectoryWorld d;
  DirectoryClient admin = d.For(*d.admin_a);
  DirectoryClient caseworker = d.For(*d.caseworker_a);

  Listing draft = Shelter();
  draft.regions = {"se-ab", "SE-O"};  // canonicalised by the client
  draft.languages = {"RO", "sv"};
  auto published = admin.Publish(draft);
  REQUIRE(published.ok());
  const Id128 id = published->listing.listing_id;
  CHECK(published->listing.revision == 1);
  CHECK(published->listing.regions == std::vector<std::string>{"SE-AB", "SE-O"});
  CHECK(published->listing.languages == std::vector<std::string>{"ro", "sv"});
  CHECK(published->capacity_free == 2);
  CHECK_FALSE(published->capacity_stale);
  CHECK_FALSE(published->retired());

  auto seen = caseworker.Get(id);
  REQUIRE(seen.ok());
  CHECK(seen->listing == published->listing);

  REQUIRE(admin.UpdateCapacity(id, 0).ok());
  seen = caseworker.Get(id);
  REQUIRE(seen.ok());
  CHECK(seen->capacity_free == 0);
  REQUIRE(seen->capacity_update.has_value());
  CHECK(seen->capacity_updated_at_ms >= published->capacity_updated_at_ms);

  Listing next = published->listing;
  next.description = "Nu även för män.";
  next.target_groups |= Bit(2);
  auto revised = admin.Publish(next);
  REQUIRE(revised.ok());
  CHECK(revised->listing.revision == 2);
  CHECK(revised->listing.description == "Nu även för män.");
  // A new revision carries its own capacity; the old update no longer applies.
  CHECK(revised->capacity_free == 2);
  CHECK_FALSE(revised->capacity_update.has_value());

  SECTION("resending the same signed objects is a no-op") {
    auto raw = admin.GetSigned(id);
    REQUIRE(raw.ok());
    const std::string before = Snapshot(d.world.db_path());
    auto again = admin.PublishSigned(raw->listing);
    REQUIRE(again.ok());
    CHECK(again->second == 2);
    CHECK(Snapshot(d.world.db_path()) == before);
  }
  SECTION("retirement hides the listing from search but Get shows it, verified") {
    REQUIRE(admin.Retire(id).ok());
    auto retired = caseworker.Get(id);
    REQUIRE(retired.ok());
    CHECK(retired->retired());
    ListingQuery all;
    auto results = caseworker.Search(all);
    REQUIRE(results.ok());
    CHECK(results->listings.empty());
    CHECK(admin.UpdateCapacity(id, 3).code() == absl::StatusCode::kFailedPrecondition);
    CHECK(admin.Publish(revised->listing).status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(admin.Retire(id).code() == absl::StatusCode::kFailedPrecondition);
  }

  auto events = AuditEvents(*d.admin_a);
  CHECK(CountKind(events, audit::AuditEventKind::kListingPublished) == 2);
  CHECK(CountKind(events, audit::AuditEventKind::kListingCapacityUpdated) == 1);
  for (const auto& e : events) {
    if (e.kind == audit::AuditEventKind::kListingPublished) {
      CHECK(e.listing_id == id.array());
      CHECK(e.actor_org_id == d.admin_a->keys.org_id.array());
      CHECK(e.service == static_cast<uint8_t>(ServiceCategory::kShelter));
      CHECK(e.number == 2);
    }
  }
}

TEST_CASE("retirement is audited", "[directory]") {
  DirectoryWorld d;
  DirectoryClient admin = d.For(*d.admin_a);
  auto published = admin.Publish(Shelter());
  REQUIRE(published.ok());
  REQUIRE(admin.Retire(published->listing.listing_id).ok());
  auto events = AuditEvents(*d.admin_a);
  CHECK(CountKind(events, audit::AuditEventKind::kListingRetired) == 1);
}

TEST_CASE("every bad input is INVALID_ARGUMENT naming the field, and nothing is stored", "[directory]") {
  DirectoryWorld d;
  DirectoryClient admin = d.For(*d.admin_a);
  auto base = admin.Publish(Shelter());
  REQUIRE(base.ok());
  const std::string before = Snapshot(d.world.db_path());

  struct Bad {
    const char* field;
    std::function<void(Listing&)> edit;
    // The client library canonicalises this one from user input.
    bool client_fixes = false;
  };
  const std::vector<Bad> cases = {
      {"category", [](Listing& l) { l.category = 0; }},
      {"category", [](Listing& l) { l.category = 42; }},
      {"languages[1]", [](Listing& l) { l.languages = {"ro", "romanian"}; }},
      {"languages[0]", [](Listing& l) { l.languages = {"ro_RO"}; }},
      {"languages[0]", [](Listing& l) { l.languages = {"x-klingon"}; }},
      {"languages[0]", [](Listing& l) { l.languages = {"sv-se"}; }, true},  // not canonical
      {"regions[0]", [](Listing& l) { l.regions = {"Stockholm"}; }},
      {"regions[1]", [](Listing& l) { l.regions = {"SE-AB", "SE-Q"}; }},  // no such county
      {"regions[0]", [](Listing& l) { l.regions = {"SEAB"}; }},
      {"regions", [](Listing& l) { l.regions = {}; }},
      {"capacity_free", [](Listing& l) { l.capacity_free = -2; }},
      {"capacity_free", [](Listing& l) { l.capacity_free = INT32_MIN; }},
      {"description", [](Listing& l) { l.description = std::string(4097, 'a'); }},
      {"description", [](Listing& l) { l.description = "\xc3\x28"; }},
      {"contact_hours", [](Listing& l) { l.contact_hours = std::string(201, 'h'); }},
      {"response_time_hours", [](Listing& l) { l.response_time_hours = 0; }},
      {"target_groups", [](Listing& l) { l.target_groups = 0x80; }},
      {"exploitation_forms", [](Listing& l) { l.exploitation_forms = 0x80; }},
      {"revision", [](Listing& l) { l.revision = 0; }},
  };
  for (const Bad& bad : cases) {
    for (bool revision_of_existing : {false, true}) {
      Listing l = Shelter();
      l.created_at_ms = d.world.clock().NowUnixMillis();
      if (revision_of_existing) {
        l.listing_id = base->listing.listing_id;
        l.revision = 2;
      } else {
        d.world.rng().Fill(l.listing_id.span());
        l.revision = 1;
      }
      bad.edit(l);
      auto status = admin.PublishSigned(SignRaw(*d.admin_a, l)).status();
      INFO(bad.field << " -> " << status.ToString());
      CHECK(status.code() == absl::StatusCode::kInvalidArgument);
      CHECK(std::string(status.message()).starts_with(std::string(bad.field) + ":"));
      // The client refuses the same listing before sending it.
      if (!revision_of_existing && !bad.client_fixes && std::string(bad.field) != "revision") {
        Listing fresh = l;
        fresh.listing_id = Id128();
        CHECK(admin.Publish(fresh).status().code() == absl::StatusCode::kInvalidArgument);
      }
    }
  }
  SECTION("capacity updates") {
    const Listing& l = base->listing;
    CapacityUpdate u{l.listing_id, l.org_id, l.revision, -2, d.world.clock().NowUnixMillis(),
                     d.admin_a->keys.device_id};
    SignedObject raw;
    raw.bytes = SerializeCapacityUpdate(u);
    raw.signature = Sign(d.admin_a->keys.device.signing(), SigningContext::kListingCapacity, raw.bytes);
    auto status = admin.UpdateCapacitySigned(l.listing_id, raw);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(status.message()).starts_with("capacity_free:"));
    CHECK(admin.UpdateCapacity(l.listing_id, -5).code() == absl::StatusCode::kInvalidArgument);
    // The update names another listing than the request.
    u.capacity_free = 1;
    raw.bytes = SerializeCapacityUpdate(u);
    raw.signature = Sign(d.admin_a->keys.device.signing(), SigningContext::kListingCapacity, raw.bytes);
    Id128 other;
    d.world.rng().Fill(other.span());
    status = admin.UpdateCapacitySigned(other, raw);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(status.message()).starts_with("listing_id:"));
    // A listing sent where a capacity update belongs.
    auto listing_bytes = admin.GetSigned(l.listing_id);
    CHECK(admin.UpdateCapacitySigned(l.listing_id, listing_bytes->listing).code() ==
          absl::StatusCode::kInvalidArgument);
    // A time in the future.
    u.updated_at_ms = d.world.clock().NowUnixMillis() + 3600'000;
    raw.bytes = SerializeCapacityUpdate(u);
    raw.signature = Sign(d.admin_a->keys.device.signing(), SigningContext::kListingCapacity, raw.bytes);
    CHECK(admin.UpdateCapacitySigned(l.listing_id, raw).code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("malformed bytes and signatures") {
    SignedObject garbage;
    garbage.bytes = {1, 2, 3};
    auto status = admin.PublishSigned(garbage).status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(status.message()).starts_with("listing.signed"));
    auto stub = trygg::v1::DirectoryService::NewStub(d.admin_a->client->channel());
    auto context = d.admin_a->client->NewCallContext();
    trygg::v1::PublishListingRequest request;
    request.mutable_listing()->mutable_signed_()->set_bytes("x");
    request.mutable_listing()->mutable_signed_()->set_signature("short");
    trygg::v1::PublishListingResponse response;
    CHECK(stub->PublishListing(context.get(), request, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("bad search filters and page tokens") {
    DirectoryClient reader = d.For(*d.caseworker_a);
    ListingQuery q;
    q.region = "Sverige";
    CHECK(std::string(reader.Search(q).status().message()).starts_with("region:"));
    q = {};
    q.language = "swedish";
    CHECK(std::string(reader.Search(q).status().message()).starts_with("language:"));
    q = {};
    q.category = 77;
    CHECK(std::string(reader.Search(q).status().message()).starts_with("category:"));
    q = {};
    q.target_group = 9;
    CHECK(std::string(reader.Search(q).status().message()).starts_with("target_group:"));
    q = {};
    q.exploitation_form = 9;
    CHECK(std::string(reader.Search(q).status().message()).starts_with("exploitation_form:"));
    q = {};
    q.page_token = "not-a-token";
    CHECK(std::string(reader.Search(q).status().message()).starts_with("page_token:"));
    q = {};
    q.page_size = -1;
    CHECK(reader.Search(q).status().code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(Snapshot(d.world.db_path()) == before);
}

TEST_CASE("only admins of the listing's organisation change it, and reads need a session", "[directory]") {
  DirectoryWorld d;
  DirectoryClient admin_a = d.For(*d.admin_a);
  DirectoryClient admin_b = d.For(*d.admin_b);
  DirectoryClient caseworker = d.For(*d.caseworker_a);
  auto published = admin_a.Publish(Shelter());
  REQUIRE(published.ok());
  const Id128 id = published->listing.listing_id;
  const std::string before = Snapshot(d.world.db_path());

  // A caseworker of the same organisation, with a listing it signed itself.
  Listing own = Shelter();
  CHECK(caseworker.Publish(own).status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(caseworker.UpdateCapacity(id, 9).code() == absl::StatusCode::kPermissionDenied);
  CHECK(caseworker.Retire(id).code() == absl::StatusCode::kPermissionDenied);
  // An admin of another organisation.
  CHECK(admin_b.UpdateCapacity(id, 9).code() == absl::StatusCode::kPermissionDenied);
  CHECK(admin_b.Retire(id).code() == absl::StatusCode::kPermissionDenied);
  Listing hijack = published->listing;
  CHECK(admin_b.Publish(hijack).status().code() == absl::StatusCode::kPermissionDenied);
  // Organisation B's admin signs a listing that claims to be A's.
  Listing claim = Shelter();
  d.world.rng().Fill(claim.listing_id.span());
  claim.created_at_ms = d.world.clock().NowUnixMillis();
  SignedObject forged = SignRaw(*d.admin_b, claim);
  CHECK(admin_a.PublishSigned(forged).status().code() == absl::StatusCode::kPermissionDenied);
  // A's admin sends bytes naming A, signed with a wrong key.
  SignedObject bad_signature = SignRaw(*d.admin_a, claim);
  bad_signature.signature = Sign(d.admin_b->keys.device.signing(), SigningContext::kListing, bad_signature.bytes);
  CHECK(admin_a.PublishSigned(bad_signature).status().code() == absl::StatusCode::kPermissionDenied);
  // Signed by a caseworker device but sent by the admin.
  Listing by_caseworker = claim;
  by_caseworker.org_id = d.admin_a->keys.org_id;
  by_caseworker.signer_device = d.caseworker_a->keys.device_id;
  SignedObject cw;
  cw.bytes = *SerializeListing(by_caseworker);
  cw.signature = Sign(d.caseworker_a->keys.device.signing(), SigningContext::kListing, cw.bytes);
  CHECK(admin_a.PublishSigned(cw).status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(Snapshot(d.world.db_path()) == before);

  // A coordinator may search, read and export.
  TestDevice& coordinator = d.world.AddCoordinator("Samordnare");
  DirectoryClient coord = d.For(coordinator);
  CHECK(coord.Get(id).ok());
  CHECK(coord.Search({}).ok());
  CHECK(coord.ExportHsds().ok());
  const std::string after_coordinator = Snapshot(d.world.db_path());  // its admission is audited

  // Without a session: UNAUTHENTICATED for every call.
  auto stub = trygg::v1::DirectoryService::NewStub(
      grpc::CreateChannel(d.world.address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext c;
    trygg::v1::SearchListingsResponse r;
    CHECK(stub->SearchListings(&c, {}, &r).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext c;
    trygg::v1::GetListingRequest req;
    req.set_listing_id(Str(id.span()));
    trygg::v1::GetListingResponse r;
    CHECK(stub->GetListing(&c, req, &r).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext c;
    trygg::v1::ExportHsdsResponse r;
    CHECK(stub->ExportHsds(&c, {}, &r).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext c;
    trygg::v1::PublishListingRequest req;
    auto raw = admin_a.GetSigned(id);
    req.mutable_listing()->mutable_signed_()->set_bytes(Str(raw->listing.bytes));
    req.mutable_listing()->mutable_signed_()->set_signature(Str(raw->listing.signature.span()));
    trygg::v1::PublishListingResponse r;
    CHECK(stub->PublishListing(&c, req, &r).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer 00");
    trygg::v1::SearchListingsResponse r;
    CHECK(stub->SearchListings(&c, {}, &r).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  CHECK(caseworker.Get(Id128()).status().code() == absl::StatusCode::kNotFound);
  CHECK(Snapshot(d.world.db_path()) == after_coordinator);
}

TEST_CASE("revisions must follow each other, and stale capacity updates lose", "[directory]") {
  DirectoryWorld d;
  DirectoryClient admin = d.For(*d.admin_a);
  auto published = admin.Publish(Shelter());
  REQUIRE(published.ok());
  Listing l = published->listing;
  l.revision = 3;
  l.created_at_ms = d.world.clock().NowUnixMillis();
  CHECK(admin.PublishSigned(SignRaw(*d.admin_a, l)).status().code() == absl::StatusCode::kAborted);
  Listing fresh = Shelter();
  d.world.rng().Fill(fresh.listing_id.span());
  fresh.revision = 2;
  fresh.created_at_ms = d.world.clock().NowUnixMillis();
  CHECK(admin.PublishSigned(SignRaw(*d.admin_a, fresh)).status().code() == absl::StatusCode::kInvalidArgument);

  CapacityUpdate old{l.listing_id, l.org_id, 1, 5, published->listing.created_at_ms - 1, d.admin_a->keys.device_id};
  auto signed_old = SignCapacityUpdate(old, d.admin_a->keys.device.signing());
  CHECK(admin.UpdateCapacitySigned(l.listing_id, *signed_old).code() == absl::StatusCode::kAborted);
  CapacityUpdate wrong_revision = old;
  wrong_revision.revision = 2;
  wrong_revision.updated_at_ms = d.world.clock().NowUnixMillis();
  CHECK(admin.UpdateCapacitySigned(l.listing_id, *SignCapacityUpdate(wrong_revision, d.admin_a->keys.device.signing()))
            .code() == absl::StatusCode::kAborted);
  Id128 unknown;
  d.world.rng().Fill(unknown.span());
  CapacityUpdate nowhere = wrong_revision;
  nowhere.listing_id = unknown;
  CHECK(admin.UpdateCapacitySigned(unknown, *SignCapacityUpdate(nowhere, d.admin_a->keys.device.signing())).code() ==
        absl::StatusCode::kNotFound);
}

// A small world of listings and a model of what each search must return.
TEST_CASE("search: every combination of filters, ordered and paged", "[directory]") {
  DirectoryWorld d;
  DirectoryClient admin_a = d.For(*d.admin_a);
  DirectoryClient admin_b = d.For(*d.admin_b);
  DirectoryClient reader = d.For(*d.caseworker_a);

  struct Spec {
    ServiceCategory category;
    std::vector<std::string> regions;
    std::vector<std::string> languages;
    int groups;
    int forms;
    int32_t capacity;
  };
  const std::vector<Spec> specs = {
      {ServiceCategory::kShelter, {"SE-O"}, {"ro", "sv"}, Bit(1) | Bit(3), Bit(1), 2},
      {ServiceCategory::kShelter, {"SE-O", "SE-AB"}, {"ro-MD"}, Bit(1), Bit(2), 0},
      {ServiceCategory::kShelter, {"SE-AB"}, {"sv"}, Bit(2), Bit(2), 5},
      {ServiceCategory::kLegalAdvice, {"SE-O"}, {"ro", "en"}, Bit(1) | Bit(2), Bit(2), -1},
      {ServiceCategory::kInterpreting, {"SE-M"}, {"ti", "ar"}, 0, 0, 1},
      {ServiceCategory::kLegalAdvice, {"SE-AB", "SE-M"}, {"ti"}, Bit(4), Bit(1) | Bit(2), 0},
      {ServiceCategory::kShelter, {"SE-O"}, {"ro"}, Bit(1) | Bit(3), Bit(1) | Bit(4), 3},
  };
  std::vector<VerifiedListing> all;
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec& s = specs[i];
    Listing l;
    l.category = static_cast<uint8_t>(s.category);
    l.regions = s.regions;
    l.languages = s.languages;
    l.target_groups = static_cast<uint8_t>(s.groups);
    l.exploitation_forms = static_cast<uint8_t>(s.forms);
    l.capacity_free = s.capacity;
    l.response_time_hours = 48;
    auto published = (i % 2 == 0 ? admin_a : admin_b).Publish(l);
    INFO(published.status().ToString());
    REQUIRE(published.ok());
    all.push_back(*published);
  }
  // One more, retired: never found.
  auto retired = admin_a.Publish(Shelter());
  REQUIRE(retired.ok());
  REQUIRE(admin_a.Retire(retired->listing.listing_id).ok());

  const std::vector<uint8_t> categories = {0, 1, 2, 3, 9};
  const std::vector<std::string> regions = {"", "SE-O", "se-ab", "SE-M", "NO-03"};
  const std::vector<std::string> languages = {"", "ro-RO", "ti", "SV"};
  const std::vector<uint8_t> groups = {0, 1, 2, 4};
  const std::vector<uint8_t> forms = {0, 1, 2, 6};
  int searches = 0, non_empty = 0;
  for (uint8_t category : categories) {
    for (const std::string& region : regions) {
      for (const std::string& language : languages) {
        for (uint8_t group : groups) {
          for (uint8_t form : forms) {
            for (bool open : {false, true}) {
              // Expected: the model, ordered open capacity first, then freshest.
              std::vector<const VerifiedListing*> expected;
              for (const VerifiedListing& v : all) {
                const Listing& l = v.listing;
                if (category && l.category != category) continue;
                if (!region.empty() && std::find(l.regions.begin(), l.regions.end(),
                                                 *CanonicalRegionCode(region)) == l.regions.end())
                  continue;
                if (!language.empty()) {
                  const std::string want(PrimaryLanguage(*CanonicalLanguageTag(language)));
                  if (std::none_of(l.languages.begin(), l.languages.end(),
                                   [&](const std::string& t) { return PrimaryLanguage(t) == want; }))
                    continue;
                }
                if (group && !l.HasTargetGroup(static_cast<TargetGroup>(group))) continue;
                if (form && !l.HasExploitationForm(static_cast<ExploitationForm>(form))) continue;
                if (open && v.capacity_free <= 0) continue;
                expected.push_back(&v);
              }
              std::sort(expected.begin(), expected.end(), [](const VerifiedListing* a, const VerifiedListing* b) {
                const bool ao = a->capacity_free > 0, bo = b->capacity_free > 0;
                if (ao != bo) return ao;
                if (a->capacity_updated_at_ms != b->capacity_updated_at_ms)
                  return a->capacity_updated_at_ms > b->capacity_updated_at_ms;
                return b->listing.listing_id < a->listing.listing_id;
              });
              ListingQuery q;
              q.category = category;
              q.region = region;
              q.language = language;
              q.target_group = group;
              q.exploitation_form = form;
              q.open_capacity_only = open;
              // Every fourth search pages two at a time; the rest take one page.
              q.page_size = searches % 4 == 0 ? 2 : 0;
              std::vector<Id128> got;
              int pages = 0;
              do {
                auto results = reader.Search(q);
                REQUIRE(results.ok());
                for (const VerifiedListing& v : results->listings) got.push_back(v.listing.listing_id);
                q.page_token = results->next_page_token;
                REQUIRE(++pages < 10);
              } while (!q.page_token.empty());
              std::vector<Id128> want;
              for (const VerifiedListing* v : expected) want.push_back(v->listing.listing_id);
              INFO("category " << int(category) << " region " << region << " language " << language << " group "
                               << int(group) << " form " << int(form) << " open " << open);
              CHECK(got == want);
              ++searches;
              non_empty += want.empty() ? 0 : 1;
            }
          }
        }
      }
    }
  }
  CHECK(searches == 5 * 5 * 4 * 4 * 4 * 2);
  CHECK(non_empty > 100);

  SECTION("a capacity update moves a listing up") {
    const Id128 full = all[1].listing.listing_id;  // capacity 0
    REQUIRE((admin_b).UpdateCapacity(full, 4).ok());
    auto results = reader.Search({});
    REQUIRE(results.ok());
    REQUIRE_FALSE(results->listings.empty());
    CHECK(results->listings.front().listing.listing_id == full);
    CHECK(results->listings.front().capacity_free == 4);
  }
}

TEST_CASE("capacity older than the configured age is stale", "[directory]") {
  DirectoryWorld d({"--directory-capacity-stale-hours", "1"});
  DirectoryClient admin = d.For(*d.admin_a);
  DirectoryClient reader = d.For(*d.caseworker_a);
  const int64_t now = d.world.clock().NowUnixMillis();

  Listing old = Shelter();
  d.world.rng().Fill(old.listing_id.span());
  old.created_at_ms = now - 2 * 3600 * 1000;
  REQUIRE(admin.PublishSigned(SignRaw(*d.admin_a, old)).ok());
  Listing uncounted = old;
  d.world.rng().Fill(uncounted.listing_id.span());
  uncounted.capacity_free = -1;
  REQUIRE(admin.PublishSigned(SignRaw(*d.admin_a, uncounted)).ok());
  Listing recent = old;
  d.world.rng().Fill(recent.listing_id.span());
  recent.created_at_ms = now - 30 * 60 * 1000;
  REQUIRE(admin.PublishSigned(SignRaw(*d.admin_a, recent)).ok());

  auto got = reader.Get(old.listing_id);
  REQUIRE(got.ok());
  CHECK(got->capacity_stale);
  CHECK_FALSE(reader.Get(uncounted.listing_id)->capacity_stale);  // places not counted: never stale
  CHECK_FALSE(reader.Get(recent.listing_id)->capacity_stale);
  auto results = reader.Search({});
  REQUIRE(results.ok());
  REQUIRE(results->listings.size() == 3);
  // Open first, then freshest: recent (open, newer), old (open, older), uncounted.
  CHECK(results->listings[0].listing.listing_id == recent.listing_id);
  CHECK(results->listings[1].listing.listing_id == old.listing_id);
  CHECK(results->listings[1].capacity_stale);
  CHECK(results->listings[2].listing.listing_id == uncounted.listing_id);

  REQUIRE(admin.UpdateCapacity(old.listing_id, 1).ok());
  got = reader.Get(old.listing_id);
  CHECK_FALSE(got->capacity_stale);
  CHECK(got->capacity_free == 1);
}

TEST_CASE("the TOML key directory.capacity_stale_hours sets the age", "[directory]") {
  testing::TempDir config_dir;
  const std::string path = config_dir.file("tryggd.toml");
  std::ofstream(path) << "[directory]\ncapacity_stale_hours = 3\n";
  DirectoryWorld d({"--config", path});
  DirectoryClient admin = d.For(*d.admin_a);
  const int64_t now = d.world.clock().NowUnixMillis();
  Listing two_hours = Shelter();
  d.world.rng().Fill(two_hours.listing_id.span());
  two_hours.created_at_ms = now - 2 * 3600 * 1000;
  REQUIRE(admin.PublishSigned(SignRaw(*d.admin_a, two_hours)).ok());
  Listing four_hours = two_hours;
  d.world.rng().Fill(four_hours.listing_id.span());
  four_hours.created_at_ms = now - 4 * 3600 * 1000;
  REQUIRE(admin.PublishSigned(SignRaw(*d.admin_a, four_hours)).ok());
  CHECK_FALSE(admin.Get(two_hours.listing_id)->capacity_stale);
  CHECK(admin.Get(four_hours.listing_id)->capacity_stale);
}

TEST_CASE("clients catch a server that edits listings behind their backs", "[directory]") {
  DirectoryWorld d;
  DirectoryClient admin = d.For(*d.admin_a);
  DirectoryClient reader = d.For(*d.caseworker_a);
  auto published = admin.Publish(Shelter());
  REQUIRE(published.ok());
  const Id128 id = published->listing.listing_id;
  REQUIRE(admin.UpdateCapacity(id, 1).ok());
  const std::string where = " WHERE listing_id = " + HexLiteral(id.span());

  SECTION("a changed description in the listing bytes") {
    auto raw = admin.GetSigned(id);
    Listing edited = *ParseListing(raw->listing.bytes);
    edited.description = "Gratis platser!";
    Exec(d.world.db_path(), "UPDATE listings SET bytes = " + HexLiteral(*SerializeListing(edited)) + where);
    CHECK(GetCryptoError(reader.Get(id).status()) == CryptoError::kBadSignature);
    // A search leaves the bad listing out, says so, and still shows the rest.
    auto other = admin.Publish(Shelter());
    REQUIRE(other.ok());
    auto results = reader.Search({});
    REQUIRE(results.ok());
    REQUIRE(results->listings.size() == 1);
    CHECK(results->listings[0].listing.listing_id == other->listing.listing_id);
    CHECK(results->rejected == 1);
    CHECK(GetCryptoError(results->first_rejection) == CryptoError::kBadSignature);
  }
  SECTION("a forged capacity update") {
    auto raw = admin.GetSigned(id);
    CapacityUpdate forged = *ParseCapacityUpdate(raw->capacity_update->bytes);
    forged.capacity_free = 99;
    Exec(d.world.db_path(), "UPDATE listings SET capacity_bytes = " + HexLiteral(SerializeCapacityUpdate(forged)) +
                                ", capacity_free = 99" + where);
    CHECK(GetCryptoError(reader.Get(id).status()) == CryptoError::kBadSignature);
  }
  SECTION("a capacity update moved from another listing") {
    auto other = admin.Publish(Shelter());
    REQUIRE(other.ok());
    REQUIRE(admin.UpdateCapacity(other->listing.listing_id, 7).ok());
    auto raw = admin.GetSigned(other->listing.listing_id);
    Exec(d.world.db_path(), "UPDATE listings SET capacity_bytes = " + HexLiteral(raw->capacity_update->bytes) +
                                ", capacity_signature = " + HexLiteral(raw->capacity_update->signature.span()) + where);
    CHECK(GetCryptoError(reader.Get(id).status()) == CryptoError::kFieldMismatch);
  }
  SECTION("a listing signed by a device that is not an admin in the organisation's log") {
    // The server's registry is edited to make the caseworker an admin; the
    // log (which clients verify) says otherwise.
    Exec(d.world.db_path(), "UPDATE devices SET role = 2 WHERE device_id = " +
                                HexLiteral(d.caseworker_a->keys.device_id.span()));
    Listing l = Shelter();
    d.world.rng().Fill(l.listing_id.span());
    l.created_at_ms = d.world.clock().NowUnixMillis();
    l.org_id = d.admin_a->keys.org_id;
    l.signer_device = d.caseworker_a->keys.device_id;
    SignedObject s;
    s.bytes = *SerializeListing(l);
    s.signature = Sign(d.caseworker_a->keys.device.signing(), SigningContext::kListing, s.bytes);
    d.world.Login(*d.caseworker_a);
    DirectoryClient sneaky = d.For(*d.caseworker_a);
    REQUIRE(sneaky.PublishSigned(s).ok());
    CHECK(GetCryptoError(reader.Get(l.listing_id).status()) == CryptoError::kUnauthorisedSigner);
  }
  SECTION("a hidden retirement flag") {
    Exec(d.world.db_path(), "UPDATE listings SET retired = 1" + where);
    CHECK(GetCryptoError(reader.Get(id).status()) == CryptoError::kFieldMismatch);
  }
}

// --- HSDS export --------------------------------------------------------------

std::filesystem::path g_schema_dir;

// Injects additionalProperties: false into every object schema (as upstream's
// CI does) so a misspelt property in the exporter fails, and adds HSDS 3.1's
// service.capacities, which the 3.0 schemas lack.
void Strict(nlohmann::json& schema) {
  if (schema.is_object()) {
    if (schema.contains("properties") && schema["properties"].is_object()) {
      schema["additionalProperties"] = false;
    }
    for (auto& [key, value] : schema.items()) Strict(value);
  } else if (schema.is_array()) {
    for (auto& value : schema) Strict(value);
  }
}

nlohmann::json ServiceCapacitySchema() {
  return nlohmann::json::parse(R"({
    "type": "array",
    "items": {
      "type": "object",
      "required": ["id", "unit", "available", "updated"],
      "additionalProperties": false,
      "properties": {
        "id": {"type": "string", "format": "uuid"},
        "service_id": {"type": "string", "format": "uuid"},
        "unit": {"type": "object", "required": ["id", "name"], "additionalProperties": false,
                 "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                "scheme": {"type": "string"}, "identifier": {"type": "string"},
                                "uri": {"type": "string"}}},
        "available": {"type": "number"},
        "maximum": {"type": "number"},
        "description": {"type": "string"},
        "updated": {"type": "string", "format": "date-time"}
      }
    }})");
}

const nlohmann::json* FetchSchema(const std::string& uri) {
  const std::string name = uri.substr(uri.find_last_of('/') + 1);
  std::ifstream in(g_schema_dir / name);
  if (!in) return nullptr;
  auto* doc = new nlohmann::json(nlohmann::json::parse(in));
  Strict(*doc);
  if (name == "service.json") (*doc)["properties"]["capacities"] = ServiceCapacitySchema();
  return doc;
}

void FreeSchema(const nlohmann::json* doc) { delete doc; }

std::vector<std::string> Validate(const std::string& schema_file, const nlohmann::json& value) {
  const nlohmann::json* root = FetchSchema(schema_file);
  REQUIRE(root != nullptr);
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(*root);
  parser.populateSchema(schema_adapter, schema, FetchSchema, FreeSchema);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  std::vector<std::string> errors;
  if (!validator.validate(schema, target, &results)) {
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
      std::string path;
      for (const std::string& p : error.context) path += p;
      errors.push_back(path + ": " + error.description);
    }
  }
  FreeSchema(root);
  return errors;
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

void CheckUuids(const nlohmann::json& value, const std::string& path) {
  if (value.is_object()) {
    for (auto& [key, v] : value.items()) {
      if ((key == "id" || key.ends_with("_id")) && v.is_string()) {
        INFO(path << "." << key << " = " << v.get<std::string>());
        CHECK(IsUuid(v.get<std::string>()));
      }
      CheckUuids(v, path + "." + key);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) CheckUuids(value[i], path + "[" + std::to_string(i) + "]");
  }
}

TEST_CASE("the HSDS export validates against the HSDS 3 schemas", "[directory]") {
  g_schema_dir = TRYGG_HSDS_SCHEMA_DIR;
  INFO("HSDS schemas at '" << g_schema_dir << "'");
  REQUIRE(std::filesystem::exists(g_schema_dir / "service.json"));
  DirectoryWorld d;
  DirectoryClient admin_a = d.For(*d.admin_a);
  DirectoryClient admin_b = d.For(*d.admin_b);
  auto shelter = admin_a.Publish(Shelter());
  REQUIRE(shelter.ok());
  Listing lawyer;
  lawyer.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  lawyer.regions = {"SE-O", "NO-03"};
  lawyer.languages = {"ti", "sr-Latn-RS", "prs"};
  lawyer.exploitation_forms = Bit(2);
  lawyer.capacity_free = -1;
  lawyer.response_time_hours = 72;
  auto legal = admin_b.Publish(lawyer);
  REQUIRE(legal.ok());
  auto gone = admin_b.Publish(lawyer);
  REQUIRE(gone.ok());
  REQUIRE(admin_b.Retire(gone->listing.listing_id).ok());

  auto exported = d.For(*d.caseworker_a).ExportHsds();
  REQUIRE(exported.ok());
  const nlohmann::json doc = nlohmann::json::parse(*exported);
  REQUIRE(doc["organizations"].size() == 2);
  REQUIRE(doc["services"].size() == 2);  // the retired listing is not exported
  for (const auto& org : doc["organizations"]) {
    auto errors = Validate("organization.json", org);
    INFO(org.dump(2));
    for (const auto& e : errors) INFO(e);
    CHECK(errors.empty());
  }
  for (const auto& service : doc["services"]) {
    auto errors = Validate("service.json", service);
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    INFO(service.dump(2) << "\n" << all);
    CHECK(errors.empty());
  }
  CheckUuids(doc, "$");

  // The mapping.
  const auto& services = doc["services"];
  auto find = [&](const Id128& id) {
    const std::string want = HexEncode(id.span());
    for (const auto& s : services) {
      std::string compact = s["id"].get<std::string>();
      compact.erase(std::remove(compact.begin(), compact.end(), '-'), compact.end());
      if (compact == want) return s;
    }
    FAIL("service not exported");
    return nlohmann::json();
  };
  const auto s1 = find(shelter->listing.listing_id);
  CHECK(s1["status"] == "active");
  CHECK(s1["organization"]["name"] == "Kvinnojouren Stockholm");
  CHECK(s1["service_areas"].size() == 2);
  CHECK(s1["service_areas"][0]["name"] == "SE-AB");
  CHECK(s1["service_areas"][0]["description"] == "Stockholms län");
  CHECK(s1["languages"][0]["code"] == "ro");
  CHECK(s1["capacities"][0]["available"] == 2);
  CHECK(s1["schedules"][0]["description"] == "Dygnet runt");
  const auto s2 = find(legal->listing.listing_id);
  std::set<std::string> codes;
  for (const auto& l : s2["languages"]) codes.insert(l["code"].get<std::string>());
  CHECK(codes == std::set<std::string>{"ti", "sr", "prs"});
  CHECK_FALSE(s2.contains("capacities"));  // places not counted
  bool response_time = false;
  for (const auto& a : s2["attributes"]) {
    if (a["taxonomy_term"]["code"] == "response_time_hours") response_time = a["value"] == "72";
  }
  CHECK(response_time);

  SECTION("the strict validator catches a broken export") {
    nlohmann::json broken = s1;
    broken.erase("status");
    CHECK_FALSE(Validate("service.json", broken).empty());
    broken = s1;
    broken["langauges"] = broken["languages"];
    CHECK_FALSE(Validate("service.json", broken).empty());
    broken = s1;
    broken["capacities"][0].erase("updated");
    CHECK_FALSE(Validate("service.json", broken).empty());
  }
}

}  // namespace
}  // namespace trygg

namespace trygg {
namespace {

// Not run by default: `directory_test "[bench]"`. Publishes 2,000 listings and
// times searches on loopback, raw (server only) and through DirectoryClient
// (with verification of every listing on the page).
TEST_CASE("search latency with 2,000 listings", "[.][bench]") {
  DirectoryWorld d;
  DirectoryClient admin = d.For(*d.admin_a);
  const char* regions[] = {"SE-AB", "SE-O", "SE-M", "SE-E", "SE-C"};
  const char* languages[] = {"ro", "ti", "ar", "sv", "en", "uk"};
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) {
    Listing l = Shelter();
    d.world.rng().Fill(l.listing_id.span());
    l.category = static_cast<uint8_t>(1 + i % 9);
    l.regions = {regions[i % 5]};
    l.languages = {languages[i % 6]};
    l.capacity_free = i % 4 - 1;
    l.created_at_ms = d.world.clock().NowUnixMillis() - i;
    REQUIRE(admin.PublishSigned(SignRaw(*d.admin_a, l)).ok());
  }
  auto t1 = std::chrono::steady_clock::now();
  auto stub = trygg::v1::DirectoryService::NewStub(d.admin_a->client->channel());
  constexpr int kSearches = 200;
  for (int i = 0; i < kSearches; ++i) {
    auto context = d.admin_a->client->NewCallContext();
    trygg::v1::SearchListingsRequest request;
    request.set_region(regions[i % 5]);
    if (i % 2) request.set_language(languages[i % 6]);
    request.set_page_size(50);
    trygg::v1::SearchListingsResponse response;
    REQUIRE(stub->SearchListings(context.get(), request, &response).ok());
  }
  auto t2 = std::chrono::steady_clock::now();
  for (int i = 0; i < kSearches; ++i) {
    ListingQuery q;
    q.region = regions[i % 5];
    if (i % 2) q.language = languages[i % 6];
    q.page_size = 50;
    auto results = admin.Search(q);
    REQUIRE(results.ok());
    REQUIRE(results->rejected == 0);
  }
  auto t3 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  WARN("publish: " << ms(t0, t1) / 2000 << " ms each (sequential); search page of 50, raw: " << ms(t1, t2) / kSearches
                   << " ms; verified by DirectoryClient: " << ms(t2, t3) / kSearches << " ms");
}

}  // namespace
}  // namespace trygg
