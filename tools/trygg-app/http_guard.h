// SPDX-License-Identifier: Apache-2.0

// The security envelope of trygg-app's local web server (docs/threat-model.md,
// "The caseworker app"). The app listens on 127.0.0.1 only, and a web page
// from anywhere else that the caseworker's browser has open must not be able
// to drive it, nor must another user of the computer. Every request must
// therefore:
//   - come from a socket of this app's own user (local_peer.h): cookies are
//     not kept apart by port, so another user's server on 127.0.0.1 may hold
//     the session cookie and replay it (403);
//   - name this app's own address in Host (127.0.0.1:PORT or localhost:PORT):
//     a DNS-rebinding page reaches the port under its own host name and is
//     refused (421 Misdirected Request);
//   - carry the session cookie, which only the browser that opened the
//     one-time launch URL holds (403). The launch token is random per launch
//     and is exchanged once for the cookie (HttpOnly, SameSite=Strict);
// and every POST must in addition carry an Origin equal to the app's own
// origin, checked from the headers before any of the body is read, and the
// form's CSRF token (403).
// Every response carries a strict Content-Security-Policy (scripts and styles
// from the app only, no inline script, nothing from third parties), no
// caching, no referrer to other sites (the launch URL must not leak; a
// same-origin referrer keeps Chromium sending the Origin that POSTs need),
// and no framing.
//
// Ownership: plain values; the tokens are random per launch.
// Thread-safety: after construction and set_port, const and thread-safe,
// except ExchangeLaunchToken, which is internally synchronised.
// Failure modes: Check returns the HTTP status and a message for the refused
// request; the message names what was wrong, never a token.
#ifndef TRYGG_TOOLS_TRYGG_APP_HTTP_GUARD_H_
#define TRYGG_TOOLS_TRYGG_APP_HTTP_GUARD_H_

#include <sys/types.h>

#include <atomic>
#include <optional>
#include <string>

namespace trygg::app {


struct Refusal {
  int http_status = 403;
  std::string message;
};

// What Check needs from a request, independent of the HTTP library.
struct RequestFacts {
  std::string method;  // "GET", "POST"
  std::string path;
  std::string host;     // Host header
  std::string origin;   // Origin header, "" when absent
  std::string cookie;   // Cookie header
  std::string csrf;     // the form's csrf field (POST only)
};

class HttpGuard {
 public:
  HttpGuard();
  void set_port(int port) { port_ = port; }
  int port() const { return port_; }

  // The URL trygg-app prints or opens: http://127.0.0.1:PORT/open?token=...
  std::string LaunchUrl() const;
  // The one request without a cookie: the launch URL. The first correct
  // token returns the Set-Cookie value; a second use, or a wrong token, is
  // refused (nullopt).
  std::optional<std::string> ExchangeLaunchToken(const std::string& token);

  // The first check of every request: the client's socket must belong to
  // this app's own user (geteuid); `peer_uid` is LoopbackPeerUid's answer,
  // nullopt when no socket was found (refused too).
  std::optional<Refusal> CheckPeer(std::optional<uid_t> peer_uid) const;

  // nullopt: allowed. `path` "/open" is checked for Host only. With
  // check_csrf false (before the body is read: the token is in the form),
  // everything but the CSRF token.
  std::optional<Refusal> Check(const RequestFacts& request, bool check_csrf = true) const;

  const std::string& csrf_token() const { return csrf_token_; }
  // Cookies are shared by every port of a host, so two apps on one computer
  // (two caseworkers, scripts/demo --app) name theirs by port.
  std::string SessionCookieName() const;
  // The headers every response carries.
  static const char* ContentSecurityPolicy();

 private:
  bool HostIsOurs(const std::string& host) const;
  bool OriginIsOurs(const std::string& origin) const;
  bool HasSessionCookie(const std::string& cookie_header) const;

  int port_ = 0;
  std::string launch_token_;
  std::string session_token_;
  std::string csrf_token_;
  std::atomic<bool> launch_used_{false};
};

// Constant-time comparison of two tokens.
bool TokensEqual(const std::string& a, const std::string& b);

}  // namespace trygg::app

#endif  // TRYGG_TOOLS_TRYGG_APP_HTTP_GUARD_H_
