// SPDX-License-Identifier: Apache-2.0

#include "consent_commands.h"


#include "case_commands.h"
#include "cli_support.h"
#include "trygg/consent_expiry.h"
#include "trygg/names.h"
#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

// Flags of these commands; CLI11 writes them while parsing.
struct ConsentFlags {
  std::string case_id;
  std::string consent_id;
  std::vector<std::string> services;
  std::string to_org;
  std::string purpose = "referral-for-services";
  std::string expires;
  int days = 0;
  std::string evidence;
};
ConsentFlags g_consent_flags;

nlohmann::ordered_json ServicesJson(uint16_t services) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (uint8_t s = 1; s <= kMaxServiceCategory; ++s) {
    if (services & ServiceBit(s)) out.push_back(std::string(ServiceCategoryName(s)));
  }
  return out;
}

absl::StatusOr<Output> ConsentRecordCommand(const Settings& settings, const CommandFlags&) {
  ConsentTerms terms;
  TRYGG_ASSIGN_OR_RETURN(terms.case_id, ParseId(g_consent_flags.case_id, "case id"));
  if (!g_consent_flags.to_org.empty()) {
    TRYGG_ASSIGN_OR_RETURN(terms.to_org, ParseId(g_consent_flags.to_org, "--to-org"));
  }
  for (const std::string& name : g_consent_flags.services) {
    TRYGG_ASSIGN_OR_RETURN(uint8_t s, ParseNamed(NamedEnum::kServiceCategory, name, "service"));
    terms.services |= ServiceBit(s);
  }
  TRYGG_ASSIGN_OR_RETURN(uint8_t purpose, ParseNamed(NamedEnum::kConsentPurpose, g_consent_flags.purpose, "purpose"));
  terms.purpose = static_cast<ConsentPurpose>(purpose);
  if (!g_consent_flags.expires.empty() == (g_consent_flags.days > 0)) {
    return absl::InvalidArgumentError("give one of --expires YYYY-MM-DD and --days N");
  }
  terms.evidence = TextBytes(g_consent_flags.evidence);
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  if (!g_consent_flags.expires.empty()) {
    TRYGG_ASSIGN_OR_RETURN(terms.expires_at_ms, ConsentExpiryFromDate(g_consent_flags.expires));
  } else {
    terms.expires_at_ms = work->session->clock.NowUnixMillis() + int64_t{g_consent_flags.days} * 24 * 3600 * 1000;
  }
  TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, work->referrals.RecordConsent(terms));
  Output out;
  out.json = {{"consent_id", Hex(consent_id)},
              {"case_id", Hex(terms.case_id)},
              {"to_org", terms.to_org.IsZero() ? "any" : Hex(terms.to_org)},
              {"services", ServicesJson(terms.services)},
              {"purpose", g_consent_flags.purpose},
              {"expires_at", FormatTime(terms.expires_at_ms)}};
  out.text = "consent " + Hex(consent_id) + " recorded until " + FormatLocalTime(terms.expires_at_ms) +
             " (evidence sealed on this device)\n";
  return out;
}

absl::StatusOr<Output> ConsentWithdraw(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_consent_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, ParseId(g_consent_flags.consent_id, "consent id"));
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  TRYGG_RETURN_IF_ERROR(work->referrals.WithdrawConsent(case_id, consent_id));
  Output out;
  out.json = {{"consent_id", Hex(consent_id)}, {"withdrawn", true}};
  out.text = "consent " + Hex(consent_id) +
             " withdrawn; open referrals that relied on it were ended and their receivers lost access\n";
  return out;
}

absl::StatusOr<Output> ConsentList(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_consent_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  TRYGG_ASSIGN_OR_RETURN(std::vector<ConsentView> consents, work->referrals.ListConsents(case_id));
  const int64_t now = work->session->clock.NowUnixMillis();
  Output out;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const ConsentView& c : consents) {
    const std::string status = c.withdrawn_at_ms.has_value()   ? "withdrawn"
                               : c.record.expires_at_ms <= now ? "expired"
                                                               : "valid";
    const std::string evidence(c.evidence.begin(), c.evidence.end());
    rows.push_back({{"consent_id", Hex(c.record.consent_id)},
                    {"to_org", c.record.to_org_id.IsZero() ? "any" : Hex(c.record.to_org_id)},
                    {"services", ServicesJson(c.record.services)},
                    {"purpose", std::string(ConsentPurposeName(static_cast<uint8_t>(c.record.purpose)))},
                    {"recorded_at", FormatTime(c.record.recorded_at_ms)},
                    {"expires_at", FormatTime(c.record.expires_at_ms)},
                    {"status", status},
                    {"evidence", evidence}});
    out.text += Hex(c.record.consent_id) + "  " + status + "  until " + FormatLocalTime(c.record.expires_at_ms) + "  to " +
                (c.record.to_org_id.IsZero() ? std::string("any member") : Hex(c.record.to_org_id)) + "  " +
                ServicesJson(c.record.services).dump() + "  for " +
                std::string(ConsentPurposeName(static_cast<uint8_t>(c.record.purpose))) + "\n  recorded " +
                FormatLocalTime(c.record.recorded_at_ms) + "\n  evidence: " + evidence + "\n";
  }
  if (consents.empty()) out.text = "no consents recorded for this case\n";
  out.json = {{"case_id", Hex(case_id)}, {"consents", std::move(rows)}};
  return out;
}

}  // namespace

void AddConsentCommands(CLI::App& app, Command& selected) {
  CommandTree tree(app, selected);
  auto case_arg = [](CLI::App* sub) {
    sub->add_option("CASE_ID", g_consent_flags.case_id, "Case id (32 hex digits)")->required();
  };

  CLI::App* consent = tree.Group("consent", "The survivor's consent to share, with its evidence sealed");
  CLI::App* record = tree.Leaf(consent, "record", "Record consent for a case", ConsentRecordCommand);
  case_arg(record);
  record
      ->add_option("--service", g_consent_flags.services,
                   "A service the consent covers (repeat): " + NameChoices(NamedEnum::kServiceCategory))
      ->required();
  record->add_option("--to-org", g_consent_flags.to_org, "Only this organisation (default: any member organisation)");
  record->add_option("--purpose", g_consent_flags.purpose, NameChoices(NamedEnum::kConsentPurpose))
      ->default_val("referral-for-services");
  record->add_option("--expires", g_consent_flags.expires, "Last day (YYYY-MM-DD); the consent ends at midnight after it, Swedish time");
  record->add_option("--days", g_consent_flags.days, "Valid for this many days from now");
  record->add_option("--evidence", g_consent_flags.evidence, "What the survivor agreed to and how (sealed)")
      ->required();
  CLI::App* withdraw =
      tree.Leaf(consent, "withdraw", "Withdraw a consent; ends the referrals relying on it", ConsentWithdraw);
  case_arg(withdraw);
  withdraw->add_option("CONSENT_ID", g_consent_flags.consent_id, "Consent id (32 hex digits)")->required();
  case_arg(tree.Leaf(consent, "list", "Consents of a case, verified, with their evidence", ConsentList));
}

}  // namespace trygg::cli
