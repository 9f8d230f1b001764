// SPDX-License-Identifier: Apache-2.0

// The commands of `trygg`, one function each: argument values in, a result to
// print out. Each is a few calls into libtrygg (client.h, membership.h); the
// command line itself is defined in main.cc.
//
// Ownership: Settings and Flags are plain values owned by main.
// Thread-safety: single-threaded.
// Failure modes: every command returns the absl::Status of the libtrygg call
// that failed (main turns it into one "trygg: error: ..." line); nothing here
// prints secrets, and session tokens stay inside trygg::Client.
#ifndef TRYGG_TOOLS_TRYGG_COMMANDS_H_
#define TRYGG_TOOLS_TRYGG_COMMANDS_H_

#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "settings.h"
#include "trygg/bytes.h"

namespace trygg::cli {

// Flags of individual commands.
struct CommandFlags {
  std::string org;
  std::string label;
  bool admin_of_new_org = false;
  std::string cert_name;  // device init: the name in the printed trygg-admin line
  bool coordinator = false;
  std::string role;
  std::string id;  // enrolment or device id argument
  std::string fingerprint;
  std::string device;
  std::string file;
};

// What a command prints: `json` with --json, `text` otherwise.
struct Output {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  std::string text;
};

using Command = absl::StatusOr<Output> (*)(const Settings&, const CommandFlags&);

// The one naming convention for certificate files that trygg-admin writes:
// KIND-XXXXXXXX.cert.json with the first 8 hex digits of the subject id
// (organisation or coordinator), so that each organisation's file has its own
// name. The tools print it and README.md and docs/cli.md use it.
std::string CertificateFileName(std::string_view kind, const Id128& subject_id);

// Builds trygg's command tree: a group requires one of its subcommands; a
// leaf, when it is the one parsed, selects the command main() runs.
class CommandTree {
 public:
  CommandTree(CLI::App& app, Command& selected) : app_(app), selected_(selected) {}

  CLI::App* Group(const std::string& name, const std::string& help) {
    CLI::App* sub = app_.add_subcommand(name, help);
    sub->require_subcommand(1);
    return sub;
  }
  CLI::App* Leaf(CLI::App* parent, const std::string& name, const std::string& help, Command run) {
    CLI::App* sub = parent->add_subcommand(name, help);
    sub->callback([&selected = selected_, run] { selected = run; });
    return sub;
  }

 private:
  CLI::App& app_;
  Command& selected_;
};

absl::StatusOr<Output> DeviceInit(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> UploadCertificate(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> EnrolRequest(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> EnrolList(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> EnrolApprove(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> KeysSync(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> OrgInitKey(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> OrgRotate(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> OrgRekey(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> DeviceRevoke(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> DeviceRole(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> DeviceList(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> ShowFingerprint(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> ShowStatus(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> CheckLogin(const Settings& settings, const CommandFlags& flags);
absl::StatusOr<Output> ShowServerInfo(const Settings& settings, const CommandFlags& flags);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_COMMANDS_H_
