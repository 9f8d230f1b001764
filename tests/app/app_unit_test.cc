// SPDX-License-Identifier: Apache-2.0

// trygg-app's checks that need no browser (ctest label `app`): who owns the
// client socket of a loopback connection, and the unlock throttle.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "audit_rules.h"
#include "http_guard.h"
#include "local_peer.h"

namespace trygg::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Real rows as Linux prints them (x86-64): 127.0.0.1:40000 -> 127.0.0.1:8080
// of uid 1001, its server-side twin of uid 1000, a listener, and an
// IPv4-mapped IPv6 client of uid 1002.
constexpr const char* kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 101 1 0 100 0 0 10 0\n"
    "   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 102 1 0 20 4 30 10 -1\n"
    "   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 103 1 0 20 4 30 10 -1\n";
constexpr const char* kTcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
    "   0: 0000000000000000FFFF00000100007F:9C41 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 "
    "00:00000000 00000000  1002        0 104 1 0 20 4 30 10 -1\n"
    "   1: 00000000000000000000000001000000:9C42 00000000000000000000000001000000:1F90 01 00000000:00000000 "
    "00:00000000 00000000  1003        0 105 1 0 20 4 30 10 -1\n";

uint32_t Loopback() {
  in_addr a{};
  inet_pton(AF_INET, "127.0.0.1", &a);
  return a.s_addr;
}

TEST_CASE("the /proc/net/tcp parser reads addresses, ports and the uid", "[app]") {
  REQUIRE_FALSE(ParseProcNetTcpLine("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"));
  REQUIRE_FALSE(ParseProcNetTcpLine(""));
  REQUIRE_FALSE(ParseProcNetTcpLine("   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  x1"));
  REQUIRE_FALSE(ParseProcNetTcpLine("   1: 0100007G:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1"));
  const std::optional<TcpRow> row =
      ParseProcNetTcpLine("   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001  0 1");
  REQUIRE(row);
  // On a little-endian host "0100007F" is 127.0.0.1 as s_addr.
  if (htonl(1) != 1) {
    CHECK(row->local_addr == Loopback());
    CHECK(row->remote_addr == Loopback());
  }
  CHECK(row->local_port == 40000);
  CHECK(row->remote_port == 8080);
  CHECK(row->uid == 1001);
}

TEST_CASE("the peer's socket row is found, and another user's is refused", "[app]") {
  if (htonl(1) == 1) {
    WARN("the rows above are little-endian");
    return;
  }
  // The client's row (local end 40000), not the server's twin (uid 1000).
  REQUIRE(FindPeerUid(kTcp, Loopback(), 40000, Loopback(), 8080) == std::optional<uid_t>(1001));
  REQUIRE_FALSE(FindPeerUid(kTcp, Loopback(), 40001, Loopback(), 8080));
  REQUIRE_FALSE(FindPeerUid(kTcp, Loopback(), 40000, Loopback(), 8081));
  REQUIRE(FindPeerUid(kTcp6, Loopback(), 40001, Loopback(), 8080) == std::optional<uid_t>(1002));
  // A pure IPv6 row (::1) is never taken for 127.0.0.1.
  REQUIRE_FALSE(FindPeerUid(kTcp6, Loopback(), 40002, Loopback(), 8080));

  REQUIRE(sodium_init() >= 0);
  HttpGuard guard;
  const uid_t other = geteuid() + 1;
  const std::optional<Refusal> refused = guard.CheckPeer(other);
  REQUIRE(refused);
  CHECK(refused->http_status == 403);
  REQUIRE(guard.CheckPeer(std::nullopt));  // no socket found: refused too
  REQUIRE_FALSE(guard.CheckPeer(geteuid()));
}

TEST_CASE("the uid of a real loopback client socket is this process's", "[app]") {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(listener, 1) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int server_port = ntohs(addr.sin_port);

  const int client = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  sockaddr_in mine{};
  len = sizeof(mine);
  REQUIRE(getsockname(client, reinterpret_cast<sockaddr*>(&mine), &len) == 0);
  const int client_port = ntohs(mine.sin_port);
  const int accepted = accept(listener, nullptr, nullptr);
  REQUIRE(accepted >= 0);

  CHECK(LoopbackPeerUid("127.0.0.1", client_port, "127.0.0.1", server_port) == std::optional<uid_t>(geteuid()));
  // No socket connects from the server's own port to the server's port.
  CHECK_FALSE(LoopbackPeerUid("127.0.0.1", server_port, "127.0.0.1", server_port));
  CHECK_FALSE(LoopbackPeerUid("not an address", client_port, "127.0.0.1", server_port));
  close(accepted);
  close(client);
  close(listener);
}

TEST_CASE("the unlock throttle slows down guessing and lets one attempt run at a time", "[app]") {
  UnlockThrottle throttle;
  const auto t0 = UnlockThrottle::Clock::time_point{} + seconds(1000);
  // Two typing errors are free.
  for (int i = 0; i < 2; ++i) {
    REQUIRE_FALSE(throttle.Begin(t0));
    // A second attempt while one runs waits.
    REQUIRE(throttle.Begin(t0));
    throttle.End(false, true, t0);
  }
  REQUIRE_FALSE(throttle.Begin(t0));
  throttle.End(false, true, t0);  // the third: 1 s
  std::optional<milliseconds> wait = throttle.Begin(t0);
  REQUIRE(wait);
  CHECK(*wait == seconds(1));
  REQUIRE(throttle.Begin(t0 + milliseconds(999)));
  REQUIRE_FALSE(throttle.Begin(t0 + seconds(1)));
  throttle.End(false, true, t0 + seconds(1));  // the fourth: 2 s
  wait = throttle.Begin(t0 + seconds(1));
  REQUIRE(wait);
  CHECK(*wait == seconds(2));
  // A refused attempt does not count: still 2 s from the fourth failure.
  REQUIRE_FALSE(throttle.Begin(t0 + seconds(3)));
  // A failure that is not the passphrase (the server away) neither counts nor resets.
  throttle.End(false, false, t0 + seconds(3));
  REQUIRE_FALSE(throttle.Begin(t0 + seconds(3)));
  throttle.End(true, false, t0 + seconds(3));  // right: reset
  REQUIRE_FALSE(throttle.Begin(t0 + seconds(3)));
  throttle.End(false, true, t0 + seconds(3));
  CHECK(UnlockThrottle::DelayAfter(0) == milliseconds(0));
  CHECK(UnlockThrottle::DelayAfter(2) == milliseconds(0));
  CHECK(UnlockThrottle::DelayAfter(3) == seconds(1));
  CHECK(UnlockThrottle::DelayAfter(5) == seconds(4));
  CHECK(UnlockThrottle::DelayAfter(100) == seconds(300));
}

}  // namespace
TEST_CASE("an audit-log check's failure is an alarm when the log disagrees, or when a server once checked "
          "refuses to be checked",
          "[app]") {
  // A log that disagrees, with or without a head verified before.
  CHECK(AlarmingFailure(absl::DataLossError("audit log: the log shrank from 61 to 60 entries"), false));
  CHECK(AlarmingFailure(absl::DataLossError("x"), true));
  // Refusals are alarms only once the device has verified a head.
  for (const absl::Status& refusal :
       {absl::FailedPreconditionError("no certified key"), absl::InvalidArgumentError("wrong kind"),
        absl::PermissionDeniedError("bad signature"), absl::InternalError("x"), absl::UnimplementedError("x"),
        absl::NotFoundError("x"), absl::UnknownError("x")}) {
    INFO(refusal.ToString());
    CHECK(AlarmingFailure(refusal, true));
    CHECK_FALSE(AlarmingFailure(refusal, false));
  }
  // Passing trouble never is.
  for (const absl::Status& passing :
       {absl::UnavailableError("away"), absl::DeadlineExceededError("slow"), absl::ResourceExhaustedError("busy"),
        absl::UnauthenticatedError("session ended"), absl::AbortedError("x"), absl::CancelledError("x")}) {
    INFO(passing.ToString());
    CHECK(PassingFailure(passing.code()));
    CHECK_FALSE(AlarmingFailure(passing, true));
  }
  CHECK_FALSE(AlarmingFailure(absl::OkStatus(), true));
}

TEST_CASE("an error's words are made one line of printable text, cut at a character boundary", "[app]") {
  CHECK(PrintableText("audit log: the log shrank from 61 to 60 entries") ==
        "audit log: the log shrank from 61 to 60 entries");
  CHECK(PrintableText("Åsa & Ängström") == "Åsa & Ängström");  // letters stay; the page escapes '&'
  // Control characters, C1 (NEL, CSI), separators and text-reordering marks
  // become spaces.
  CHECK(PrintableText("a\nb\r\tc\x1b[31m") == "a b  c [31m");
  CHECK(PrintableText("a\xc2\x85" "b\xc2\x9b" "c") == "a b c");
  CHECK(PrintableText("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c") == "a b c");
  CHECK(PrintableText("x\xe2\x80\xae" "evil\xe2\x80\xac" "y\xe2\x81\xa6" "z\xe2\x80\x8f" "w\xd8\x9c" "v") ==
        "x evil y z w v");
  // Bytes that are not well-formed UTF-8 become '?', one each.
  CHECK(PrintableText("a\xff" "b\xc3") == "a?b?");
  CHECK(PrintableText("\xed\xa0\x80") == "???");  // a UTF-16 surrogate, encoded
  // The cut: never inside a character, and marked.
  CHECK(PrintableText("abcdef", 4) == "abcd...");
  CHECK(PrintableText("ab\xc3\xa5" "c", 3) == "ab...");
  CHECK(PrintableText(std::string(1000, 'x')).size() == 303);
}

}  // namespace trygg::app
