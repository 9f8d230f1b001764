// A logged-in connection with this device's keys, for the commands that work
// on the server's data (directory, cases, consent, referrals): open the key
// store with its passphrase, connect with the pinned platform root, sign the
// login challenge. The session ends (Logout) when it goes out of scope; the
// token never leaves trygg::Client.
//
// Ownership: the Session owns the key store contents (secrets in locked
// memory), the Client, and the clock and randomness the libtrygg clients
// borrow; keep it alive while they are used.
// Thread-safety: single-threaded, like the rest of the tool.
// Failure modes: NotFound without a key store, FailedPrecondition without a
// pinned root key, then the status of the connect or login that failed.
#ifndef TRYGG_TOOLS_TRYGG_SESSION_H_
#define TRYGG_TOOLS_TRYGG_SESSION_H_

#include <memory>

#include "settings.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/random.h"

namespace trygg::cli {

struct Session {
  explicit Session(KeyStoreContents contents) : keys(std::move(contents)) {}
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  KeyStoreContents keys;
  std::unique_ptr<Client> client;
  // Who the server says this device is: its organisation and role.
  trygg::Session login;
  SystemClock clock;
  SystemRng rng;
};

absl::StatusOr<std::unique_ptr<Session>> OpenSession(const Settings& settings);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_SESSION_H_
