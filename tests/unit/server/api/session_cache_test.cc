// SPDX-License-Identifier: Apache-2.0

// SessionCache (server/api/session_cache.h): an entry serves only at the
// trust version it was stamped with and before its session expires; the
// cache never outgrows its bound. That a revocation, a role change or an
// ended session moves the version is sqlite_store_test's; that the server
// then refuses the next call, trust_test's and stream_authority_test's.
#include "server/api/session_cache.h"

#include <catch2/catch.hpp>

#include <memory>

namespace trygg::api {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

Hash256 HashOf(uint32_t n) {
  Hash256 hash;
  hash.span()[0] = static_cast<uint8_t>(n);
  hash.span()[1] = static_cast<uint8_t>(n >> 8);
  hash.span()[2] = static_cast<uint8_t>(n >> 16);
  for (size_t i = 3; i < hash.size(); ++i) hash.span()[i] = 0x5a;
  return hash;
}

domain::Caller CallerOf(uint8_t device, int64_t expires_at_ms) {
  domain::Caller caller;
  caller.device_id.span()[0] = device;
  caller.org_id.span()[0] = 0x0f;
  caller.role = Role::kCaseworker;
  caller.session_expires_at_ms = expires_at_ms;
  return caller;
}

TEST_CASE("a cached session serves only at its trust version and before it expires", "[sessions]") {
  SessionCache cache;
  const Hash256 token = HashOf(1);
  CHECK_FALSE(cache.Find(token, 8, kNow).has_value());

  cache.Insert(token, 8, CallerOf(1, kNow + 1000));
  std::optional<domain::Caller> hit = cache.Find(token, 8, kNow);
  REQUIRE(hit.has_value());
  CHECK(hit->device_id == CallerOf(1, 0).device_id);
  CHECK(hit->session_expires_at_ms == kNow + 1000);
  CHECK_FALSE(cache.Find(HashOf(2), 8, kNow).has_value());

  SECTION("a newer version retires it, and it stays retired") {
    CHECK_FALSE(cache.Find(token, 10, kNow).has_value());
    CHECK_FALSE(cache.Find(token, 8, kNow).has_value());
    CHECK(cache.size() == 0);
  }
  SECTION("an entry stamped with an older version than now is never served") {
    // A Read that began before a revocation committed is stamped with the
    // version before it; once the version moves, it is a miss.
    cache.Insert(HashOf(3), 6, CallerOf(3, kNow + 1000));
    CHECK_FALSE(cache.Find(HashOf(3), 8, kNow).has_value());
  }
  SECTION("at its expiry it is gone, as the database would say") {
    CHECK(cache.Find(token, 8, kNow + 999).has_value());
    CHECK_FALSE(cache.Find(token, 8, kNow + 1000).has_value());
    CHECK(cache.size() == 0);
  }
  SECTION("a lookup at an older version neither evicts nor overwrites a newer entry") {
    domain::Caller newer = CallerOf(1, kNow + 5000);
    newer.role = Role::kOrgAdmin;
    cache.Insert(token, 10, newer);
    CHECK_FALSE(cache.Find(token, 8, kNow).has_value());
    cache.Insert(token, 8, CallerOf(1, kNow + 1000));
    REQUIRE(cache.Find(token, 10, kNow).has_value());
    CHECK(cache.Find(token, 10, kNow)->role == Role::kOrgAdmin);
  }
  SECTION("a fresh lookup replaces it") {
    domain::Caller admin = CallerOf(1, kNow + 5000);
    admin.role = Role::kOrgAdmin;
    cache.Insert(token, 12, admin);
    CHECK_FALSE(cache.Find(token, 8, kNow).has_value());
    cache.Insert(token, 12, admin);
    REQUIRE(cache.Find(token, 12, kNow).has_value());
    CHECK(cache.Find(token, 12, kNow)->role == Role::kOrgAdmin);
  }
}

TEST_CASE("while the version is odd nothing is served or kept", "[sessions]") {
  // Odd: a change to sessions or devices is committing, and a Read may have
  // seen either side of it.
  SessionCache cache;
  cache.Insert(HashOf(1), 9, CallerOf(1, kNow + 1000));
  CHECK(cache.size() == 0);
  cache.Insert(HashOf(1), 10, CallerOf(1, kNow + 1000));
  CHECK_FALSE(cache.Find(HashOf(1), 11, kNow).has_value());
  // Even again, at the version the entry was read at, it would serve (the
  // store never goes back; this shows only that odd is what refused).
  CHECK(cache.Find(HashOf(1), 10, kNow).has_value());
}

TEST_CASE("a cached caller carries no signature checks of the call that filled it", "[sessions]") {
  SessionCache cache;
  domain::Caller caller = CallerOf(1, kNow + 1000);
  caller.prechecked = std::make_shared<domain::PrecheckedSignatures>();
  cache.Insert(HashOf(1), 2, caller);
  REQUIRE(cache.Find(HashOf(1), 2, kNow).has_value());
  CHECK(cache.Find(HashOf(1), 2, kNow)->prechecked == nullptr);
}

TEST_CASE("the cache holds at most kMaxEntries sessions", "[sessions]") {
  SessionCache cache;
  for (uint32_t i = 0; i < SessionCache::kMaxEntries + 10; ++i) {
    cache.Insert(HashOf(i), 2, CallerOf(1, kNow + 1000));
    REQUIRE(cache.size() <= SessionCache::kMaxEntries);
  }
  // The newest is there: a full cache starts over, it does not refuse.
  CHECK(cache.Find(HashOf(SessionCache::kMaxEntries + 9), 2, kNow).has_value());
}

}  // namespace
}  // namespace trygg::api
