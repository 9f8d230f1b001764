// SPDX-License-Identifier: Apache-2.0

// libtrygg's AuditWitness (internal/audit_witness.h) on its own: how a
// session folds in the queue another session of the device saved. No server:
// writes come in through a saved queue, as from the state file.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>

#include "internal/audit_witness.h"
#include "src/internal/client_state.pb.h"
#include "trygg/bytes.h"

namespace trygg::internal {
namespace {

std::string Hex(uint8_t fill, size_t bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < bytes; ++i) {
    hex.push_back(kDigits[fill >> 4]);
    hex.push_back(kDigits[fill & 15]);
  }
  return hex;
}

// `n` writes of two entries each, the i-th from entry 2i, as a session that
// made them saved them.
SavedAudit SavedQueue(int n) {
  SavedAudit saved;
  for (int i = 0; i < n; ++i) {
    SavedAuditWrite& w = *saved.add_pending();
    w.set_has_receipt(true);
    w.set_first_index(2 * static_cast<uint64_t>(i));
    w.set_count(2);
    w.set_floor(2 * static_cast<uint64_t>(i));
    w.set_started_ms(1000 + i);
    w.set_finished_ms(1001 + i);
    w.set_actor_device(Hex(0xd1, 16));
    w.set_actor_org(Hex(0x01, 16));
    w.set_what("case version");
    w.set_kinds(1);
    w.set_subject(0);
    w.set_subject_id(Hex(static_cast<uint8_t>(i), 16));
  }
  return saved;
}

TEST_CASE("a session remembers the newest writes it verified, so another session's older queue does not bring "
          "them back, and only a bounded number of them",
          "[audit][client]") {
  constexpr int kWrites = 10;
  constexpr size_t kRemember = 4;
  const SavedAudit saved = SavedQueue(kWrites);
  AuditWitness witness(kRemember);
  witness.MergeFrom(saved);
  REQUIRE(witness.pending_count() == kWrites);

  AuditHead head;
  head.tree_size = 2 * kWrites;
  head.timestamp_ms = 5000;
  witness.Advance(head, witness.pending());
  REQUIRE(witness.pending_count() == 0);

  // Another session saved the queue before this one verified it. The newest
  // writes are known and stay proven; the older ones, forgotten, are queued
  // to be verified again: work, nothing let through.
  witness.MergeFrom(saved);
  CHECK(witness.pending_count() == kWrites - kRemember);
  for (const PendingAuditWrite& w : witness.pending()) {
    CHECK(w.first_index < 2 * (kWrites - kRemember));
  }

  // Verifying those (writes 0 to 5) again makes the last four of them, 2 to
  // 5, the ones remembered: the same queue folded in once more brings back
  // the rest.
  witness.Advance(head, witness.pending());
  REQUIRE(witness.pending_count() == 0);
  witness.MergeFrom(saved);
  std::set<uint64_t> back;
  for (const PendingAuditWrite& w : witness.pending()) back.insert(w.first_index / 2);
  CHECK(back == std::set<uint64_t>{0, 1, 6, 7, 8, 9});
}

TEST_CASE("a session with room for every write it verified takes none of them back from an older queue",
          "[audit][client]") {
  const SavedAudit saved = SavedQueue(50);
  AuditWitness witness;  // the default memory
  witness.MergeFrom(saved);
  AuditHead head;
  head.tree_size = 100;
  witness.Advance(head, witness.pending());
  witness.MergeFrom(saved);
  CHECK(witness.pending_count() == 0);
}

}  // namespace
}  // namespace trygg::internal
