// SPDX-License-Identifier: Apache-2.0

// Authenticator::AuthenticateToken against a real SqliteStore: what it keeps
// in its session cache (session_cache.h) never outlives a change to the
// session or its device, even one that commits while the lookup that filled
// the cache is still reading the old rows.
#include "server/api/authenticator.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "server/store/sqlite/sqlite_store.h"
#include "server/store/sqlite/sqlite_transaction.h"
#include "testing/temp_dir.h"
#include "trygg/status_macros.h"

namespace trygg::api {
namespace {

using store::sqlite::SqliteStore;
using store::sqlite::SqliteTransaction;

constexpr int64_t kNow = 1'700'000'000'000;
const std::string kToken(64, 'a');  // 32 bytes of 0xaa, hex
constexpr char kDevice[] = "x'0d000000000000000000000000000000'";

// The real store, with a hook that runs inside each Read after the read
// itself: there the test commits a change while the Read's snapshot still
// shows the rows as they were.
class RacingStore final : public domain::Store {
 public:
  explicit RacingStore(SqliteStore& store) : store_(store) {}
  void Write(WriteFn write, DoneFn done) override { store_.Write(std::move(write), std::move(done)); }
  absl::Status Read(const ReadFn& read) override {
    ++reads;
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_RETURN_IF_ERROR(read(txn));
      if (during_read) {
        std::function<absl::Status()> once = std::move(during_read);
        during_read = nullptr;
        TRYGG_RETURN_IF_ERROR(once());
      }
      return absl::OkStatus();
    });
  }
  uint64_t TrustVersion() const override { return store_.TrustVersion(); }
  int SchemaVersion() const override { return store_.SchemaVersion(); }
  absl::StatusOr<domain::ServerIdentity> GetServerIdentity() override { return store_.GetServerIdentity(); }

  std::function<absl::Status()> during_read;
  int reads = 0;

 private:
  SqliteStore& store_;
};

absl::Status Sql(SqliteStore& store, const std::string& sql) {
  return store.WriteAndWait([&sql](domain::Transaction& txn) { return SqliteTransaction::Of(txn).db().Exec(sql); });
}

TEST_CASE("a session looked up while its device is revoked is not kept", "[sessions]") {
  testing::TempDir dir;
  SqliteStore::Options options;
  options.path = dir.file("trygg.db");
  auto opened = SqliteStore::Open(options);
  REQUIRE(opened.ok());
  SqliteStore& sqlite = **opened;
  RacingStore store(sqlite);
  FixedClock clock(kNow);
  SystemRng rng;
  domain::Sessions sessions(Id128(), domain::SessionPolicy(), clock, rng);
  Authenticator auth(store, sessions, clock);

  auto token_hash = domain::Sessions::TokenHash(kToken);
  REQUIRE(token_hash.ok());
  REQUIRE(Sql(sqlite, "INSERT INTO certificates (subject_id, kind, bytes, signature) "
                      "VALUES (zeroblob(16), 1, x'00', zeroblob(64))").ok());
  REQUIRE(Sql(sqlite, std::string("INSERT INTO devices (device_id, org_id, role, sign_key, box_key) VALUES (") +
                          kDevice + ", zeroblob(16), 2, zeroblob(32), zeroblob(32))").ok());
  REQUIRE(Sql(sqlite, std::string("INSERT INTO sessions (token_hash, device_id, expires_at) VALUES (x'") +
                          token_hash->ToHex() + "', " + kDevice + ", " + std::to_string(kNow + 60'000) + ")")
              .ok());

  // Looked up once, then served without a read.
  REQUIRE(auth.AuthenticateToken(kToken).ok());
  REQUIRE(store.reads == 1);
  REQUIRE(auth.AuthenticateToken(kToken).ok());
  CHECK(store.reads == 1);

  SECTION("revoked between the cache and the database") {
    // The next lookup must read (something changed elsewhere), and while it
    // reads, the device is revoked and its sessions deleted: it still finds
    // the session, as a call that read a moment before the revocation would.
    REQUIRE(Sql(sqlite, "UPDATE certificates SET kind = 1").ok());  // no trust change: still cached
    REQUIRE(auth.AuthenticateToken(kToken).ok());
    CHECK(store.reads == 1);
    REQUIRE(Sql(sqlite, "DELETE FROM sessions WHERE token_hash = x'00'").ok());  // matches nothing
    REQUIRE(auth.AuthenticateToken(kToken).ok());
    CHECK(store.reads == 1);
    REQUIRE(Sql(sqlite, std::string("UPDATE devices SET role = 1 WHERE device_id = ") + kDevice).ok());
    store.during_read = [&] {
      return Sql(sqlite, std::string("UPDATE devices SET revoked = 1 WHERE device_id = ") + kDevice +
                             "; DELETE FROM sessions WHERE device_id = " + kDevice);
    };
    absl::StatusOr<domain::Caller> racing = auth.AuthenticateToken(kToken);
    REQUIRE(racing.ok());
    CHECK(racing->role == Role::kCaseworker);
    CHECK(store.reads == 2);
    // The revocation has been answered: the next call is refused, from the
    // database, not served what the racing read found.
    CHECK(auth.AuthenticateToken(kToken).status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(store.reads == 3);
  }
  SECTION("expired") {
    clock.Advance(60'000);
    CHECK(auth.AuthenticateToken(kToken).status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(store.reads == 2);
  }
  SECTION("tokens that do not authenticate are never kept") {
    const std::string stranger(64, 'b');
    for (int i = 0; i < 3; ++i) {
      CHECK(auth.AuthenticateToken(stranger).status().code() == absl::StatusCode::kUnauthenticated);
    }
    CHECK(store.reads == 4);
    CHECK(auth.AuthenticateToken("not hex").status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(store.reads == 4);
  }
}

}  // namespace
}  // namespace trygg::api
