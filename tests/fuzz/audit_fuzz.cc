// SPDX-License-Identifier: Apache-2.0

// The audit log as a device or auditor checks it (trygg/audit/*.h): audit
// entries, tree heads, audit receipts, and inclusion and consistency proofs.
//
// The first byte picks a mode:
//   0: DecodeAuditEvent, DecodeTreeHead, DecodeAuditReceipt and
//      DecodeRestoreNotice on the raw bytes; what each accepts encodes back
//      to exactly the input;
//   1: proof verification on made-up sizes, roots and proofs (never crashes,
//      never loops for long);
//   2: a real tree of 1..200 leaves from the input (the server's MerkleTree),
//      whose true inclusion and consistency proofs must verify, and which
//      must fail with one bit flipped, one hash dropped or added, or another
//      index or size.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "server/audit/memory_node_store.h"
#include "server/audit/merkle_tree.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/receipt.h"
#include "trygg/audit/restore_notice.h"
#include "trygg/audit/tree_head.h"
#include "trygg/audit/verify.h"

namespace trygg::fuzz {
namespace {

using audit::VerifyConsistency;
using audit::VerifyInclusion;

void Decoders(FuzzInput& in) {
  std::span<const uint8_t> bytes = in.Rest();
  const std::vector<uint8_t> input(bytes.begin(), bytes.end());
  absl::StatusOr<audit::AuditEvent> event = audit::DecodeAuditEvent(absl::MakeConstSpan(input));
  if (event.ok()) TRYGG_FUZZ_CHECK(audit::EncodeAuditEvent(*event) == input);
  absl::StatusOr<audit::TreeHead> head = audit::DecodeTreeHead(absl::MakeConstSpan(input));
  if (head.ok()) {
    const audit::EncodedTreeHead again = audit::EncodeTreeHead(*head);
    TRYGG_FUZZ_CHECK(std::vector<uint8_t>(again.begin(), again.end()) == input);
  }
  absl::StatusOr<audit::RestoreNotice> notice = audit::DecodeRestoreNotice(absl::MakeConstSpan(input));
  if (notice.ok()) {
    const audit::EncodedRestoreNotice again = audit::EncodeRestoreNotice(*notice);
    TRYGG_FUZZ_CHECK(std::vector<uint8_t>(again.begin(), again.end()) == input);
  }
  const std::string text(input.begin(), input.end());
  std::optional<audit::AuditReceipt> receipt = audit::DecodeAuditReceipt(text);
  if (receipt.has_value()) TRYGG_FUZZ_CHECK(audit::EncodeAuditReceipt(*receipt) == text);
}

std::vector<Hash256> Hashes(FuzzInput& in, size_t max) {
  std::vector<Hash256> out;
  const size_t n = in.Byte() % (max + 1);
  for (size_t i = 0; i < n; ++i) out.push_back(Hash256::FromSpan(in.Padded(32)).value());
  return out;
}

uint64_t Size(FuzzInput& in) {
  const uint64_t high = in.U32();
  return (high << 32) | in.U32();
}

void MadeUp(FuzzInput& in) {
  const uint64_t a = Size(in);
  const uint64_t b = Size(in);
  const Hash256 r1 = Hash256::FromSpan(in.Padded(32)).value();
  const Hash256 r2 = Hash256::FromSpan(in.Padded(32)).value();
  const std::vector<Hash256> proof = Hashes(in, 80);
  (void)VerifyInclusion(r1, a, b, proof, r2);
  (void)VerifyConsistency(a, b, r1, r2, proof);
  (void)audit::VerifyLogRoot(proof, a % 100, r1);
}

void RealTree(FuzzInput& in) {
  audit::MemoryNodeStore store;
  audit::MerkleTree tree(&store);
  const size_t n = 1 + in.Byte() % 200;
  std::vector<Hash256> leaves;
  for (size_t i = 0; i < n; ++i) {
    std::span<const uint8_t> entry = in.Bytes(in.Byte() % 8);
    leaves.push_back(audit::HashLeaf(absl::MakeConstSpan(entry.data(), entry.size())));
  }
  TRYGG_FUZZ_CHECK(tree.AppendLeafHashes(leaves).ok());
  const uint64_t size = 1 + in.U32() % n;
  const uint64_t index = in.U32() % size;
  const uint64_t first = 1 + in.U32() % size;
  const uint8_t flip = in.Byte();
  const Hash256 root = tree.Root(size).value();
  const Hash256 first_root = tree.Root(first).value();
  TRYGG_FUZZ_CHECK(audit::VerifyLogRoot(absl::MakeConstSpan(leaves).first(size), size, root).ok());

  std::vector<Hash256> inclusion = tree.InclusionProof(index, size).value();
  TRYGG_FUZZ_CHECK(VerifyInclusion(leaves[index], index, size, inclusion, root).ok());
  if (size > 1) {
    TRYGG_FUZZ_CHECK(!VerifyInclusion(leaves[index], (index + 1) % size, size, inclusion, root).ok() ||
                     leaves[index] == leaves[(index + 1) % size]);
  }
  if (!inclusion.empty()) {
    std::vector<Hash256> bad = inclusion;
    bad[flip % bad.size()].data()[flip % 32] ^= 0x01;
    TRYGG_FUZZ_CHECK(!VerifyInclusion(leaves[index], index, size, bad, root).ok());
    bad = inclusion;
    bad.pop_back();
    TRYGG_FUZZ_CHECK(!VerifyInclusion(leaves[index], index, size, bad, root).ok());
  }
  std::vector<Hash256> longer = inclusion;
  longer.push_back(root);
  TRYGG_FUZZ_CHECK(!VerifyInclusion(leaves[index], index, size, longer, root).ok());

  std::vector<Hash256> consistency = tree.ConsistencyProof(first, size).value();
  TRYGG_FUZZ_CHECK(VerifyConsistency(first, size, first_root, root, consistency).ok());
  if (!consistency.empty()) {
    std::vector<Hash256> bad = consistency;
    bad[flip % bad.size()].data()[flip % 32] ^= 0x01;
    TRYGG_FUZZ_CHECK(!VerifyConsistency(first, size, first_root, root, bad).ok());
  }
  if (first < size && first_root != root) {
    // The first root given as the second: a rollback must not pass.
    TRYGG_FUZZ_CHECK(!VerifyConsistency(first, size, root, first_root, consistency).ok());
  }
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trygg::fuzz::FuzzInput in(data, size);
  switch (in.Byte() % 3) {
    case 0: trygg::fuzz::Decoders(in); break;
    case 1: trygg::fuzz::MadeUp(in); break;
    default: trygg::fuzz::RealTree(in); break;
  }
  return 0;
}
