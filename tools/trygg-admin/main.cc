// SPDX-License-Identifier: Apache-2.0

// trygg-admin: creates and uses the platform root key, offline.
//
//   trygg-admin init --keystore PATH
//   trygg-admin show --keystore PATH
//   trygg-admin admit-org --keystore PATH --name NAME [--org-id HEX]
//       --admin-device-id HEX --admin-sign-key HEX --admin-box-key HEX --out FILE
//   trygg-admin certify-server --keystore PATH --server-key HEX --out FILE
//   trygg-admin certify-coordinator --keystore PATH --name NAME [--coordinator-id HEX] --device-id HEX
//       --sign-key HEX --box-key HEX --out FILE
//
// The root key lives in its own passphrase-protected key store (the device
// signing key of a KeyStoreContents with zero ids). Exit status: 0 ok,
// 1 failure, 2 usage. See docs/cli.md.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "trygg/fingerprint.h"
#include "trygg/hardening.h"
#include "trygg/key_store.h"
#include "trygg/random.h"
#include "trygg/status_macros.h"
#include "trygg/trust.h"

namespace trygg::admin {
namespace {

struct Flags {
  std::string keystore;
  bool json = false;
  std::string name;
  std::string org_id;
  std::string device_id;
  std::string sign_key;
  std::string box_key;
  std::string server_key;
  std::string out;
};

void PrintResult(const Flags& flags, const nlohmann::ordered_json& result, const std::string& text) {
  if (flags.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << text;
  }
}

absl::StatusOr<KeyStoreContents> OpenRoot(const Flags& flags) {
  TRYGG_ASSIGN_OR_RETURN(cli::Passphrase passphrase, cli::ReadPassphrase("Platform root passphrase: ", false));
  absl::StatusOr<KeyStoreContents> root =
      OpenKeyStore(flags.keystore, passphrase.view(), cli::KeyStoreOpenOptionsFromEnv());
  if (absl::IsNotFound(root.status())) {
    return absl::NotFoundError("no platform root key store at " + flags.keystore + "; run trygg-admin init");
  }
  return root;
}

std::string DescribeKey(const SignPublicKey& key) {
  return "platform root public key: " + HexEncode(key.span()) + "\nsafety number: " + SafetyNumber(key) + "\n";
}

absl::Status Init(const Flags& flags) {
  TRYGG_ASSIGN_OR_RETURN(cli::Passphrase passphrase,
                         cli::ReadPassphrase("New platform root passphrase: ", /*confirm=*/true));
  SystemRng rng;
  KeyStoreContents contents{Id128(), Id128(), DeviceKeys::Generate(rng), {}};
  absl::Status created = CreateKeyStore(flags.keystore, passphrase.view(), contents, cli::KeyStoreKdfLimits(), rng);
  if (absl::IsAlreadyExists(created)) {
    return absl::AlreadyExistsError(flags.keystore + " exists; a platform root is made once");
  }
  TRYGG_RETURN_IF_ERROR(created);
  const SignPublicKey& key = contents.device.signing().public_key;
  PrintResult(flags,
              {{"public_key", HexEncode(key.span())}, {"safety_number", SafetyNumber(key)},
               {"keystore", flags.keystore}},
              "created the platform root in " + flags.keystore + "\n" + DescribeKey(key) +
                  "Pin the public key in tryggd (--platform-root-key) and in every client (trygg --root-key);\n"
                  "compare the safety number with the other key holders out of band.\n");
  return absl::OkStatus();
}

absl::Status Show(const Flags& flags) {
  TRYGG_ASSIGN_OR_RETURN(KeyStoreContents root, OpenRoot(flags));
  const SignPublicKey& key = root.device.signing().public_key;
  PrintResult(flags, {{"public_key", HexEncode(key.span())}, {"safety_number", SafetyNumber(key)}},
              DescribeKey(key));
  return absl::OkStatus();
}

// Signs `cert` with the root and writes the certificate file.
absl::Status Certify(const Flags& flags, RootCertificate cert) {
  if (cert.name.size() > kMaxCertificateNameBytes) {
    return absl::InvalidArgumentError("--name is longer than " + std::to_string(kMaxCertificateNameBytes) +
                                      " bytes");
  }
  TRYGG_ASSIGN_OR_RETURN(KeyStoreContents root, OpenRoot(flags));
  SystemClock clock;
  cert.issued_at_ms = clock.NowUnixMillis();
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_cert, SignRootCertificate(cert, root.device.signing()));
  TRYGG_RETURN_IF_ERROR(cli::WriteNewTextFile(flags.out, cli::EncodeCertificateFile(cert, signed_cert)));
  const std::string kind = cli::CertificateKindName(cert.kind);
  PrintResult(flags,
              {{"kind", kind},
               {"subject_id", HexEncode(cert.subject_id.span())},
               {"device_id", HexEncode(cert.device_id.span())},
               {"sign_key_fingerprint", SafetyNumber(cert.sign_key)},
               {"out", flags.out}},
              "wrote the " + kind + " certificate to " + flags.out + "\n  subject id: " +
                  HexEncode(cert.subject_id.span()) + "\n  key safety number: " + SafetyNumber(cert.sign_key) +
                  "\nUpload it with: trygg upload-certificate " + flags.out + "\n");
  return absl::OkStatus();
}

absl::Status AdmitOrg(const Flags& flags) {
  SystemRng rng;
  RootCertificate cert;
  cert.kind = CertificateKind::kOrganisation;
  if (flags.org_id.empty()) {
    rng.Fill(cert.subject_id.span());
  } else {
    TRYGG_ASSIGN_OR_RETURN(cert.subject_id, cli::ParseId(flags.org_id, "--org-id"));
  }
  TRYGG_ASSIGN_OR_RETURN(cert.device_id, cli::ParseId(flags.device_id, "--admin-device-id"));
  TRYGG_ASSIGN_OR_RETURN(cert.sign_key, cli::ParseSignKey(flags.sign_key, "--admin-sign-key"));
  TRYGG_ASSIGN_OR_RETURN(cert.box_key, cli::ParseBoxKey(flags.box_key, "--admin-box-key"));
  cert.name = flags.name;
  return Certify(flags, std::move(cert));
}

absl::Status CertifyServer(const Flags& flags) {
  SystemRng rng;
  RootCertificate cert;
  cert.kind = CertificateKind::kServer;
  rng.Fill(cert.subject_id.span());
  TRYGG_ASSIGN_OR_RETURN(cert.sign_key, cli::ParseSignKey(flags.server_key, "--server-key"));
  // The server's key id: the first 16 bytes of BLAKE2b-256 of its key.
  const Hash256 key_hash = Blake2b256(cert.sign_key.span());
  TRYGG_ASSIGN_OR_RETURN(cert.device_id, Id128::FromSpan(key_hash.span().first<16>()));
  cert.name = flags.name;
  return Certify(flags, std::move(cert));
}

absl::Status CertifyCoordinator(const Flags& flags) {
  SystemRng rng;
  RootCertificate cert;
  cert.kind = CertificateKind::kCoordinator;
  if (flags.org_id.empty()) {
    rng.Fill(cert.subject_id.span());
  } else {
    TRYGG_ASSIGN_OR_RETURN(cert.subject_id, cli::ParseId(flags.org_id, "--coordinator-id"));
  }
  TRYGG_ASSIGN_OR_RETURN(cert.device_id, cli::ParseId(flags.device_id, "--device-id"));
  TRYGG_ASSIGN_OR_RETURN(cert.sign_key, cli::ParseSignKey(flags.sign_key, "--sign-key"));
  TRYGG_ASSIGN_OR_RETURN(cert.box_key, cli::ParseBoxKey(flags.box_key, "--box-key"));
  cert.name = flags.name;
  return Certify(flags, std::move(cert));
}

int Run(int argc, char** argv) {
  if (absl::Status hardened = DisableCoreDumps(); !hardened.ok()) {
    std::cerr << "trygg-admin: error: cannot disable core dumps: " << hardened.message() << "\n";
    return 1;
  }
  Flags flags;
  CLI::App app{"trygg-admin: the offline platform root of Trygg (never talks to the server)"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--keystore", flags.keystore, "Platform root key store file")->required();
  app.add_flag("--json", flags.json, "Print one JSON object on stdout");
#if defined(TRYGG_TEST_HOOKS)
  app.footer(
      "Passphrase: prompted on the terminal, or TRYGG_PASSPHRASE.\n"
      "TRYGG_INSECURE_FAST_KDF=1 uses minimal Argon2id limits: for tests only, never for a real root.");
#else
  app.footer("Passphrase: prompted on the terminal, or TRYGG_PASSPHRASE.");
#endif

  CLI::App* init = app.add_subcommand("init", "Create the platform root key in a new key store");
  CLI::App* show = app.add_subcommand("show", "Show the root public key and its safety number");

  CLI::App* admit = app.add_subcommand("admit-org", "Admit an organisation with its first admin device");
  admit->add_option("--name", flags.name, "Organisation display name")->required();
  admit->add_option("--org-id", flags.org_id, "Organisation id (32 hex digits); random if absent");
  admit->add_option("--admin-device-id", flags.device_id, "First admin's device id (from trygg device init)")
      ->required();
  admit->add_option("--admin-sign-key", flags.sign_key, "First admin's signing public key (hex)")->required();
  admit->add_option("--admin-box-key", flags.box_key, "First admin's box public key (hex)")->required();
  admit->add_option("--out", flags.out, "Certificate file to write")->required();

  CLI::App* server = app.add_subcommand("certify-server", "Certify the server's signing key");
  server->add_option("--server-key", flags.server_key, "tryggd's public key (trygg server-info)")->required();
  server->add_option("--name", flags.name, "Server name")->default_val("tryggd");
  server->add_option("--out", flags.out, "Certificate file to write")->required();

  CLI::App* coordinator = app.add_subcommand("certify-coordinator", "Certify a coordinator's device");
  coordinator->add_option("--name", flags.name, "Coordinator's name")->required();
  coordinator->add_option("--coordinator-id", flags.org_id,
                          "Coordinator id (32 hex digits, from `trygg device init --coordinator`); random if absent");
  coordinator->add_option("--device-id", flags.device_id, "Device id (32 hex digits)")->required();
  coordinator->add_option("--sign-key", flags.sign_key, "Device signing public key (hex)")->required();
  coordinator->add_option("--box-key", flags.box_key, "Device box public key (hex)")->required();
  coordinator->add_option("--out", flags.out, "Certificate file to write")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  absl::Status status;
  if (init->parsed()) {
    status = Init(flags);
  } else if (show->parsed()) {
    status = Show(flags);
  } else if (admit->parsed()) {
    status = AdmitOrg(flags);
  } else if (server->parsed()) {
    status = CertifyServer(flags);
  } else if (coordinator->parsed()) {
    status = CertifyCoordinator(flags);
  }
  if (!status.ok()) {
    const std::string line = cli::DescribeError(status);
    std::cerr << "trygg-admin: error: " << line << "\n";
    if (flags.json) std::cout << nlohmann::json{{"error", line}}.dump() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace trygg::admin

int main(int argc, char** argv) { return trygg::admin::Run(argc, argv); }
