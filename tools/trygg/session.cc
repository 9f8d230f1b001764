#include "session.h"

#include "cli_support.h"
#include "trygg/status_macros.h"

namespace trygg::cli {

Session::~Session() {
  if (client != nullptr && client->logged_in()) client->Logout().IgnoreError();
}

absl::StatusOr<std::unique_ptr<Session>> OpenSession(const Settings& settings) {
  std::unique_ptr<Session> session;
  {
    TRYGG_ASSIGN_OR_RETURN(Passphrase passphrase, ReadPassphrase("Key store passphrase: ", false));
    absl::StatusOr<KeyStoreContents> keys =
        OpenKeyStore(settings.keystore, passphrase.view(), KeyStoreOpenOptionsFromEnv());
    if (absl::IsNotFound(keys.status())) {
      return absl::NotFoundError("no key store at " + settings.keystore.string() + "; run `trygg device init`");
    }
    if (!keys.ok()) return keys.status();
    session = std::make_unique<Session>(*std::move(keys));
  }
  if (settings.root_key_hex.empty()) {
    return absl::FailedPreconditionError(
        "no pinned platform root key: pass --root-key HEX (saved by `trygg device init --root-key`)");
  }
  ClientOptions options;
  options.address = settings.server;
  TRYGG_ASSIGN_OR_RETURN(options.platform_root, ParseSignKey(settings.root_key_hex, "the platform root key"));
  if (!settings.tls_roots_file.empty()) {
    TRYGG_ASSIGN_OR_RETURN(options.tls_root_certificates, ReadTextFile(settings.tls_roots_file));
  }
  // The organisation log heads this device has verified, beside its key store.
  options.state_file = settings.keystore.string() + ".heads";
  TRYGG_ASSIGN_OR_RETURN(session->client, Client::Connect(options));
  TRYGG_RETURN_IF_ERROR(session->client->Login(session->keys.device_id, session->keys.device.signing()).status());
  return session;
}

}  // namespace trygg::cli
