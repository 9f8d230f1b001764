#include "server/api/attachment_streams.h"

#include <sodium.h>

#include <memory>
#include <vector>

#include "server/api/convert.h"
#include "server/api/status.h"

namespace trygg::api {
namespace {

// Parts are written in batches of about this much, one store write each.
constexpr size_t kFlushBytes = 1 << 20;
// Parts read per store read while downloading.
constexpr int kReadBatch = 16;

class UploadReactor final : public grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest> {
 public:
  UploadReactor(grpc::CallbackServerContext* context, domain::Store& store, const domain::Cases& cases,
                domain::Caller caller, trygg::v1::UploadAttachmentResponse* response)
      : context_(context), store_(store), cases_(cases), caller_(std::move(caller)), response_(response) {
    crypto_generichash_init(&hash_, nullptr, 0, 32);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
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
    crypto_generichash_update(&hash_, reinterpret_cast<const unsigned char*>(chunk.data()), chunk.size());
    pending_bytes_ += chunk.size();
    pending_.emplace_back(chunk.begin(), chunk.end());
    if (pending_bytes_ >= kFlushBytes) {
      Flush([this] { StartRead(&request_); });
    } else {
      StartRead(&request_);
    }
  }

  void OnDone() override { delete this; }

 private:
  void Begin() {
    if (request_.part_case() != trygg::v1::UploadAttachmentRequest::kMetadata) {
      return Fail(absl::InvalidArgumentError("the first message must carry the metadata"));
    }
    const auto& metadata = request_.metadata();
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
          if (!status.ok()) return FinishWith(status);  // nothing was stored
          begun_ = true;
          StartRead(&request_);
        });
  }

  // Stores the parts read so far, then runs `next`; a refused part ends the upload.
  void Flush(std::function<void()> next) {
    if (pending_.empty()) return next();
    auto parts = std::make_shared<std::vector<std::vector<uint8_t>>>(std::move(pending_));
    pending_.clear();
    pending_bytes_ = 0;
    store_.Write(
        [this, parts](domain::Transaction& txn) -> absl::Status {
          for (const std::vector<uint8_t>& part : *parts) {
            absl::Status status = cases_.AppendAttachmentPart(txn, caller_, case_id_, attachment_id_, part);
            if (!status.ok()) return status;
          }
          return absl::OkStatus();
        },
        [this, next = std::move(next)](absl::Status status) {
          if (!status.ok()) return Fail(status);
          next();
        });
  }

  void Complete() {
    auto hash = std::make_shared<Hash256>();
    crypto_generichash_final(&hash_, hash->span().data(), hash->span().size());
    store_.Write(
        [this, hash](domain::Transaction& txn) {
          return cases_.CompleteAttachment(txn, caller_, case_id_, attachment_id_, *hash);
        },
        [this, hash](absl::Status status) {
          if (!status.ok()) return Fail(status);
          response_->set_ciphertext_hash(BytesToProto(hash->span()));
          FinishWith(absl::OkStatus());
        });
  }

  // Ends the call with `status`, first deleting what this upload stored.
  void Fail(const absl::Status& status) {
    if (!begun_) return FinishWith(status);
    store_.Write(
        [this](domain::Transaction& txn) {
          return cases_.AbandonAttachment(txn, caller_, case_id_, attachment_id_);
        },
        [this, status](absl::Status) { FinishWith(status); });
  }

  void FinishWith(const absl::Status& status) { Finish(ToGrpcStatus(status)); }

  grpc::CallbackServerContext* context_;
  domain::Store& store_;
  const domain::Cases& cases_;
  const domain::Caller caller_;
  trygg::v1::UploadAttachmentResponse* response_;
  trygg::v1::UploadAttachmentRequest request_;
  crypto_generichash_state hash_;
  bool begun_ = false;
  Id128 case_id_;
  Id128 attachment_id_;
  std::vector<std::vector<uint8_t>> pending_;
  size_t pending_bytes_ = 0;
};

class DownloadReactor final : public grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse> {
 public:
  DownloadReactor(domain::Store& store, domain::AttachmentRow row) : store_(store), row_(std::move(row)) {
    response_.set_total_size(row_.stored_size);
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    response_.Clear();
    Next();
  }

  void OnDone() override { delete this; }

 private:
  void Next() {
    if (batch_index_ == batch_.size()) {
      batch_.clear();
      batch_index_ = 0;
      absl::Status status = store_.Read([this](domain::Transaction& txn) -> absl::Status {
        absl::StatusOr<std::vector<std::vector<uint8_t>>> parts =
            txn.cases().GetAttachmentParts(row_.case_id, row_.attachment_id, next_seq_, kReadBatch);
        if (!parts.ok()) return parts.status();
        batch_ = *std::move(parts);
        return absl::OkStatus();
      });
      if (!status.ok()) return Finish(ToGrpcStatus(status));
      // The end (or an erasure meanwhile: the reader then finds the stream short).
      if (batch_.empty()) return Finish(grpc::Status::OK);
      next_seq_ += static_cast<int64_t>(batch_.size());
    }
    response_.set_chunk(BytesToProto(batch_[batch_index_++]));
    StartWrite(&response_);
  }

  domain::Store& store_;
  const domain::AttachmentRow row_;
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
  if (!caller.ok()) {
    return new Refused<grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest>>(caller.status());
  }
  return new UploadReactor(context, store, cases, *std::move(caller), response);
}

grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse>* StartDownload(
    grpc::CallbackServerContext* context, domain::Store& store, const domain::Cases& cases,
    const Authenticator& auth, const trygg::v1::DownloadAttachmentRequest& request) {
  absl::StatusOr<domain::AttachmentRow> row = [&]() -> absl::StatusOr<domain::AttachmentRow> {
    absl::StatusOr<domain::Caller> caller = auth.Authenticate(*context);
    if (!caller.ok()) return caller.status();
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
  return new DownloadReactor(store, *std::move(row));
}

}  // namespace trygg::api
