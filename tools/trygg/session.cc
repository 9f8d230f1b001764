#include "session.h"

#include "cli_support.h"
#include "trygg/status_macros.h"

namespace trygg::cli {

Session::~Session() {
  if (client != nullptr && client->logged_in()) client->Logout().IgnoreError();
}

absl::StatusOr<std::unique_ptr<Session>> OpenSession(const Settings& settings) {
  // What can be found wrong without the passphrase is, before asking for it.
  TRYGG_RETURN_IF_ERROR(PinnedRoot(settings).status());
  if (!std::filesystem::exists(settings.keystore)) {
    return absl::NotFoundError("no key store at " + settings.keystore.string() + "; run `trygg device init`");
  }
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
  TRYGG_ASSIGN_OR_RETURN(session->client, Connect(settings));
  TRYGG_ASSIGN_OR_RETURN(session->login,
                         session->client->Login(session->keys.device_id, session->keys.device.signing()));
  return session;
}

}  // namespace trygg::cli
