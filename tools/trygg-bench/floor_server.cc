// SPDX-License-Identifier: Apache-2.0

// trygg-bench-floor: the reference server trygg-bench measures its floor
// against (DESIGN.md, "Performance reference"). It does exactly the minimal
// durable signed write and nothing else:
//
//   the client signs a message with Ed25519 and sends signature || message;
//   the server verifies the signature under the one key it was started with
//   (on the gRPC thread, before queueing);
//   one writer thread group-commits every queued write into SQLite in WAL
//   mode with synchronous=FULL (one INSERT per write, one COMMIT per batch);
//   the reply goes out after the commit.
//
// It serves one generic unary method, kFloorMethod, over plain gRPC on
// loopback, and prints "trygg-bench-floor listening on <address>;" once it
// accepts calls. It is a measuring instrument, not a server: no sessions, no
// authorisation, no audit log. A bad signature is refused with
// INVALID_ARGUMENT and stores nothing.
//
//   trygg-bench-floor --data-dir DIR --key HEX [--listen 127.0.0.1:0]
#include <sodium.h>
#include <sqlite3.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/synchronization/mutex.h"

namespace trygg::bench {
namespace {

constexpr char kFloorMethod[] = "/trygg.bench.Floor/Write";

// A write waiting for the writer: the verified message and the call to
// finish after its batch commits.
struct QueuedWrite {
  std::string message;
  std::function<void(bool committed)> done;
};

class Writer {
 public:
  ~Writer() { Stop(); }

  bool Open(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) return false;
    const char* setup =
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
        "CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, body BLOB NOT NULL);";
    if (sqlite3_exec(db_, setup, nullptr, nullptr, nullptr) != SQLITE_OK) return false;
    if (sqlite3_prepare_v2(db_, "INSERT INTO writes (body) VALUES (?1)", -1, &insert_, nullptr) != SQLITE_OK) {
      return false;
    }
    thread_ = std::thread([this] { Loop(); });
    return true;
  }

  void Enqueue(QueuedWrite write) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(write));
    }
    cv_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (insert_ != nullptr) sqlite3_finalize(insert_);
    insert_ = nullptr;
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  void Loop() {
    std::vector<QueuedWrite> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        while (!queue_.empty() && batch.size() < 256) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      bool ok = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
      for (QueuedWrite& w : batch) {
        if (!ok) break;
        sqlite3_bind_blob(insert_, 1, w.message.data(), static_cast<int>(w.message.size()), SQLITE_STATIC);
        ok = sqlite3_step(insert_) == SQLITE_DONE;
        sqlite3_reset(insert_);
      }
      ok = ok && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
      if (!ok) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      for (QueuedWrite& w : batch) w.done(ok);
      batch.clear();
    }
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<QueuedWrite> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// One call: read the request, verify it, queue it, finish after the commit.
class WriteReactor final : public grpc::ServerGenericBidiReactor {
 public:
  WriteReactor(Writer& writer, const unsigned char* key) : writer_(writer), key_(key) {
    grpc::Slice empty;  // the reply is an empty message
    response_ = grpc::ByteBuffer(&empty, 1);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
      return;
    }
    grpc::Slice slice;
    std::string bytes;
    if (request_.TrySingleSlice(&slice).ok()) {
      bytes.assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
    } else {
      std::vector<grpc::Slice> slices;
      request_.Dump(&slices).IgnoreError();
      for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    if (bytes.size() < crypto_sign_BYTES ||
        crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(bytes.data()),
                                    reinterpret_cast<const unsigned char*>(bytes.data()) + crypto_sign_BYTES,
                                    bytes.size() - crypto_sign_BYTES, key_) != 0) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the signature does not verify"));
      return;
    }
    writer_.Enqueue({bytes.substr(crypto_sign_BYTES), [this](bool committed) {
                       if (committed) {
                         StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
                       } else {
                         Finish(grpc::Status(grpc::StatusCode::INTERNAL, "commit failed"));
                       }
                     }});
  }
  void OnWriteDone(bool) override {}
  void OnDone() override { delete this; }

 private:
  Writer& writer_;
  const unsigned char* key_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class FloorService final : public grpc::CallbackGenericService {
 public:
  FloorService(Writer& writer, const unsigned char* key) : writer_(writer), key_(key) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override {
    if (context->method() != kFloorMethod) {
      class Unknown final : public grpc::ServerGenericBidiReactor {
       public:
        Unknown() { Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method")); }
        void OnDone() override { delete this; }
      };
      return new Unknown();
    }
    return new WriteReactor(writer_, key_);
  }

 private:
  Writer& writer_;
  const unsigned char* key_;
};

volatile std::sig_atomic_t g_stop = 0;

}  // namespace
}  // namespace trygg::bench

int main(int argc, char** argv) {
  // As tryggd does (server/daemon/main.cc), so that the floor pays no more
  // for its gRPC mutexes than the server it is the floor of.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string listen = "127.0.0.1:0";
  std::string data_dir;
  std::string key_hex;
  CLI::App app{
      "trygg-bench-floor: the reference server of trygg-bench. Verifies an Ed25519 signature, group-commits the "
      "message into SQLite (WAL, synchronous=FULL) on one writer thread and replies after the commit; nothing "
      "else. Started by trygg-bench; not a Trygg server."};
  app.add_option("--listen", listen, "Address to listen on (default 127.0.0.1:0: a free loopback port)");
  app.add_option("--data-dir", data_dir, "Directory for its database file floor.db")->required();
  app.add_option("--key", key_hex, "The Ed25519 public key writes must be signed with, as 64 hex digits")->required();
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  unsigned char key[crypto_sign_PUBLICKEYBYTES];
  size_t key_len = 0;
  if (key_hex.size() != 2 * sizeof key ||
      sodium_hex2bin(key, sizeof key, key_hex.data(), key_hex.size(), nullptr, &key_len, nullptr) != 0 ||
      key_len != sizeof key) {
    std::fprintf(stderr, "trygg-bench-floor: --key must be 64 hex digits\n");
    return 2;
  }
  trygg::bench::Writer writer;
  if (!writer.Open(data_dir + "/floor.db")) {
    std::fprintf(stderr, "trygg-bench-floor: cannot open %s/floor.db\n", data_dir.c_str());
    return 1;
  }
  trygg::bench::FloorService service(writer, key);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "trygg-bench-floor: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("trygg-bench-floor listening on %s:%d;\n", host.c_str(), port);
  std::fflush(stdout);
  std::signal(SIGTERM, [](int) { trygg::bench::g_stop = 1; });
  std::signal(SIGINT, [](int) { trygg::bench::g_stop = 1; });
  while (trygg::bench::g_stop == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server->Shutdown();
  writer.Stop();
  return 0;
}
