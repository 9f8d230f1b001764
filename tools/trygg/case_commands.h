// `trygg case|consent|refer|inbox|outbox|referral|watch`: a caseworker's
// daily work from the command line (docs/cli.md). Each command is a few calls
// into libtrygg's CaseClient and ReferralClient, which seal everything on this
// device and verify everything the server sends before it is shown.
//
//   trygg case create --file CASE.json          (a trygg.v1.CaseRecord as JSON)
//   trygg case append CASE_ID --file CASE.json
//   trygg case show CASE_ID
//   trygg case list
//   trygg case erase CASE_ID --yes
//   trygg consent record CASE_ID --service S... [--to-org ORG] [--purpose P]
//                        (--expires YYYY-MM-DD | --days N) --evidence TEXT
//   trygg consent withdraw CASE_ID CONSENT_ID
//   trygg consent list CASE_ID
//   trygg refer CASE_ID --listing LISTING_ID (--consent CONSENT_ID |
//               --vital-interests TEXT) [--share SECTION...] [--note TEXT]
//               [--urgency routine|urgent|emergency]
//   trygg inbox|outbox [--state S...] [--service S] [--page-size N] [--page-token T]
//   trygg referral show|accept|withdraw|close REFERRAL_ID
//   trygg referral decline REFERRAL_ID --reason R
//   trygg referral complete REFERRAL_ID --outcome O
//   trygg watch [--count N] [--seconds S]
//
// With the global --json each prints one JSON object (watch: one per notice,
// then a summary object).
//
// Ownership: the flags live in case_commands.cc; `selected` must outlive
// parsing. Thread-safety: single-threaded. Failure modes: as commands.h.
#ifndef TRYGG_TOOLS_TRYGG_CASE_COMMANDS_H_
#define TRYGG_TOOLS_TRYGG_CASE_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "commands.h"
#include "trygg/v1/case_record.pb.h"

namespace trygg::cli {

void AddCaseCommands(CLI::App& app, Command& selected);

// Record content types (RecordHeader.content_type) the tools write.
inline constexpr uint16_t kContentText = 1;            // UTF-8 text
inline constexpr uint16_t kContentCaseRecord = 2;      // trygg.v1.CaseRecord
inline constexpr uint16_t kContentReferralPacket = 3;  // trygg.v1.ReferralPacket

// A case record file: the JSON form of trygg.v1.CaseRecord (proto field
// names); unknown fields are InvalidArgument naming the problem.
absl::StatusOr<trygg::v1::CaseRecord> ParseCaseRecordJson(std::string_view text);
// The packet a referral shares: the named sections of `record` and a note.
// Sections: person, exploitation, needs, contacts, support_plan, comments.
absl::StatusOr<trygg::v1::ReferralPacket> MakeReferralPacket(const trygg::v1::CaseRecord& record,
                                                             const std::vector<std::string>& sections,
                                                             const std::string& note);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_CASE_COMMANDS_H_
