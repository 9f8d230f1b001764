// SPDX-License-Identifier: Apache-2.0

// Client::VerifyAuditTrail and the AuditWitness it keeps (internal/audit_witness.h).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <unordered_set>

#include "internal/audit_witness.h"
#include "internal/wire.h"
#include "src/internal/client_state.pb.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/tree_head.h"
#include "trygg/audit/verify.h"
#include "trygg/client.h"
#include "trygg/signing.h"
#include "trygg/status_macros.h"
#include "trygg/v1/audit.grpc.pb.h"

namespace trygg {
namespace internal {
uint64_t AuditWitness::KnownSize() const {
  std::lock_guard<std::mutex> lock(mu_);
  return known_size_;
}

void AuditWitness::RecountKnownSizeLocked() {
  known_size_ = head_.has_value() ? head_->tree_size : 0;
  for (const PendingAuditWrite& p : pending_) {
    if (p.has_receipt) known_size_ = std::max(known_size_, p.first_index + p.count);
  }
}

void AuditWitness::Expect(const grpc::ClientContext& context, const AuditWriteStart& start, int64_t finished_ms,
                          const Id128& device, const Id128& org, AuditExpectation expected) {
  PendingAuditWrite write;
  write.floor = start.floor;
  write.started_ms = start.started_ms;
  write.finished_ms = finished_ms;
  write.actor_device = device;
  write.actor_org = org;
  write.expected = std::move(expected);
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find(audit::kAuditReceiptKey);
  if (it != trailers.end()) {
    if (std::optional<audit::AuditReceipt> receipt =
            audit::DecodeAuditReceipt(std::string_view(it->second.data(), it->second.size()))) {
      write.first_index = receipt->first_index;
      write.count = receipt->count;
      write.has_receipt = true;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  write.seq = next_seq_++;
  if (write.has_receipt) known_size_ = std::max(known_size_, write.first_index + write.count);
  pending_.push_back(std::move(write));
}

std::optional<AuditHead> AuditWitness::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

std::vector<PendingAuditWrite> AuditWitness::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_;
}

size_t AuditWitness::pending_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

void AuditWitness::Advance(const AuditHead& head, const std::vector<PendingAuditWrite>& verified) {
  std::lock_guard<std::mutex> lock(mu_);
  head_ = head;
  std::unordered_set<uint64_t> proven;
  proven.reserve(verified.size());
  for (const PendingAuditWrite& v : verified) proven.insert(v.seq);
  std::erase_if(pending_, [&](const PendingAuditWrite& p) { return proven.contains(p.seq); });
  verified_.insert(verified_.end(), verified.begin(), verified.end());
  if (verified_.size() > remember_verified_) {
    verified_.erase(verified_.begin(), verified_.end() - static_cast<std::ptrdiff_t>(remember_verified_));
  }
  RecountKnownSizeLocked();
}

void AuditWitness::Forget() {
  std::lock_guard<std::mutex> lock(mu_);
  head_.reset();
  pending_.clear();
  verified_.clear();
  damaged_ = absl::OkStatus();
  known_size_ = 0;
}

namespace {

// Two queued writes are the same write when their receipt and expectation
// are (the seq is a process's own handle): when their keys are equal. The
// fixed-width fields come first and the one of variable length last, so two
// different writes never share a key.
std::string WriteKey(const PendingAuditWrite& w) {
  std::string key;
  key.reserve(1 + 8 + 4 + 8 + 8 + 16 + 16 + w.expected.what.size());
  const auto put = [&key](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) key.push_back(static_cast<char>(v >> (8 * i)));
  };
  put(w.has_receipt ? 1 : 0, 1);
  put(w.first_index, 8);
  put(w.count, 4);
  put(static_cast<uint64_t>(w.started_ms), 8);
  put(static_cast<uint64_t>(w.finished_ms), 8);
  key.append(reinterpret_cast<const char*>(w.actor_device.span().data()), w.actor_device.span().size());
  key.append(reinterpret_cast<const char*>(w.expected.subject_id.span().data()), w.expected.subject_id.span().size());
  key += w.expected.what;
  return key;
}

}  // namespace

absl::Status AuditWitness::damaged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return damaged_;
}

void AuditWitness::ToSaved(SavedAudit& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out.Clear();
  if (head_.has_value()) {
    SavedAuditHead& h = *out.mutable_head();
    h.set_tree_size(head_->tree_size);
    h.set_timestamp_ms(head_->timestamp_ms);
    h.set_root_hash(HexEncode(head_->root_hash.span()));
  }
  for (const PendingAuditWrite& p : pending_) {
    const AuditExpectation& e = p.expected;
    SavedAuditWrite& w = *out.add_pending();
    w.set_has_receipt(p.has_receipt);
    w.set_first_index(p.first_index);
    w.set_count(p.count);
    w.set_floor(p.floor);
    w.set_started_ms(p.started_ms);
    w.set_finished_ms(p.finished_ms);
    w.set_actor_device(HexEncode(p.actor_device.span()));
    w.set_actor_org(HexEncode(p.actor_org.span()));
    w.set_what(e.what);
    w.set_kinds(e.kinds);
    w.set_subject(static_cast<uint32_t>(e.subject));
    w.set_subject_id(HexEncode(e.subject_id.span()));
    if (e.number.has_value()) w.set_number(*e.number);
    if (e.code.has_value()) w.set_code(*e.code);
    if (e.counterpart_org.has_value()) w.set_counterpart_org(HexEncode(e.counterpart_org->span()));
    if (e.service.has_value()) w.set_service(*e.service);
    if (e.flags.has_value()) w.set_flags(*e.flags);
    if (e.record_hash.has_value()) w.set_record_hash(HexEncode(e.record_hash->span()));
  }
}

void AuditWitness::MergeFrom(const SavedAudit& saved) {
  AuditWitness theirs;
  if (!theirs.Parse(saved).ok()) return;  // a damaged part is replaced, as before
  std::lock_guard<std::mutex> lock(mu_);
  if (theirs.head_.has_value()) {
    if (!head_.has_value() || theirs.head_->tree_size > head_->tree_size) {
      head_ = theirs.head_;
    } else if (theirs.head_->tree_size == head_->tree_size && theirs.head_->root_hash != head_->root_hash) {
      damaged_ = absl::DataLossError("audit log: two sessions of this device verified different logs of " +
                                     std::to_string(head_->tree_size) +
                                     " entries: the server showed them two histories; keep the state file as "
                                     "evidence");
    }
  }
  // A write this session holds, or has verified, is not taken again; one
  // the other session verified comes back and is verified once more here.
  // Looked up by key: every save folds in the whole saved queue, so comparing
  // each of its writes with each held one made a save quadratic in the queue.
  if (theirs.pending_.empty()) {
    RecountKnownSizeLocked();
    return;
  }
  std::unordered_set<std::string> known;
  known.reserve(pending_.size() + verified_.size());
  for (const PendingAuditWrite& p : pending_) known.insert(WriteKey(p));
  for (const PendingAuditWrite& p : verified_) known.insert(WriteKey(p));
  for (PendingAuditWrite& write : theirs.pending_) {
    if (!known.insert(WriteKey(write)).second) continue;
    write.seq = next_seq_++;
    pending_.push_back(std::move(write));
  }
  RecountKnownSizeLocked();
}

namespace {

absl::Status DamagedAuditState() {
  return absl::DataLossError(
      "audit log: the audit part of the client state file is damaged; after finding out why, "
      "`trygg audit forget --yes` (ForgetAuditState) starts afresh");
}

}  // namespace

void AuditWitness::Load(const SavedAudit* saved) {
  const absl::Status parsed = saved != nullptr ? Parse(*saved) : DamagedAuditState();
  if (!parsed.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    damaged_ = parsed;
  }
}

namespace {

// An id or a hash: hex of exactly its size.
template <typename Fixed>
bool ReadHex(const std::string& hex, Fixed& out) {
  absl::StatusOr<Fixed> fixed = Fixed::FromHex(hex);
  if (!fixed.ok()) return false;
  out = *fixed;
  return true;
}

// An optional number no larger than `max`.
template <typename T>
bool ReadAtMost(bool present, uint32_t value, T max, std::optional<T>& out) {
  if (!present) return true;
  if (value > max) return false;
  out = static_cast<T>(value);
  return true;
}

}  // namespace

absl::Status AuditWitness::Parse(const SavedAudit& saved) {
  const absl::Status damaged = DamagedAuditState();
  std::optional<AuditHead> head;
  if (saved.has_head()) {
    const SavedAuditHead& h = saved.head();
    AuditHead parsed;
    if (!h.has_tree_size() || !h.has_timestamp_ms() || !h.has_root_hash() ||
        !ReadHex(h.root_hash(), parsed.root_hash)) {
      return damaged;
    }
    parsed.tree_size = h.tree_size();
    parsed.timestamp_ms = h.timestamp_ms();
    head = parsed;
  }
  std::vector<PendingAuditWrite> pending;
  for (const SavedAuditWrite& w : saved.pending()) {
    PendingAuditWrite p;
    AuditExpectation& e = p.expected;
    if (!w.has_has_receipt() || !w.has_first_index() || !w.has_count() || w.count() > audit::kMaxReceiptEntries ||
        !w.has_floor() || !w.has_started_ms() || !w.has_finished_ms() || !w.has_kinds() || !w.has_subject() ||
        w.subject() > static_cast<uint32_t>(AuditSubject::kListing) || !w.has_what() ||
        !ReadHex(w.actor_device(), p.actor_device) || !ReadHex(w.actor_org(), p.actor_org) ||
        !ReadHex(w.subject_id(), e.subject_id)) {
      return damaged;
    }
    p.has_receipt = w.has_receipt();
    p.first_index = w.first_index();
    p.count = w.count();
    p.floor = w.floor();
    p.started_ms = w.started_ms();
    p.finished_ms = w.finished_ms();
    e.what = w.what();
    e.kinds = w.kinds();
    e.subject = static_cast<AuditSubject>(w.subject());
    if (!ReadAtMost(w.has_number(), w.number(), std::numeric_limits<uint32_t>::max(), e.number) ||
        !ReadAtMost(w.has_code(), w.code(), uint8_t{255}, e.code) ||
        !ReadAtMost(w.has_service(), w.service(), uint8_t{255}, e.service) ||
        !ReadAtMost(w.has_flags(), w.flags(), uint8_t{255}, e.flags)) {
      return damaged;
    }
    if (w.has_record_hash()) {
      Hash256 hash;
      if (!ReadHex(w.record_hash(), hash)) return damaged;
      e.record_hash = hash;
    }
    if (w.has_counterpart_org()) {
      Id128 counterpart;
      if (!ReadHex(w.counterpart_org(), counterpart)) return damaged;
      e.counterpart_org = counterpart;
    }
    pending.push_back(std::move(p));
  }
  std::lock_guard<std::mutex> lock(mu_);
  head_ = head;
  pending_ = std::move(pending);
  for (PendingAuditWrite& p : pending_) p.seq = next_seq_++;
  damaged_ = absl::OkStatus();
  RecountKnownSizeLocked();
  return absl::OkStatus();
}

}  // namespace internal

namespace {

using internal::PendingAuditWrite;

absl::Status Lying(const std::string& message) { return absl::DataLossError("audit log: " + message); }

absl::StatusOr<std::vector<Hash256>> PathFromServer(const google::protobuf::RepeatedPtrField<std::string>& path) {
  std::vector<Hash256> out;
  out.reserve(path.size());
  for (const std::string& h : path) {
    absl::StatusOr<Hash256> hash = Hash256::FromSpan(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(h.data()), h.size()));
    if (!hash.ok()) return Lying("the server sent a proof hash that is not 32 bytes");
    out.push_back(*hash);
  }
  return out;
}

const audit::AuditId& SubjectOf(const audit::AuditEvent& event, AuditSubject subject) {
  static const audit::AuditId kNone{};
  switch (subject) {
    case AuditSubject::kCase: return event.case_id;
    case AuditSubject::kReferral: return event.referral_id;
    case AuditSubject::kListing: return event.listing_id;
    case AuditSubject::kNone: break;
  }
  return kNone;
}

bool Matches(const audit::AuditEvent& event, const AuditExpectation& expected) {
  const auto kind = static_cast<uint8_t>(event.kind);
  if (kind >= 32 || (expected.kinds & (uint32_t{1} << kind)) == 0) return false;
  if (expected.subject != AuditSubject::kNone && SubjectOf(event, expected.subject) != expected.subject_id.array()) {
    return false;
  }
  if (expected.number.has_value() && event.number != *expected.number) return false;
  if (expected.code.has_value() && event.code != *expected.code) return false;
  if (expected.counterpart_org.has_value() && event.counterpart_org_id != expected.counterpart_org->array()) {
    return false;
  }
  if (expected.service.has_value() && event.service != *expected.service) return false;
  if (expected.record_hash.has_value() && event.record_hash != expected.record_hash->array()) return false;
  return !expected.flags.has_value() || event.flags == *expected.flags;
}

// How far the server's clock may be from the device's when an entry's time is
// compared with the call that made it.
constexpr int64_t kClockSkewMs = 10 * 60 * 1000;

// The entries a receipt names, in order; DATA_LOSS if the server has fewer.
absl::StatusOr<std::vector<trygg::v1::AuditEntry>> FetchEntries(trygg::v1::AuditService::Stub& stub,
                                                                const PendingAuditWrite& write,
                                                                const Client& client) {
  std::vector<trygg::v1::AuditEntry> entries;
  while (entries.size() < write.count) {
    auto context = client.NewCallContext();
    trygg::v1::ListEntriesRequest request;
    request.set_start_index(write.first_index + entries.size());
    request.set_page_size(static_cast<int32_t>(std::min<size_t>(write.count - entries.size(), 1000)));
    trygg::v1::ListEntriesResponse response;
    TRYGG_RETURN_IF_ERROR(internal::FromGrpc(stub.ListEntries(context.get(), request, &response)));
    if (response.entries().empty()) {
      return Lying("entries " + std::to_string(write.first_index + entries.size()) + "+ of a " +
                   write.expected.what + " are missing");
    }
    for (trygg::v1::AuditEntry& entry : *response.mutable_entries()) {
      if (entries.size() == write.count) break;
      entries.push_back(std::move(entry));
    }
  }
  return entries;
}

// The latest tree head, signed by the server's certified key.
absl::StatusOr<audit::TreeHead> FetchSignedHead(trygg::v1::AuditService::Stub& stub, const Client& client,
                                                const SignPublicKey& server_key) {
  auto context = client.NewCallContext();
  trygg::v1::GetSignedTreeHeadResponse response;
  TRYGG_RETURN_IF_ERROR(internal::FromGrpc(stub.GetSignedTreeHead(context.get(), {}, &response)));
  const std::string& bytes = response.tree_head().bytes();
  absl::StatusOr<Signature> signature = Signature::FromSpan(internal::AsSpan(response.tree_head().signature()));
  // The signature is checked over the bytes as received, before they are parsed.
  if (!signature.ok() || !Verify(server_key, SigningContext::kTreeHead, internal::AsSpan(bytes), *signature).ok()) {
    return Lying("the latest tree head is not signed by the server's certified key");
  }
  absl::StatusOr<audit::TreeHead> head = audit::DecodeTreeHead(internal::AsSpan(bytes));
  if (!head.ok()) return Lying("the latest tree head is malformed: " + std::string(head.status().message()));
  return *head;
}

// `head` extends the head this device verified before: no shrinking, no
// going back in time, the same root at the same size, and a consistency
// proof across a growth.
absl::Status CheckExtends(trygg::v1::AuditService::Stub& stub, const Client& client, const AuditHead& previous,
                          const audit::TreeHead& head) {
  const std::string sizes = std::to_string(previous.tree_size) + " to " + std::to_string(head.tree_size);
  if (head.tree_size < previous.tree_size) {
    return Lying("the log shrank from " + sizes + " entries since this device last verified it");
  }
  if (head.timestamp_ms < previous.timestamp_ms) {
    return Lying("the latest tree head is older than the one this device verified before");
  }
  if (head.tree_size == previous.tree_size) {
    if (head.root_hash != previous.root_hash) {
      return Lying("the tree of " + std::to_string(head.tree_size) +
                   " entries has another root than this device verified before (a fork)");
    }
    return absl::OkStatus();
  }
  if (previous.tree_size == 0) return absl::OkStatus();
  auto context = client.NewCallContext();
  trygg::v1::GetConsistencyProofRequest request;
  request.set_first_size(previous.tree_size);
  request.set_second_size(head.tree_size);
  trygg::v1::GetConsistencyProofResponse response;
  TRYGG_RETURN_IF_ERROR(internal::FromGrpc(stub.GetConsistencyProof(context.get(), request, &response)));
  TRYGG_ASSIGN_OR_RETURN(std::vector<Hash256> path, PathFromServer(response.path()));
  absl::Status consistent = audit::VerifyConsistency(previous.tree_size, head.tree_size,
                                                     previous.root_hash, head.root_hash, path);
  if (!consistent.ok()) {
    return Lying("the log of " + sizes + " entries is not an extension of the one this device verified before: " +
                 std::string(consistent.message()));
  }
  return absl::OkStatus();
}

// Each receipt (`ordered` by first index): present, newer than what the device
// knew when the write began, inside the head, and not overlapping another
// write's.
absl::Status CheckReceipts(const std::vector<PendingAuditWrite>& ordered, const audit::TreeHead& head) {
  uint64_t previous_end = 0;
  for (const PendingAuditWrite& write : ordered) {
    const std::string range = "entries " + std::to_string(write.first_index) + "+" + std::to_string(write.count);
    if (!write.has_receipt) {
      return Lying("the server confirmed a " + write.expected.what +
                   " without an audit receipt; its entry may be missing from the log");
    }
    if (write.first_index < write.floor) {
      return Lying("the receipt of a " + write.expected.what + " names " + range +
                   ", older than the write (the log already had " + std::to_string(write.floor) + ")");
    }
    if (write.first_index > head.tree_size || write.count > head.tree_size - write.first_index) {
      return Lying("the receipt of a " + write.expected.what + " names " + range +
                   ", beyond the latest signed head of " + std::to_string(head.tree_size) + " entries");
    }
    if (write.first_index < previous_end) {
      return Lying("the receipts of two writes name the same entries (" + range + ")");
    }
    previous_end = write.first_index + write.count;
  }
  return absl::OkStatus();
}

// One entry of `write` at `index`: the entry the server sent for it, naming
// this device as actor, timed within the call, and included in `head`.
absl::StatusOr<audit::AuditEvent> CheckWriteEntry(trygg::v1::AuditService::Stub& stub, const Client& client,
                                                  const PendingAuditWrite& write, uint64_t index,
                                                  const trygg::v1::AuditEntry& entry, const audit::TreeHead& head) {
  const std::string where = "entry " + std::to_string(index) + " (" + write.expected.what + ")";
  const absl::Span<const uint8_t> bytes = internal::AsSpan(entry.entry());
  if (entry.index() != index) return Lying(where + ": the server sent entry " + std::to_string(entry.index()));
  absl::StatusOr<audit::AuditEvent> event = audit::DecodeAuditEvent(bytes);
  if (!event.ok()) return Lying(where + " is malformed: " + std::string(event.status().message()));
  if (event->actor_device_id != write.actor_device.array() || event->actor_org_id != write.actor_org.array()) {
    return Lying(where + " names another actor than this device");
  }
  if (event->time_ms < write.started_ms - kClockSkewMs || event->time_ms > write.finished_ms + kClockSkewMs) {
    return Lying(where + " has a time outside the call that made it");
  }
  auto context = client.NewCallContext();
  trygg::v1::GetInclusionProofRequest request;
  request.set_leaf_index(index);
  request.set_tree_size(head.tree_size);
  trygg::v1::GetInclusionProofResponse proof;
  TRYGG_RETURN_IF_ERROR(internal::FromGrpc(stub.GetInclusionProof(context.get(), request, &proof)));
  TRYGG_ASSIGN_OR_RETURN(std::vector<Hash256> path, PathFromServer(proof.path()));
  absl::Status included = audit::VerifyInclusion(audit::HashLeaf(bytes), index, head.tree_size, path, head.root_hash);
  if (!included.ok()) {
    return Lying(where + " is not in the signed tree of " + std::to_string(head.tree_size) +
                 " entries: " + std::string(included.message()));
  }
  return event;
}

// This device's write: its entries are in the tree, and one of them says what
// it did. Returns the number of entries checked.
absl::StatusOr<uint32_t> CheckWrite(trygg::v1::AuditService::Stub& stub, const Client& client,
                                    const PendingAuditWrite& write, const audit::TreeHead& head) {
  TRYGG_ASSIGN_OR_RETURN(std::vector<trygg::v1::AuditEntry> entries, FetchEntries(stub, write, client));
  bool matched = false;
  for (uint32_t i = 0; i < write.count; ++i) {
    TRYGG_ASSIGN_OR_RETURN(audit::AuditEvent event,
                           CheckWriteEntry(stub, client, write, write.first_index + i, entries[i], head));
    matched = matched || Matches(event, write.expected);
  }
  if (!matched) {
    return Lying("no entry of the " + write.expected.what + " at " + std::to_string(write.first_index) +
                 " records what this device did");
  }
  return write.count;
}

}  // namespace

int64_t Client::NowMs() const {
  if (options_.clock != nullptr) return options_.clock->NowUnixMillis();
  SystemClock system;
  return system.NowUnixMillis();
}

AuditWriteStart Client::BeginAuditedWrite() const { return AuditWriteStart{audit_->KnownSize(), NowMs()}; }

void Client::ExpectAuditEntries(const grpc::ClientContext& context, const AuditWriteStart& start,
                                const Id128& actor_org, AuditExpectation expected) {
  const std::optional<Session> session = current_session();
  if (!session.has_value()) return;
  audit_->Expect(context, start, NowMs(), session->device_id, actor_org, std::move(expected));
  // Best effort: a receipt not yet on disk is still checked by this Client;
  // only a crash before the next successful save would forget it.
  (void)SaveState();
}

size_t Client::pending_audit_writes() const { return audit_->pending_count(); }

absl::Status Client::ForgetAuditState() {
  std::lock_guard<std::mutex> verifying(audit_->verify_mu());
  audit_->Forget();
  return SaveState(StateSave::kReplace);
}

std::optional<AuditHead> Client::audit_head() const { return audit_->head(); }

absl::StatusOr<AuditTrailReport> Client::VerifyAuditTrail() {
  std::lock_guard<std::mutex> verifying(audit_->verify_mu());
  TRYGG_RETURN_IF_ERROR(audit_->damaged());
  // Taken before the head is fetched: the server signs a head covering every
  // committed write whenever the log grew, so each of these writes, whose
  // reply came before, must lie inside it.
  std::vector<PendingAuditWrite> ordered = audit_->pending();
  std::sort(ordered.begin(), ordered.end(), [](const PendingAuditWrite& a, const PendingAuditWrite& b) {
    return a.first_index < b.first_index;
  });
  TRYGG_ASSIGN_OR_RETURN(const ServerInfo info, GetServerInfo());
  if (!info.server_certificate.has_value()) {
    return absl::FailedPreconditionError(
        "audit log: the server presents no key certified by the platform root, so its tree heads prove nothing");
  }
  auto stub = trygg::v1::AuditService::NewStub(channel());

  TRYGG_ASSIGN_OR_RETURN(const audit::TreeHead head, FetchSignedHead(*stub, *this, info.server_public_key));
  const std::optional<AuditHead> previous = audit_->head();
  if (previous.has_value()) TRYGG_RETURN_IF_ERROR(CheckExtends(*stub, *this, *previous, head));
  TRYGG_RETURN_IF_ERROR(CheckReceipts(ordered, head));

  AuditTrailReport report;
  report.previous_tree_size = previous.has_value() ? previous->tree_size : 0;
  for (const PendingAuditWrite& write : ordered) {
    TRYGG_ASSIGN_OR_RETURN(const uint32_t entries, CheckWrite(*stub, *this, write, head));
    report.entries_verified += entries;
  }
  report.head.tree_size = head.tree_size;
  report.head.timestamp_ms = head.timestamp_ms;
  report.head.root_hash = head.root_hash;
  report.writes_verified = ordered.size();
  report.writes_pending = audit_->pending_count() - ordered.size();
  audit_->Advance(report.head, ordered);
  TRYGG_RETURN_IF_ERROR(SaveState());
  return report;
}

}  // namespace trygg
