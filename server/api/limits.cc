// SPDX-License-Identifier: Apache-2.0

#include "server/api/limits.h"

#include <arpa/inet.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace trygg::api {
namespace {

// Where new addresses go once the table is full of buckets still in use.
constexpr std::string_view kOverflow = "overflow";
// A full table is swept for refilled buckets at most this often, so that a
// flood from new addresses costs one sweep per interval, not one per call.
constexpr int64_t kSweepIntervalMs = 1000;

}  // namespace

std::string PeerKey(std::string_view peer) {
  if (peer.rfind("ipv4:", 0) == 0) {
    std::string_view address = peer.substr(5);
    return std::string(address.substr(0, address.rfind(':')));
  }
  if (peer.rfind("ipv6:", 0) == 0) {
    // gRPC 1.51 writes "ipv6:%5B2001:db8::1%5D:5000" (brackets and a zone's
    // "%" percent-encoded); older versions wrote the brackets as they are.
    const std::string_view encoded = peer.substr(5);
    std::string address = absl::StrReplaceAll(absl::string_view(encoded.data(), encoded.size()),
                                              {{"%5B", "["}, {"%5D", "]"}, {"%25", "%"}});
    if (!address.empty() && address.front() == '[') address = address.substr(1, address.find(']') - 1);
    address = address.substr(0, address.find('%'));  // the zone does not matter here
    in6_addr parsed;
    // What does not parse shares one key: an attacker must not pick keys.
    if (inet_pton(AF_INET6, address.c_str(), &parsed) != 1) return "ipv6:unparsed";
    char text[INET6_ADDRSTRLEN];
    // On a dual-stack listener ([::]:port) IPv4 callers arrive as
    // ::ffff:a.b.c.d, whose first 64 bits are the same for every one of
    // them: they are keyed by their IPv4 address, as on an IPv4 listener.
    if (IN6_IS_ADDR_V4MAPPED(&parsed)) {
      inet_ntop(AF_INET, parsed.s6_addr + 12, text, sizeof(text));
      return std::string(text);
    }
    std::fill(parsed.s6_addr + 8, parsed.s6_addr + 16, 0);
    inet_ntop(AF_INET6, &parsed, text, sizeof(text));
    return absl::StrCat(text, "/64");
  }
  return std::string(peer.substr(0, peer.find(':')));
}

void PeerRateLimiter::Refill(Bucket& bucket, int64_t now_ms) const {
  // A clock that stepped back refills nothing rather than draining.
  const int64_t elapsed = std::max<int64_t>(0, now_ms - bucket.updated_ms);
  bucket.tokens = std::min(limit_.burst, bucket.tokens + limit_.per_second * static_cast<double>(elapsed) / 1000.0);
  bucket.updated_ms = now_ms;
}

void PeerRateLimiter::DropFullBuckets(int64_t now_ms) {
  last_sweep_ms_ = now_ms;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(it->second, now_ms);
    if (it->second.tokens >= limit_.burst && it->first != kOverflow) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::Status PeerRateLimiter::Admit(std::string_view grpc_peer) {
  if (limit_.per_second <= 0) return absl::OkStatus();
  std::string key = PeerKey(grpc_peer);
  const int64_t now_ms = clock_.NowUnixMillis();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_peers && now_ms - last_sweep_ms_ >= kSweepIntervalMs) {
      DropFullBuckets(now_ms);
    }
    if (buckets_.size() >= limit_.max_peers) key = std::string(kOverflow);
    it = buckets_.try_emplace(std::move(key), Bucket{limit_.burst, now_ms}).first;
  }
  Bucket& bucket = it->second;
  Refill(bucket, now_ms);
  if (bucket.tokens < 1) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError("too many calls before sign-in from this address; wait a few seconds");
  }
  bucket.tokens -= 1;
  return absl::OkStatus();
}

size_t PeerRateLimiter::peers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

StreamSlot::StreamSlot(StreamSlot&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)), device_id_(other.device_id_) {}

StreamSlot& StreamSlot::operator=(StreamSlot&& other) noexcept {
  if (this != &other) {
    if (slots_ != nullptr) slots_->Give(device_id_);
    slots_ = std::exchange(other.slots_, nullptr);
    device_id_ = other.device_id_;
  }
  return *this;
}

StreamSlot::~StreamSlot() {
  if (slots_ != nullptr) slots_->Give(device_id_);
}

absl::StatusOr<StreamSlot> StreamSlots::Take(const Id128& device_id) {
  std::lock_guard<std::mutex> lock(mu_);
  int& open = open_[device_id];
  if (max_per_device_ > 0 && open >= max_per_device_) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(absl::StrCat(
        "this device already has ", open, " open streams (watch, upload, download); end one before opening another"));
  }
  ++open;
  ++held_;
  return StreamSlot(this, device_id);
}

void StreamSlots::Give(const Id128& device_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(device_id);
  if (it == open_.end()) return;
  --held_;
  if (--it->second <= 0) open_.erase(it);
}

int64_t StreamSlots::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

int StreamSlots::open(const Id128& device_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(device_id);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace trygg::api
