// SPDX-License-Identifier: Apache-2.0

// A connection with this device's keys, the one way every command of `trygg`
// and `trygg-audit` that works on the server's data signs in: check the pinned
// platform root and find the key store (what can be found wrong without the
// passphrase is, before asking for it), read the passphrase, then
// libtrygg's DeviceSession (trygg/device.h) opens the key store, connects with
// the pinned root and signs the login challenge. The session ends (Logout)
// when it goes out of scope; the token never leaves trygg::Client.
//
// Ownership: the Session owns its DeviceSession; the other members are views
// of it, for the commands' brevity. Keep it alive while the libtrygg clients
// made over it are used.
// Thread-safety: single-threaded, like the rest of the tool.
// Failure modes: FailedPrecondition without a pinned root key (or one that is
// not 64 hex digits), NotFound without a key store, then the status of the
// passphrase prompt, key store, connect or login that failed.
#ifndef TRYGG_TOOLS_TRYGG_SESSION_H_
#define TRYGG_TOOLS_TRYGG_SESSION_H_

#include <filesystem>
#include <memory>
#include <optional>

#include "cli_support.h"
#include "settings.h"
#include "trygg/client.h"
#include "trygg/device.h"
#include "trygg/key_store.h"
#include "trygg/random.h"

namespace trygg::cli {

struct SessionOptions {
  // False: connected but not logged in (`enrol request`, before the device is
  // approved; `status`, which asks for the server's identity first).
  bool login = true;
  // True: keep the passphrase so that SaveKeys() can rewrite the key store
  // after organisation keys were added or rotated.
  bool rewrite_keys = false;
};

struct Session {
  explicit Session(std::unique_ptr<DeviceSession> opened)
      : device(std::move(opened)),
        keys(device->keys()),
        client(&device->client()),
        login(device->login()),
        clock(device->clock()),
        rng(device->rng()) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Rewrites the key store with `keys`; FailedPrecondition unless the session
  // was opened with rewrite_keys.
  absl::Status SaveKeys() { return device->SaveKeys(); }

  std::unique_ptr<DeviceSession> device;
  KeyStoreContents& keys;
  Client* const client;
  // Who the server says this device is: its organisation and role (empty
  // unless logged in).
  const trygg::Session& login;
  Clock& clock;
  Rng& rng;
};

absl::StatusOr<std::unique_ptr<Session>> OpenSession(const Settings& settings, const SessionOptions& options = {});

// The device's key store alone, for the commands that need no server: NotFound
// (naming `trygg device init`) when there is none.
absl::StatusOr<KeyStoreContents> OpenDeviceKeyStore(const Settings& settings, const Passphrase& passphrase);

}  // namespace trygg::cli

#endif  // TRYGG_TOOLS_TRYGG_SESSION_H_
