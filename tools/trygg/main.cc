// SPDX-License-Identifier: Apache-2.0

// trygg: device enrolment, organisation membership, the service directory,
// cases, consent and referrals for caseworkers and organisation admins. Each
// command is argument parsing plus a few libtrygg calls (commands.cc,
// directory_commands.cc, case_commands.cc, consent_commands.cc,
// referral_commands.cc). Exit status: 0 ok, 1 failure (one line
// "trygg: error: ..." on stderr), 2 usage. See docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "audit_commands.h"
#include "case_commands.h"
#include "cli_support.h"
#include "commands.h"
#include "consent_commands.h"
#include "directory_commands.h"
#include "referral_commands.h"
#include "trygg/hardening.h"

namespace trygg::cli {
namespace {

int Run(int argc, char** argv) {
  if (absl::Status hardened = DisableCoreDumps(); !hardened.ok()) {
    std::cerr << "trygg: error: cannot disable core dumps: " << hardened.message() << "\n";
    return 1;
  }
  GlobalFlags global;
  CommandFlags flags;
  Command command = nullptr;

  CLI::App app{"trygg: enrol this device, manage devices and keys, find services, work on cases and referrals"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command
  app.add_option("--server", global.server, std::string("tryggd address host:port (default ") + kDefaultServer + ")");
  app.add_option("--tls-roots", global.tls_roots, "PEM file of CA certificates for the server's TLS certificate");
  app.add_option("--root-key", global.root_key, "Pinned platform root public key (64 hex digits)");
  app.add_option("--keystore", global.keystore,
                 "Device key store (default ~/.local/share/trygg/device.keystore)");
  app.add_flag("--json", global.json, "Print one JSON object on stdout");
  app.footer(
      "Settings not given as flags come from ~/.config/trygg/config.json (written by `trygg device init`).\n"
      "Passphrase: prompted on the terminal, or TRYGG_PASSPHRASE.\n"
      "Exit status: 0 ok, 1 failure, 2 usage.");

  CommandTree tree(app, command);

  CLI::App* device = tree.Group("device", "This device and the devices of your organisation");
  CLI::App* init = tree.Leaf(device, "init", "Create this device's keys and key store", DeviceInit);
  init->add_option("--org", flags.org, "Organisation id (32 hex digits) to join (from your organisation admin)");
  init->add_option("--label", flags.label, "A name your admin recognises, e.g. \"Anna's laptop\"");
  init->add_flag("--admin-of-new-org", flags.admin_of_new_org,
                 "This device will be the first admin of a new organisation (random --org if absent)");
  init->add_option("--name", flags.cert_name,
                   "With --admin-of-new-org or --coordinator: the organisation's or coordinator's name, for the "
                   "trygg-admin line it prints");
  init->add_flag("--coordinator", flags.coordinator,
                 "This device belongs to a coordinator, certified by the platform root (for trygg-audit)");
  tree.Leaf(device, "activate", "After approval: log in and receive the organisation keys", KeysSync);
  CLI::App* revoke = tree.Leaf(device, "revoke", "Revoke a device, rotate the organisation key and re-key the organisation's cases (admin)",
                               DeviceRevoke);
  revoke->add_option("DEVICE_ID", flags.id, "Device id (32 hex digits)")->required();
  CLI::App* role = tree.Leaf(device, "role", "Change a device's role (admin)", DeviceRole);
  role->add_option("DEVICE_ID", flags.id, "Device id (32 hex digits)")->required();
  role->add_option("ROLE", flags.role, "caseworker or org-admin")->required();
  tree.Leaf(device, "list", "Devices in the verified organisation log", DeviceList);

  CLI::App* upload =
      tree.Leaf(&app, "upload-certificate", "Upload a certificate file made by trygg-admin", UploadCertificate);
  upload->add_option("FILE", flags.file, "Certificate file")->required()->check(CLI::ExistingFile);

  CLI::App* enrol = tree.Group("enrol", "Enrolment of new devices");
  CLI::App* request = tree.Leaf(enrol, "request", "Ask to join the organisation; shows the safety number",
                                EnrolRequest);
  request->add_option("--role", flags.role, "caseworker or org-admin")
      ->default_val("caseworker")
      ->check(CLI::IsMember({"caseworker", "org-admin"}));
  request->add_option("--label", flags.label, "A name your admin recognises (default: from device init)");
  tree.Leaf(enrol, "list", "Pending enrolment requests with their safety numbers (admin)", EnrolList);
  CLI::App* approve = tree.Leaf(enrol, "approve", "Approve a request after comparing safety numbers (admin)",
                                EnrolApprove);
  approve->add_option("ENROLMENT_ID", flags.id, "Enrolment id (32 hex digits)")->required();
  approve->add_option("--fingerprint", flags.fingerprint,
                      "The safety number read from the person's device (all 60 digits); without it, asks");

  CLI::App* keys = tree.Group("keys", "Organisation keys");
  tree.Leaf(keys, "sync", "Receive new organisation key generations sealed to this device", KeysSync);

  CLI::App* org = tree.Group("org", "Organisation key (admin)");
  tree.Leaf(org, "init-key", "First admin: create organisation key generation 1", OrgInitKey);
  tree.Leaf(org, "rotate", "Rotate the organisation key to a new generation", OrgRotate);
  tree.Leaf(org, "rekey",
       "Move every case the organisation owns that is still under an older key generation to a new key "
       "(run by `device revoke`; resumes one that was cut off)",
       OrgRekey);

  CLI::App* fingerprint = tree.Leaf(&app, "fingerprint", "Show a safety number", ShowFingerprint);
  fingerprint->add_option("--device", flags.device, "Another device of your organisation (from the verified log)");
  tree.Leaf(&app, "status", "Server, login and organisation log status", ShowStatus);
  tree.Leaf(&app, "login", "Check that this device can log in", CheckLogin);
  tree.Leaf(&app, "server-info", "The server's identity and certificate (no login)", ShowServerInfo);

  AddDirectoryCommands(app, command);
  AddAuditCommands(app, command);
  AddCaseCommands(app, command);
  AddConsentCommands(app, command);
  AddReferralCommands(app, command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // With fallthrough, a word that names no command is left over and CLI11
    // only says that a subcommand is required: name the word instead.
    const std::vector<std::string> left = app.remaining();
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !left.empty() && !left.front().empty() &&
        left.front()[0] != '-') {
      std::string path = "trygg";
      for (const CLI::App* at = &app; !at->get_subcommands().empty();) {
        at = at->get_subcommands().front();
        path += " " + at->get_name();
      }
      std::cerr << "unknown command '" << left.front() << "'; see " << path << " --help\n";
      return 2;
    }
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (command == nullptr) {
    std::cerr << app.help();
    return 2;
  }

  absl::StatusOr<Settings> settings = ResolveSettings(global);
  absl::StatusOr<Output> output = settings.ok() ? command(*settings, flags) : settings.status();
  if (!output.ok()) {
    const bool usage = IsUsageError(output.status());
    const std::string line = usage ? std::string(output.status().message()) : DescribeError(output.status());
    std::cerr << "trygg: " << (usage ? "usage: " : "error: ") << line << "\n";
    if (usage) std::cerr << "Run with --help for more information.\n";
    if (global.json) {
      std::cout << nlohmann::json{{"error", line}, {"code", absl::StatusCodeToString(output.status().code())}}.dump()
                << "\n";
    }
    return usage ? 2 : 1;
  }
  if (global.json) {
    std::cout << output->json.dump() << "\n";
  } else {
    std::cout << output->text;
  }
  return 0;
}

}  // namespace
}  // namespace trygg::cli

int main(int argc, char** argv) { return trygg::cli::Run(argc, argv); }
