// SPDX-License-Identifier: Apache-2.0

#include "trygg/case_client.h"

#include <optional>

#include <grpcpp/grpcpp.h>

#include "internal/audit_witness.h"
#include "internal/page_tokens.h"
#include "internal/wire.h"
#include "trygg/crypto_error.h"
#include "trygg/grant.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg {

using internal::AsSpan;
using internal::EnvelopeFromServer;
using internal::EnvelopeToProto;
using internal::FromGrpc;
using internal::GrantFromServer;
using internal::GrantToProto;
using internal::RandomId;
using internal::ToProto;

absl::StatusOr<Grant> CaseClient::GrantToOwnOrg(const Id128& scope_id, uint32_t epoch, const SecretKey& scope_key) {
  return internal::SealScopeGrant(client_, self_, self_.org_id, scope_id, epoch, scope_key, clock_, rng_);
}

absl::StatusOr<CaseScope> CaseClient::CurrentScope(const Id128& case_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (known_.find(case_id) == known_.end()) TRYGG_RETURN_IF_ERROR(ReadCase(case_id).status());
  if (known_.at(case_id).grant_stale && known_.at(case_id).owner_org == self_.org_id) {
    TRYGG_RETURN_IF_ERROR(Rekey(case_id).status());
  }
  const Known& known = known_.at(case_id);
  return CaseScope{known.scope_id, known.epoch, known.scope_key.Clone()};
}

absl::StatusOr<std::vector<uint8_t>> CaseClient::OpenScopeBlob(const Id128& case_id, BlobKind kind,
                                                               const Id128& object_id,
                                                               std::span<const uint8_t> blob) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (known_.find(case_id) == known_.end()) TRYGG_RETURN_IF_ERROR(ReadCase(case_id).status());
  absl::Status last = absl::FailedPreconditionError("no scope key of this case is held");
  // Newest first: most content is sealed under the current epoch.
  const std::map<uint32_t, SecretKey>& keys = known_.at(case_id).epoch_keys;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    absl::StatusOr<std::vector<uint8_t>> opened = OpenBlob(kind, object_id, blob, it->second);
    if (opened.ok()) return opened;
    last = opened.status();
  }
  return last;
}

absl::StatusOr<bool> CaseClient::NeedsRekey(const Id128& case_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  TRYGG_RETURN_IF_ERROR(ReadCase(case_id).status());
  return known_.at(case_id).grant_stale;
}

absl::StatusOr<uint64_t> CaseClient::Rekey(const Id128& case_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  TRYGG_ASSIGN_OR_RETURN(CaseRead read, ReadCase(case_id));
  return RekeyFrom(case_id, read.versions.back());
}

absl::StatusOr<uint64_t> CaseClient::RekeyFrom(const Id128& case_id, const CaseVersion& latest) {
  Known& known = known_.at(case_id);
  const uint32_t epoch = known.epoch + 1;
  SecretKey scope_key;
  rng_.Fill(scope_key.span());
  // Sealed to the organisation's current key, which no revoked device holds.
  TRYGG_ASSIGN_OR_RETURN(Grant grant, GrantToOwnOrg(known.scope_id, epoch, scope_key));
  // The re-key version carries the latest content, so the case as it stands
  // opens under the new epoch.
  TRYGG_ASSIGN_OR_RETURN(uint64_t version,
                         SendVersion(case_id, known, epoch, scope_key, latest.plaintext, latest.header.content_type,
                                     {}, GenerateDataKey(rng_), &grant, "case re-key"));
  known.epoch = epoch;
  known.epoch_keys.insert_or_assign(epoch, scope_key.Clone());
  known.scope_key = std::move(scope_key);
  known.grant_stale = false;
  return version;
}

absl::StatusOr<RekeyReport> CaseClient::RekeyStaleCases(const std::function<void(size_t, size_t)>& progress) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  TRYGG_ASSIGN_OR_RETURN(std::vector<CaseListing> cases, ListCases());
  std::erase_if(cases, [this](const CaseListing& c) { return c.owner_org != self_.org_id; });
  RekeyReport report;
  for (const CaseListing& c : cases) {
    // One read per case: it both tells whether the case needs a re-key and
    // gives the content the re-key version carries.
    TRYGG_ASSIGN_OR_RETURN(CaseRead read, ReadCase(c.case_id));
    if (known_.at(c.case_id).grant_stale) {
      TRYGG_RETURN_IF_ERROR(RekeyFrom(c.case_id, read.versions.back()).status());
      ++report.cases_rekeyed;
    }
    ++report.cases_checked;
    if (progress) progress(report.cases_checked, cases.size());
  }
  return report;
}

absl::StatusOr<Id128> CaseClient::CreateCase(std::span<const uint8_t> plaintext, uint16_t content_type) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Known known;
  known.scope_id = RandomId(rng_);
  known.record_id = RandomId(rng_);
  known.epoch = 1;
  rng_.Fill(known.scope_key.span());
  RecordDraft draft;
  draft.case_id = RandomId(rng_);
  draft.scope_id = known.scope_id;
  draft.epoch = known.epoch;
  draft.record_id = known.record_id;
  draft.author_org = self_.org_id;
  draft.author_device = self_.device_id;
  draft.content_type = content_type;
  TRYGG_ASSIGN_OR_RETURN(Grant grant, GrantToOwnOrg(known.scope_id, known.epoch, known.scope_key));
  SecretKey dek = GenerateDataKey(rng_);
  TRYGG_ASSIGN_OR_RETURN(SealedRecord record, SealRecord(draft, plaintext, {}, dek, known.scope_key,
                                                         self_.device.signing(), clock_, rng_));
  trygg::v1::CreateCaseRequest request;
  EnvelopeToProto(record, request.mutable_first_version());
  GrantToProto(grant, known.scope_id, known.epoch, self_.org_id, request.add_grants());
  trygg::v1::CreateCaseResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())
                                     ->CreateCase(context.get(), request, &response)));
  AuditExpectation expected =
      internal::Expecting("case creation", {audit::AuditEventKind::kCaseCreated}, AuditSubject::kCase, draft.case_id);
  expected.record_hash = RecordHash(record);
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, std::move(expected));
  known.chain = RecordChainState{known.record_id, 1, RecordHash(record)};
  known.owner_org = self_.org_id;
  known.epoch_keys.insert_or_assign(known.epoch, known.scope_key.Clone());
  const Hash256 head = known.chain.highest_hash;
  TRYGG_RETURN_IF_ERROR(client_.RememberHistory(HistoryKind::kCase, draft.case_id, std::span(&head, 1)));
  known.data_keys.insert_or_assign(1, std::move(dek));
  known.attachments.insert_or_assign(1, std::vector<Hash256>{});
  known_.insert_or_assign(draft.case_id, std::move(known));
  return draft.case_id;
}

namespace {

// Uploads and downloads of up to 1 GiB take longer than an ordinary call.
constexpr auto kStreamTimeout = std::chrono::hours(2);

}  // namespace

absl::StatusOr<Hash256> CaseClient::UploadAttachment(const Id128& case_id, const Id128& record_id,
                                                     const SecretKey& data_key, const AttachmentInput& input) {
  if (input.in == nullptr) return absl::InvalidArgumentError("attachment: no input stream");
  if (input.size > kMaxAttachmentContentSize) return absl::InvalidArgumentError("attachment: at most 1 GiB");
  auto context = client_.NewCallContext();
  context->set_deadline(std::chrono::system_clock::now() + kStreamTimeout);
  trygg::v1::UploadAttachmentResponse response;
  auto stub = trygg::v1::CaseService::NewStub(client_.channel());
  std::unique_ptr<grpc::ClientWriter<trygg::v1::UploadAttachmentRequest>> writer =
      stub->UploadAttachment(context.get(), &response);
  // Ends the call after a failure: with what the server said when it was the
  // server that ended the call, else with `local`. A stream this device cannot
  // finish is half-closed first (Finish alone would wait for a server that
  // waits for more); the server then refuses it, shorter than total_size, and
  // deletes what it stored before it answers, so nothing is left behind.
  bool server_ended = false;
  auto give_up = [&](absl::Status local) {
    if (!server_ended) writer->WritesDone();
    grpc::Status status = writer->Finish();
    return server_ended && !status.ok() ? FromGrpc(status) : local;
  };
  trygg::v1::UploadAttachmentRequest request;
  auto* metadata = request.mutable_metadata();
  metadata->set_case_id(ToProto(case_id.span()));
  metadata->set_attachment_id(ToProto(RandomId(rng_).span()));
  // The padded stream's exact length: the server learns the size's Padmé
  // bucket, not the size (protocol.md 6).
  metadata->set_total_size(AttachmentStreamSize(input.size));
  if (!writer->Write(request)) {
    server_ended = true;
    return give_up(absl::UnavailableError("the server ended the upload"));
  }
  ByteSink send = [&](std::span<const uint8_t> bytes) -> absl::Status {
    request.set_chunk(ToProto(bytes));
    if (!writer->Write(request)) {
      server_ended = true;
      return absl::UnavailableError("the server ended the upload");
    }
    return absl::OkStatus();
  };
  absl::StatusOr<AttachmentWriter> encrypt = AttachmentWriter::Create(data_key, record_id, input.size, send, rng_);
  if (!encrypt.ok()) return give_up(encrypt.status());
  std::vector<uint8_t> buffer(kAttachmentChunkSize);
  uint64_t total = 0;
  while (*input.in) {
    input.in->read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
    const size_t got = static_cast<size_t>(input.in->gcount());
    if (got == 0) break;
    total += got;
    if (total > input.size) {
      return give_up(absl::InvalidArgumentError("attachment: the input is longer than its size"));
    }
    absl::Status written = encrypt->Write(std::span<const uint8_t>(buffer.data(), got));
    if (!written.ok()) return give_up(written);
  }
  if (input.in->bad()) return give_up(absl::DataLossError("attachment: reading the input failed"));
  absl::StatusOr<Hash256> hash = encrypt->Finish();
  if (!hash.ok()) return give_up(hash.status());
  writer->WritesDone();
  TRYGG_RETURN_IF_ERROR(FromGrpc(writer->Finish()));
  if (response.ciphertext_hash() != ToProto(hash->span())) {
    return absl::DataLossError("the server stored another stream than this device sent");
  }
  return *hash;
}

absl::Status CaseClient::DownloadAttachment(const Id128& case_id, uint64_t version, size_t index,
                                            const ByteSink& plaintext_sink) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto known = known_.find(case_id);
  if (known == known_.end() || known->second.data_keys.count(version) == 0) {
    TRYGG_RETURN_IF_ERROR(ReadCase(case_id).status());
    known = known_.find(case_id);
  }
  auto hashes = known->second.attachments.find(version);
  auto key = known->second.data_keys.find(version);
  if (hashes == known->second.attachments.end() || key == known->second.data_keys.end()) {
    return absl::NotFoundError("the case has no version " + std::to_string(version));
  }
  if (index >= hashes->second.size()) {
    return absl::NotFoundError("version " + std::to_string(version) + " has " +
                               std::to_string(hashes->second.size()) + " attachment(s)");
  }
  const Hash256 hash = hashes->second[index];
  TRYGG_ASSIGN_OR_RETURN(AttachmentReader decrypt,
                         AttachmentReader::Create(key->second, known->second.record_id, hash, plaintext_sink));
  trygg::v1::DownloadAttachmentRequest request;
  request.set_case_id(ToProto(case_id.span()));
  request.set_ciphertext_hash(ToProto(hash.span()));
  auto context = client_.NewCallContext();
  context->set_deadline(std::chrono::system_clock::now() + kStreamTimeout);
  auto stub = trygg::v1::CaseService::NewStub(client_.channel());
  std::unique_ptr<grpc::ClientReader<trygg::v1::DownloadAttachmentResponse>> reader =
      stub->DownloadAttachment(context.get(), request);
  trygg::v1::DownloadAttachmentResponse part;
  while (reader->Read(&part)) {
    absl::Status written = decrypt.Write(AsSpan(part.chunk()));
    if (!written.ok()) {
      context->TryCancel();
      reader->Finish().ok();
      return written;
    }
  }
  TRYGG_RETURN_IF_ERROR(FromGrpc(reader->Finish()));
  return decrypt.Finish();
}

absl::StatusOr<uint64_t> CaseClient::AppendVersion(const Id128& case_id, std::span<const uint8_t> plaintext,
                                                   uint16_t content_type,
                                                   const std::vector<AttachmentInput>& attachments) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  // CurrentScope re-keys first if the case needs it: a new version is never
  // sealed under a key that a revoked device may hold.
  TRYGG_RETURN_IF_ERROR(CurrentScope(case_id).status());
  Known& known = known_.at(case_id);
  SecretKey dek = GenerateDataKey(rng_);
  std::vector<Hash256> hashes;
  for (const AttachmentInput& input : attachments) {
    TRYGG_ASSIGN_OR_RETURN(Hash256 hash, UploadAttachment(case_id, known.record_id, dek, input));
    hashes.push_back(hash);
  }
  return SendVersion(case_id, known, known.epoch, known.scope_key, plaintext, content_type, std::move(hashes),
                     std::move(dek), nullptr, "case version");
}

absl::StatusOr<uint64_t> CaseClient::SendVersion(const Id128& case_id, Known& known, uint32_t epoch,
                                                 const SecretKey& scope_key, std::span<const uint8_t> plaintext,
                                                 uint16_t content_type, std::vector<Hash256> attachment_hashes,
                                                 SecretKey dek, const Grant* grant, std::string_view what) {
  RecordDraft draft;
  draft.case_id = case_id;
  draft.scope_id = known.scope_id;
  draft.epoch = epoch;
  draft.record_id = known.record_id;
  draft.version = known.chain.highest_version + 1;
  draft.prev_hash = known.chain.highest_hash;
  draft.author_org = self_.org_id;
  draft.author_device = self_.device_id;
  draft.content_type = content_type;
  TRYGG_ASSIGN_OR_RETURN(SealedRecord record, SealRecord(draft, plaintext, attachment_hashes, dek, scope_key,
                                                         self_.device.signing(), clock_, rng_));
  trygg::v1::AppendCaseVersionRequest request;
  EnvelopeToProto(record, request.mutable_version());
  if (grant != nullptr) GrantToProto(*grant, known.scope_id, epoch, self_.org_id, request.add_grants());
  trygg::v1::AppendCaseVersionResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())
                                     ->AppendCaseVersion(context.get(), request, &response)));
  AuditExpectation expected = internal::Expecting(std::string(what), {audit::AuditEventKind::kCaseVersion},
                                                  AuditSubject::kCase, case_id, static_cast<uint32_t>(draft.version));
  expected.record_hash = RecordHash(record);
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, std::move(expected));
  // The new version extends the head this client verified (its prev_hash).
  const Hash256 heads[2] = {known.chain.highest_hash, RecordHash(record)};
  TRYGG_RETURN_IF_ERROR(client_.RememberHistory(HistoryKind::kCase, case_id, heads, known.chain.highest_version));
  known.chain = RecordChainState{known.record_id, draft.version, RecordHash(record)};
  known.data_keys.insert_or_assign(draft.version, std::move(dek));
  known.attachments.insert_or_assign(draft.version, std::move(attachment_hashes));
  return draft.version;
}

namespace {

// One page of GetCase: the versions after `after`, as many as the server puts
// in one answer, and whether more follow.
absl::StatusOr<trygg::v1::GetCaseResponse> FetchCasePage(const Client& client, const Id128& case_id,
                                                          uint64_t after) {
  trygg::v1::GetCaseRequest request;
  request.set_case_id(ToProto(case_id.span()));
  request.set_after_version(after);
  trygg::v1::GetCaseResponse page;
  auto context = client.NewCallContext();
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(trygg::v1::CaseService::NewStub(client.channel())->GetCase(context.get(), request, &page)));
  return page;
}

}  // namespace

absl::StatusOr<CaseRead> CaseClient::ReadCase(const Id128& case_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::optional<OrgLogState> own_org;  // fetched once the server has answered
  std::map<uint32_t, SecretKey> scope_keys;
  std::map<uint32_t, KeyId> sealed_to;  // the organisation key each epoch's grant is sealed to

  std::map<Id128, OrgLogState> author_orgs;
  std::map<uint64_t, SecretKey> data_keys;
  std::map<uint64_t, std::vector<Hash256>> attachments;
  CaseRead read;
  read.case_id = case_id;
  // Every version is re-read from version 1 and chained by prev_hash, so the
  // record hash at each version commits to the whole case up to it; what
  // this device saw before is checked against those (RememberHistory).
  RecordChainState replay{{}, 0, {}};
  std::vector<Hash256> version_hashes;
  Id128 scope_id;
  // GetCase answers in pages (proto/trygg/v1/case.proto). Each page is
  // verified and opened before the next is asked for, so a server that says
  // "more" for ever must keep sending real, signed, chained versions: it can
  // make the read no longer than the case it holds.
  for (bool more = true; more;) {
    const uint64_t after = replay.highest_version;
    TRYGG_ASSIGN_OR_RETURN(trygg::v1::GetCaseResponse page, FetchCasePage(client_, case_id, after));
    if (page.versions().empty()) {
      if (after == 0) return absl::DataLossError("the server sent a case without versions");
      if (page.more()) return absl::DataLossError("the server sent an empty page of a case and said more follow");
      break;
    }
    more = page.more();
    if (!own_org.has_value()) {
      TRYGG_ASSIGN_OR_RETURN(OrgLogState fetched, client_.FetchOrgLog(self_.org_id));
      own_org = std::move(fetched);
    }
    for (const trygg::v1::Grant& in : page.grants()) {
      TRYGG_ASSIGN_OR_RETURN(Grant grant, GrantFromServer(in));
      TRYGG_ASSIGN_OR_RETURN(GrantHeader header, ParseGrantHeader(grant.header));
      if (scope_keys.contains(header.epoch)) continue;  // opened from an earlier page
      TRYGG_ASSIGN_OR_RETURN(SecretKey key, internal::OpenScopeGrant(grant, self_, *own_org));
      scope_keys.insert_or_assign(header.epoch, std::move(key));
      sealed_to.insert_or_assign(header.epoch, header.recipient_key_id);
    }
    for (const trygg::v1::RecordEnvelope& in : page.versions()) {
      TRYGG_ASSIGN_OR_RETURN(SealedRecord record, EnvelopeFromServer(in));
      TRYGG_ASSIGN_OR_RETURN(RecordHeader header, ParseRecordHeader(record.header));
      if (after != 0 && replay.highest_version == after && header.version != after + 1) {
        return absl::DataLossError("the server sent a page of a case that does not go on from version " +
                                   std::to_string(after));
      }
      if (replay.highest_version == 0) {
        if (header.version != 1) return absl::DataLossError("the server did not send the case from version 1");
        replay.record_id = header.record_id;
        scope_id = header.scope_id;
      } else if (header.version != replay.highest_version + 1) {
        // The chain check accepts a re-read of the newest version (5.4); within
        // one answer that is a version sent twice, which would show twice.
        return MakeCryptoError(absl::StatusCode::kAborted, CryptoError::kBrokenChain,
                               "record: the server sent version " + std::to_string(header.version) + " after version " +
                                   std::to_string(replay.highest_version));
      }
      auto org = author_orgs.find(header.author_org);
      if (org == author_orgs.end()) {
        TRYGG_ASSIGN_OR_RETURN(OrgLogState state, client_.FetchOrgLog(header.author_org));
        org = author_orgs.emplace(header.author_org, std::move(state)).first;
      }
      const DeviceRecord* author = org->second.FindDevice(header.author_device);
      if (author == nullptr) {
        return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature,
                               "record: its author is not in its organisation's log");
      }
      if (!TrustedAt(*author, header.created_at_ms)) {
        return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature,
                               "record: version " + std::to_string(header.version) +
                                   " was signed by its author after the device was revoked");
      }
      // The server moves a case only ever to its next epoch: a version at an
      // older epoch than the one before it was not accepted by an honest server
      // (for instance one signed with a revoked device's old scope key).
      if (!read.versions.empty() && header.epoch < read.versions.back().header.epoch) {
        return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kBrokenChain,
                               "record: version " + std::to_string(header.version) + " goes back to an older epoch");
      }
      auto key = scope_keys.find(header.epoch);
      if (key == scope_keys.end()) {
        return absl::FailedPreconditionError("no grant for the epoch of version " + std::to_string(header.version));
      }
      RecordExpectation expected{case_id, scope_id, header.epoch, kRecordFormatV1};
      TRYGG_ASSIGN_OR_RETURN(OpenedRecord opened, OpenRecord(record, expected, author->sign_key, key->second, replay));
      version_hashes.push_back(opened.record_hash);
      data_keys.insert_or_assign(header.version, std::move(opened.data_key));
      attachments.insert_or_assign(header.version, record.attachment_hashes);
      read.versions.push_back(CaseVersion{opened.header, std::move(opened.plaintext), record.attachment_hashes});
    }
  }
  // What this device saw before, in this run or an earlier one, must be part
  // of what it has now: DATA_LOSS (rollback or fork) otherwise.
  TRYGG_RETURN_IF_ERROR(client_.RememberHistory(HistoryKind::kCase, case_id, version_hashes));
  Known& known = known_[case_id];
  known.scope_id = scope_id;
  known.record_id = replay.record_id;
  known.owner_org = read.versions.front().header.author_org;
  known.epoch = read.versions.back().header.epoch;
  known.chain = replay;
  known.grant_stale = sealed_to.at(known.epoch) != BoxKeyId(own_org->org_box_key());
  known.scope_key = scope_keys.at(known.epoch).Clone();
  known.epoch_keys = std::move(scope_keys);
  known.data_keys = std::move(data_keys);
  known.attachments = std::move(attachments);
  return read;
}

absl::StatusOr<std::vector<CaseListing>> CaseClient::ListCases() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::vector<CaseListing> cases;
  trygg::v1::ListCasesRequest request;
  request.set_page_size(500);
  internal::PageTokens pages("cases");
  do {
    trygg::v1::ListCasesResponse response;
    auto context = client_.NewCallContext();
    TRYGG_RETURN_IF_ERROR(FromGrpc(
        trygg::v1::CaseService::NewStub(client_.channel())->ListCases(context.get(), request, &response)));
    for (const trygg::v1::CaseSummary& in : response.cases()) {
      CaseListing c;
      absl::StatusOr<Id128> id = Id128::FromSpan(AsSpan(in.case_id()));
      absl::StatusOr<Id128> owner = Id128::FromSpan(AsSpan(in.owner_org_id()));
      if (!id.ok() || !owner.ok()) return absl::DataLossError("server sent a malformed case summary");
      c.case_id = *id;
      c.owner_org = *owner;
      c.head_version = in.head_version();
      c.updated_at_ms = in.updated_at().seconds() * 1000 + in.updated_at().nanos() / 1000000;
      cases.push_back(c);
    }
    TRYGG_RETURN_IF_ERROR(pages.Advance(response.next_page_token()));
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return cases;
}

absl::Status CaseClient::EraseCase(const Id128& case_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  ErasureStatement statement{case_id, clock_.NowUnixMillis(), self_.device_id};
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_statement, SignErasureStatement(statement, self_.device.signing()));
  trygg::v1::EraseCaseRequest request;
  request.set_case_id(ToProto(case_id.span()));
  internal::SignedToProto(signed_statement, self_.device_id, request.mutable_statement());
  trygg::v1::EraseCaseResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())->EraseCase(context.get(), request, &response)));
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, internal::Expecting("case erasure", {audit::AuditEventKind::kCaseErased},
                                                           AuditSubject::kCase, case_id));
  known_.erase(case_id);
  return absl::OkStatus();
}

}  // namespace trygg
