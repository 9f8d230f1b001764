// SPDX-License-Identifier: Apache-2.0

// SessionCache: the callers that bearer tokens authenticated as, so that a
// call whose session was looked up a moment ago skips the read transaction
// (docs/benchmarks.md: 16 µs of a referral accept's 301).
//
// An entry is the Caller a Read found for a token hash, stamped with the
// store's TrustVersion taken *before* that Read began. It is used only while
// the version still stands and the session's expiry is still ahead; any
// write that touches a session or a device (sign-in, sign-out, revocation,
// role change, the expiry round's deletions) makes the version odd before
// its change can be read and moves it on again before its reply is sent, so
// it retires every entry at once, and while the version is odd nothing is
// served or stored. A call that arrives once a revocation can be read
// anywhere therefore reads the database again and is refused, exactly as
// without the cache (threat-model.md, "sessions kept at hand").
//
// Keyed by the token's BLAKE2b hash, the same value the database holds; the
// bearer token itself is never kept. At most kMaxEntries entries; when full it
// starts over empty.
// Thread-safety: all methods may be called from any thread.
#ifndef TRYGG_SERVER_API_SESSION_CACHE_H_
#define TRYGG_SERVER_API_SESSION_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/domain/caller.h"
#include "trygg/bytes.h"

namespace trygg::api {

class SessionCache {
 public:
  static constexpr size_t kMaxEntries = 10'000;

  // The caller cached for `token_hash`, if it was found at `trust_version`
  // (the store's version now, even) and its session has not expired by
  // `now_ms`.
  std::optional<domain::Caller> Find(const Hash256& token_hash, uint64_t trust_version, int64_t now_ms);

  // Remembers what a Read found for `token_hash`; `trust_version` is the
  // store's version read before that Read began. An odd version stores
  // nothing.
  void Insert(const Hash256& token_hash, uint64_t trust_version, const domain::Caller& caller);

  // Entries held now, stale ones included until a Find meets them.
  size_t size() const;

 private:
  struct Entry {
    uint64_t trust_version;
    domain::Caller caller;
  };
  struct HashOfHash {
    size_t operator()(const Hash256& hash) const;
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<Hash256, Entry, HashOfHash> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_SESSION_CACHE_H_
