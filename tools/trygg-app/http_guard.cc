// SPDX-License-Identifier: Apache-2.0

#include "http_guard.h"

#include <sodium.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace trygg::app {
namespace {

std::string RandomToken() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof(bytes));
  char hex[sizeof(bytes) * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
  sodium_memzero(bytes, sizeof(bytes));
  return std::string(hex);
}

}  // namespace

bool TokensEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

HttpGuard::HttpGuard()
    : launch_token_(RandomToken()), session_token_(RandomToken()), csrf_token_(RandomToken()) {}

std::string HttpGuard::LaunchUrl() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/open?token=", launch_token_);
}

std::optional<std::string> HttpGuard::ExchangeLaunchToken(const std::string& token) {
  if (!TokensEqual(token, launch_token_)) return std::nullopt;
  // One browser gets the session: a launch URL copied from a terminal's
  // scrollback or a process list later opens nothing.
  if (launch_used_.exchange(true)) return std::nullopt;
  return SessionCookieName() + "=" + session_token_ + "; Path=/; HttpOnly; SameSite=Strict";
}

const char* HttpGuard::ContentSecurityPolicy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
}

std::string HttpGuard::SessionCookieName() const { return absl::StrCat("trygg_app_", port_); }

bool HttpGuard::HostIsOurs(const std::string& host) const {
  return host == absl::StrCat("127.0.0.1:", port_) || host == absl::StrCat("localhost:", port_);
}

bool HttpGuard::OriginIsOurs(const std::string& origin) const {
  return origin == absl::StrCat("http://127.0.0.1:", port_) || origin == absl::StrCat("http://localhost:", port_);
}

bool HttpGuard::HasSessionCookie(const std::string& cookie_header) const {
  for (absl::string_view part : absl::StrSplit(cookie_header, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, SessionCookieName() + "=") &&
        TokensEqual(std::string(part), session_token_)) {
      return true;
    }
  }
  return false;
}

std::optional<Refusal> HttpGuard::CheckPeer(std::optional<uid_t> peer_uid) const {
  if (peer_uid && *peer_uid == geteuid()) return std::nullopt;
  return Refusal{403, "refused: the connection does not come from this computer user's own programs / "
                      "nekad: anslutningen kommer inte från den här datoranvändarens egna program"};
}

std::optional<Refusal> HttpGuard::Check(const RequestFacts& request, bool check_csrf) const {
  if (!HostIsOurs(request.host)) {
    return Refusal{421, absl::StrCat("trygg-app answers only to its own address, http://127.0.0.1:", port_,
                                     "/ (refused Host)")};
  }
  if (request.path == "/open" && request.method == "GET") return std::nullopt;
  if (!HasSessionCookie(request.cookie)) {
    return Refusal{403, "open the address trygg-app printed when it started / "
                        "öppna adressen som trygg-app skrev ut när den startade"};
  }
  if (request.method == "GET" || request.method == "HEAD") return std::nullopt;
  if (request.method != "POST") return Refusal{405, "method not allowed"};
  // A cross-site form or fetch carries its own origin (or none, from some
  // privacy settings); either way it is not ours.
  if (!OriginIsOurs(request.origin)) return Refusal{403, "refused: the request did not come from trygg-app's own page"};
  if (check_csrf && !TokensEqual(request.csrf, csrf_token_)) return Refusal{403, "refused: the form's CSRF token is missing or wrong"};
  return std::nullopt;
}

}  // namespace trygg::app
