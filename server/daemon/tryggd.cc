// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/tryggd.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "server/api/audit_service.h"
#include "server/api/case_service.h"
#include "server/api/referral_service.h"
#include "server/domain/directory.h"
#include "server/api/directory_service.h"
#include "server/api/session_service.h"
#include "server/api/trust_service.h"
#include "server/daemon/call_observer.h"
#include "server/daemon/server_clock.h"
#include "server/daemon/server_key.h"
#include "server/daemon/systemd_notify.h"
#include "server/net/bind_probe.h"
#include "trygg/status_macros.h"
#include "trygg/v1/audit.grpc.pb.h"
#include "trygg/v1/directory.grpc.pb.h"

#ifndef TRYGG_VERSION
#define TRYGG_VERSION "0.0.0"
#endif

namespace trygg::server {
namespace {

// Takes an exclusive lock on the data directory for the life of the process,
// so that two servers never write one database. Creating the lock file is
// also the honest test of whether the directory is writable.
absl::StatusOr<int> LockDataDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("data directory ", dir,
                                              " does not exist; create it (mkdir -p ", dir, ")"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot access data directory ", dir, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("data directory ", dir, " is not a directory"));
  }
  const std::string lock_path = dir + "/tryggd.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("data directory ", dir, " is not writable: ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", dir, " is in use by another tryggd"));
  }
  return fd;
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read TLS ", what, " file ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (in.bad() || pem.find("-----BEGIN ") == std::string::npos) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS ", what, " file ", path, " is not a PEM file"));
  }
  return pem;
}

// gRPC reports a failed bind only as "no address added"; the probe gives
// the operator the real reason.
absl::Status CheckCanBind(const ListenAddress& address, const std::string& original) {
  absl::Status probe = net::ProbeBind(address.host, address.port, net::AddressFamily::kAny);
  if (probe.ok()) return probe;
  if (absl::IsInvalidArgument(probe)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve listen address ", original, ": ", probe.message()));
  }
  return absl::UnavailableError(absl::StrCat("cannot listen on ", original, ": ", probe.message()));
}

// Referrals find their receiving service through the directory.
class DirectoryRoutes final : public domain::ListingRoutes {
 public:
  absl::StatusOr<domain::ReferralRoute> RouteFor(domain::Transaction& txn, const Id128& listing_id) const override {
    TRYGG_ASSIGN_OR_RETURN(domain::ListingRoute route, domain::Directory::RouteFor(txn, listing_id));
    return domain::ReferralRoute{route.org_id, route.category, route.response_time_hours, route.retired};
  }
};

// The store's group commits, reported to the metrics.
class StoreBatchMetrics final : public store::sqlite::WriterObserver {
 public:
  explicit StoreBatchMetrics(metrics::ServerMetrics& metrics) : metrics_(metrics) {}
  void BatchDone(size_t writes, std::chrono::nanoseconds batch_duration, std::chrono::nanoseconds commit_duration,
                 bool committed) override {
    metrics_.RecordBatch(writes, batch_duration, commit_duration, committed);
  }

 private:
  metrics::ServerMetrics& metrics_;
};

// A file's size in bytes; 0 when it does not exist (no WAL after a clean
// checkpoint), nullopt when it cannot be read.
std::optional<double> FileBytes(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) return static_cast<double>(st.st_size);
  if (errno == ENOENT) return 0.0;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tryggd>> Tryggd::Start(const ServerConfig& config) {
  TRYGG_RETURN_IF_ERROR(ValidateConfig(config));
  TRYGG_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(config.listen_address));
  std::unique_ptr<Tryggd> d(new Tryggd());
  d->clock_ = MakeServerClock();

  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (!config.tls_cert_file.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    TRYGG_ASSIGN_OR_RETURN(pair.cert_chain, ReadPemFile(config.tls_cert_file, "certificate"));
    TRYGG_ASSIGN_OR_RETURN(pair.private_key, ReadPemFile(config.tls_key_file, "key"));
    ssl.pem_key_cert_pairs.push_back(std::move(pair));
    credentials = grpc::SslServerCredentials(ssl);
    d->tls_ = true;
  } else {
    credentials = grpc::InsecureServerCredentials();
  }

  TRYGG_ASSIGN_OR_RETURN(d->lock_fd_, LockDataDir(config.data_dir));
  TRYGG_RETURN_IF_ERROR(CheckCanBind(address, config.listen_address));
  if (!config.metrics_listen.empty()) {
    TRYGG_ASSIGN_OR_RETURN(d->metrics_, metrics::ServerMetrics::Serve(config.metrics_listen));
    TRYGG_ASSIGN_OR_RETURN(ListenAddress metrics_address, ParseListenAddress(config.metrics_listen));
    d->metrics_address_ = absl::StrCat(metrics_address.host, ":", d->metrics_->port());
    d->store_observer_ = std::make_unique<StoreBatchMetrics>(*d->metrics_);
  }

  store::sqlite::SqliteStore::Options store_options;
  store_options.path = config.data_dir + "/trygg.db";
  store_options.observer = d->store_observer_.get();
  store_options.max_queued_writes = static_cast<size_t>(config.max_queued_writes);
  store_options.checkpoint_pages = config.wal_checkpoint_pages;
  TRYGG_ASSIGN_OR_RETURN(d->store_, store::sqlite::SqliteStore::Open(store_options));
  spdlog::info("database {} at schema version {}", store_options.path, d->store_->SchemaVersion());

  d->info_.server_version = TRYGG_VERSION;
  d->info_.schema_version = d->store_->SchemaVersion();
  TRYGG_ASSIGN_OR_RETURN(const domain::ServerIdentity identity, d->store_->GetServerIdentity());
  d->info_.server_instance_id = Id128(identity.instance_id);

  // A database restored without its key file must not get a new key: clients
  // would then refuse the server for presenting a key its certificate does not
  // certify. Once certified, the key is loaded, never created.
  std::optional<SignPublicKey> certified;
  TRYGG_RETURN_IF_ERROR(d->store_->Read([&](domain::Transaction& txn) -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(certified, domain::Trust::CertifiedServerKey(txn));
    return absl::OkStatus();
  }));
  TRYGG_ASSIGN_OR_RETURN(ServerKey server_key, certified.has_value()
                                                   ? LoadCertifiedServerKey(config.data_dir, *certified)
                                                   : LoadOrCreateServerKey(config.data_dir, d->rng_));
  d->server_public_key_ = server_key.pair.public_key;
  spdlog::info("{} server signing key {}", server_key.created ? "created" : "loaded",
               HexEncode(d->server_public_key_.span()));
  d->audit_log_ = std::make_unique<domain::AuditLog>(d->store_.get(), std::move(server_key.pair),
                                                     d->clock_.get());
  TRYGG_ASSIGN_OR_RETURN(d->info_.platform_root, PlatformRootKey(config));
  if (!d->info_.platform_root.has_value()) {
    spdlog::warn("no platform_root_public_key configured: organisations cannot be admitted yet");
  }

  d->info_.server_public_key = d->server_public_key_;
  domain::TrustLimits trust_limits;
  trust_limits.max_pending_enrolments = config.max_pending_enrolments_per_org;
  trust_limits.enrolment_ttl_ms = int64_t{config.enrolment_ttl_hours} * 3600 * 1000;
  trust_limits.max_key_envelopes_per_call = config.max_key_envelopes_per_call;
  d->trust_ = std::make_unique<domain::Trust>(d->info_.platform_root, d->server_public_key_, *d->clock_, d->rng_,
                                              trust_limits);
  domain::SessionPolicy session_policy;
  session_policy.session_ttl_ms = int64_t{config.session_ttl_seconds} * 1000;
  session_policy.max_live_challenges = config.max_live_challenges;
  d->sessions_ = std::make_unique<domain::Sessions>(d->info_.server_instance_id, session_policy,
                                                    *d->clock_, d->rng_);
  api::CallerLimits caller_limits;
  caller_limits.unauthenticated.per_second = config.unauthenticated_calls_per_second;
  caller_limits.unauthenticated.burst = config.unauthenticated_burst;
  caller_limits.unauthenticated.max_peers = static_cast<size_t>(config.rate_limited_addresses);
  caller_limits.max_streams_per_device = config.max_streams_per_device;
  d->authenticator_ = std::make_unique<api::Authenticator>(*d->store_, *d->sessions_, *d->clock_, caller_limits);

  d->services_.push_back(
      std::make_unique<api::TrustService>(d->info_, *d->store_, *d->trust_, *d->authenticator_));
  d->services_.push_back(std::make_unique<api::SessionService>(*d->store_, *d->sessions_, *d->authenticator_));
  domain::CaseLimits case_limits;
  case_limits.max_grants_per_call = config.max_grants_per_call;
  case_limits.attachment_quota_bytes_per_org = static_cast<uint64_t>(config.attachment_quota_bytes_per_org);
  case_limits.orphan_upload_timeout_ms = int64_t{config.orphan_upload_timeout_minutes} * 60 * 1000;
  d->cases_ = std::make_unique<domain::Cases>(*d->clock_, case_limits);
  d->routes_ = std::make_unique<DirectoryRoutes>();
  d->referrals_ = std::make_unique<domain::Referrals>(*d->routes_, *d->clock_);
  // Half the send limit leaves room for the grants and the envelope framing.
  const size_t case_page_bytes =
      std::min(api::CaseService::kDefaultCasePageBytes, static_cast<size_t>(config.max_send_message_bytes) / 2);
  d->services_.push_back(std::make_unique<api::CaseService>(*d->store_, *d->cases_, *d->referrals_,
                                                            *d->authenticator_, d->watch_, case_page_bytes));
  d->services_.push_back(
      std::make_unique<api::ReferralService>(*d->store_, *d->referrals_, *d->authenticator_, d->watch_));
  domain::DirectoryOptions directory_options;
  directory_options.capacity_stale_ms = int64_t{config.directory_capacity_stale_hours} * 3600 * 1000;
  d->services_.push_back(std::make_unique<api::DirectoryService>(*d->store_, *d->authenticator_, *d->clock_,
                                                                 directory_options));
  d->services_.push_back(std::make_unique<api::AuditService>(d->audit_log_.get(), *d->authenticator_));

  if (d->metrics_ != nullptr) {
    // Read at each scrape. Counts and sizes only: nothing names a person,
    // an organisation, a device or a case.
    Tryggd* raw = d.get();
    const std::string db_path = store_options.path;
    d->metrics_->AddScrapeGauge("trygg_store_write_queue_depth",
                                "Writes queued for the store's writer thread and not yet taken into a batch",
                                [raw]() -> std::optional<double> {
                                  return static_cast<double>(raw->store_->QueuedWrites());
                                });
    d->metrics_->AddScrapeGauge("trygg_store_database_bytes", "Size of trygg.db in bytes",
                                [db_path] { return FileBytes(db_path); });
    d->metrics_->AddScrapeGauge("trygg_store_wal_bytes", "Size of the write-ahead log trygg.db-wal in bytes",
                                [db_path] { return FileBytes(db_path + "-wal"); });
    d->metrics_->AddScrapeGauge("trygg_audit_tree_size", "Entries in the audit log (leaves of its Merkle tree)",
                                [raw]() -> std::optional<double> {
                                  uint64_t size = 0;
                                  absl::Status read = raw->store_->Read([&](domain::Transaction& txn) -> absl::Status {
                                    TRYGG_ASSIGN_OR_RETURN(size, domain::AuditLog::Size(txn));
                                    return absl::OkStatus();
                                  });
                                  if (!read.ok()) return std::nullopt;
                                  return static_cast<double>(size);
                                });
    d->metrics_->AddScrapeCounter("trygg_rate_limited_total",
                                  "Calls before sign-in refused because their address made too many lately",
                                  [raw]() -> std::optional<double> {
                                    return static_cast<double>(raw->authenticator_->unauthenticated_limiter().refused());
                                  });
    d->metrics_->AddScrapeCounter("trygg_streams_refused_total",
                                  "Streams refused because their device already held its most open streams",
                                  [raw]() -> std::optional<double> {
                                    return static_cast<double>(raw->authenticator_->stream_slots().refused());
                                  });
    d->metrics_->AddScrapeGauge("trygg_device_streams",
                                "Streams (watch, upload, download) open now, counted against their devices' cap",
                                [raw]() -> std::optional<double> {
                                  return static_cast<double>(raw->authenticator_->stream_slots().held());
                                });
    d->metrics_->AddScrapeCounter("trygg_store_writes_refused_total",
                                  "Writes refused at once because the writer queue was full",
                                  [raw]() -> std::optional<double> {
                                    return static_cast<double>(raw->store_->RefusedWrites());
                                  });
    d->metrics_->AddScrapeCounter("trygg_store_batch_retries_total",
                                  "Write batches run again, from the failed write on in savepoints, because a "
                                  "write failed after changing something",
                                  [raw]() -> std::optional<double> {
                                    return static_cast<double>(raw->store_->BatchRetries());
                                  });
    d->metrics_->AddScrapeGauge("trygg_sessions", "Sessions that have neither expired nor ended",
                                [raw]() -> std::optional<double> {
                                  int64_t live = 0;
                                  absl::Status read = raw->store_->Read([&](domain::Transaction& txn) -> absl::Status {
                                    TRYGG_ASSIGN_OR_RETURN(live, raw->sessions_->CountLive(txn));
                                    return absl::OkStatus();
                                  });
                                  if (!read.ok()) return std::nullopt;
                                  return static_cast<double>(live);
                                });
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config.listen_address, credentials, &selected_port);
  // Without this, a second server could bind the same port and steal calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(config.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(config.max_send_message_bytes);
  // What all callers together may cost: gRPC's buffer memory and threads,
  // calls in progress per connection, and connections that went quiet.
  grpc::ResourceQuota quota("tryggd");
  quota.Resize(static_cast<size_t>(config.memory_quota_mib) * 1024 * 1024);
  quota.SetMaxThreads(config.max_threads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams_per_connection);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, config.keepalive_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, config.keepalive_timeout_seconds * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, config.idle_connection_seconds * 1000);
  // A client may ping a quiet connection every 10 s; one that pings more
  // often is ended by gRPC with "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  for (auto& service : d->services_) builder.RegisterService(service.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<CallObserverFactory>(d->metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  d->server_ = builder.BuildAndStart();
  if (d->server_ == nullptr || selected_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address));
  }
  d->server_->GetHealthCheckService()->SetServingStatus(true);
  NotifySystemdReady();  // listening and serving health: systemd's Type=notify start is done
  d->expiry_thread_ = std::thread([raw = d.get()] { raw->ExpiryLoop(); });

  const bool bracket = address.host.find(':') != std::string::npos;
  d->listening_address_ = bracket ? absl::StrCat("[", address.host, "]:", selected_port)
                                  : absl::StrCat(address.host, ":", selected_port);
  return d;
}

void Tryggd::ExpiryLoop() {
  constexpr auto kInterval = std::chrono::seconds(1);
  constexpr int kBatch = 500;
  std::unique_lock<std::mutex> lock(expiry_mu_);
  while (!expiry_cv_.wait_for(lock, kInterval, [this] { return stopping_; })) {
    lock.unlock();
    std::vector<domain::ReferralRow> expired;
    absl::Status status = store_->WriteAndWait([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(expired, referrals_->ExpireDue(txn, kBatch));
      return absl::OkStatus();
    });
    if (!status.ok()) {
      spdlog::error("expiring overdue referrals failed: {}", std::string(status.message()));
    } else if (!expired.empty()) {
      spdlog::info("expired {} referrals past their answer-by time", expired.size());
      // The senders (and receivers) are told through their watch streams.
      for (const domain::ReferralRow& row : expired) api::PublishReferral(watch_, row);
    }
    DeleteExpiredRows(kBatch);
    lock.lock();
  }
}

void Tryggd::DeleteExpiredRows(int batch) {
  // One write per round, each rule deleting at most `batch` rows, so other
  // writes interleave with a large clean-up (an orphaned 1 GiB upload has
  // some 16,000 parts); a rule that came back full may have more waiting.
  // Counts only in the log: whose rows they were is not said.
  int enrolments = 0;
  int upload_rows = 0;
  for (bool more = true; more;) {
    int round_enrolments = 0;
    int round_upload_rows = 0;
    absl::Status status = store_->WriteAndWait([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(round_enrolments, trust_->DeleteExpiredEnrolments(txn, batch));
      TRYGG_ASSIGN_OR_RETURN(round_upload_rows, cases_->DeleteOrphanedUploads(txn, batch));
      // Bounded by SessionPolicy::max_live_challenges and the sessions' TTL.
      return sessions_->DeleteExpired(txn);
    });
    if (!status.ok()) {
      spdlog::error("deleting expired enrolment requests, orphaned uploads and challenges failed: {}",
                    std::string(status.message()));
      return;
    }
    enrolments += round_enrolments;
    upload_rows += round_upload_rows;
    more = round_enrolments >= batch || round_upload_rows >= batch;
  }
  if (enrolments > 0) spdlog::info("deleted {} expired enrolment requests", enrolments);
  if (upload_rows > 0) spdlog::info("deleted {} rows of orphaned uploads", upload_rows);
}

void Tryggd::Shutdown(std::chrono::milliseconds drain) {
  if (expiry_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(expiry_mu_);
      stopping_ = true;
    }
    expiry_cv_.notify_all();
    expiry_thread_.join();
  }
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    // Watch streams never end by themselves; end them so the drain is quick.
    watch_.CloseAll();
    server_->Shutdown(std::chrono::system_clock::now() + drain);
    server_->Wait();
    server_.reset();
  }
  // Its checks read the store: stop them before the store closes.
  if (authenticator_ != nullptr) authenticator_->streams().Stop();
  // So do the scrape-time gauges.
  if (metrics_ != nullptr) metrics_->StopServing();
  store_.reset();
}

Tryggd::~Tryggd() {
  Shutdown(std::chrono::milliseconds(0));
  if (lock_fd_ >= 0) close(lock_fd_);
}

}  // namespace trygg::server
