// SPDX-License-Identifier: Apache-2.0

// Tryggd assembles the running server: it checks the data directory, opens
// the store, builds the gRPC server with every service, health checking and
// reflection, logs every call (call_observer.h), serves metrics when
// configured (server/metrics), and stops it cleanly.
//
// Ownership: Tryggd owns the store, the metrics and the gRPC server.
// Thread-safety: Start and Shutdown are called from one thread (main).
// Failure modes: Start returns a status whose message is the one line an
// operator needs (port in use, data directory missing or unwritable or in use,
// corrupt or newer database, unreadable TLS files, a server key missing or other
// than the one the stored server certificate certifies).
#ifndef TRYGG_SERVER_DAEMON_TRYGGD_H_
#define TRYGG_SERVER_DAEMON_TRYGGD_H_

#include <chrono>
#include <memory>
#include <string>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "server/daemon/config.h"
#include "server/api/authenticator.h"
#include "server/api/referral_watch.h"
#include "server/domain/audit_log.h"
#include "server/domain/cases.h"
#include "server/domain/referrals.h"
#include "trygg/server_info.h"
#include "server/domain/sessions.h"
#include "server/domain/trust.h"
#include "server/metrics/server_metrics.h"
#include "server/store/sqlite/sqlite_store.h"

namespace trygg::server {

class Tryggd {
 public:
  static absl::StatusOr<std::unique_ptr<Tryggd>> Start(const ServerConfig& config);
  ~Tryggd();

  // The address actually bound (with the chosen port when 0 was asked for).
  const std::string& listening_address() const { return listening_address_; }
  bool tls() const { return tls_; }
  // host:port serving /metrics (with the chosen port), or empty when off.
  const std::string& metrics_address() const { return metrics_address_; }
  // The public half of <data_dir>/server-signing.key: it signs audit tree
  // heads and is what the platform root certifies.
  const SignPublicKey& server_public_key() const { return server_public_key_; }

  // Reports NOT_SERVING, stops accepting calls, lets in-flight calls finish
  // until `drain` has passed (then cancels them), and closes the store.
  void Shutdown(std::chrono::milliseconds drain);

 private:
  Tryggd() = default;
  void ExpiryLoop();
  // Deletes expired enrolment requests, orphaned uploads and expired
  // challenges and sessions, in writes of at most `batch` rows of each kind.
  void DeleteExpiredRows(int batch);

  int lock_fd_ = -1;
  bool tls_ = false;
  std::string listening_address_;
  std::string metrics_address_;
  // Declared before the store: its writer thread reports to them until the
  // store is closed.
  std::unique_ptr<metrics::ServerMetrics> metrics_;
  std::unique_ptr<store::sqlite::WriterObserver> store_observer_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  // The system clock; in test builds, possibly moved by a test
  // (server_clock.h).
  std::unique_ptr<Clock> clock_;
  SignPublicKey server_public_key_;
  std::unique_ptr<domain::AuditLog> audit_log_;
  ServerInfo info_;
  SystemRng rng_;
  std::unique_ptr<domain::Trust> trust_;
  std::unique_ptr<domain::Sessions> sessions_;
  std::unique_ptr<api::Authenticator> authenticator_;
  std::unique_ptr<domain::Cases> cases_;
  std::unique_ptr<domain::ListingRoutes> routes_;
  std::unique_ptr<domain::Referrals> referrals_;
  api::ReferralWatch watch_;
  // Expires referrals whose answer-by time has passed, once a second.
  std::thread expiry_thread_;
  std::mutex expiry_mu_;
  std::condition_variable expiry_cv_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_TRYGGD_H_
