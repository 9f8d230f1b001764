// SPDX-License-Identifier: Apache-2.0

// A small platform for integration tests: a platform root, a real tryggd
// pinned to it, and organisations with devices whose keys live in memory.
// Built through the client library exactly as the tools do it.
#ifndef TRYGG_TESTS_TESTING_TRUST_WORLD_H_
#define TRYGG_TESTS_TESTING_TRUST_WORLD_H_

#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "testing/temp_dir.h"
#include "testing/tryggd_process.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/random.h"

namespace trygg::testing {

struct TestDevice {
  KeyStoreContents keys;
  std::unique_ptr<Client> client;  // logged in when Login() was called
  std::string state_name;          // its client state file, for Reconnect
};

// tryggd's arguments for reading `toml` as its config file, written into
// `dir` (which must outlive the server).
std::vector<std::string> ConfigArgs(const TempDir& dir, const std::string& toml);

class TrustWorld {
 public:
  // Starts tryggd with `extra_args` added to its command line.
  explicit TrustWorld(std::vector<std::string> extra_args = {});

  bool ok() const { return server_->ok(); }
  const std::string& address() const { return server_->address(); }
  std::string db_path() const { return dir_.file("trygg.db"); }
  const SigningKeyPair& root() const { return root_; }
  TryggdProcess& server() { return *server_; }
  // tryggd's data directory and the arguments it was started with.
  const std::string& data_dir() const { return dir_.path(); }
  const std::vector<std::string>& server_args() const { return args_; }

  // A client pinned to the root, remembering heads in its own state file.
  std::unique_ptr<Client> NewClient(const std::string& state_name = "");
  // The path of the state file NewClient(state_name) uses.
  std::string StatePath(const std::string& state_name) const { return dir_.file(state_name + ".state.json"); }
  // The same, connected to `address` instead of the server's.
  std::unique_ptr<Client> NewClientAt(const std::string& address, const std::string& state_name = "");

  // Admits an organisation whose first admin is the returned device (logged
  // in), with organisation key generation 1.
  TestDevice& AdmitOrganisation(const std::string& name);
  // Enrols, approves (by `admin`) and activates a new device of admin's org.
  TestDevice& AddDevice(TestDevice& admin, Role role);
  // A root-certified coordinator device, logged in.
  TestDevice& AddCoordinator(const std::string& name);
  // Logs `device` in (again).
  void Login(TestDevice& device);
  // A new client for `device` with the same state file (after Restart), logged in.
  void Reconnect(TestDevice& device);
  // Another client for `device`, logged in, that talks to `address` (an
  // EvilProxy in front of this server) and remembers what it verified in
  // its own state file `state_name` (default: one of its own), so that what
  // it saw through the proxy is compared only with what it saw before.
  std::unique_ptr<Client> ClientThrough(const TestDevice& device, const std::string& address,
                                        const std::string& state_name = "");

  // Has the platform root certify the server's signing key and uploads the
  // certificate, as trygg-admin certify-server and trygg cert upload do.
  void CertifyServer();
  // Stops tryggd (SIGTERM, and it must exit cleanly; or SIGKILL, a crash),
  // runs `while_stopped` with the data directory, and starts it again on the
  // same data directory (a new port: clients made before no longer reach it).
  void Restart(const std::function<void(const std::string& data_dir)>& while_stopped = {}, int signal = SIGTERM);

  Rng& rng() { return rng_; }
  Clock& clock() { return clock_; }

  // Moves tryggd's clock forward by `by` (its test hook,
  // server/daemon/server_clock.h), at once: the next reading of the clock
  // sees it. Lets a test pass a session's lifetime or an answer-by time
  // without sleeping. The clients' clock does not move.
  void AdvanceServerClock(std::chrono::milliseconds by);

 private:
  TempDir dir_;
  DeterministicRng rng_{0x5a};
  SystemClock clock_;
  SigningKeyPair root_;
  std::vector<std::string> args_;
  // The file tryggd reads its clock offset from, and the offset written.
  std::string clock_file_;
  std::chrono::milliseconds clock_offset_{0};
  std::unique_ptr<TryggdProcess> server_;
  std::vector<std::unique_ptr<TestDevice>> devices_;
  int next_id_ = 1;
};

}  // namespace trygg::testing

#endif  // TRYGG_TESTS_TESTING_TRUST_WORLD_H_
