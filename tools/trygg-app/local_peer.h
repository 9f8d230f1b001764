// SPDX-License-Identifier: Apache-2.0

// Who is on the other end of a loopback TCP connection, and how often the
// passphrase may be guessed (docs/threat-model.md, "A web page in the
// caseworker's browser").
//
// Browsers do not keep cookies apart by port (RFC 6265 section 8.5), so the
// session cookie reaches any server on 127.0.0.1, another user's too, which
// could replay it. trygg-app therefore answers only connections whose client
// socket belongs to its own user: the kernel lists every TCP socket of the
// network namespace in /proc/net/tcp (and tcp6) with the uid that opened it,
// and the client's socket is the row whose local end is the request's remote
// address and port and whose remote end is the app's own address and port.
//
// Ownership: plain functions and values. Thread-safety: the functions are
// pure or read /proc only; UnlockThrottle is internally synchronised.
// Failure modes: nullopt when a line does not parse or no row matches; the
// caller refuses the request then.
#ifndef TRYGG_TOOLS_TRYGG_APP_LOCAL_PEER_H_
#define TRYGG_TOOLS_TRYGG_APP_LOCAL_PEER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace trygg::app {

// One socket of /proc/net/tcp or /proc/net/tcp6 (IPv4 and IPv4-mapped IPv6
// addresses only), addresses as in_addr.s_addr (network byte order).
struct TcpRow {
  uint32_t local_addr = 0;
  int local_port = 0;
  uint32_t remote_addr = 0;
  int remote_port = 0;
  uid_t uid = 0;
};

// Parses one line of /proc/net/tcp or tcp6; nullopt for the header line, a
// malformed line or an IPv6 address that is not IPv4-mapped.
std::optional<TcpRow> ParseProcNetTcpLine(std::string_view line);

// The uid of the socket at local (peer_addr, peer_port) connected to
// (our_addr, our_port), in the text of a /proc/net/tcp or tcp6 table.
std::optional<uid_t> FindPeerUid(std::string_view table, uint32_t peer_addr, int peer_port, uint32_t our_addr,
                                 int our_port);

// The uid of the client of a loopback connection: reads /proc/net/tcp, then
// /proc/net/tcp6. Addresses are dotted IPv4 as httplib reports them.
std::optional<uid_t> LoopbackPeerUid(const std::string& peer_addr, int peer_port, const std::string& our_addr,
                                     int our_port);

// Slows down guessing the passphrase: two wrong passphrases in a row are
// free (typing errors), each further one doubles the wait before the next
// attempt (1 s, 2 s, 4 s, ... at most 5 minutes); a right one resets it. One
// attempt at a time: a second one while the first runs is told to wait.
class UnlockThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  // nullopt: the attempt may run now (call End after it); otherwise how
  // long to wait, and the attempt must not run.
  std::optional<std::chrono::milliseconds> Begin(Clock::time_point now);
  // wrong_passphrase: the key store refused the passphrase. Other failures
  // (the server away) neither count nor reset.
  void End(bool ok, bool wrong_passphrase, Clock::time_point now);
  static std::chrono::milliseconds DelayAfter(int failures);

 private:
  std::mutex mutex_;
  int failures_ = 0;
  bool in_flight_ = false;
  Clock::time_point next_allowed_{};
};

}  // namespace trygg::app

#endif  // TRYGG_TOOLS_TRYGG_APP_LOCAL_PEER_H_
