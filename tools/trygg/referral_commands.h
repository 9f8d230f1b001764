// SPDX-License-Identifier: Apache-2.0

// `trygg refer|inbox|outbox|referral|watch`: referrals between organisations,
// from the command line (docs/cli.md). Each command is a few calls into
// libtrygg's ReferralClient, which seals the packet on this device, signs
// every move, and verifies every record, move and packet the server sends
// before it is shown.
//
//   trygg refer CASE_ID --listing LISTING_ID (--consent CONSENT_ID |
//               --vital-interests TEXT) [--share SECTION...] [--note TEXT]
//               [--urgency routine|urgent|emergency]
//   trygg inbox|outbox [--state S...] [--service S] [--page-size N] [--page-token T]
//   trygg referral show|accept|withdraw|close REFERRAL_ID
//   trygg referral decline REFERRAL_ID --reason R
//   trygg referral complete REFERRAL_ID --outcome O
//   trygg watch [--count N] [--seconds S]
//
// States, services, urgencies, decline reasons and outcomes are named as
// trygg/names.h names them. With the global --json each command prints one
// JSON object (watch: one per notice, then a summary object).
//
// Ownership: the flags live in referral_commands.cc; `selected` must outlive
// parsing. Thread-safety: single-threaded. Failure modes: as commands.h.
#ifndef TRYGG_TOOLS_TRYGG_REFERRAL_COMMANDS_H_
#define TRYGG_TOOLS_TRYGG_REFERRAL_COMMANDS_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"

namespace trygg::cli {

void AddReferralCommands(CLI::App& app, Command& selected);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_REFERRAL_COMMANDS_H_
