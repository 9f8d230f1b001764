// SPDX-License-Identifier: Apache-2.0

#include "audit_commands.h"

#include "cli_support.h"
#include "session.h"
#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

absl::StatusOr<Output> AuditVerify(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(AuditTrailReport report, session->client->VerifyAuditTrail());
  Output out;
  out.json["tree_size"] = report.head.tree_size;
  out.json["timestamp"] = FormatTime(report.head.timestamp_ms);
  out.json["root_hash"] = HexEncode(report.head.root_hash.span());
  out.json["previous_tree_size"] = report.previous_tree_size;
  out.json["writes_verified"] = report.writes_verified;
  out.json["entries_verified"] = report.entries_verified;
  out.json["writes_pending"] = report.writes_pending;
  out.text = "audit log: signed tree head of " + std::to_string(report.head.tree_size) + " entries (" +
             FormatLocalTime(report.head.timestamp_ms) + ")\n";
  out.text += report.previous_tree_size > 0
                  ? "  consistent with the head of " + std::to_string(report.previous_tree_size) +
                        " entries this device verified before\n"
                  : "  the first head this device has verified\n";
  out.text += "  " + std::to_string(report.writes_verified) + " of this device's writes (" +
              std::to_string(report.entries_verified) + " entries) proven included\n";
  if (report.writes_pending > 0) {
    out.text += "  " + std::to_string(report.writes_pending) + " write(s) newer than this head: checked next time\n";
  }
  return out;
}

bool g_yes = false;

absl::StatusOr<Output> AuditForget(const Settings& settings, const CommandFlags&) {
  if (!g_yes) {
    return absl::FailedPreconditionError(
        "this forgets the audit head this device verified and its unproven writes; "
        "do it only after the fault was investigated, and confirm with --yes");
  }
  TRYGG_ASSIGN_OR_RETURN(auto session, OpenSession(settings));
  const size_t dropped = session->client->pending_audit_writes();
  TRYGG_RETURN_IF_ERROR(session->client->ForgetAuditState());
  Output out;
  out.json["writes_forgotten"] = dropped;
  out.text = "audit state forgotten (" + std::to_string(dropped) +
             " unproven write(s)); the next `trygg audit verify` starts afresh\n";
  return out;
}

}  // namespace

void AddAuditCommands(CLI::App& app, Command& selected) {
  CLI::App* audit = app.add_subcommand("audit", "Check the server's audit log of this device's own writes");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Prove that the audit log holds this device's writes since the last check, and only grew since then");
  verify->callback([&selected] { selected = AuditVerify; });
  CLI::App* forget = audit->add_subcommand(
      "forget", "Forget the verified head and unproven writes, after a reported fault was investigated");
  forget->add_flag("--yes", g_yes, "Confirm");
  forget->callback([&selected] { selected = AuditForget; });
}

}  // namespace trygg::cli
