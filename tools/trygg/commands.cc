// SPDX-License-Identifier: Apache-2.0

#include "commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli_support.h"
#include "session.h"
#include "trygg/case_client.h"
#include "trygg/client.h"
#include "trygg/device.h"
#include "trygg/fingerprint.h"
#include "trygg/key_store.h"
#include "trygg/label.h"
#include "trygg/membership.h"
#include "trygg/org_log.h"
#include "trygg/random.h"
#include "trygg/status_macros.h"
#include "trygg/trust.h"

namespace trygg::cli {
namespace {

absl::Status MakePrivateDirectories(const std::filesystem::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError("cannot create " + dir.string() + ": " + error.message());
  return absl::OkStatus();
}

nlohmann::ordered_json Generations(const KeyStoreContents& keys) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const OrgKey& key : keys.org_keys) out.push_back(key.generation);
  return out;
}

std::string GenerationsText(const KeyStoreContents& keys) {
  if (keys.org_keys.empty()) return "none";
  std::string text;
  for (const OrgKey& key : keys.org_keys) text += (text.empty() ? "" : ", ") + std::to_string(key.generation);
  return text;
}

// For a shell command line: NAME as is when it is plain, else in single quotes.
std::string ShellQuote(std::string_view text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  if (plain) return std::string(text);
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string CertificateFileName(std::string_view kind, const Id128& subject_id) {
  return std::string(kind) + "-" + Hex(subject_id).substr(0, 8) + ".cert.json";
}

absl::StatusOr<Output> DeviceInit(const Settings& settings, const CommandFlags& flags) {
  SystemRng rng;
  // For a coordinator, "organisation" is its own coordinator id: the subject
  // of its root certificate.
  Id128 org_id;
  if (int(!flags.org.empty()) + int(flags.coordinator) > 1 || (flags.coordinator && flags.admin_of_new_org)) {
    return UsageError("give one of --org, --admin-of-new-org and --coordinator");
  }
  if (!flags.cert_name.empty() && !flags.admin_of_new_org && !flags.coordinator) {
    return UsageError("--name goes with --admin-of-new-org or --coordinator");
  }
  if (!flags.org.empty()) {
    TRYGG_ASSIGN_OR_RETURN(org_id, ParseId(flags.org, "--org"));
  } else if (flags.admin_of_new_org || flags.coordinator) {
    rng.Fill(org_id.span());
  } else {
    return UsageError(
        "--org ORG_ID is required (or --admin-of-new-org for a new organisation, or --coordinator)");
  }
  // Checked before anything is written: a key store without a pinned root
  // could not enrol, and device init does not run twice.
  if (settings.root_key_hex.empty()) {
    return UsageError(
        "--root-key HEX is required: the platform root's public key, which its holder reads from "
        "`trygg-admin show`");
  }
  TRYGG_RETURN_IF_ERROR(CheckLabel(flags.label, kMaxEnrolmentLabelChars, "--label"));
  TRYGG_RETURN_IF_ERROR(PinnedRoot(settings).status());
  if (std::filesystem::exists(settings.keystore)) {
    return absl::AlreadyExistsError("a key store already exists at " + settings.keystore.string());
  }
  TRYGG_ASSIGN_OR_RETURN(Passphrase passphrase, ReadPassphrase("New key store passphrase: ", /*confirm=*/true));
  TRYGG_ASSIGN_OR_RETURN(KeyStoreContents contents,
                         InitDevice(settings.keystore, passphrase.view(), org_id, KeyStoreKdfLimits(), rng));

  // Remember what was given, so later commands need no flags.
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  if (std::filesystem::exists(settings.config_file)) {
    TRYGG_ASSIGN_OR_RETURN(std::string text, ReadTextFile(settings.config_file));
    nlohmann::ordered_json old = nlohmann::ordered_json::parse(text, nullptr, false);
    if (old.is_object()) config = old;
  }
  if (!settings.given.server.empty()) config["server"] = settings.given.server;
  // Paths are kept absolute: a later command may run from another directory.
  const auto absolute = [](const std::string& path) {
    return std::filesystem::absolute(path).lexically_normal().string();
  };
  if (!settings.given.tls_roots.empty()) config["tls_roots"] = absolute(settings.given.tls_roots);
  if (!settings.given.root_key.empty()) config["root_key"] = settings.given.root_key;
  if (!settings.given.keystore.empty()) config["keystore"] = absolute(settings.given.keystore);
  if (!flags.label.empty()) config["label"] = flags.label;
  TRYGG_RETURN_IF_ERROR(MakePrivateDirectories(settings.config_file.parent_path()));
  {
    std::ofstream out(settings.config_file, std::ios::trunc);
    out << config.dump(2) << "\n";
    if (!out) return absl::InternalError("cannot write " + settings.config_file.string());
  }

  const SignPublicKey& sign_key = contents.device.signing().public_key;
  const BoxPublicKey& box_key = contents.device.box().public_key;
  Output output;
  output.json = {{flags.coordinator ? "coordinator_id" : "org_id", Hex(org_id)},
                 {"device_id", Hex(contents.device_id)},
                 {"sign_key", HexEncode(sign_key.span())},
                 {"box_key", HexEncode(box_key.span())},
                 {"safety_number", SafetyNumber(sign_key)},
                 {"keystore", settings.keystore.string()}};
  output.text = "created device keys in " + settings.keystore.string() +
                (flags.coordinator ? "\n  coordinator:  " : "\n  organisation: ") + Hex(org_id) +
                "\n  device id:    " + Hex(contents.device_id) + "\n  signing key:  " +
                HexEncode(sign_key.span()) + "\n  box key:      " + HexEncode(box_key.span()) +
                "\n  safety number: " + SafetyNumber(sign_key) + "\n";
  const std::string name = flags.cert_name.empty() ? "NAME" : ShellQuote(flags.cert_name);
  if (flags.admin_of_new_org) {
    // Printed to be run as it stands by the root holder (key store
    // root.keystore, as in README.md), with a certificate file name of its
    // own for each organisation.
    const std::string cert_file = CertificateFileName("org", org_id);
    output.json["admit_org"] = "trygg-admin admit-org --keystore root.keystore --name " + name + " --org-id " +
                               Hex(org_id) + " --admin-device-id " + Hex(contents.device_id) +
                               " --admin-sign-key " + HexEncode(sign_key.span()) + " --admin-box-key " +
                               HexEncode(box_key.span()) + " --out " + cert_file;
    output.text += "Give these to the platform root holder, who compares the safety number with you and runs:\n  " +
                   output.json["admit_org"].get<std::string>() + "\nthen you upload the certificate it writes, " +
                   cert_file + ", and run `trygg org init-key`.\n";
  } else if (flags.coordinator) {
    const std::string cert_file = CertificateFileName("coordinator", org_id);
    output.json["certify_coordinator"] = "trygg-admin certify-coordinator --keystore root.keystore --name " + name +
                                         " --coordinator-id " + Hex(org_id) + " --device-id " +
                                         Hex(contents.device_id) + " --sign-key " + HexEncode(sign_key.span()) +
                                         " --box-key " + HexEncode(box_key.span()) + " --out " + cert_file;
    output.text += "Give these to the platform root holder, who compares the safety number with you and runs:\n  " +
                   output.json["certify_coordinator"].get<std::string>() +
                   "\nthen you upload the certificate it writes, " + cert_file +
                   "; `trygg-audit` then reads the audit log with this key store.\n";
  } else {
    output.text += "Next: `trygg enrol request`, then compare the safety number with your organisation admin.\n";
  }
  return output;
}

absl::StatusOr<Output> UploadCertificate(const Settings& settings, const CommandFlags& flags) {
  TRYGG_ASSIGN_OR_RETURN(std::string text, ReadTextFile(flags.file));
  TRYGG_ASSIGN_OR_RETURN(CertificateFile file, DecodeCertificateFile(text));
  TRYGG_ASSIGN_OR_RETURN(SignPublicKey root, PinnedRoot(settings));
  // Checked here too, so that a file signed by another root is named as such.
  absl::StatusOr<RootCertificate> cert = VerifyRootCertificate(file.certificate, root, file.kind);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(flags.file + " is not a " + CertificateKindName(file.kind) +
                                      " certificate signed by the pinned platform root: " +
                                      std::string(cert.status().message()));
  }
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect(settings));
  TRYGG_ASSIGN_OR_RETURN(Id128 subject, client->UploadCertificate(file.kind, file.certificate));
  Output output;
  output.json = {{"kind", CertificateKindName(file.kind)}, {"subject_id", Hex(subject)}, {"name", cert->name}};
  output.text = "uploaded the " + CertificateKindName(file.kind) + " certificate for \"" + cert->name +
                "\" (subject " + Hex(subject) + ")\n";
  return output;
}

absl::StatusOr<Output> EnrolRequest(const Settings& settings, const CommandFlags& flags) {
  TRYGG_ASSIGN_OR_RETURN(Role role, ParseRole(flags.role));
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings, {.login = false}));
  TRYGG_ASSIGN_OR_RETURN(EnrolmentTicket ticket,
                         RequestEnrolment(*device->device, role, flags.label.empty() ? settings.label : flags.label));
  const EnrolmentRequest& request = ticket.request;
  const Id128& enrolment_id = ticket.enrolment_id;
  const std::string& safety_number = ticket.safety_number;
  Output output;
  output.json = {{"enrolment_id", Hex(enrolment_id)},
                 {"org_id", Hex(request.org_id)},
                 {"device_id", Hex(request.device_id)},
                 {"role", RoleName(request.requested_role)},
                 {"safety_number", safety_number}};
  output.text = "enrolment request " + Hex(enrolment_id) + " submitted (role " + RoleName(request.requested_role) +
                ")\nsafety number of this device:\n  " + safety_number +
                "\nCompare it with your organisation admin in person or over a verified channel;\n"
                "after approval run `trygg device activate`.\n";
  return output;
}

absl::StatusOr<Output> EnrolList(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(std::vector<PendingEnrolment> pending, device->client->ListEnrolments());
  Output output;
  output.json["enrolments"] = nlohmann::ordered_json::array();
  if (pending.empty()) output.text = "no pending enrolment requests\n";
  for (const PendingEnrolment& p : pending) {
    output.json["enrolments"].push_back({{"enrolment_id", Hex(p.enrolment_id)},
                                         {"device_id", Hex(p.request.device_id)},
                                         {"label", p.request.label},
                                         {"role", RoleName(p.request.requested_role)},
                                         {"submitted_at", FormatTime(p.submitted_at_ms)},
                                         {"safety_number", SafetyNumber(p.request.sign_key)}});
    output.text += "enrolment " + Hex(p.enrolment_id) + "\n  device:  " + Hex(p.request.device_id) + " \"" +
                   EscapeForTerminal(p.request.label) + "\"\n  role:    " + RoleName(p.request.requested_role) +
                   "\n  submitted: " + FormatLocalTime(p.submitted_at_ms) +
                   "\n  safety number: " + SafetyNumber(p.request.sign_key) + "\n";
  }
  return output;
}

absl::StatusOr<Output> EnrolApprove(const Settings& settings, const CommandFlags& flags) {
  TRYGG_ASSIGN_OR_RETURN(Id128 enrolment_id, ParseId(flags.id, "ENROLMENT_ID"));
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(std::vector<PendingEnrolment> pending, device->client->ListEnrolments());
  auto found = std::find_if(pending.begin(), pending.end(),
                            [&](const PendingEnrolment& p) { return p.enrolment_id == enrolment_id; });
  if (found == pending.end()) {
    return absl::NotFoundError("no pending enrolment request " + flags.id + " in your organisation");
  }
  const std::string safety_number = SafetyNumber(found->request.sign_key);
  // The ceremony: the admin vouches that this key is the person's device.
  if (!flags.fingerprint.empty()) {
    absl::Status match = CheckSafetyNumber(flags.fingerprint, found->request.sign_key);
    if (absl::IsInvalidArgument(match)) {
      return absl::InvalidArgumentError("--fingerprint must be the full 60-digit safety number");
    }
    TRYGG_RETURN_IF_ERROR(match);
  } else {
    std::cerr << "enrolment " << flags.id << ": device " << Hex(found->request.device_id) << " \""
              << EscapeForTerminal(found->request.label) << "\" asks for role " << RoleName(found->request.requested_role)
              << "\nsafety number: " << safety_number << "\n";
    if (!ConfirmOnTerminal("Is this exactly the number shown on the person's device?")) {
      return absl::FailedPreconditionError(
          "not approved: confirm the safety number on a terminal, or pass --fingerprint DIGITS");
    }
  }
  SystemClock clock;
  SystemRng rng;
  TRYGG_ASSIGN_OR_RETURN(uint64_t seq, ApproveEnrolment(*device->client, device->keys, *found, clock, rng));
  Output output;
  output.json = {{"enrolment_id", flags.id},
                 {"device_id", Hex(found->request.device_id)},
                 {"role", RoleName(found->request.requested_role)},
                 {"log_seq", seq}};
  output.text = "approved device " + Hex(found->request.device_id) + " as " +
                RoleName(found->request.requested_role) + " (organisation log link " + std::to_string(seq) +
                ")\nThe device now runs `trygg device activate`.\n";
  return output;
}

absl::StatusOr<Output> KeysSync(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings, {.rewrite_keys = true}));
  TRYGG_ASSIGN_OR_RETURN(int added, ActivateDevice(*device->device));
  TRYGG_ASSIGN_OR_RETURN(OrgLogState log, device->client->FetchOrgLog(device->keys.org_id));
  Output output;
  output.json = {{"device_id", Hex(device->keys.device_id)},
                 {"role", RoleName(device->login.role)},
                 {"added", added},
                 {"generations", Generations(device->keys)},
                 {"current_generation", log.generation()}};
  output.text = "device " + Hex(device->keys.device_id) + " is active as " + RoleName(device->login.role) +
                "\n  organisation key generations received now: " + std::to_string(added) +
                "\n  generations held: " + GenerationsText(device->keys) +
                "\n  current generation: " + std::to_string(log.generation()) + "\n";
  return output;
}

namespace {

absl::StatusOr<Output> RotateWith(Session& device) {
  SystemClock clock;
  SystemRng rng;
  TRYGG_ASSIGN_OR_RETURN(uint32_t generation, RotateOrgKey(*device.client, device.keys, clock, rng));
  TRYGG_RETURN_IF_ERROR(device.SaveKeys());
  Output output;
  output.json = {{"org_id", Hex(device.keys.org_id)}, {"generation", generation}};
  output.text = "organisation key is now generation " + std::to_string(generation) +
                ", sealed to every active device\n";
  return output;
}

// Moves every case the organisation owns that is still granted under an
// older key generation to a new epoch (CaseClient::RekeyStaleCases), with
// progress on a terminal. Resumable: whatever an interrupted run left is
// found and done by the next.
absl::StatusOr<RekeyReport> RekeyWith(Session& device) {
  SystemClock clock;
  SystemRng rng;
  CaseClient cases(*device.client, device.keys, clock, rng);
  const bool tty = isatty(STDERR_FILENO) != 0;
  TRYGG_ASSIGN_OR_RETURN(RekeyReport report, cases.RekeyStaleCases([tty](size_t done, size_t total) {
    if (tty) std::cerr << "\rre-keying cases: " << done << "/" << total << std::flush;
  }));
  if (tty && report.cases_checked > 0) std::cerr << "\n";
  return report;
}

std::string RekeyText(const RekeyReport& report) {
  return std::to_string(report.cases_rekeyed) + " of the organisation's " + std::to_string(report.cases_checked) +
         " case(s) moved to a new key\n";
}

}  // namespace

absl::StatusOr<Output> OrgRekey(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(RekeyReport report, RekeyWith(*device));
  Output output;
  output.json = {{"cases_checked", report.cases_checked}, {"cases_rekeyed", report.cases_rekeyed}};
  output.text = RekeyText(report);
  return output;
}

absl::StatusOr<Output> OrgInitKey(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings, {.rewrite_keys = true}));
  TRYGG_ASSIGN_OR_RETURN(OrgLogState log, device->client->FetchOrgLog(device->keys.org_id));
  if (log.generation() != 0) {
    return absl::FailedPreconditionError("the organisation key already exists (generation " +
                                         std::to_string(log.generation()) + "); use `trygg org rotate`");
  }
  return RotateWith(*device);
}

absl::StatusOr<Output> OrgRotate(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings, {.rewrite_keys = true}));
  return RotateWith(*device);
}

absl::StatusOr<Output> DeviceRevoke(const Settings& settings, const CommandFlags& flags) {
  TRYGG_ASSIGN_OR_RETURN(Id128 device_id, ParseId(flags.id, "DEVICE_ID"));
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings, {.rewrite_keys = true}));
  SystemClock clock;
  SystemRng rng;
  TRYGG_RETURN_IF_ERROR(RevokeDevice(*device->client, device->keys, device_id, clock, rng));
  TRYGG_RETURN_IF_ERROR(device->SaveKeys());
  TRYGG_ASSIGN_OR_RETURN(OrgLogState log, device->client->FetchOrgLog(device->keys.org_id));
  // The revoked device still holds the old generations, and with them every
  // case scope granted under them: move those cases to new keys at once.
  absl::StatusOr<RekeyReport> report = RekeyWith(*device);
  if (!report.ok()) {
    return absl::Status(report.status().code(),
                        "the device is revoked and the organisation key rotated, but re-keying the cases stopped (" +
                            std::string(report.status().message()) + "); finish with `trygg org rekey`");
  }
  Output output;
  output.json = {{"revoked_device_id", flags.id},
                 {"generation", log.generation()},
                 {"cases_checked", report->cases_checked},
                 {"cases_rekeyed", report->cases_rekeyed}};
  output.text = "revoked device " + flags.id + "; its sessions have ended and the organisation key is now generation " +
                std::to_string(log.generation()) + "\n" + RekeyText(*report);
  return output;
}

absl::StatusOr<Output> DeviceRole(const Settings& settings, const CommandFlags& flags) {
  TRYGG_ASSIGN_OR_RETURN(Id128 device_id, ParseId(flags.id, "DEVICE_ID"));
  TRYGG_ASSIGN_OR_RETURN(Role role, ParseRole(flags.role));
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings));
  SystemClock clock;
  TRYGG_RETURN_IF_ERROR(ChangeRole(*device->client, device->keys, device_id, role, clock));
  Output output;
  output.json = {{"device_id", flags.id}, {"role", RoleName(role)}};
  output.text = "device " + flags.id + " is now " + RoleName(role) + "\n";
  return output;
}

absl::StatusOr<Output> DeviceList(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(OrgLogState log, device->client->FetchOrgLog(device->keys.org_id));
  Output output;
  output.json = {{"org_id", Hex(log.org_id())},
                 {"org_name", log.name()},
                 {"log_seq", log.seq()},
                 {"generation", log.generation()},
                 {"devices", nlohmann::ordered_json::array()}};
  output.text = "organisation \"" + log.name() + "\" " + Hex(log.org_id()) + " (verified log to link " +
                std::to_string(log.seq()) + ", key generation " + std::to_string(log.generation()) + ")\n";
  for (const auto& [id, record] : log.devices()) {
    const bool self = id == device->keys.device_id;
    output.json["devices"].push_back({{"device_id", Hex(id)},
                                      {"role", RoleName(record.role)},
                                      {"revoked", record.revoked},
                                      {"this_device", self},
                                      {"safety_number", SafetyNumber(record.sign_key)}});
    output.text += "  " + Hex(id) + "  " + RoleName(record.role) + (record.revoked ? "  REVOKED" : "") +
                   (self ? "  (this device)" : "") + "\n      " + SafetyNumber(record.sign_key) + "\n";
  }
  return output;
}

absl::StatusOr<Output> ShowFingerprint(const Settings& settings, const CommandFlags& flags) {
  Output output;
  if (flags.device.empty()) {
    TRYGG_ASSIGN_OR_RETURN(Passphrase passphrase, ReadPassphrase("Key store passphrase: ", false));
    TRYGG_ASSIGN_OR_RETURN(KeyStoreContents keys, OpenDeviceKeyStore(settings, passphrase));
    const SignPublicKey& key = keys.device.signing().public_key;
    output.json = {{"device_id", Hex(keys.device_id)}, {"safety_number", SafetyNumber(key)}};
    output.text = "this device " + Hex(keys.device_id) + "\n  safety number: " + SafetyNumber(key) + "\n";
    if (!settings.root_key_hex.empty()) {
      TRYGG_ASSIGN_OR_RETURN(SignPublicKey root, PinnedRoot(settings));
      output.json["platform_root_safety_number"] = SafetyNumber(root);
      output.text += "pinned platform root\n  safety number: " + SafetyNumber(root) + "\n";
    }
    return output;
  }
  TRYGG_ASSIGN_OR_RETURN(Id128 device_id, ParseId(flags.device, "--device"));
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings));
  TRYGG_ASSIGN_OR_RETURN(OrgLogState log, device->client->FetchOrgLog(device->keys.org_id));
  const DeviceRecord* record = log.FindDevice(device_id);
  if (record == nullptr) return absl::NotFoundError("device " + flags.device + " is not in your organisation's log");
  output.json = {{"device_id", flags.device},
                 {"revoked", record->revoked},
                 {"safety_number", SafetyNumber(record->sign_key)}};
  output.text = "device " + flags.device + (record->revoked ? " (revoked)" : "") +
                " in the verified organisation log\n  safety number: " + SafetyNumber(record->sign_key) + "\n";
  return output;
}

absl::StatusOr<Output> ShowStatus(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings, {.login = false}));
  TRYGG_ASSIGN_OR_RETURN(trygg::ServerInfo info, device->client->GetServerInfo());
  TRYGG_ASSIGN_OR_RETURN(trygg::Session session,
                         device->client->Login(device->keys.device_id, device->keys.device.signing()));
  TRYGG_ASSIGN_OR_RETURN(OrgLogState log, device->client->FetchOrgLog(device->keys.org_id));
  const bool certified = info.server_certificate.has_value();
  Output output;
  output.json = {
      {"server",
       {{"address", settings.server},
        {"version", info.server_version},
        {"instance_id", Hex(info.server_instance_id)},
        {"public_key", HexEncode(info.server_public_key.span())},
        {"certificate_verified", certified}}},
      {"session",
       {{"device_id", Hex(session.device_id)},
        {"org_id", Hex(session.org_id)},
        {"role", RoleName(session.role)},
        {"expires_at", FormatTime(session.expires_at_ms)}}},
      {"org_log",
       {{"name", log.name()},
        {"head_seq", log.seq()},
        {"head_hash", HexEncode(log.head().hash.span())},
        {"generation", log.generation()},
        {"rotation_due", log.rotation_due()}}},
      {"generations_held", Generations(device->keys)}};
  output.text =
      "server " + settings.server + " (tryggd " + info.server_version + ")\n  server key: " +
      HexEncode(info.server_public_key.span()) + "\n  server certificate: " +
      (certified ? "verified against the pinned platform root" : "NONE (the server's key is not certified)") +
      "\nlogged in as device " + Hex(session.device_id) + " (" + RoleName(session.role) + ") until " +
      FormatLocalTime(session.expires_at_ms) + "\norganisation \"" + log.name() + "\" " + Hex(session.org_id) +
      "\n  verified log head: link " + std::to_string(log.seq()) + ", key generation " +
      std::to_string(log.generation()) + (log.rotation_due() ? " (rotation due)" : "") +
      "\n  generations held: " + GenerationsText(device->keys) + "\n";
  return output;
}

absl::StatusOr<Output> CheckLogin(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(auto device, OpenSession(settings));
  const trygg::Session& session = device->login;
  Output output;
  output.json = {{"device_id", Hex(session.device_id)},
                 {"org_id", Hex(session.org_id)},
                 {"role", RoleName(session.role)},
                 {"expires_at", FormatTime(session.expires_at_ms)}};
  output.text = "logged in as device " + Hex(session.device_id) + " (" + RoleName(session.role) +
                "); the session token is not stored, each command logs in itself\n";
  return output;
}

absl::StatusOr<Output> ShowServerInfo(const Settings& settings, const CommandFlags&) {
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect(settings));
  TRYGG_ASSIGN_OR_RETURN(trygg::ServerInfo info, client->GetServerInfo());
  const bool certified = info.server_certificate.has_value();
  Output output;
  output.json = {{"address", settings.server},
                 {"version", info.server_version},
                 {"schema_version", info.schema_version},
                 {"instance_id", Hex(info.server_instance_id)},
                 {"public_key", HexEncode(info.server_public_key.span())},
                 {"certificate_verified", certified}};
  output.text = "server " + settings.server + " (tryggd " + info.server_version + ", schema " +
                std::to_string(info.schema_version) + ")\n  instance id: " + Hex(info.server_instance_id) +
                "\n  public key:  " + HexEncode(info.server_public_key.span()) + "\n  certificate: " +
                (certified ? "verified against the pinned platform root" : "none uploaded yet") + "\n";
  return output;
}

}  // namespace trygg::cli
