// SPDX-License-Identifier: Apache-2.0

#include "settings.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

std::filesystem::path Home() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? std::filesystem::path(home) : std::filesystem::path(".");
}

std::filesystem::path ConfigFile() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  std::filesystem::path base = (xdg != nullptr && *xdg != '\0') ? std::filesystem::path(xdg) : Home() / ".config";
  return base / "trygg" / "config.json";
}

}  // namespace

absl::StatusOr<SignPublicKey> PinnedRoot(const Settings& settings) {
  if (settings.root_key_hex.empty()) {
    return absl::FailedPreconditionError(
        "no pinned platform root key: pass --root-key HEX, the platform root's public key (its holder reads it "
        "from `trygg-admin show`; `trygg device init --root-key` saves it)");
  }
  return ParseSignKey(settings.root_key_hex, "the platform root key");
}

absl::StatusOr<ClientOptions> ConnectOptions(const Settings& settings) {
  ClientOptions options;
  options.address = settings.server;
  TRYGG_ASSIGN_OR_RETURN(options.platform_root, PinnedRoot(settings));
  if (!settings.tls_roots_file.empty()) {
    TRYGG_ASSIGN_OR_RETURN(options.tls_root_certificates, ReadTextFile(settings.tls_roots_file));
  }
  // The organisation log heads this device has verified, beside its key store.
  options.state_file = settings.keystore.string() + ".heads";
  return options;
}

absl::StatusOr<std::unique_ptr<Client>> Connect(const Settings& settings) {
  TRYGG_ASSIGN_OR_RETURN(ClientOptions options, ConnectOptions(settings));
  return Client::Connect(options);
}

absl::StatusOr<Settings> ResolveSettings(const GlobalFlags& flags) {
  Settings settings;
  settings.given = flags;
  settings.config_file = ConfigFile();
  nlohmann::json config = nlohmann::json::object();
  if (std::filesystem::exists(settings.config_file)) {
    TRYGG_ASSIGN_OR_RETURN(std::string text, ReadTextFile(settings.config_file));
    config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!config.is_object()) {
      return absl::InvalidArgumentError(settings.config_file.string() + " is not a JSON object");
    }
  }
  auto pick = [&](const std::string& flag, const char* key, const std::string& fallback) {
    if (!flag.empty()) return flag;
    if (config.contains(key) && config[key].is_string()) return config[key].get<std::string>();
    return fallback;
  };
  settings.server = pick(flags.server, "server", kDefaultServer);
  settings.tls_roots_file = pick(flags.tls_roots, "tls_roots", "");
  settings.root_key_hex = pick(flags.root_key, "root_key", "");
  settings.keystore = pick(flags.keystore, "keystore", (Home() / ".local/share/trygg/device.keystore").string());
  settings.label = pick("", "label", "");
  return settings;
}

}  // namespace trygg::cli
