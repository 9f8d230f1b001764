// SPDX-License-Identifier: Apache-2.0

// `trygg consent record|withdraw|list`: the survivor's consent to share, from
// the command line (docs/cli.md). Each command is a few calls into libtrygg's
// ReferralClient, which signs the consent and seals its evidence under the
// case's key on this device, and verifies what the server sends.
//
//   trygg consent record CASE_ID --service S... [--to-org ORG] [--purpose P]
//                        (--expires YYYY-MM-DD | --days N) --evidence TEXT
//   trygg consent withdraw CASE_ID CONSENT_ID
//   trygg consent list CASE_ID
//
// Services and purposes are named as trygg/names.h names them.
//
// Ownership: the flags live in consent_commands.cc; `selected` must outlive
// parsing. Thread-safety: single-threaded. Failure modes: as commands.h.
#ifndef TRYGG_TOOLS_TRYGG_CONSENT_COMMANDS_H_
#define TRYGG_TOOLS_TRYGG_CONSENT_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "commands.h"

namespace trygg::cli {

void AddConsentCommands(CLI::App& app, Command& selected);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_CONSENT_COMMANDS_H_
