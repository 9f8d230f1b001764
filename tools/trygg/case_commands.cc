// SPDX-License-Identifier: Apache-2.0

#include "case_commands.h"

#include <filesystem>
#include <fstream>
#include <optional>

#include "cli_support.h"
#include "trygg/names.h"
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
  std::string file;
  bool yes = false;
};
CaseFlags g_case_flags;

// A record's JSON from libtrygg, as a value the tool prints.
nlohmann::ordered_json ParsedJson(const std::string& json) {
  nlohmann::ordered_json out = nlohmann::ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
  return out.is_discarded() ? nlohmann::ordered_json::object() : out;
}

}  // namespace

nlohmann::ordered_json RecordContentJson(uint16_t content_type, const std::vector<uint8_t>& plaintext) {
  const std::string bytes(plaintext.begin(), plaintext.end());
  if (content_type == kContentCaseRecord) {
    trygg::v1::CaseRecord record;
    if (record.ParseFromString(bytes)) return ParsedJson(CaseRecordToJson(record));
  } else if (content_type == kContentReferralPacket) {
    trygg::v1::ReferralPacket packet;
    if (packet.ParseFromString(bytes)) return ParsedJson(ReferralPacketToJson(packet));
  }
  return bytes;  // text, or a content type this tool does not know
}

std::string RecordContentText(uint16_t content_type, const std::vector<uint8_t>& plaintext) {
  const std::string bytes(plaintext.begin(), plaintext.end());
  if (content_type == kContentCaseRecord) {
    trygg::v1::CaseRecord record;
    if (record.ParseFromString(bytes)) return ParsedJson(CaseRecordToJson(record)).dump(2) + "\n";
  } else if (content_type == kContentReferralPacket) {
    trygg::v1::ReferralPacket packet;
    if (packet.ParseFromString(bytes)) return ParsedJson(ReferralPacketToJson(packet)).dump(2) + "\n";
  }
  return bytes + "\n";
}

namespace {

absl::StatusOr<std::vector<uint8_t>> CaseFileBytes() {
  TRYGG_ASSIGN_OR_RETURN(std::string text, ReadTextFile(g_case_flags.file));
  TRYGG_ASSIGN_OR_RETURN(trygg::v1::CaseRecord record, CaseRecordFromJson(text));
  return TextBytes(record.SerializeAsString());
}

absl::StatusOr<Output> CaseCreate(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> plaintext, CaseFileBytes());
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
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
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
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
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
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
                        {"content", RecordContentJson(v.header.content_type, v.plaintext)},
                        {"attachments", std::move(hashes)}});
    out.text += "version " + std::to_string(v.header.version) + "  " + FormatLocalTime(v.header.created_at_ms) +
                "  by device " + Hex(v.header.author_device) + "\n" +
                RecordContentText(v.header.content_type, v.plaintext);
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
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  // Written to a temporary file and renamed only once every chunk and the
  // stream's hash verified: a partial or forged download never lands at --out.
  const std::string partial = g_case_flags.out + ".partial";
  std::ofstream file(partial, std::ios::binary | std::ios::trunc);
  if (!file) return absl::PermissionDeniedError("cannot write " + partial);
  uint64_t bytes = 0;
  absl::Status status = work->cases.DownloadAttachment(
      case_id, g_case_flags.version, g_case_flags.index, [&](std::span<const uint8_t> part) {
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
  out.json = {{"case_id", Hex(case_id)},
              {"version", g_case_flags.version},
              {"index", g_case_flags.index},
              {"output", g_case_flags.out},
              {"bytes", bytes}};
  out.text = "wrote " + g_case_flags.out + " (" + std::to_string(bytes) + " bytes, verified)\n";
  return out;
}

absl::StatusOr<Output> CaseList(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  TRYGG_ASSIGN_OR_RETURN(std::vector<CaseListing> cases, work->cases.ListCases());
  Output out;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const CaseListing& c : cases) {
    rows.push_back({{"case_id", Hex(c.case_id)},
                    {"owner_org", Hex(c.owner_org)},
                    {"head_version", c.head_version},
                    {"updated_at", FormatTime(c.updated_at_ms)}});
    out.text += Hex(c.case_id) + "  version " + std::to_string(c.head_version) + "  updated " +
                FormatLocalTime(c.updated_at_ms) + "\n";
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
  TRYGG_ASSIGN_OR_RETURN(auto work, BeginCaseWork(settings));
  TRYGG_RETURN_IF_ERROR(work->cases.EraseCase(case_id));
  Output out;
  out.json = {{"case_id", Hex(case_id)}, {"erased", true}};
  out.text = "case " + Hex(case_id) + " erased; the audit log keeps only that it happened\n";
  return out;
}

}  // namespace

CaseWork::CaseWork(std::unique_ptr<Session> s)
    : session(std::move(s)),
      cases(*session->client, session->keys, session->clock, session->rng),
      referrals(*session->client, session->keys, cases, session->clock, session->rng) {}

absl::StatusOr<std::unique_ptr<CaseWork>> BeginCaseWork(const Settings& settings) {
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, OpenSession(settings));
  return std::make_unique<CaseWork>(std::move(session));
}

std::vector<uint8_t> TextBytes(std::string_view text) { return {text.begin(), text.end()}; }

void AddCaseCommands(CLI::App& app, Command& selected) {
  CommandTree tree(app, selected);
  auto case_arg = [](CLI::App* sub) {
    sub->add_option("CASE_ID", g_case_flags.case_id, "Case id (32 hex digits)")->required();
  };

  CLI::App* cases = tree.Group("case", "Cases: sealed on this device, readable only by organisations with a grant");
  CLI::App* create = tree.Leaf(cases, "create", "Open a case with its first version", CaseCreate);
  create->add_option("--file", g_case_flags.file, "Case record (trygg.v1.CaseRecord JSON, docs/case-record.md)")
      ->required()
      ->check(CLI::ExistingFile);
  CLI::App* append = tree.Leaf(cases, "append", "Add a version to a case", CaseAppend);
  case_arg(append);
  append->add_option("--file", g_case_flags.file, "Case record (trygg.v1.CaseRecord JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  append
      ->add_option("--attach", g_case_flags.attach, "A file to attach to the new version (repeat; at most 1 GiB each)")
      ->check(CLI::ExistingFile);
  case_arg(tree.Leaf(cases, "show", "Every version of a case, verified and decrypted", CaseShow));
  CLI::App* attachment = tree.Leaf(cases, "attachment", "Download and decrypt an attachment of a version",
                                   CaseAttachment);
  case_arg(attachment);
  attachment->add_option("VERSION", g_case_flags.version, "The version (as case show lists them)")->required();
  attachment->add_option("INDEX", g_case_flags.index, "The attachment's index in that version, from 0")->required();
  attachment->add_option("--out", g_case_flags.out, "The file to write (must not exist)")->required();
  tree.Leaf(cases, "list", "Cases your organisation may read", CaseList);
  CLI::App* erase = tree.Leaf(cases, "erase", "Erase a case for good (crypto-shredding; owner only)", CaseErase);
  case_arg(erase);
  erase->add_flag("--yes", g_case_flags.yes, "Do not ask for confirmation");
}

}  // namespace trygg::cli
