// SPDX-License-Identifier: Apache-2.0

#include "server/api/referral_watch.h"

#include <vector>

#include "absl/status/status.h"
#include "server/api/status.h"

namespace trygg::api {

class ReferralWatch::Stream final : public grpc::ServerWriteReactor<trygg::v1::WatchReferralsResponse> {
 public:
  Stream(ReferralWatch* watch, const Id128& org_id) : watch_(watch), org_id_(org_id) {}

  const Id128& org_id() const { return org_id_; }

  void Enqueue(const trygg::v1::WatchReferralsResponse& notice) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (finished_) return;
    if (queue_.size() >= kMaxQueued) {
      FinishLocked(absl::ResourceExhaustedError("too many unread notices; list and re-watch"));
      return;
    }
    queue_.push_back(notice);
    if (!writing_) WriteNextLocked();
  }

  void End() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    FinishLocked(absl::OkStatus());
  }

  // The session that opened the stream ended, expired, or its device was
  // revoked (StreamAuthority): nothing more is delivered.
  void LoseAuthority() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    FinishLocked(absl::UnauthenticatedError("the session has ended or the device was revoked; sign in again"));
  }

  void SetLease(std::shared_ptr<StreamLease> lease) { lease_ = std::move(lease); }
  void SetSlot(StreamSlot slot) { slot_ = std::move(slot); }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    writing_ = false;
    queue_.pop_front();
    if (!ok) {
      FinishLocked(absl::CancelledError());
      return;
    }
    if (!queue_.empty() && !finished_) WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    FinishLocked(absl::CancelledError());
  }

  void OnDone() override {
    if (lease_ != nullptr) lease_->Release();
    // Given back now, not when the next Sweep deletes the stream: the device
    // may open its next stream at once.
    slot_ = StreamSlot();
    watch_->Retire(this);
  }

 private:
  void WriteNextLocked() {
    writing_ = true;
    StartWrite(&queue_.front());
  }
  void FinishLocked(const absl::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(ToGrpcStatus(status));
  }

  ReferralWatch* watch_;
  Id128 org_id_;
  std::shared_ptr<StreamLease> lease_;  // set once, before gRPC sees the stream
  StreamSlot slot_;                     // likewise
  // Recursive: gRPC may run OnWriteDone or OnCancel inside Finish or StartWrite.
  std::recursive_mutex mu_;
  std::deque<trygg::v1::WatchReferralsResponse> queue_;  // front is being written
  bool writing_ = false;
  bool finished_ = false;
};

ReferralWatch::~ReferralWatch() {
  // gRPC has finished every stream by now (the server is shut down first).
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked();
  for (auto& [org, stream] : streams_) delete stream;
}

grpc::ServerWriteReactor<trygg::v1::WatchReferralsResponse>* ReferralWatch::Open(
    const Id128& org_id, StreamSlot slot, const Authenticator& auth, const grpc::CallbackServerContext& context) {
  auto* stream = new Stream(this, org_id);
  stream->SetSlot(std::move(slot));
  stream->SetLease(auth.HoldForStream(context, [stream] { stream->LoseAuthority(); }));
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked();
  streams_.emplace(org_id, stream);
  // Tells the client the stream is registered: notices from now on reach it.
  // Sent under mu_, after the registration, so no notice is lost in between
  // and none is written before the metadata (Publish takes mu_ too). Stream
  // does not override OnSendInitialMetadataDone, so nothing here re-enters.
  stream->StartSendInitialMetadata();
  return stream;
}

void ReferralWatch::Publish(const Id128& org_id, const trygg::v1::WatchReferralsResponse& notice) {
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked();
  auto [begin, end] = streams_.equal_range(org_id);
  for (auto it = begin; it != end; ++it) it->second->Enqueue(notice);
}

void ReferralWatch::CloseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [org, stream] : streams_) stream->End();
}

void ReferralWatch::Retire(Stream* stream) {
  std::lock_guard<std::mutex> lock(retired_mu_);
  retired_.push_back(stream);
}

void ReferralWatch::SweepLocked() {
  std::vector<Stream*> retired;
  {
    std::lock_guard<std::mutex> lock(retired_mu_);
    retired.swap(retired_);
  }
  for (Stream* stream : retired) {
    for (auto it = streams_.begin(); it != streams_.end(); ++it) {
      if (it->second == stream) {
        streams_.erase(it);
        break;
      }
    }
    delete stream;
  }
}

}  // namespace trygg::api
