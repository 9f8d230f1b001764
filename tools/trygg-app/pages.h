// SPDX-License-Identifier: Apache-2.0

// trygg-app's pages and their routes on the local web server: unlock and
// lock, overview, inbox and outbox (live from WatchReferrals through
// /events), cases (new, view, edit as a new version), consent record and
// withdrawal, directory search, refer with a preview of the packet, and
// receive (accept, decline, complete). Every page is rendered on the server
// from the message catalogues in the caseworker's language; the only script
// is /static/app.js (live updates), and every POST goes through HttpGuard's
// Origin and CSRF checks before its handler runs.
//
// Ownership: borrows the guard and the vault, which must outlive the server.
// Thread-safety: handlers run on httplib's worker threads; the vault
// serialises what touches the device.
#ifndef TRYGG_TOOLS_TRYGG_APP_PAGES_H_
#define TRYGG_TOOLS_TRYGG_APP_PAGES_H_

#include <cstddef>

#include "http_guard.h"
#include "messages.h"
#include "vault.h"

namespace httplib {
class Server;
}

namespace trygg::app {

// The largest file the app uploads as an attachment (the command line takes
// up to 1 GiB), and the largest request body it reads at all: the file and
// its multipart framing. A larger request is refused (413) from its headers.
inline constexpr size_t kMaxUploadBytes = size_t{64} << 20;
inline constexpr size_t kMaxRequestBytes = kMaxUploadBytes + (size_t{1} << 20);

// Registers every route, the security checks and the default headers.
void RegisterPages(httplib::Server& server, HttpGuard& guard, Vault& vault, Language default_language);

}  // namespace trygg::app

#endif  // TRYGG_TOOLS_TRYGG_APP_PAGES_H_
