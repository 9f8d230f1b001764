// SPDX-License-Identifier: Apache-2.0

// trygg-app: the caseworker's app (docs/caseworker-guide.md). A local process
// that holds this device's keys and shows Trygg's pages in the browser on
// this computer, through a web server on 127.0.0.1 only. It finds the server,
// the pinned platform root and the key store as `trygg` does (flags, then
// ~/.config/trygg/config.json, then defaults), so a device set up with the
// CLI opens in the app.
#include <httplib.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "http_guard.h"
#include "pages.h"
#include "settings.h"
#include "trygg/bytes.h"
#include "trygg/hardening.h"
#include "vault.h"

namespace {

httplib::Server* g_server = nullptr;
void StopOnSignal(int) {
  if (g_server != nullptr) g_server->stop();
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::fprintf(stderr, "trygg-app: libsodium failed to initialise\n");
    return 1;
  }
  CLI::App app{
      "trygg-app: Trygg for caseworkers in the browser on this computer (Swedish and English). It serves its pages on "
      "127.0.0.1 only, at an address with a one-time token that it prints (or opens with --open)."};
  std::string server, root_key, keystore, tls_roots, lang = "sv";
  int port = 0;
  int idle_seconds = 600;
  bool open_browser = false, json = false;
  app.add_option("--server", server, "tryggd address host:port (default: the config file's, else 127.0.0.1:50051)");
  app.add_option("--root-key", root_key, "Pinned platform root public key, 64 hex digits (default: the config file's)");
  app.add_option("--keystore", keystore, "This device's key store (default: ~/.local/share/trygg/device.keystore)");
  app.add_option("--tls-roots", tls_roots, "PEM file of the roots tryggd's certificate is checked against");
  app.add_option("--port", port, "Local port to listen on, on 127.0.0.1 (default: a free one)")->check(CLI::Range(0, 65535));
  app.add_option("--idle-lock-seconds", idle_seconds, "Lock and wipe the keys after this long without use (default 600)")
      ->check(CLI::Range(5, 24 * 3600));
  app.add_option("--lang", lang, "Language of the pages until the caseworker changes it: sv (default) or en")
      ->check(CLI::IsMember({"sv", "en"}));
  app.add_flag("--open", open_browser, "Open the address in the default browser (xdg-open)");
  app.add_flag("--json", json, "Print the address as JSON {\"url\": ...} on one line");
  CLI11_PARSE(app, argc, argv);

  // Before any secret is in memory: a core dump would write the keys to disk.
  if (absl::Status hardened = trygg::DisableCoreDumps(); !hardened.ok()) {
    std::fprintf(stderr, "trygg-app: %s\n", std::string(hardened.message()).c_str());
    return 1;
  }

  // The same resolution as the CLI's (tools/trygg/settings.h): flags, then
  // the config file, then defaults.
  absl::StatusOr<trygg::cli::Settings> settings =
      trygg::cli::ResolveSettings(trygg::cli::GlobalFlags{server, tls_roots, root_key, keystore, false});
  if (!settings.ok()) {
    std::fprintf(stderr, "trygg-app: %s\n", std::string(settings.status().message()).c_str());
    return 2;
  }
  trygg::app::VaultConfig vault_config;
  vault_config.server = settings->server;
  vault_config.keystore = settings->keystore;
  absl::StatusOr<trygg::SignPublicKey> root = trygg::cli::PinnedRoot(*settings);
  if (!root.ok()) {
    std::fprintf(stderr, "trygg-app: no pinned platform root key (64 hex digits); pass --root-key or run `trygg device init`\n");
    return 2;
  }
  vault_config.platform_root = *root;
  if (!settings->tls_roots_file.empty()) {
    absl::StatusOr<std::string> pem = trygg::cli::ReadTextFile(settings->tls_roots_file);
    if (!pem.ok()) {
      std::fprintf(stderr, "trygg-app: %s\n", std::string(pem.status().message()).c_str());
      return 2;
    }
    vault_config.tls_roots_pem = *pem;
  }
  if (!std::filesystem::exists(vault_config.keystore)) {
    // A new device: the pages start with the enrolment ceremony (/enrol).
    std::fprintf(stderr, "trygg-app: no key store at %s yet; the app starts with a new device's enrolment\n",
                 vault_config.keystore.c_str());
  }
  vault_config.idle_lock_ms = int64_t{idle_seconds} * 1000;
  vault_config.allow_weak_kdf_for_tests = trygg::cli::InsecureFastKdf();
  vault_config.save_limits = trygg::cli::KeyStoreKdfLimits();

  trygg::app::HttpGuard guard;
  trygg::app::Vault vault(vault_config);
  httplib::Server http;
  trygg::app::RegisterPages(http, guard, vault,
                            lang == "en" ? trygg::app::Language::kEnglish : trygg::app::Language::kSwedish);
  // Loopback only: the pages show decrypted case data.
  int bound = port == 0 ? http.bind_to_any_port("127.0.0.1") : (http.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound <= 0) {
    std::fprintf(stderr, "trygg-app: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  guard.set_port(bound);
  g_server = &http;
  std::signal(SIGINT, StopOnSignal);
  std::signal(SIGTERM, StopOnSignal);

  const std::string url = guard.LaunchUrl();
  if (json) {
    std::cout << nlohmann::json{{"url", url}, {"port", bound}}.dump() << std::endl;
  } else {
    std::cout << "trygg-app: open " << url << "\n  (öppna adressen i webbläsaren; den fungerar en gång)" << std::endl;
  }
  if (open_browser) {
    // The token is in the URL on xdg-open's command line for a moment; it is
    // good for one browser only, and the page takes it before anyone else can.
    const pid_t child = fork();
    if (child == 0) {
      execlp("xdg-open", "xdg-open", url.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  http.listen_after_bind();
  vault.Lock();
  return 0;
}
