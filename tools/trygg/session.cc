// SPDX-License-Identifier: Apache-2.0

#include "session.h"

#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

absl::Status NoKeyStore(const Settings& settings) {
  return absl::NotFoundError("no key store at " + settings.keystore.string() + "; run `trygg device init`");
}

}  // namespace

absl::StatusOr<KeyStoreContents> OpenDeviceKeyStore(const Settings& settings, const Passphrase& passphrase) {
  absl::StatusOr<KeyStoreContents> keys =
      OpenKeyStore(settings.keystore, passphrase.view(), KeyStoreOpenOptionsFromEnv());
  if (absl::IsNotFound(keys.status())) return NoKeyStore(settings);
  return keys;
}

absl::StatusOr<std::unique_ptr<Session>> OpenSession(const Settings& settings, const SessionOptions& options) {
  // What can be found wrong without the passphrase is, before asking for it:
  // a passphrase typed for a connection that cannot be pinned is a
  // passphrase typed for nothing.
  TRYGG_RETURN_IF_ERROR(PinnedRoot(settings).status());
  if (!std::filesystem::exists(settings.keystore)) return NoKeyStore(settings);
  TRYGG_ASSIGN_OR_RETURN(Passphrase passphrase, ReadPassphrase("Key store passphrase: ", false));
  DeviceSessionOptions device;
  TRYGG_ASSIGN_OR_RETURN(device.client, ConnectOptions(settings));
  device.login = options.login;
  device.keep_passphrase = options.rewrite_keys;
  device.key_store = KeyStoreOpenOptionsFromEnv();
  device.save_limits = KeyStoreKdfLimits();
  absl::StatusOr<std::unique_ptr<DeviceSession>> opened =
      DeviceSession::Open(settings.keystore, passphrase.view(), device);
  if (absl::IsNotFound(opened.status()) && !std::filesystem::exists(settings.keystore)) return NoKeyStore(settings);
  if (!opened.ok()) return opened.status();
  auto session = std::make_unique<Session>(std::move(*opened));
  return session;
}

}  // namespace trygg::cli
