// SPDX-License-Identifier: Apache-2.0

#include "server/api/attachment_streams.h"

#include <memory>
#include <mutex>
#include <vector>

#include "server/api/convert.h"
#include "server/api/request_id.h"
#include "server/api/status.h"
#include "trygg/stream_hash.h"

namespace trygg::api {
namespace {

// Parts are written in batches of about this much, one store write each.
constexpr size_t kFlushBytes = 1 << 20;
// Parts read per store read while downloading.
constexpr int kReadBatch = 16;

const absl::Status& AuthorityLost() {
  static const absl::Status* lost = new absl::Status(
      absl::UnauthenticatedError("the session has ended or the device was revoked; sign in again"));
  return *lost;
}

// Reactor state is guarded by mu_ (recursive: a store callback may run
// inside Write, and gRPC reactions may run on any thread), because the
// StreamAuthority may end the stream from its own thread at any moment.
class UploadReactor final : public grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest> {
 public:
  UploadReactor(grpc::CallbackServerContext* context, domain::Store& store, const domain::Cases& cases,
                domain::Caller caller, StreamSlot slot, const Authenticator& auth,
                trygg::v1::UploadAttachmentResponse* response)
      : context_(context),
        store_(store),
        cases_(cases),
        caller_(std::move(caller)),
        slot_(std::move(slot)),
        response_(response) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    lease_ = auth.HoldForStream(*context, [this] { LoseAuthority(); });
    Read();
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    reading_ = false;
    if (ending_) return;
    if (!ok) {
      // The client finished sending, or went away part way: a cut-off
      // upload is deleted, never completed with the hash of a torn stream.
      if (context_->IsCancelled()) return Fail(absl::CancelledError("the client ended the upload"));
      if (!begun_) return Fail(absl::InvalidArgumentError("the upload carried no metadata"));
      Flush([this] { Complete(); });
      return;
    }
    if (!begun_) return Begin();
    if (request_.part_case() != trygg::v1::UploadAttachmentRequest::kChunk) {
      return Fail(absl::InvalidArgumentError("metadata may only come first; later messages carry chunks"));
    }
    const std::string& chunk = request_.chunk();
    if (chunk.empty() || chunk.size() > domain::kMaxAttachmentPartBytes) {
      return Fail(absl::InvalidArgumentError("chunk: between 1 byte and one secretstream chunk plus the preamble"));
    }
    hash_.Update(AsSpan(chunk));
    pending_bytes_ += chunk.size();
    pending_.emplace_back(chunk.begin(), chunk.end());
    if (pending_bytes_ >= kFlushBytes) {
      Flush([this] { Read(); });
    } else {
      Read();
    }
  }

  void OnDone() override {
    lease_->Release();
    delete this;
  }

 private:
  void Read() {
    reading_ = true;
    StartRead(&request_);
  }

  // Waiting on the client, the upload ends now; with a store write in
  // flight, it ends when that write returns (Resume).
  void LoseAuthority() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (ending_) return;
    lost_ = true;
    if (reading_) Fail(AuthorityLost());
  }

  // After a store write: false (and the upload failing) if authority was lost meanwhile.
  bool Resume() {
    if (ending_) return false;
    if (!lost_) return true;
    Fail(AuthorityLost());
    return false;
  }

  void Begin() {
    if (request_.part_case() != trygg::v1::UploadAttachmentRequest::kMetadata) {
      return Fail(absl::InvalidArgumentError("the first message must carry the metadata"));
    }
    const auto& metadata = request_.metadata();
    if (absl::Status id = AcceptRequestId(*context_, metadata.request_id()); !id.ok()) return Fail(id);
    absl::StatusOr<Id128> case_id = IdFromProto(metadata.case_id(), "metadata.case_id");
    if (!case_id.ok()) return Fail(case_id.status());
    absl::StatusOr<Id128> attachment_id = IdFromProto(metadata.attachment_id(), "metadata.attachment_id");
    if (!attachment_id.ok()) return Fail(attachment_id.status());
    case_id_ = *case_id;
    attachment_id_ = *attachment_id;
    const uint64_t max_size = metadata.total_size();
    store_.Write(
        [this, max_size](domain::Transaction& txn) {
          return cases_.BeginAttachment(txn, caller_, case_id_, attachment_id_, max_size);
        },
        [this](absl::Status status) {
          std::lock_guard<std::recursive_mutex> lock(mu_);
          if (!status.ok()) return FinishWith(status);  // nothing was stored
          begun_ = true;
          if (Resume()) Read();
        });
  }

  // Stores the parts read so far, then runs `next`; a refused part ends the upload.
  void Flush(std::function<void()> next) {
    if (pending_.empty()) return next();
    auto parts = std::make_shared<std::vector<std::vector<uint8_t>>>(std::move(pending_));
    pending_.clear();
    pending_bytes_ = 0;
    store_.Write(
        [this, parts](domain::Transaction& txn) {
          return cases_.AppendAttachmentParts(txn, caller_, case_id_, attachment_id_, *parts);
        },
        [this, next = std::move(next)](absl::Status status) {
          std::lock_guard<std::recursive_mutex> lock(mu_);
          if (!status.ok()) return Fail(status);
          if (Resume()) next();
        });
  }

  void Complete() {
    auto hash = std::make_shared<Hash256>(hash_.Finish());
    store_.Write(
        [this, hash](domain::Transaction& txn) {
          return cases_.CompleteAttachment(txn, caller_, case_id_, attachment_id_, *hash);
        },
        [this, hash](absl::Status status) {
          std::lock_guard<std::recursive_mutex> lock(mu_);
          if (!status.ok()) return Fail(status);
          // Completed while the session was live: the upload stands.
          response_->set_ciphertext_hash(BytesToProto(hash->span()));
          FinishWith(absl::OkStatus());
        });
  }

  // Ends the call with `status`, first deleting what this upload stored.
  void Fail(const absl::Status& status) {
    if (ending_) return;
    ending_ = true;
    if (!begun_) return FinishNow(status);
    store_.Write(
        [this](domain::Transaction& txn) {
          return cases_.AbandonAttachment(txn, caller_, case_id_, attachment_id_);
        },
        [this, status](absl::Status) {
          std::lock_guard<std::recursive_mutex> lock(mu_);
          FinishNow(status);
        });
  }

  void FinishWith(const absl::Status& status) {
    if (ending_) return;
    ending_ = true;
    FinishNow(status);
  }
  void FinishNow(const absl::Status& status) { Finish(ToGrpcStatus(status)); }

  grpc::CallbackServerContext* context_;
  domain::Store& store_;
  const domain::Cases& cases_;
  const domain::Caller caller_;
  const StreamSlot slot_;  // given back when OnDone deletes the reactor
  trygg::v1::UploadAttachmentResponse* response_;
  std::recursive_mutex mu_;
  std::shared_ptr<StreamLease> lease_;
  trygg::v1::UploadAttachmentRequest request_;
  StreamHasher hash_;  // of every chunk received, in order
  bool begun_ = false;
  bool reading_ = false;  // a read is outstanding: the upload waits on the client
  bool lost_ = false;     // the session stopped authenticating
  bool ending_ = false;   // Fail or Finish has begun; nothing else may start
  Id128 case_id_;
  Id128 attachment_id_;
  std::vector<std::vector<uint8_t>> pending_;
  size_t pending_bytes_ = 0;
};

class DownloadReactor final : public grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse> {
 public:
  DownloadReactor(domain::Store& store, const domain::Cases& cases, domain::AttachmentRow row, StreamSlot slot,
                  const Authenticator& auth, const grpc::CallbackServerContext& context)
      : store_(store), cases_(cases), row_(std::move(row)), slot_(std::move(slot)) {
    response_.set_total_size(row_.stored_size);
    std::lock_guard<std::recursive_mutex> lock(mu_);
    lease_ = auth.HoldForStream(context, [this] { LoseAuthority(); });
    Next();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (finished_) return;
    if (!ok) return FinishOnce(absl::CancelledError("the client went away"));
    response_.Clear();
    Next();
  }

  void OnDone() override {
    lease_->Release();
    delete this;
  }

 private:
  void LoseAuthority() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    FinishOnce(AuthorityLost());
  }

  void Next() {
    if (batch_index_ == batch_.size()) {
      batch_.clear();
      batch_index_ = 0;
      absl::Status status = store_.Read([this](domain::Transaction& txn) -> absl::Status {
        absl::StatusOr<std::vector<std::vector<uint8_t>>> parts =
            cases_.AttachmentParts(txn, row_, next_seq_, kReadBatch);
        if (!parts.ok()) return parts.status();
        batch_ = *std::move(parts);
        return absl::OkStatus();
      });
      if (!status.ok()) return FinishOnce(status);
      // The end (or an erasure meanwhile: the reader then finds the stream short).
      if (batch_.empty()) return FinishOnce(absl::OkStatus());
      next_seq_ += static_cast<int64_t>(batch_.size());
    }
    response_.set_chunk(BytesToProto(batch_[batch_index_++]));
    StartWrite(&response_);
  }

  void FinishOnce(const absl::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(ToGrpcStatus(status));
  }

  domain::Store& store_;
  const domain::Cases& cases_;
  const domain::AttachmentRow row_;
  const StreamSlot slot_;  // given back when OnDone deletes the reactor
  std::recursive_mutex mu_;
  std::shared_ptr<StreamLease> lease_;
  bool finished_ = false;
  trygg::v1::DownloadAttachmentResponse response_;
  std::vector<std::vector<uint8_t>> batch_;
  size_t batch_index_ = 0;
  int64_t next_seq_ = 0;
};

template <typename Base>
class Refused final : public Base {
 public:
  explicit Refused(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest>* StartUpload(grpc::CallbackServerContext* context,
                                                                         domain::Store& store,
                                                                         const domain::Cases& cases,
                                                                         const Authenticator& auth,
                                                                         trygg::v1::UploadAttachmentResponse* response) {
  absl::StatusOr<domain::Caller> caller = auth.Authenticate(*context);
  absl::StatusOr<StreamSlot> slot = caller.ok() ? auth.TakeStreamSlot(*caller) : caller.status();
  if (!slot.ok()) {
    return new Refused<grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest>>(slot.status());
  }
  return new UploadReactor(context, store, cases, *std::move(caller), *std::move(slot), auth, response);
}

grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse>* StartDownload(
    grpc::CallbackServerContext* context, domain::Store& store, const domain::Cases& cases,
    const Authenticator& auth, const trygg::v1::DownloadAttachmentRequest& request) {
  StreamSlot slot;
  absl::StatusOr<domain::AttachmentRow> row = [&]() -> absl::StatusOr<domain::AttachmentRow> {
    absl::StatusOr<domain::Caller> caller = auth.Authenticate(*context);
    if (!caller.ok()) return caller.status();
    absl::StatusOr<StreamSlot> taken = auth.TakeStreamSlot(*caller);
    if (!taken.ok()) return taken.status();
    slot = *std::move(taken);
    absl::StatusOr<Id128> case_id = IdFromProto(request.case_id(), "case_id");
    if (!case_id.ok()) return case_id.status();
    absl::StatusOr<Hash256> hash = Hash256::FromSpan(AsSpan(request.ciphertext_hash()));
    if (!hash.ok()) return absl::InvalidArgumentError("ciphertext_hash must be 32 bytes");
    domain::AttachmentRow found;
    absl::Status status = store.Read([&](domain::Transaction& txn) -> absl::Status {
      absl::StatusOr<domain::AttachmentRow> r = cases.FindAttachment(txn, *caller, *case_id, *hash);
      if (!r.ok()) return r.status();
      found = *std::move(r);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return found;
  }();
  if (!row.ok()) return new Refused<grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse>>(row.status());
  return new DownloadReactor(store, cases, *std::move(row), std::move(slot), auth, *context);
}

}  // namespace trygg::api
