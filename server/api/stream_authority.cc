// SPDX-License-Identifier: Apache-2.0

#include "server/api/stream_authority.h"

#include <map>

#include <spdlog/spdlog.h>

namespace trygg::api {

bool StreamLease::lost() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return lost_;
}

void StreamLease::Release() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  on_lost_ = nullptr;
}

void StreamLease::MarkLost() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (lost_) return;
  lost_ = true;
  if (on_lost_) {
    std::function<void()> on_lost = std::move(on_lost_);
    on_lost_ = nullptr;
    on_lost();
  }
}

StreamAuthority::StreamAuthority(domain::Store& store, const domain::Sessions& sessions)
    : store_(store), sessions_(sessions), thread_([this] { Run(); }) {}

StreamAuthority::~StreamAuthority() { Stop(); }

void StreamAuthority::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<StreamLease> StreamAuthority::Hold(absl::string_view token, std::function<void()> on_lost) {
  absl::StatusOr<Hash256> hash = domain::Sessions::TokenHash(token);
  auto lease = std::make_shared<StreamLease>(hash.ok() ? *hash : Hash256(), std::move(on_lost));
  // A token that does not even parse cannot have authenticated the stream;
  // treat it as lost at once rather than trusting it.
  if (!hash.ok()) {
    lease->MarkLost();
    return lease;
  }
  std::lock_guard<std::mutex> lock(mu_);
  leases_.push_back(lease);
  return lease;
}

void StreamAuthority::CheckNow() {
  std::vector<std::shared_ptr<StreamLease>> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(leases_, [](const std::weak_ptr<StreamLease>& w) { return w.expired(); });
    for (const std::weak_ptr<StreamLease>& weak : leases_) {
      if (std::shared_ptr<StreamLease> lease = weak.lock()) held.push_back(std::move(lease));
    }
  }
  if (held.empty()) return;
  // One lookup per distinct session, all in one read snapshot.
  std::map<Hash256, bool> live;
  for (const auto& lease : held) live.emplace(lease->token_hash_, false);
  absl::Status status = store_.Read([&](domain::Transaction& txn) -> absl::Status {
    for (auto& [hash, ok] : live) {
      absl::StatusOr<domain::Caller> caller = sessions_.AuthenticateTokenHash(txn, hash);
      if (caller.ok()) {
        ok = true;
      } else if (caller.status().code() != absl::StatusCode::kUnauthenticated) {
        return caller.status();
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    spdlog::warn("checking the sessions of open streams failed: {}", std::string(status.message()));
    return;
  }
  for (const auto& lease : held) {
    if (!live[lease->token_hash_]) lease->MarkLost();
  }
}

void StreamAuthority::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kCheckInterval, [this] { return stopping_; })) {
    lock.unlock();
    CheckNow();
    lock.lock();
  }
}

}  // namespace trygg::api
