// SPDX-License-Identifier: Apache-2.0

// `trygg audit verify`: this device proves to itself that the server's audit
// log holds the writes it made and only grew since it last checked
// (Client::VerifyAuditTrail). Write commands queue their audit receipts in
// the device's state file; this command checks them all.
#ifndef TRYGG_TOOLS_TRYGG_AUDIT_COMMANDS_H_
#define TRYGG_TOOLS_TRYGG_AUDIT_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "commands.h"

namespace trygg::cli {

void AddAuditCommands(CLI::App& app, Command& selected);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_AUDIT_COMMANDS_H_
