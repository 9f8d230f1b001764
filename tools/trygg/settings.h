// SPDX-License-Identifier: Apache-2.0

// Where the command-line tools find the server, the pinned platform root and
// this device's key store: flags first, then ~/.config/trygg/config.json
// (written by `trygg device init`; $XDG_CONFIG_HOME/trygg when set), then
// defaults. Shared by `trygg` and `trygg-audit`.
//
// Thread-safety: plain values and functions; single-threaded tools.
// Failure modes: a config file that is not a JSON object is INVALID_ARGUMENT;
// no pinned root is FAILED_PRECONDITION naming the flag to pass.
#ifndef TRYGG_TOOLS_TRYGG_SETTINGS_H_
#define TRYGG_TOOLS_TRYGG_SETTINGS_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/client.h"

namespace trygg::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

// Global flags as given (empty: not given).
struct GlobalFlags {
  std::string server;
  std::string tls_roots;
  std::string root_key;
  std::string keystore;
  bool json = false;
};

// Global flags resolved against the config file and defaults.
struct Settings {
  GlobalFlags given;
  std::string server;
  std::string tls_roots_file;
  std::string root_key_hex;
  std::filesystem::path keystore;
  std::filesystem::path config_file;
  std::string label;
};

absl::StatusOr<Settings> ResolveSettings(const GlobalFlags& flags);

// The platform root key every chain is verified against.
absl::StatusOr<SignPublicKey> PinnedRoot(const Settings& settings);

// Where the server is and how to trust it: the address, TLS roots, pinned
// root, and the organisation log heads verified beside the key store.
absl::StatusOr<ClientOptions> ConnectOptions(const Settings& settings);

// A client pinned to the root, remembering the organisation log heads it
// verified beside the key store; not logged in.
absl::StatusOr<std::unique_ptr<Client>> Connect(const Settings& settings);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_SETTINGS_H_
