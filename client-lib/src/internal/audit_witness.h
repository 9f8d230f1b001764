// SPDX-License-Identifier: Apache-2.0

// AuditWitness: a device's own memory of the server's audit log. It keeps the
// last tree head the device verified and the writes it has made since, each
// with the range of entries the server's receipt named and what those entries
// must say (AuditExpectation, client.h). Client::VerifyAuditTrail uses it to
// prove that the log records this device's writes and was never rewritten.
//
// Ownership: owned by one Client. Thread-safety: every method locks; a
// verification works on a snapshot, so writes may continue meanwhile.
// Failure modes: a damaged audit part of the state file is not an error of
// Load but a DATA_LOSS that damaged() reports until Forget.
#ifndef TRYGG_CLIENT_LIB_INTERNAL_AUDIT_WITNESS_H_
#define TRYGG_CLIENT_LIB_INTERNAL_AUDIT_WITNESS_H_

#include <initializer_list>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/receipt.h"
#include "trygg/client.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace trygg::internal {

class SavedAudit;  // internal/client_state.proto

// The AuditExpectation::kinds bit set of `kinds`.
constexpr uint32_t KindBits(std::initializer_list<audit::AuditEventKind> kinds) {
  uint32_t bits = 0;
  for (audit::AuditEventKind kind : kinds) bits |= uint32_t{1} << static_cast<int>(kind);
  return bits;
}

// What a write's entries must include: one of `kinds` about `subject_id`.
inline AuditExpectation Expecting(std::string what, std::initializer_list<audit::AuditEventKind> kinds,
                                  AuditSubject subject = AuditSubject::kNone, const Id128& subject_id = {},
                                  std::optional<uint32_t> number = std::nullopt) {
  AuditExpectation e;
  e.what = std::move(what);
  e.kinds = KindBits(kinds);
  e.subject = subject;
  e.subject_id = subject_id;
  e.number = number;
  return e;
}

// One write waiting to be checked.
struct PendingAuditWrite {
  uint64_t seq = 0;  // this process's handle, not persisted
  // False when the server's reply carried no (well-formed) receipt: reported
  // by the next verification, since a receipt-less reply is what a server
  // hiding a write from its log would send.
  bool has_receipt = false;
  uint64_t first_index = 0;
  uint32_t count = 0;
  // The write began when the device knew of `floor` entries, and ran from
  // started_ms to finished_ms (device clock).
  uint64_t floor = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  Id128 actor_device;
  Id128 actor_org;
  AuditExpectation expected;
};

class AuditWitness {
 public:
  // How many verified writes are remembered (verified_, below).
  static constexpr size_t kRememberVerified = 4096;
  explicit AuditWitness(size_t remember_verified = kRememberVerified) : remember_verified_(remember_verified) {}

  // What the device knows of the log now: the verified head's size, or the
  // end of a receipt it received since, whichever is larger.
  uint64_t KnownSize() const;

  // Parses the receipt of a finished, successful call and queues the write.
  void Expect(const grpc::ClientContext& context, const AuditWriteStart& start, int64_t finished_ms,
              const Id128& device, const Id128& org, AuditExpectation expected);

  std::optional<AuditHead> head() const;
  std::vector<PendingAuditWrite> pending() const;
  size_t pending_count() const;

  // After a verification: the new head, and the writes it proved (removed
  // from the queue by seq; writes queued meanwhile stay).
  void Advance(const AuditHead& head, const std::vector<PendingAuditWrite>& verified);
  // Drops the head, every queued write and a damage mark.
  void Forget();

  // The audit part of the state file.
  void ToSaved(SavedAudit& out) const;
  // Loads the audit part of the state file. On a damaged one (`saved` that
  // fails the checks, or nullptr when the part did not parse at all) it
  // remembers the error for VerifyAuditTrail instead of failing: the org log
  // heads beside it stay usable, and ForgetAuditState clears it.
  void Load(const SavedAudit* saved);
  // Folds in the audit part another session of this device saved: the larger
  // verified head, and each queued write this one does not hold. Two heads of
  // one size with different roots mark the witness damaged (a fork shown to
  // two sessions). A damaged part is ignored (this session's replaces it).
  void MergeFrom(const SavedAudit& saved);
  absl::Status damaged() const;

  // Held for the whole of a verification (and by Forget), so that two
  // verifications never move the remembered head past each other.
  std::mutex& verify_mu() { return verify_mu_; }

 private:
  absl::Status Parse(const SavedAudit& saved);
  // Sets known_size_ from head_ and pending_ (after anything but Expect
  // changes them; Expect keeps it up to date itself, so KnownSize, asked
  // before every write, never walks the queue).
  void RecountKnownSizeLocked();

  std::mutex verify_mu_;
  mutable std::mutex mu_;
  absl::Status damaged_;
  std::optional<AuditHead> head_;
  std::vector<PendingAuditWrite> pending_;
  // The writes this witness verified most recently (since the last Forget),
  // so that a save folding in another session's older copy of the queue does
  // not queue them again. At most remember_verified_ of them, the newest: a
  // long-running process (a partner app's server, trygg-app left open) would
  // otherwise hold every write it ever verified, and build a lookup set of
  // them on every save. One that was forgotten and comes back from such a
  // copy is only verified again (its entries are still in the log, under a
  // larger head): work, never a write let through unchecked.
  std::vector<PendingAuditWrite> verified_;
  size_t remember_verified_;
  uint64_t next_seq_ = 1;
  // KnownSize's answer: the larger of head_'s size and the end of every
  // receipt in pending_.
  uint64_t known_size_ = 0;
};

}  // namespace trygg::internal

#endif  // TRYGG_CLIENT_LIB_INTERNAL_AUDIT_WITNESS_H_
