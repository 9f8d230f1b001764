// SPDX-License-Identifier: Apache-2.0

#include "directory_commands.h"

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli_support.h"
#include "session.h"
#include "trygg/client.h"
#include "trygg/directory_client.h"
#include "trygg/key_store.h"
#include "trygg/label.h"
#include "trygg/listing_file.h"
#include "trygg/random.h"
#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

// Flags of the directory commands; CLI11 writes them while parsing.
struct DirectoryFlags {
  std::string category;
  std::string region;
  std::string language;
  std::string target_group;
  std::string exploitation;
  bool open = false;
  int page_size = 0;
  std::string page_token;
  std::string listing_id;
  std::string file;
  std::string output;
  int places = 0;
};
DirectoryFlags g_directory_flags;

DirectoryClient Directory(Session& session) {
  return DirectoryClient(*session.client, session.keys, session.clock, session.rng);
}

// A filter or field that may be left out (0).
absl::StatusOr<uint8_t> Named(NamedEnum kind, const std::string& name, std::string_view what) {
  if (name.empty()) return uint8_t{0};
  return ParseNamed(kind, name, what);
}

template <typename Fn>
nlohmann::ordered_json NamesOf(uint8_t bits, uint8_t max, Fn name) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (uint8_t n = 1; n <= max; ++n) {
    if ((bits >> (n - 1)) & 1) out.push_back(std::string(name(n)));
  }
  return out;
}

// Organisation names by id, from the root-signed organisation certificates
// (Client::ListOrganisations verifies each one). Names are a courtesy: when
// the list cannot be read, listings are shown by organisation id alone.
using OrgNames = std::map<std::string, std::string>;

OrgNames ListOrgNames(Session& session) {
  OrgNames names;
  absl::StatusOr<std::vector<OrganisationSummary>> orgs = session.client->ListOrganisations();
  if (!orgs.ok()) return names;
  for (const OrganisationSummary& o : *orgs) names[HexEncode(o.org_id.span())] = o.display_name;
  return names;
}

std::string OrgName(const OrgNames& names, const Listing& l) {
  const auto it = names.find(HexEncode(l.org_id.span()));
  return it == names.end() ? std::string() : it->second;
}

std::string JoinedNames(const nlohmann::ordered_json& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n.get<std::string>();
  return out.empty() ? "any" : out;
}

nlohmann::ordered_json ListingJson(const VerifiedListing& v, const OrgNames& names) {
  const Listing& l = v.listing;
  return nlohmann::ordered_json{
      {"listing_id", HexEncode(l.listing_id.span())},
      {"org_id", HexEncode(l.org_id.span())},
      {"org_name", OrgName(names, l)},
      {"revision", l.revision},
      {"category", std::string(ServiceCategoryName(l.category))},
      {"regions", l.regions},
      {"languages", l.languages},
      {"target_groups", NamesOf(l.target_groups, kMaxTargetGroup, TargetGroupName)},
      {"exploitation_forms", NamesOf(l.exploitation_forms, kMaxExploitationForm, ExploitationFormName)},
      {"capacity_free", v.capacity_free},
      {"capacity_updated_at", FormatTime(v.capacity_updated_at_ms)},
      {"capacity_stale", v.capacity_stale},
      {"response_time_hours", l.response_time_hours},
      {"contact_hours", l.contact_hours},
      {"description", l.description},
      {"retired", v.retired()},
      {"signed_by", HexEncode(l.signer_device.span())},
      {"verified", true},
  };
}

std::string PlacesText(const VerifiedListing& v) {
  if (v.capacity_free == kCapacityNotCounted) return "places not counted";
  return std::to_string(v.capacity_free) + " free as of " + FormatLocalTime(v.capacity_updated_at_ms) +
         (v.capacity_stale ? " (STALE)" : "");
}

std::string ListingLine(const VerifiedListing& v, const OrgNames& names) {
  const Listing& l = v.listing;
  std::string regions, languages;
  for (const auto& r : l.regions) regions += (regions.empty() ? "" : ",") + r;
  for (const auto& t : l.languages) languages += (languages.empty() ? "" : ",") + t;
  const std::string org_name = OrgName(names, l);
  return HexEncode(l.listing_id.span()) + "  " + std::string(ServiceCategoryName(l.category)) + "  " + regions +
         "  [" + languages + "]  " + PlacesText(v) + "  answers within " + std::to_string(l.response_time_hours) +
         " h\n  by " + (org_name.empty() ? "" : EscapeForTerminal(org_name) + " ") + "(" +
         HexEncode(l.org_id.span()) + ")\n  target groups: " +
         JoinedNames(NamesOf(l.target_groups, kMaxTargetGroup, TargetGroupName)) +
         "; forms of exploitation: " +
         JoinedNames(NamesOf(l.exploitation_forms, kMaxExploitationForm, ExploitationFormName)) + "\n";
}

absl::StatusOr<Output> Search(const Settings& settings, const CommandFlags&) {
  ListingQuery query;
  TRYGG_ASSIGN_OR_RETURN(query.category, Named(NamedEnum::kServiceCategory, g_directory_flags.category, "category"));
  TRYGG_ASSIGN_OR_RETURN(query.target_group, Named(NamedEnum::kTargetGroup, g_directory_flags.target_group, "target group"));
  TRYGG_ASSIGN_OR_RETURN(query.exploitation_form,
                         Named(NamedEnum::kExploitationForm, g_directory_flags.exploitation, "form of exploitation"));
  query.region = g_directory_flags.region;
  query.language = g_directory_flags.language;
  query.open_capacity_only = g_directory_flags.open;
  query.page_size = g_directory_flags.page_size;
  query.page_token = g_directory_flags.page_token;
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(ListingResults results, Directory(*session).Search(query));
  const OrgNames names = ListOrgNames(*session);
  Output out;
  nlohmann::ordered_json listings = nlohmann::ordered_json::array();
  for (const VerifiedListing& v : results.listings) {
    listings.push_back(ListingJson(v, names));
    out.text += ListingLine(v, names);
  }
  if (results.listings.empty()) out.text = "no listings match\n";
  if (!results.next_page_token.empty()) out.text += "more: --page-token " + results.next_page_token + "\n";
  if (results.rejected > 0) {
    out.text += "WARNING: " + std::to_string(results.rejected) + " listing(s) left out because they did not verify: " +
                DescribeError(results.first_rejection) + "\n";
  }
  out.json["listings"] = std::move(listings);
  out.json["next_page_token"] = results.next_page_token;
  out.json["rejected"] = results.rejected;
  return out;
}

absl::StatusOr<Output> Show(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 id, ParseId(g_directory_flags.listing_id, "listing id"));
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(VerifiedListing v, Directory(*session).Get(id));
  const OrgNames names = ListOrgNames(*session);
  Output out;
  out.json = ListingJson(v, names);
  out.text = ListingLine(v, names);
  if (!v.listing.contact_hours.empty()) out.text += "contact hours: " + v.listing.contact_hours + "\n";
  if (!v.listing.description.empty()) out.text += v.listing.description + "\n";
  if (v.retired()) out.text += "RETIRED\n";
  out.text += "signature verified against the organisation log\n";
  return out;
}

absl::StatusOr<Output> Publish(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(std::string text, ReadTextFile(g_directory_flags.file));
  TRYGG_ASSIGN_OR_RETURN(Listing listing, ParseListingFile(text));
  if (!g_directory_flags.listing_id.empty()) {
    TRYGG_ASSIGN_OR_RETURN(listing.listing_id, ParseId(g_directory_flags.listing_id, "listing id"));
  }
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(VerifiedListing v, Directory(*session).Publish(std::move(listing)));
  Output out;
  out.json = ListingJson(v, {});
  out.text = "published revision " + std::to_string(v.listing.revision) + "\n" + ListingLine(v, {});
  return out;
}

absl::StatusOr<Output> UpdateCapacity(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 id, ParseId(g_directory_flags.listing_id, "listing id"));
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  DirectoryClient directory = Directory(*session);
  TRYGG_RETURN_IF_ERROR(directory.UpdateCapacity(id, g_directory_flags.places));
  TRYGG_ASSIGN_OR_RETURN(VerifiedListing v, directory.Get(id));
  Output out;
  out.json = ListingJson(v, {});
  out.text = ListingLine(v, {});
  return out;
}

absl::StatusOr<Output> Retire(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 id, ParseId(g_directory_flags.listing_id, "listing id"));
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  TRYGG_RETURN_IF_ERROR(Directory(*session).Retire(id));
  Output out;
  out.json = {{"listing_id", HexEncode(id.span())}, {"retired", true}};
  out.text = "retired " + HexEncode(id.span()) + "\n";
  return out;
}

absl::StatusOr<Output> Export(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(std::string hsds, Directory(*session).ExportHsds());
  Output out;
  if (!g_directory_flags.output.empty()) {
    TRYGG_RETURN_IF_ERROR(WriteNewTextFile(g_directory_flags.output, hsds + "\n"));
    out.json = {{"output", g_directory_flags.output}, {"bytes", hsds.size() + 1}};
    out.text = "wrote " + g_directory_flags.output + "\n";
  } else {
    out.json = nlohmann::ordered_json::parse(hsds);
    out.text = hsds + "\n";
  }
  return out;
}

}  // namespace

void AddDirectoryCommands(CLI::App& app, Command& selected) {
  CLI::App* directory = app.add_subcommand("directory", "The service directory: find services, keep your listings");
  directory->require_subcommand(1);
  auto leaf = [&](const std::string& name, const std::string& help, Command run) {
    CLI::App* sub = directory->add_subcommand(name, help);
    sub->callback([&selected, run] { selected = run; });
    return sub;
  };
  CLI::App* search = leaf("search", "Search listings (open capacity first, then freshest)", Search);
  search->add_option("--category", g_directory_flags.category, NameChoices(NamedEnum::kServiceCategory));
  search->add_option("--region", g_directory_flags.region, "ISO 3166-2 code, e.g. SE-AB");
  search->add_option("--language", g_directory_flags.language, "BCP 47 tag, e.g. ro; matches every tag of that language");
  search->add_option("--target-group", g_directory_flags.target_group,
                     "Target group the listing serves: " + NameChoices(NamedEnum::kTargetGroup));
  search->add_option("--exploitation", g_directory_flags.exploitation,
                     "Form of exploitation the listing serves: " + NameChoices(NamedEnum::kExploitationForm));
  search->add_flag("--open", g_directory_flags.open, "Only listings with free places");
  search->add_option("--page-size", g_directory_flags.page_size, "Listings per page (default 50, at most 200)");
  search->add_option("--page-token", g_directory_flags.page_token, "Continue where the previous page ended");

  CLI::App* show = leaf("show", "Show one listing, verified", Show);
  show->add_option("LISTING_ID", g_directory_flags.listing_id, "Listing id (32 hex digits)")->required();

  CLI::App* publish = leaf("publish", "Publish a listing or a new revision of one (admin)", Publish);
  publish->add_option("--file", g_directory_flags.file, "Listing file (JSON, see docs/directory.md)")
      ->required()
      ->check(CLI::ExistingFile);
  publish->add_option("--listing-id", g_directory_flags.listing_id, "Publish the next revision of this listing");

  CLI::App* capacity = leaf("update-capacity", "Set the number of free places (admin)", UpdateCapacity);
  capacity->add_option("LISTING_ID", g_directory_flags.listing_id, "Listing id (32 hex digits)")->required();
  capacity->add_option("PLACES", g_directory_flags.places, "Free places; -1 when places are not counted")->required();

  CLI::App* retire = leaf("retire", "Withdraw a listing from the directory (admin)", Retire);
  retire->add_option("LISTING_ID", g_directory_flags.listing_id, "Listing id (32 hex digits)")->required();

  CLI::App* exporter = leaf("export", "The whole directory as Open Referral HSDS 3 JSON", Export);
  exporter->add_option("--output", g_directory_flags.output, "Write to this new file instead of stdout");
}

}  // namespace trygg::cli
