#include "case_commands.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <google/protobuf/util/json_util.h>

#include "cli_support.h"
#include "session.h"
#include "trygg/case_client.h"
#include "trygg/directory_client.h"
#include "trygg/referral_client.h"
#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

// Flags of these commands; CLI11 writes them while parsing.
struct CaseFlags {
  std::string case_id;
  std::vector<std::string> attach;
  uint64_t version = 0;
  size_t index = 0;
  std::string out;
  std::string consent_id;
  std::string referral_id;
  std::string listing_id;
  std::string file;
  bool yes = false;
  std::vector<std::string> services;
  std::string service;
  std::string to_org;
  std::string purpose = "referral-for-services";
  std::string expires;
  int days = 0;
  std::string evidence;
  std::string vital_interests;
  std::vector<std::string> share;
  std::string note;
  std::string urgency = "routine";
  std::vector<std::string> states;
  int page_size = 0;
  std::string page_token;
  std::string reason;
  std::string outcome;
  int count = 0;
  int seconds = 0;
};
CaseFlags g_case_flags;

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// The clients of one command, over one logged-in session.
struct Work {
  explicit Work(std::unique_ptr<Session> s)
      : session(std::move(s)),
        cases(*session->client, session->keys, session->clock, session->rng),
        referrals(*session->client, session->keys, cases, session->clock, session->rng) {}
  std::unique_ptr<Session> session;
  CaseClient cases;
  ReferralClient referrals;
};

absl::StatusOr<std::unique_ptr<Work>> Begin(const Settings& settings) {
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, OpenSession(settings));
  return std::make_unique<Work>(std::move(session));
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

// A record's plaintext for a person (text) and a script (JSON).
nlohmann::ordered_json ContentJson(uint16_t content_type, const std::vector<uint8_t>& plaintext) {
  const std::string bytes(plaintext.begin(), plaintext.end());
  if (content_type == kContentCaseRecord) {
    trygg::v1::CaseRecord record;
    if (record.ParseFromString(bytes)) return nlohmann::ordered_json::parse(ToJson(record, false));
  } else if (content_type == kContentReferralPacket) {
    trygg::v1::ReferralPacket packet;
    if (packet.ParseFromString(bytes)) return nlohmann::ordered_json::parse(ToJson(packet, false));
  }
  return bytes;  // text, or a content type this tool does not know
}

std::string ContentText(uint16_t content_type, const std::vector<uint8_t>& plaintext) {
  const std::string bytes(plaintext.begin(), plaintext.end());
  if (content_type == kContentCaseRecord) {
    trygg::v1::CaseRecord record;
    if (record.ParseFromString(bytes)) return ToJson(record, true);
  } else if (content_type == kContentReferralPacket) {
    trygg::v1::ReferralPacket packet;
    if (packet.ParseFromString(bytes)) return ToJson(packet, true);
  }
  return bytes + "\n";
}

absl::StatusOr<std::vector<uint8_t>> CaseFileBytes() {
  TRYGG_ASSIGN_OR_RETURN(std::string text, ReadTextFile(g_case_flags.file));
  TRYGG_ASSIGN_OR_RETURN(trygg::v1::CaseRecord record, ParseCaseRecordJson(text));
  return Bytes(record.SerializeAsString());
}

absl::StatusOr<int64_t> ParseDate(const std::string& date) {
  std::tm tm{};
  const char* end = strptime(date.c_str(), "%Y-%m-%d", &tm);
  if (end == nullptr || *end != '\0') return absl::InvalidArgumentError("--expires: expected YYYY-MM-DD");
  return int64_t{timegm(&tm)} * 1000;
}

absl::StatusOr<uint8_t> NamedCode(std::optional<uint8_t> (*from_name)(std::string_view), const std::string& name,
                                  std::string_view what) {
  std::optional<uint8_t> value = from_name(name);
  if (!value.has_value()) return absl::InvalidArgumentError("unknown " + std::string(what) + " '" + name + "'");
  return *value;
}

nlohmann::ordered_json ServicesJson(uint16_t services) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (uint8_t s = 1; s <= kMaxServiceCategory; ++s) {
    if (services & ServiceBit(s)) out.push_back(std::string(ServiceCategoryName(s)));
  }
  return out;
}

std::string CodeName(ReferralStatus state, uint8_t code) {
  if (state == ReferralStatus::kDeclined) return std::string(DeclineReasonName(code));
  if (state == ReferralStatus::kCompleted) return std::string(OutcomeName(code));
  return "";
}

nlohmann::ordered_json ReferralRecordJson(const ReferralRecord& r, ReferralStatus state, uint8_t code,
                                          int64_t updated_at_ms, int64_t answer_by_ms) {
  nlohmann::ordered_json out{
      {"referral_id", Hex(r.referral_id)},
      {"case_id", Hex(r.case_id)},
      {"from_org", Hex(r.from_org_id)},
      {"to_org", Hex(r.to_org_id)},
      {"listing_id", Hex(r.listing_id)},
      {"service", std::string(ServiceCategoryName(r.service))},
      {"urgency", std::string(UrgencyName(static_cast<uint8_t>(r.urgency)))},
      {"basis", r.basis == ReferralBasis::kConsent ? "consent" : "vital-interests"},
      {"state", std::string(ReferralStatusName(static_cast<uint8_t>(state)))},
      {"created_at", FormatTime(r.created_at_ms)},
      {"updated_at", FormatTime(updated_at_ms)},
      {"answer_by", FormatTime(answer_by_ms)},
  };
  if (r.basis == ReferralBasis::kConsent) out["consent_id"] = Hex(r.consent_id);
  if (const std::string c = CodeName(state, code); !c.empty()) {
    out[state == ReferralStatus::kDeclined ? "decline_reason" : "outcome"] = c;
  }
  return out;
}

std::string ReferralLine(const ReferralRecord& r, ReferralStatus state, uint8_t code, int64_t answer_by_ms) {
  std::string line = Hex(r.referral_id) + "  " + std::string(ReferralStatusName(static_cast<uint8_t>(state)));
  if (const std::string c = CodeName(state, code); !c.empty()) line += " (" + c + ")";
  line += "  " + std::string(ServiceCategoryName(r.service)) + "  " +
          std::string(UrgencyName(static_cast<uint8_t>(r.urgency))) + "  case " + Hex(r.case_id);
  if (state == ReferralStatus::kSent) line += "  answer by " + FormatTime(answer_by_ms);
  if (r.basis == ReferralBasis::kVitalInterests) line += "  VITAL INTERESTS";
  return line + "\n";
}

Output ReferralOutput(const ReferralView& v) {
  Output out;
  out.json = ReferralRecordJson(v.record, v.state, v.code, v.updated_at_ms, v.answer_by_ms);
  out.json["incoming"] = v.incoming;
  out.json["from_org_name"] = v.from_org_name;
  out.json["to_org_name"] = v.to_org_name;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  for (const SignedTransitionView& t : v.transitions) {
    history.push_back({{"from", std::string(ReferralStatusName(t.transition.from_state))},
                       {"to", std::string(ReferralStatusName(t.transition.to_state))},
                       {"at", FormatTime(t.transition.at_ms)},
                       {"by_device", Hex(t.transition.actor_device_id)},
                       {"by_org", Hex(t.actor_org)}});
  }
  out.json["transitions"] = std::move(history);
  out.json["verified"] = true;
  out.text = ReferralLine(v.record, v.state, v.code, v.answer_by_ms);
  out.text += v.incoming ? "from " + v.from_org_name + " (" + Hex(v.record.from_org_id) + ")"
                        : "to " + v.to_org_name + " (" + Hex(v.record.to_org_id) + ")";
  out.text += ", listing " + Hex(v.record.listing_id) + "\n";
  for (const SignedTransitionView& t : v.transitions) {
    out.text += "  " + FormatTime(t.transition.at_ms) + "  " +
                std::string(ReferralStatusName(t.transition.from_state)) + " -> " +
                std::string(ReferralStatusName(t.transition.to_state)) + "  by device " +
                Hex(t.transition.actor_device_id) + "\n";
  }
  if (v.packet.has_value()) {
    out.json["packet"] = ContentJson(kContentReferralPacket, *v.packet);
    out.text += "packet:\n" + ContentText(kContentReferralPacket, *v.packet);
  } else {
    out.text += "packet: not visible to your organisation any more\n";
  }
  if (v.justification.has_value()) {
    const std::string text(v.justification->begin(), v.justification->end());
    out.json["vital_interests_justification"] = text;
    out.text += "vital-interests justification: " + text + "\n";
  }
  out.text += "signatures verified against the organisations' logs\n";
  return out;
}

// --- cases --------------------------------------------------------------

absl::StatusOr<Output> CaseCreate(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> plaintext, CaseFileBytes());
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, work->cases.CreateCase(plaintext, kContentCaseRecord));
  Output out;
  out.json = {{"case_id", Hex(case_id)}, {"version", 1}};
  out.text = "case " + Hex(case_id) + " opened (version 1, sealed on this device)\n";
  return out;
}

absl::StatusOr<Output> CaseAppend(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_case_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> plaintext, CaseFileBytes());
  // Files to attach, read as they are encrypted and sent.
  std::vector<std::unique_ptr<std::ifstream>> files;
  std::vector<AttachmentInput> attachments;
  for (const std::string& path : g_case_flags.attach) {
    std::error_code error;
    const uint64_t size = std::filesystem::file_size(path, error);
    auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (error || !*file) return absl::NotFoundError("cannot read " + path);
    attachments.push_back({file.get(), size});
    files.push_back(std::move(file));
  }
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_ASSIGN_OR_RETURN(uint64_t version,
                         work->cases.AppendVersion(case_id, plaintext, kContentCaseRecord, attachments));
  Output out;
  out.json = {{"case_id", Hex(case_id)}, {"version", version}, {"attachments", attachments.size()}};
  out.text = "case " + Hex(case_id) + " now at version " + std::to_string(version);
  if (!attachments.empty()) out.text += " with " + std::to_string(attachments.size()) + " attachment(s), sealed";
  out.text += "\n";
  return out;
}

absl::StatusOr<Output> CaseShow(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_case_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_ASSIGN_OR_RETURN(CaseRead read, work->cases.ReadCase(case_id));
  Output out;
  nlohmann::ordered_json versions = nlohmann::ordered_json::array();
  for (const CaseVersion& v : read.versions) {
    nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
    for (const Hash256& h : v.attachment_hashes) hashes.push_back(HexEncode(h.span()));
    versions.push_back({{"version", v.header.version},
                        {"created_at", FormatTime(v.header.created_at_ms)},
                        {"author_org", Hex(v.header.author_org)},
                        {"author_device", Hex(v.header.author_device)},
                        {"content_type", v.header.content_type},
                        {"content", ContentJson(v.header.content_type, v.plaintext)},
                        {"attachments", std::move(hashes)}});
    out.text += "version " + std::to_string(v.header.version) + "  " + FormatTime(v.header.created_at_ms) +
                "  by device " + Hex(v.header.author_device) + "\n" +
                ContentText(v.header.content_type, v.plaintext);
    for (size_t i = 0; i < v.attachment_hashes.size(); ++i) {
      out.text += "  attachment " + std::to_string(i) + " (trygg case attachment " + Hex(case_id) + " " +
                  std::to_string(v.header.version) + " " + std::to_string(i) + " --out FILE)\n";
    }
  }
  out.json = {{"case_id", Hex(case_id)}, {"versions", std::move(versions)}, {"verified", true}};
  out.text += "every version verified: signatures, scope, chain\n";
  return out;
}

absl::StatusOr<Output> CaseAttachment(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_case_flags.case_id, "case id"));
  if (std::filesystem::exists(g_case_flags.out)) return absl::AlreadyExistsError(g_case_flags.out + " exists");
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  // Written to a temporary file and renamed only once every chunk and the
  // stream's hash verified: a partial or forged download never lands at --out.
  const std::string partial = g_case_flags.out + ".partial";
  std::ofstream file(partial, std::ios::binary | std::ios::trunc);
  if (!file) return absl::PermissionDeniedError("cannot write " + partial);
  uint64_t bytes = 0;
  absl::Status status =
      work->cases.DownloadAttachment(case_id, g_case_flags.version, g_case_flags.index, [&](std::span<const uint8_t> part) {
        file.write(reinterpret_cast<const char*>(part.data()), static_cast<std::streamsize>(part.size()));
        bytes += part.size();
        return file ? absl::OkStatus() : absl::DataLossError("writing " + partial + " failed");
      });
  file.close();
  if (!status.ok() || !file) {
    std::filesystem::remove(partial);
    return status.ok() ? absl::DataLossError("writing " + partial + " failed") : status;
  }
  std::filesystem::rename(partial, g_case_flags.out);
  Output out;
  out.json = {{"case_id", Hex(case_id)}, {"version", g_case_flags.version}, {"index", g_case_flags.index},
              {"output", g_case_flags.out}, {"bytes", bytes}};
  out.text = "wrote " + g_case_flags.out + " (" + std::to_string(bytes) + " bytes, verified)\n";
  return out;
}

absl::StatusOr<Output> CaseList(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_ASSIGN_OR_RETURN(std::vector<CaseListing> cases, work->cases.ListCases());
  Output out;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const CaseListing& c : cases) {
    rows.push_back({{"case_id", Hex(c.case_id)},
                    {"owner_org", Hex(c.owner_org)},
                    {"head_version", c.head_version},
                    {"updated_at", FormatTime(c.updated_at_ms)}});
    out.text += Hex(c.case_id) + "  version " + std::to_string(c.head_version) + "  updated " +
                FormatTime(c.updated_at_ms) + "\n";
  }
  if (cases.empty()) out.text = "no cases\n";
  out.json = {{"cases", std::move(rows)}};
  return out;
}

absl::StatusOr<Output> CaseErase(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_case_flags.case_id, "case id"));
  if (!g_case_flags.yes && !ConfirmOnTerminal("Erase case " + Hex(case_id) +
                                         " for good (its records, attachments, consents and referral packets)?")) {
    return absl::FailedPreconditionError("not erased: confirm with --yes");
  }
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_RETURN_IF_ERROR(work->cases.EraseCase(case_id));
  Output out;
  out.json = {{"case_id", Hex(case_id)}, {"erased", true}};
  out.text = "case " + Hex(case_id) + " erased; the audit log keeps only that it happened\n";
  return out;
}

// --- consent ------------------------------------------------------------

absl::StatusOr<Output> ConsentRecordCommand(const Settings& settings, const CommandFlags&) {
  ConsentTerms terms;
  TRYGG_ASSIGN_OR_RETURN(terms.case_id, ParseId(g_case_flags.case_id, "case id"));
  if (!g_case_flags.to_org.empty()) {
    TRYGG_ASSIGN_OR_RETURN(terms.to_org, ParseId(g_case_flags.to_org, "--to-org"));
  }
  for (const std::string& name : g_case_flags.services) {
    TRYGG_ASSIGN_OR_RETURN(uint8_t s, NamedCode(ServiceCategoryFromName, name, "service"));
    terms.services |= ServiceBit(s);
  }
  TRYGG_ASSIGN_OR_RETURN(uint8_t purpose, NamedCode(ConsentPurposeFromName, g_case_flags.purpose, "purpose"));
  terms.purpose = static_cast<ConsentPurpose>(purpose);
  if (!g_case_flags.expires.empty() == (g_case_flags.days > 0)) {
    return absl::InvalidArgumentError("give one of --expires YYYY-MM-DD and --days N");
  }
  terms.evidence = Bytes(g_case_flags.evidence);
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  if (!g_case_flags.expires.empty()) {
    TRYGG_ASSIGN_OR_RETURN(terms.expires_at_ms, ParseDate(g_case_flags.expires));
  } else {
    terms.expires_at_ms = work->session->clock.NowUnixMillis() + int64_t{g_case_flags.days} * 24 * 3600 * 1000;
  }
  TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, work->referrals.RecordConsent(terms));
  Output out;
  out.json = {{"consent_id", Hex(consent_id)},
              {"case_id", Hex(terms.case_id)},
              {"to_org", terms.to_org.IsZero() ? "any" : Hex(terms.to_org)},
              {"services", ServicesJson(terms.services)},
              {"purpose", g_case_flags.purpose},
              {"expires_at", FormatTime(terms.expires_at_ms)}};
  out.text = "consent " + Hex(consent_id) + " recorded until " + FormatTime(terms.expires_at_ms) +
             " (evidence sealed on this device)\n";
  return out;
}

absl::StatusOr<Output> ConsentWithdraw(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_case_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, ParseId(g_case_flags.consent_id, "consent id"));
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_RETURN_IF_ERROR(work->referrals.WithdrawConsent(case_id, consent_id));
  Output out;
  out.json = {{"consent_id", Hex(consent_id)}, {"withdrawn", true}};
  out.text = "consent " + Hex(consent_id) +
             " withdrawn; open referrals that relied on it were ended and their receivers lost access\n";
  return out;
}

absl::StatusOr<Output> ConsentList(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id, ParseId(g_case_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_ASSIGN_OR_RETURN(std::vector<ConsentView> consents, work->referrals.ListConsents(case_id));
  const int64_t now = work->session->clock.NowUnixMillis();
  Output out;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const ConsentView& c : consents) {
    const std::string status = c.withdrawn_at_ms.has_value()       ? "withdrawn"
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
    out.text += Hex(c.record.consent_id) + "  " + status + "  until " + FormatTime(c.record.expires_at_ms) +
                "  to " + (c.record.to_org_id.IsZero() ? std::string("any member") : Hex(c.record.to_org_id)) +
                "  " + ServicesJson(c.record.services).dump() + "\n  evidence: " + evidence + "\n";
  }
  if (consents.empty()) out.text = "no consents recorded for this case\n";
  out.json = {{"case_id", Hex(case_id)}, {"consents", std::move(rows)}};
  return out;
}

// --- referrals ----------------------------------------------------------

absl::StatusOr<Output> Refer(const Settings& settings, const CommandFlags&) {
  ReferralDraft draft;
  TRYGG_ASSIGN_OR_RETURN(draft.case_id, ParseId(g_case_flags.case_id, "case id"));
  TRYGG_ASSIGN_OR_RETURN(draft.listing_id, ParseId(g_case_flags.listing_id, "--listing"));
  if (g_case_flags.consent_id.empty() == g_case_flags.vital_interests.empty()) {
    return absl::InvalidArgumentError("give one of --consent CONSENT_ID and --vital-interests JUSTIFICATION");
  }
  if (!g_case_flags.consent_id.empty()) {
    TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, ParseId(g_case_flags.consent_id, "--consent"));
    draft.consent_id = consent_id;
  } else {
    draft.justification = Bytes(g_case_flags.vital_interests);
  }
  TRYGG_ASSIGN_OR_RETURN(uint8_t urgency, NamedCode(UrgencyFromName, g_case_flags.urgency, "urgency"));
  draft.urgency = static_cast<ReferralUrgency>(urgency);

  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  DirectoryClient directory(*work->session->client, work->session->keys, work->session->clock, work->session->rng);
  TRYGG_ASSIGN_OR_RETURN(VerifiedListing listing, directory.Get(draft.listing_id));
  if (listing.retired()) return absl::FailedPreconditionError("the listing is retired");
  draft.to_org = listing.listing.org_id;
  draft.service = listing.listing.category;

  // The packet: only the chosen sections of the latest case record.
  TRYGG_ASSIGN_OR_RETURN(CaseRead read, work->cases.ReadCase(draft.case_id));
  trygg::v1::CaseRecord latest;
  for (const CaseVersion& v : read.versions) {
    if (v.header.content_type == kContentCaseRecord) {
      latest.ParseFromString(std::string(v.plaintext.begin(), v.plaintext.end()));
    }
  }
  TRYGG_ASSIGN_OR_RETURN(trygg::v1::ReferralPacket packet, MakeReferralPacket(latest, g_case_flags.share, g_case_flags.note));
  draft.packet = Bytes(packet.SerializeAsString());
  draft.content_type = kContentReferralPacket;
  TRYGG_ASSIGN_OR_RETURN(Id128 referral_id, work->referrals.Refer(draft));
  TRYGG_ASSIGN_OR_RETURN(ReferralView view, work->referrals.Get(referral_id));
  Output out = ReferralOutput(view);
  out.text = "referral " + Hex(referral_id) + " sent to " + view.to_org_name + " for " +
             std::string(ServiceCategoryName(draft.service)) + "; answer by " + FormatTime(view.answer_by_ms) + "\n";
  return out;
}

absl::StatusOr<Output> ListBox(const Settings& settings, bool inbox) {
  ReferralQuery query;
  for (const std::string& name : g_case_flags.states) {
    TRYGG_ASSIGN_OR_RETURN(uint8_t s, NamedCode(ReferralStatusFromName, name, "state"));
    query.states.push_back(static_cast<ReferralStatus>(s));
  }
  if (!g_case_flags.service.empty()) {
    TRYGG_ASSIGN_OR_RETURN(query.service, NamedCode(ServiceCategoryFromName, g_case_flags.service, "service"));
  }
  query.page_size = g_case_flags.page_size;
  query.page_token = g_case_flags.page_token;
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_ASSIGN_OR_RETURN(ReferralPage page,
                         inbox ? work->referrals.Inbox(query) : work->referrals.Outbox(query));
  Output out;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const ReferralSummary& r : page.referrals) {
    nlohmann::ordered_json row = ReferralRecordJson(r.record, r.state, r.code, r.updated_at_ms, r.answer_by_ms);
    row["from_org_name"] = r.from_org_name;
    row["to_org_name"] = r.to_org_name;
    rows.push_back(std::move(row));
    std::string line = ReferralLine(r.record, r.state, r.code, r.answer_by_ms);
    line.insert(line.size() - 1, inbox ? "  from " + r.from_org_name : "  to " + r.to_org_name);
    out.text += line;
  }
  if (page.referrals.empty()) out.text = inbox ? "inbox empty\n" : "outbox empty\n";
  if (!page.next_page_token.empty()) out.text += "more: --page-token " + page.next_page_token + "\n";
  out.json = {{"referrals", std::move(rows)}, {"next_page_token", page.next_page_token}};
  return out;
}

absl::StatusOr<Output> Inbox(const Settings& settings, const CommandFlags&) { return ListBox(settings, true); }
absl::StatusOr<Output> Outbox(const Settings& settings, const CommandFlags&) { return ListBox(settings, false); }

template <typename Fn>
absl::StatusOr<Output> OnReferral(const Settings& settings, Fn fn) {
  TRYGG_ASSIGN_OR_RETURN(Id128 id, ParseId(g_case_flags.referral_id, "referral id"));
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  TRYGG_ASSIGN_OR_RETURN(ReferralView view, fn(work->referrals, id));
  return ReferralOutput(view);
}

absl::StatusOr<Output> ReferralShow(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Get(id); });
}
absl::StatusOr<Output> ReferralAccept(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Accept(id); });
}
absl::StatusOr<Output> ReferralWithdraw(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Withdraw(id); });
}
absl::StatusOr<Output> ReferralClose(const Settings& settings, const CommandFlags&) {
  return OnReferral(settings, [](ReferralClient& r, const Id128& id) { return r.Close(id); });
}
absl::StatusOr<Output> ReferralDecline(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(uint8_t reason, NamedCode(DeclineReasonFromName, g_case_flags.reason, "decline reason"));
  return OnReferral(settings, [reason](ReferralClient& r, const Id128& id) {
    return r.Decline(id, static_cast<DeclineReason>(reason));
  });
}
absl::StatusOr<Output> ReferralComplete(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(uint8_t outcome, NamedCode(OutcomeFromName, g_case_flags.outcome, "outcome"));
  return OnReferral(settings, [outcome](ReferralClient& r, const Id128& id) {
    return r.Complete(id, static_cast<ReferralOutcome>(outcome));
  });
}

absl::StatusOr<Output> Watch(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto work, Begin(settings));
  const int64_t deadline =
      g_case_flags.seconds > 0 ? work->session->clock.NowUnixMillis() + int64_t{g_case_flags.seconds} * 1000 : 0;
  int seen = 0;
  if (!settings.given.json) {
    std::cout << "watching referrals to and from your organisation (Ctrl-C to stop)" << std::endl;
  }
  TRYGG_RETURN_IF_ERROR(work->referrals.Watch(
      [&](const ReferralNotice& n) {
        ++seen;
        const std::string state(ReferralStatusName(static_cast<uint8_t>(n.state)));
        if (settings.given.json) {
          std::cout << nlohmann::ordered_json{{"referral_id", Hex(n.referral_id)},
                                              {"state", state},
                                              {"incoming", n.incoming},
                                              {"at", FormatTime(n.at_ms)}}
                           .dump()
                    << std::endl;
        } else {
          std::cout << FormatTime(n.at_ms) << "  " << (n.incoming ? "inbox " : "outbox") << "  "
                    << Hex(n.referral_id) << "  " << state << std::endl;
        }
        return g_case_flags.count == 0 || seen < g_case_flags.count;
      },
      deadline));
  Output out;
  out.json = {{"notices", seen}};
  out.text = std::to_string(seen) + " notice(s)\n";
  return out;
}

}  // namespace

absl::StatusOr<trygg::v1::CaseRecord> ParseCaseRecordJson(std::string_view text) {
  trygg::v1::CaseRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(text), &record, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError("the case file is not a trygg.v1.CaseRecord in JSON: " +
                                      std::string(status.message()));
  }
  return record;
}

absl::StatusOr<trygg::v1::ReferralPacket> MakeReferralPacket(const trygg::v1::CaseRecord& record,
                                                             const std::vector<std::string>& sections,
                                                             const std::string& note) {
  trygg::v1::ReferralPacket packet;
  trygg::v1::CaseRecord* shared = packet.mutable_shared();
  for (const std::string& section : sections) {
    if (section == "person") {
      *shared->mutable_person() = record.person();
    } else if (section == "exploitation") {
      *shared->mutable_exploitation() = record.exploitation();
    } else if (section == "needs") {
      *shared->mutable_needs() = record.needs();
    } else if (section == "contacts") {
      *shared->mutable_contacts() = record.contacts();
    } else if (section == "support_plan") {
      *shared->mutable_support_plan() = record.support_plan();
    } else if (section == "comments") {
      *shared->mutable_comments() = record.comments();
    } else {
      return absl::InvalidArgumentError("--share: unknown section '" + section +
                                        "' (person, exploitation, needs, contacts, support_plan, comments)");
    }
    packet.add_sections(section);
  }
  packet.set_note(note);
  if (sections.empty() && note.empty()) {
    return absl::InvalidArgumentError("a referral shares something: name --share sections or write a --note");
  }
  return packet;
}

void AddCaseCommands(CLI::App& app, Command& selected) {
  auto leaf = [&](CLI::App* parent, const std::string& name, const std::string& help, Command run) {
    CLI::App* sub = parent->add_subcommand(name, help);
    sub->callback([&selected, run] { selected = run; });
    return sub;
  };
  auto group = [&](const std::string& name, const std::string& help) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->require_subcommand(1);
    return sub;
  };
  auto case_arg = [](CLI::App* sub) {
    sub->add_option("CASE_ID", g_case_flags.case_id, "Case id (32 hex digits)")->required();
  };
  auto referral_arg = [](CLI::App* sub) {
    sub->add_option("REFERRAL_ID", g_case_flags.referral_id, "Referral id (32 hex digits)")->required();
  };
  const std::string services_help =
      "shelter, legal_advice, interpreting, counselling, safe_return, outreach, healthcare, employment_training "
      "or other";

  CLI::App* cases = group("case", "Cases: sealed on this device, readable only by organisations with a grant");
  CLI::App* create = leaf(cases, "create", "Open a case with its first version", CaseCreate);
  create->add_option("--file", g_case_flags.file, "Case record (trygg.v1.CaseRecord JSON, docs/case-record.md)")
      ->required()
      ->check(CLI::ExistingFile);
  CLI::App* append = leaf(cases, "append", "Add a version to a case", CaseAppend);
  case_arg(append);
  append->add_option("--file", g_case_flags.file, "Case record (trygg.v1.CaseRecord JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  append->add_option("--attach", g_case_flags.attach, "A file to attach to the new version (repeat; at most 1 GiB each)")
      ->check(CLI::ExistingFile);
  case_arg(leaf(cases, "show", "Every version of a case, verified and decrypted", CaseShow));
  CLI::App* attachment = leaf(cases, "attachment", "Download and decrypt an attachment of a version", CaseAttachment);
  case_arg(attachment);
  attachment->add_option("VERSION", g_case_flags.version, "The version (as case show lists them)")->required();
  attachment->add_option("INDEX", g_case_flags.index, "The attachment's index in that version, from 0")->required();
  attachment->add_option("--out", g_case_flags.out, "The file to write (must not exist)")->required();
  leaf(cases, "list", "Cases your organisation may read", CaseList);
  CLI::App* erase = leaf(cases, "erase", "Erase a case for good (crypto-shredding; owner only)", CaseErase);
  case_arg(erase);
  erase->add_flag("--yes", g_case_flags.yes, "Do not ask for confirmation");

  CLI::App* consent = group("consent", "The survivor's consent to share, with its evidence sealed");
  CLI::App* record = leaf(consent, "record", "Record consent for a case", ConsentRecordCommand);
  case_arg(record);
  record->add_option("--service", g_case_flags.services, "A service the consent covers (repeat): " + services_help)
      ->required();
  record->add_option("--to-org", g_case_flags.to_org, "Only this organisation (default: any member organisation)");
  record->add_option("--purpose", g_case_flags.purpose,
                     "referral-for-services, coordination-of-support, safe-return-planning, legal-proceedings or "
                     "other")
      ->default_val("referral-for-services");
  record->add_option("--expires", g_case_flags.expires, "Last day (YYYY-MM-DD, UTC midnight)");
  record->add_option("--days", g_case_flags.days, "Valid for this many days from now");
  record->add_option("--evidence", g_case_flags.evidence, "What the survivor agreed to and how (sealed)")->required();
  CLI::App* withdraw = leaf(consent, "withdraw", "Withdraw a consent; ends the referrals relying on it",
                            ConsentWithdraw);
  case_arg(withdraw);
  withdraw->add_option("CONSENT_ID", g_case_flags.consent_id, "Consent id (32 hex digits)")->required();
  case_arg(leaf(consent, "list", "Consents of a case, verified, with their evidence", ConsentList));

  CLI::App* refer = leaf(&app, "refer", "Refer a case to another organisation's service listing", Refer);
  case_arg(refer);
  refer->add_option("--listing", g_case_flags.listing_id, "The receiving service's listing id")->required();
  refer->add_option("--consent", g_case_flags.consent_id, "The consent that covers this receiver and service");
  refer->add_option("--vital-interests", g_case_flags.vital_interests,
                    "No consent: why the survivor's vital interests require it (sealed; flagged to coordinators)");
  refer->add_option("--share", g_case_flags.share,
                    "Case sections the receiver needs (repeat): person, exploitation, needs, contacts, "
                    "support_plan, comments");
  refer->add_option("--note", g_case_flags.note, "A note for the receiver (sealed in the packet)");
  refer->add_option("--urgency", g_case_flags.urgency, "routine, urgent or emergency")->default_val("routine");

  for (bool inbox : {true, false}) {
    CLI::App* box = leaf(&app, inbox ? "inbox" : "outbox",
                         inbox ? "Referrals to your organisation, newest first"
                               : "Referrals your organisation sent, newest first",
                         inbox ? Inbox : Outbox);
    box->add_option("--state", g_case_flags.states,
                    "Only this state (repeat): sent, accepted, declined, withdrawn, expired, completed, closed");
    box->add_option("--service", g_case_flags.service, "Only this service: " + services_help);
    box->add_option("--page-size", g_case_flags.page_size, "Referrals per page (default 50, at most 500)");
    box->add_option("--page-token", g_case_flags.page_token, "Continue where the previous page ended");
  }

  CLI::App* referral = group("referral", "One referral: show it, answer it, follow it to its outcome");
  referral_arg(leaf(referral, "show", "A referral with its history and packet, verified", ReferralShow));
  referral_arg(leaf(referral, "accept", "Accept a referral sent to your organisation", ReferralAccept));
  CLI::App* decline = leaf(referral, "decline", "Decline a referral sent to your organisation", ReferralDecline);
  referral_arg(decline);
  decline->add_option("--reason", g_case_flags.reason,
                      "no-capacity, outside-mandate, not-eligible, cannot-contact, survivor-declined or other")
      ->required();
  referral_arg(leaf(referral, "withdraw", "Withdraw a referral your organisation sent", ReferralWithdraw));
  CLI::App* complete = leaf(referral, "complete", "Record the outcome of an accepted referral", ReferralComplete);
  referral_arg(complete);
  complete->add_option("--outcome", g_case_flags.outcome,
                       "service-provided, partially-provided, survivor-disengaged, referred-onward or other")
      ->required();
  referral_arg(leaf(referral, "close", "Close an accepted referral without an outcome", ReferralClose));

  CLI::App* watch = leaf(&app, "watch", "Print a line for each new or changed referral (no personal data)", Watch);
  watch->add_option("--count", g_case_flags.count, "Stop after this many notices");
  watch->add_option("--seconds", g_case_flags.seconds, "Stop after this many seconds");
}

}  // namespace trygg::cli
