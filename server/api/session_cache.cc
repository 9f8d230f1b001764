// SPDX-License-Identifier: Apache-2.0

#include "server/api/session_cache.h"

#include <cstring>

namespace trygg::api {

size_t SessionCache::HashOfHash::operator()(const Hash256& hash) const {
  // The key is already a BLAKE2b digest, uniform in every byte; only tokens
  // that authenticated are ever inserted, so no caller chooses the keys.
  size_t out;
  std::memcpy(&out, hash.data(), sizeof(out));
  return out;
}

std::optional<domain::Caller> SessionCache::Find(const Hash256& token_hash, uint64_t trust_version,
                                                 int64_t now_ms) {
  // Odd: a change to sessions or devices is committing right now.
  if (trust_version % 2 != 0) return std::nullopt;
  absl::MutexLock lock(&mu_);
  // Key comparison is not constant-time; it compares hashes of tokens, as
  // the database's own index lookup does, and says nothing of a token.
  auto it = entries_.find(token_hash);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.trust_version != trust_version || it->second.caller.session_expires_at_ms <= now_ms) {
    // A caller that read an older version than the entry's must not throw
    // away what a newer lookup found.
    if (it->second.trust_version <= trust_version) entries_.erase(it);
    return std::nullopt;
  }
  return it->second.caller;
}

void SessionCache::Insert(const Hash256& token_hash, uint64_t trust_version, const domain::Caller& caller) {
  // A Read during a commit that changes sessions or devices may have seen
  // either side of it.
  if (trust_version % 2 != 0) return;
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= kMaxEntries && !entries_.contains(token_hash)) entries_.clear();
  auto [it, inserted] = entries_.try_emplace(token_hash);
  // What a lookup at a newer version found is kept.
  if (!inserted && it->second.trust_version > trust_version) return;
  it->second.trust_version = trust_version;
  it->second.caller = caller;
  it->second.caller.prechecked = nullptr;
}

size_t SessionCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace trygg::api
