// SPDX-License-Identifier: Apache-2.0

// A device signs session challenges only for the server instance it first
// signed in to. A challenge names the instance that issued it (a random id
// made with the database), so a signature is useless elsewhere; pinning
// the instance at first contact also keeps the device from signing for a
// server swapped in for the real one, or for one relaying another
// instance's challenges to it.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "testing/db_edit.h"
#include "testing/trust_world.h"

namespace trygg::adversarial_instance {
namespace {

using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::string FileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("a device refuses to sign a challenge from another server instance than it first signed in to",
          "[adversarial][sessions]") {
  TrustWorld real;
  TestDevice& admin = real.AdmitOrganisation("Skyddat boende Norr");
  const std::string state_path = real.StatePath(admin.state_name);
  auto pinned = admin.client->pinned_server_instance();
  REQUIRE(pinned.has_value());
  auto info = admin.client->GetServerInfo();
  REQUIRE(info.ok());
  CHECK(*pinned == info->server_instance_id);
  const std::string state_before = FileText(state_path);

  // Another server (its own database, so its own instance) at the address
  // the device is given.
  TrustWorld impostor;
  const int64_t sessions_before = QueryInt(impostor.db_path(), "SELECT count(*) FROM audit_entries");
  ClientOptions options;
  options.address = impostor.address();
  options.platform_root = real.root().public_key;
  options.state_file = state_path;
  auto client = Client::Connect(options);
  REQUIRE(client.ok());
  auto login = (*client)->Login(admin.keys.device_id, admin.keys.device.signing());
  INFO(login.status().ToString());
  CHECK(login.status().code() == absl::StatusCode::kFailedPrecondition);
  // Nothing was signed for the impostor, so it has no session creation to log.
  CHECK(QueryInt(impostor.db_path(), "SELECT count(*) FROM audit_entries") == sessions_before);
  CHECK(FileText(state_path) == state_before);
  CHECK((*client)->pinned_server_instance() == pinned);
  client->reset();  // idle connections would hold up the servers' stops

  // The real server after a restart (the same database) is the same instance.
  admin.client.reset();
  real.Restart();
  real.Reconnect(admin);
  CHECK(admin.client->WhoAmI().ok());
  CHECK(admin.client->pinned_server_instance() == pinned);
}

TEST_CASE("forgetting the pinned instance is explicit, and pins the next server reached", "[adversarial][sessions]") {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Tolkförmedlingen");
  auto pinned = admin.client->pinned_server_instance();
  REQUIRE(pinned.has_value());
  REQUIRE(admin.client->ForgetServerInstance().ok());
  CHECK_FALSE(admin.client->pinned_server_instance().has_value());
  // A new client on the same state file sees nothing pinned, and pins again.
  world.Reconnect(admin);
  CHECK(admin.client->pinned_server_instance() == pinned);
}

}  // namespace trygg::adversarial_instance
