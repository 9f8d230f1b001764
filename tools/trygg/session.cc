// SPDX-License-Identifier: Apache-2.0

#include "session.h"

#include "trygg/status_macros.h"

namespace trygg::cli {
namespace {

absl::Status NoKeyStore(const Settings& settings) {
  return absl::NotFoundError("no key store at " + settings.keystore.string() + "; run `trygg device init`");
}

}  // namespace

Session::~Session() {
  if (client != nullptr && client->logged_in()) client->Logout().IgnoreError();
}

absl::Status Session::SaveKeys() {
  if (!passphrase.has_value()) {
    return absl::FailedPreconditionError("the session was not opened to rewrite the key store");
  }
  return SaveKeyStore(keystore, passphrase->view(), keys, KeyStoreKdfLimits(), rng);
}

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
  TRYGG_ASSIGN_OR_RETURN(KeyStoreContents keys, OpenDeviceKeyStore(settings, passphrase));
  auto session = std::make_unique<Session>(settings.keystore, std::move(keys));
  if (options.rewrite_keys) session->passphrase.emplace(std::move(passphrase));
  TRYGG_ASSIGN_OR_RETURN(session->client, Connect(settings));
  if (options.login) {
    TRYGG_ASSIGN_OR_RETURN(session->login,
                           session->client->Login(session->keys.device_id, session->keys.device.signing()));
  }
  return session;
}

}  // namespace trygg::cli
