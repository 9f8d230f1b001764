// SPDX-License-Identifier: Apache-2.0

// What one caller may cost the server, enforced in the handlers before any
// write is queued (issue 12; docs/operator-guide.md, "Limits"):
//
// - PeerRateLimiter: a token bucket per network address for the calls anyone
//   may make before signing in (GetServerInfo, GetChallenge, CreateSession,
//   SubmitEnrolmentRequest, UploadCertificate, GetKeyEnvelopes without a
//   session, and any call whose token does not authenticate). A scanner, a flood or a misbehaving laptop gets at most
//   `per_second` of them per address, with bursts up to `burst`; past that
//   the call is RESOURCE_EXHAUSTED and costs neither a write nor a read.
// - StreamSlots: at most `max_per_device` open streams (WatchReferrals,
//   UploadAttachment, DownloadAttachment) per device, so one device cannot
//   hold hundreds of idle streams and the memory behind them.
//
// Addresses: IPv4 by address (also when it arrives IPv4-mapped on a
// dual-stack listener); IPv6 by its /64, since one host usually owns a whole
// /64 and rotating through it must gain nothing; anything else (a Unix
// socket) as one key.
// Memory: at most `max_peers` buckets. A bucket that has refilled completely
// carries no information, so such buckets are dropped when the table is full;
// if every bucket is still in use, new addresses share one overflow bucket
// instead of growing the table. The server stays bounded, and a flood from
// very many addresses at once shares one budget instead of evicting the
// buckets of the addresses already limited.
// Thread-safety: every method may be called from any gRPC thread.
#ifndef TRYGG_SERVER_API_LIMITS_H_
#define TRYGG_SERVER_API_LIMITS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/random.h"

namespace trygg::api {

struct RateLimit {
  double per_second = 20;  // refill rate; 0 turns the limiter off
  double burst = 60;       // bucket size: calls allowed at once after a quiet spell
  size_t max_peers = 65536;
};

// The key of the address in a gRPC peer string ("ipv4:192.0.2.1:5000",
// "ipv6:[2001:db8::1]:5000", "unix:/path").
std::string PeerKey(std::string_view grpc_peer);

class PeerRateLimiter {
 public:
  // `clock` must outlive the limiter.
  PeerRateLimiter(const RateLimit& limit, Clock& clock) : limit_(limit), clock_(clock) {}

  // Takes one token from the bucket of `grpc_peer` (context->peer()): OK, or
  // RESOURCE_EXHAUSTED when the bucket is empty and the call must be refused.
  absl::Status Admit(std::string_view grpc_peer);

  // Calls refused so far (for metrics).
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // Buckets held now (for tests of the memory bound).
  size_t peers() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  void Refill(Bucket& bucket, int64_t now_ms) const;
  void DropFullBuckets(int64_t now_ms);

  const RateLimit limit_;
  Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  int64_t last_sweep_ms_ = 0;
  std::atomic<uint64_t> refused_{0};
};

// The limits per caller, as configured (tryggd.toml [limits]).
struct CallerLimits {
  RateLimit unauthenticated;
  int max_streams_per_device = 16;  // 0: no cap
};

class StreamSlots;

// One open stream's place in its device's count; given back when destroyed.
// Move-only. A stream's reactor holds it for its whole life.
class StreamSlot {
 public:
  StreamSlot() = default;
  StreamSlot(StreamSlot&& other) noexcept;
  StreamSlot& operator=(StreamSlot&& other) noexcept;
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;
  ~StreamSlot();

 private:
  friend class StreamSlots;
  StreamSlot(StreamSlots* slots, const Id128& device_id) : slots_(slots), device_id_(device_id) {}
  StreamSlots* slots_ = nullptr;
  Id128 device_id_;
};

class StreamSlots {
 public:
  // 0 turns the cap off.
  explicit StreamSlots(int max_per_device) : max_per_device_(max_per_device) {}
  // Every slot must have been given back (every stream ended) by now.
  ~StreamSlots() = default;
  StreamSlots(const StreamSlots&) = delete;
  StreamSlots& operator=(const StreamSlots&) = delete;

  // A slot for one more stream of `device_id`, or RESOURCE_EXHAUSTED when
  // the device already holds max_per_device streams.
  absl::StatusOr<StreamSlot> Take(const Id128& device_id);

  // Streams refused so far (for metrics).
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // Open streams of `device_id` now (for tests).
  int open(const Id128& device_id) const;
  // Open streams of all devices now (for metrics).
  int64_t held() const;

 private:
  friend class StreamSlot;
  void Give(const Id128& device_id);

  const int max_per_device_;
  mutable std::mutex mu_;
  std::map<Id128, int> open_;  // devices with at least one open stream
  int64_t held_ = 0;           // the sum of open_
  std::atomic<uint64_t> refused_{0};
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_LIMITS_H_
