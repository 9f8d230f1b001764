// AuditWitness: a device's own memory of the server's audit log. It keeps the
// last tree head the device verified and the writes it has made since, each
// with the range of entries the server's receipt named and what those entries
// must say (AuditExpectation, client.h). Client::VerifyAuditTrail uses it to
// prove that the log records this device's writes and was never rewritten.
//
// Ownership: owned by one Client. Thread-safety: every method locks; a
// verification works on a snapshot, so writes may continue meanwhile.
// Failure modes: FromJson returns DATA_LOSS for a damaged state entry.
#ifndef TRYGG_CLIENT_LIB_INTERNAL_AUDIT_WITNESS_H_
#define TRYGG_CLIENT_LIB_INTERNAL_AUDIT_WITNESS_H_

#include <initializer_list>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "server/audit/audit_entry.h"
#include "trygg/client.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace trygg::internal {

inline constexpr char kAuditReceiptKey[] = "trygg-audit-receipt-bin";
inline constexpr size_t kAuditReceiptSize = 12;

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
  return AuditExpectation{std::move(what), KindBits(kinds), subject, subject_id, number};
}

// One write waiting to be checked.
struct PendingAuditWrite {
  // False when the server's reply carried no (well-formed) receipt: reported
  // by the next verification, since a receipt-less reply is what a server
  // hiding a write from its log would send.
  bool has_receipt = false;
  uint64_t first_index = 0;
  uint32_t count = 0;
  Id128 actor_device;
  Id128 actor_org;
  AuditExpectation expected;
};

class AuditWitness {
 public:
  // Parses the receipt of a finished, successful call and queues the write.
  void Expect(const grpc::ClientContext& context, const Id128& device, const Id128& org,
              AuditExpectation expected);

  std::optional<AuditHead> head() const;
  std::vector<PendingAuditWrite> pending() const;
  size_t pending_count() const;

  // After a verification: the new head, and the writes it proved (removed
  // from the queue; writes queued meanwhile stay).
  void Advance(const AuditHead& head, const std::vector<PendingAuditWrite>& verified);

  // Drops the head and every queued write.
  void Forget();

  nlohmann::json ToJson() const;
  absl::Status FromJson(const nlohmann::json& json);

 private:
  mutable std::mutex mu_;
  std::optional<AuditHead> head_;
  std::vector<PendingAuditWrite> pending_;
};

}  // namespace trygg::internal

#endif  // TRYGG_CLIENT_LIB_INTERNAL_AUDIT_WITNESS_H_
