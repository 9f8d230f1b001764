// SPDX-License-Identifier: Apache-2.0

// `trygg case create|append|show|attachment|list|erase`: a caseworker's cases
// from the command line (docs/cli.md). Each command is a few calls into
// libtrygg's CaseClient, which seals everything on this device and verifies
// everything the server sends before it is shown.
//
//   trygg case create --file CASE.json          (a trygg.v1.CaseRecord as JSON)
//   trygg case append CASE_ID --file CASE.json [--attach FILE...]
//   trygg case show CASE_ID
//   trygg case attachment CASE_ID VERSION INDEX --out FILE
//   trygg case list
//   trygg case erase CASE_ID --yes
//
// Also what the consent and referral commands (consent_commands.h,
// referral_commands.h) share with these: the clients of one command over one
// session, and how a record's content reads.
//
// Ownership: the flags live in case_commands.cc; `selected` must outlive
// parsing. A CaseWork owns its Session; its clients borrow it.
// Thread-safety: single-threaded. Failure modes: as commands.h.
#ifndef TRYGG_TOOLS_TRYGG_CASE_COMMANDS_H_
#define TRYGG_TOOLS_TRYGG_CASE_COMMANDS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "session.h"
#include "trygg/case_client.h"
#include "trygg/case_record.h"
#include "trygg/referral_client.h"
#include "trygg/v1/case_record.pb.h"

namespace trygg::cli {

void AddCaseCommands(CLI::App& app, Command& selected);

// A record's plaintext for a script (JSON) and a person (text): a case record
// or referral packet as its proto JSON with services in kebab-case
// ("shelter"), anything else as text.
nlohmann::ordered_json RecordContentJson(uint16_t content_type, const std::vector<uint8_t>& plaintext);
std::string RecordContentText(uint16_t content_type, const std::vector<uint8_t>& plaintext);

// The clients of one command, over one logged-in session.
struct CaseWork {
  explicit CaseWork(std::unique_ptr<Session> s);
  std::unique_ptr<Session> session;
  CaseClient cases;
  ReferralClient referrals;
};
absl::StatusOr<std::unique_ptr<CaseWork>> BeginCaseWork(const Settings& settings);

// The bytes of a string, as the libtrygg clients take plaintext.
std::vector<uint8_t> TextBytes(std::string_view text);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_CASE_COMMANDS_H_
