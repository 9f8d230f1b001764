// SPDX-License-Identifier: Apache-2.0

// `trygg directory ...`: the service directory from the command line
// (docs/directory.md). Each command is a few calls into libtrygg's
// DirectoryClient, which signs what an admin publishes and verifies every
// listing it shows against the organisation's verified log.
//
//   trygg directory search [--category C] [--region SE-AB] [--language ro]
//                          [--target-group G] [--exploitation F] [--open]
//                          [--page-size N] [--page-token T]
//   trygg directory show LISTING_ID
//   trygg directory publish --file LISTING.json [--listing-id ID]   (admin)
//   trygg directory update-capacity LISTING_ID PLACES               (admin)
//   trygg directory retire LISTING_ID                               (admin)
//   trygg directory export [--output FILE]
//
// With the global --json each prints one JSON object.
//
// Ownership: the directory commands' flags live in this file (CLI11 binds
// them to storage that outlives parsing); `selected` must outlive parsing.
// Thread-safety: single-threaded, like the rest of the tool.
// Failure modes: as commands.h: the status of the libtrygg call that failed.
#ifndef TRYGG_TOOLS_TRYGG_DIRECTORY_COMMANDS_H_
#define TRYGG_TOOLS_TRYGG_DIRECTORY_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "commands.h"
#include "trygg/listing.h"

namespace trygg::cli {

// Adds the `directory` command group to `app`. When one of its commands is
// chosen on the command line, parsing sets `selected` to it; main then runs
// it like any other Command.
void AddDirectoryCommands(CLI::App& app, Command& selected);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_DIRECTORY_COMMANDS_H_
