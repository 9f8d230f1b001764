// SPDX-License-Identifier: Apache-2.0

// StreamAuthority: an open stream (WatchReferrals, UploadAttachment,
// DownloadAttachment) keeps the authority it was opened with only while the
// session that opened it is live. A stream checks its session once, when it
// opens; without this, a revoked device, or one whose session ended or
// expired, would keep receiving notices and attachment bytes for as long as
// it held the connection open.
//
// Each stream holds a StreamLease for its session's token hash. A monitor
// thread re-authenticates every held session in one read transaction each
// kCheckInterval and, for a session that no longer authenticates, marks the
// lease lost and runs the stream's `on_lost` once, which ends the stream
// with UNAUTHENTICATED. A revocation or an ended session is therefore felt
// by every open stream within kCheckInterval plus one read, well inside one
// second.
//
// Ownership: the stream owns its lease and must Release() it before it is
// deleted; the authority keeps only weak references. Release waits for an
// `on_lost` that is running, so the callback never outlives its stream.
// Thread-safety: all methods may be called from any thread. `on_lost` runs
// on the monitor thread with the lease's (recursive) lock held.
// Failure modes: a store error during a check is logged and the check is
// retried at the next interval; it never ends a stream by itself.
#ifndef TRYGG_SERVER_API_STREAM_AUTHORITY_H_
#define TRYGG_SERVER_API_STREAM_AUTHORITY_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/domain/sessions.h"
#include "server/domain/store.h"
#include "trygg/bytes.h"

namespace trygg::api {

class StreamLease {
 public:
  explicit StreamLease(const Hash256& token_hash, std::function<void()> on_lost)
      : token_hash_(token_hash), on_lost_(std::move(on_lost)) {}

  // True once the session was found ended, expired or revoked.
  bool lost() const;
  // Forgets the callback; waits for a running one to return.
  void Release();

 private:
  friend class StreamAuthority;
  void MarkLost();

  const Hash256 token_hash_;
  mutable std::recursive_mutex mu_;
  std::function<void()> on_lost_;
  bool lost_ = false;
};

class StreamAuthority {
 public:
  static constexpr std::chrono::milliseconds kCheckInterval{250};

  // Both must outlive the StreamAuthority. Starts the monitor thread.
  StreamAuthority(domain::Store& store, const domain::Sessions& sessions);
  // Stops the monitor thread.
  ~StreamAuthority();
  // Stops the monitor thread now (idempotent): the server calls it before it
  // closes the store the checks read.
  void Stop();
  StreamAuthority(const StreamAuthority&) = delete;
  StreamAuthority& operator=(const StreamAuthority&) = delete;

  // A lease on the session behind `token` (already authenticated by the
  // caller) that runs `on_lost` once when the session stops authenticating.
  std::shared_ptr<StreamLease> Hold(absl::string_view token, std::function<void()> on_lost);

  // Runs one check now (the monitor's work; tests call it directly).
  void CheckNow();

 private:
  void Run();

  domain::Store& store_;
  const domain::Sessions& sessions_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::weak_ptr<StreamLease>> leases_;
  std::thread thread_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_STREAM_AUTHORITY_H_
