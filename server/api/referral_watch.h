// SPDX-License-Identifier: Apache-2.0

// ReferralWatch: the live WatchReferrals streams. Each stream belongs to one
// organisation; after a referral write commits, the handler publishes a
// notice (ids and state only, no personal data) to the streams of the sending
// and receiving organisations.
//
// Each stream ends with UNAUTHENTICATED once the session that opened it
// ends, expires or its device is revoked (StreamAuthority).
//
// Thread-safety: Publish and the streams' callbacks may run on any thread.
// Ownership: streams are owned by gRPC; they unregister themselves when done.
// Failure modes: a stream that falls more than kMaxQueued notices behind is
// finished with RESOURCE_EXHAUSTED (the client reconnects and re-lists).
#ifndef TRYGG_SERVER_API_REFERRAL_WATCH_H_
#define TRYGG_SERVER_API_REFERRAL_WATCH_H_

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include <grpcpp/support/server_callback.h>

#include "server/api/authenticator.h"
#include "trygg/bytes.h"
#include "trygg/v1/referral.pb.h"

namespace trygg::api {

class ReferralWatch {
 public:
  class Stream;

  ReferralWatch() = default;
  ReferralWatch(const ReferralWatch&) = delete;
  ReferralWatch& operator=(const ReferralWatch&) = delete;
  // Finishes every open stream (at shutdown).
  ~ReferralWatch();

  // A new stream for `org_id`, registered until it is done, holding `slot`
  // (its device's stream count) until then, and ended with UNAUTHENTICATED
  // when the session of `context` stops authenticating.
  grpc::ServerWriteReactor<trygg::v1::WatchReferralsResponse>* Open(const Id128& org_id, StreamSlot slot,
                                                                    const Authenticator& auth,
                                                                    const grpc::CallbackServerContext& context);

  // Sends `notice` to every stream of `org_id`.
  void Publish(const Id128& org_id, const trygg::v1::WatchReferralsResponse& notice);

  // Ends every stream with OK (the server is stopping).
  void CloseAll();

  static constexpr size_t kMaxQueued = 1000;

 private:
  friend class Stream;
  // Called from a stream's OnDone, which gRPC may run inside another call on
  // this object: it only queues the stream for deletion by the next Sweep.
  void Retire(Stream* stream);
  // Deletes retired streams; mu_ is held.
  void SweepLocked();

  std::mutex mu_;
  std::multimap<Id128, Stream*> streams_;
  std::mutex retired_mu_;
  std::vector<Stream*> retired_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_REFERRAL_WATCH_H_
