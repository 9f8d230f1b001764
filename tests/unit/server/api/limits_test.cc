// SPDX-License-Identifier: Apache-2.0

// The per-caller limits (server/api/limits.h): the token bucket per address
// for calls before sign-in, with its memory bound, and the cap on open
// streams per device. The clock is a FixedClock moved by the test.
#include "server/api/limits.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace trygg::api {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

// Calls `n` times from `peer`; how many were admitted.
int AdmitN(PeerRateLimiter& limiter, const std::string& peer, int n) {
  int admitted = 0;
  for (int i = 0; i < n; ++i) {
    absl::Status status = limiter.Admit(peer);
    if (status.ok()) {
      ++admitted;
    } else {
      CHECK(status.code() == absl::StatusCode::kResourceExhausted);
    }
  }
  return admitted;
}

TEST_CASE("PeerKey keys IPv4 by address, mapped or not, and IPv6 by its /64, ignoring ports and zones", "[limits]") {
  CHECK(PeerKey("ipv4:192.0.2.1:5000") == "192.0.2.1");
  CHECK(PeerKey("ipv4:192.0.2.1:6000") == "192.0.2.1");
  CHECK(PeerKey("ipv6:[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:5000") == "2001:db8:1:2::/64");
  CHECK(PeerKey("ipv6:[2001:db8:1:2::1]:443") == PeerKey("ipv6:[2001:db8:1:2:ffff::9]:80"));
  CHECK(PeerKey("ipv6:[2001:db8:1:3::1]:443") != PeerKey("ipv6:[2001:db8:1:2::1]:443"));
  CHECK(PeerKey("ipv6:[fe80::1%25eth0]:5000") == "fe80::/64");
  // The form gRPC 1.51 writes: brackets and the zone's % percent-encoded.
  CHECK(PeerKey("ipv6:%5B::1%5D:52040") == "::/64");
  CHECK(PeerKey("ipv6:%5B2001:db8:1:2::1%5D:443") == "2001:db8:1:2::/64");
  CHECK(PeerKey("ipv6:%5B2001:db8:1:2::1%5D:443") != PeerKey("ipv6:%5B2001:db8:1:3::1%5D:443"));
  CHECK(PeerKey("ipv6:%5Bfe80::1%25eth0%5D:5000") == "fe80::/64");
  CHECK(PeerKey("ipv6:%5B::ffff:192.0.2.1%5D:5000") == "192.0.2.1");
  // Nothing unparsed becomes a key of its own choosing.
  CHECK(PeerKey("ipv6:garbage-1") == PeerKey("ipv6:garbage-2"));
  // IPv4 callers on a dual-stack listener keep one bucket each, not one for all.
  CHECK(PeerKey("ipv6:[::ffff:192.0.2.1]:5000") == "192.0.2.1");
  CHECK(PeerKey("ipv6:[::ffff:192.0.2.1]:5000") != PeerKey("ipv6:[::ffff:192.0.2.2]:5000"));
  CHECK(PeerKey("ipv6:[::ffff:192.0.2.1]:5000") == PeerKey("ipv4:192.0.2.1:6000"));
  CHECK(PeerKey("unix:/run/trygg.sock") == "unix");
}

TEST_CASE("a burst is admitted, then calls at the refill rate, per address", "[limits]") {
  FixedClock clock(kStart);
  PeerRateLimiter limiter(RateLimit{.per_second = 10, .burst = 30, .max_peers = 100}, clock);
  const std::string scanner = "ipv4:198.51.100.7:40000";
  CHECK(AdmitN(limiter, scanner, 100) == 30);
  CHECK(limiter.refused() == 70);

  // Another address has its own bucket.
  CHECK(AdmitN(limiter, "ipv4:198.51.100.8:40000", 5) == 5);
  // So does another port of the same address not: same bucket, still empty.
  CHECK_FALSE(limiter.Admit("ipv4:198.51.100.7:40001").ok());

  clock.Advance(500);  // half a second refills five calls
  CHECK(AdmitN(limiter, scanner, 100) == 5);
  clock.Advance(100'000);  // a long pause refills the bucket, never past the burst
  CHECK(AdmitN(limiter, scanner, 100) == 30);
}

TEST_CASE("rotating through an IPv6 /64 gains nothing", "[limits]") {
  FixedClock clock(kStart);
  PeerRateLimiter limiter(RateLimit{.per_second = 1, .burst = 10, .max_peers = 100}, clock);
  int admitted = 0;
  for (int i = 0; i < 100; ++i) {
    admitted += limiter.Admit(absl::StrCat("ipv6:[2001:db8:0:1::", absl::Hex(i + 1), "]:5000")).ok() ? 1 : 0;
  }
  CHECK(admitted == 10);
  CHECK(limiter.peers() == 1);
}

TEST_CASE("a clock stepping back refills nothing", "[limits]") {
  FixedClock clock(kStart);
  PeerRateLimiter limiter(RateLimit{.per_second = 10, .burst = 5, .max_peers = 100}, clock);
  CHECK(AdmitN(limiter, "ipv4:192.0.2.9:1", 10) == 5);
  clock.Advance(-60'000);
  CHECK(AdmitN(limiter, "ipv4:192.0.2.9:1", 10) == 0);
}

TEST_CASE("the table holds at most max_peers buckets, and more addresses share one overflow budget", "[limits]") {
  FixedClock clock(kStart);
  PeerRateLimiter limiter(RateLimit{.per_second = 1, .burst = 2, .max_peers = 16}, clock);
  // Sixteen addresses each spend a token: their buckets are in use.
  for (int i = 0; i < 16; ++i) REQUIRE(limiter.Admit(absl::StrCat("ipv4:10.0.0.", i, ":1")).ok());
  CHECK(limiter.peers() == 16);

  // A thousand new addresses: one overflow bucket, so two calls in all pass.
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += limiter.Admit(absl::StrCat("ipv4:10.1.", i / 250, ".", i % 250, ":1")).ok();
  CHECK(admitted == 2);
  CHECK(limiter.peers() == 17);  // the sixteen and the overflow bucket

  // The limited addresses kept their buckets: the flood evicted nothing.
  CHECK(limiter.Admit("ipv4:10.0.0.3:1").ok());   // its second token
  CHECK_FALSE(limiter.Admit("ipv4:10.0.0.3:1").ok());

  // Once they have refilled, their buckets say nothing and are dropped to
  // make room (the overflow bucket stays).
  clock.Advance(10'000);
  CHECK(limiter.Admit("ipv4:10.2.0.1:1").ok());
  CHECK(limiter.peers() == 2);
}

TEST_CASE("per_second 0 turns the limiter off", "[limits]") {
  FixedClock clock(kStart);
  PeerRateLimiter limiter(RateLimit{.per_second = 0, .burst = 1, .max_peers = 16}, clock);
  CHECK(AdmitN(limiter, "ipv4:192.0.2.1:1", 1000) == 1000);
  CHECK(limiter.peers() == 0);
}

TEST_CASE("a device holds at most max_per_device stream slots, and a slot given back is free again", "[limits]") {
  StreamSlots slots(3);
  Id128 device;
  device.span()[0] = 1;
  Id128 other;
  other.span()[0] = 2;

  std::vector<StreamSlot> held;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<StreamSlot> slot = slots.Take(device);
    REQUIRE(slot.ok());
    held.push_back(*std::move(slot));
  }
  absl::StatusOr<StreamSlot> fourth = slots.Take(device);
  CHECK(fourth.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(slots.refused() == 1);
  CHECK(slots.open(device) == 3);

  // Another device is not affected.
  absl::StatusOr<StreamSlot> theirs = slots.Take(other);
  CHECK(theirs.ok());
  CHECK(slots.held() == 4);

  // Moving a slot keeps one count; destroying it gives it back.
  StreamSlot moved = std::move(held.back());
  held.pop_back();
  CHECK(slots.open(device) == 3);
  moved = StreamSlot();
  CHECK(slots.open(device) == 2);
  CHECK(slots.Take(device).ok());  // taken and given back at once
  held.clear();
  CHECK(slots.open(device) == 0);
  CHECK(slots.held() == 1);  // the other device's
}

}  // namespace
}  // namespace trygg::api
