// SPDX-License-Identifier: Apache-2.0

// The operator's signed restore notice (trygg/audit/restore_notice.h): its
// encoding, its signature context, and what it may and may not explain.
#include "trygg/audit/restore_notice.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "trygg/audit/hash.h"
#include "trygg/random.h"

namespace trygg::audit {
namespace {

struct Log {
  Hash256 a = HashLeaf("entry 0");
  Hash256 b = HashLeaf("entry 1");
  Hash256 c = HashLeaf("entry 2, on the branch that was lost");
  Hash256 root1 = a;
  Hash256 root2 = HashChildren(a, b);          // the restored log grown by one
  Hash256 root2_lost = HashChildren(a, c);     // the log the restore abandoned
};

RestoreNotice Notice(const Log& log) {
  RestoreNotice notice;
  notice.restored_tree_size = 1;
  notice.restored_root_hash = log.root1;
  notice.restored_at_ms = 2'000;
  notice.superseded = TreeHead{2, 1'500, log.root2_lost};
  return notice;
}

TEST_CASE("a restore notice encodes to its documented 98 bytes and back", "[audit][restore]") {
  const Log log;
  const RestoreNotice notice = Notice(log);
  const EncodedRestoreNotice bytes = EncodeRestoreNotice(notice);
  CHECK(bytes.size() == 98);
  CHECK(bytes[0] == 1);
  CHECK(bytes[8] == 1);    // restored tree_size, big-endian
  CHECK(bytes[48] == 0xd0);  // restored_at_ms 2000 = 0x07d0
  CHECK(bytes[49] == 1);   // has a superseded head
  CHECK(bytes[57] == 2);   // its size
  REQUIRE(DecodeRestoreNotice(bytes).ok());
  CHECK(*DecodeRestoreNotice(bytes) == notice);

  RestoreNotice without = notice;
  without.superseded.reset();
  CHECK(*DecodeRestoreNotice(EncodeRestoreNotice(without)) == without);
}

TEST_CASE("a malformed restore notice is refused with the reason", "[audit][restore]") {
  const Log log;
  const EncodedRestoreNotice good = EncodeRestoreNotice(Notice(log));
  std::vector<uint8_t> bytes(good.begin(), good.end());
  CHECK(DecodeRestoreNotice(absl::MakeConstSpan(bytes.data(), 97)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  bytes.push_back(0);
  CHECK(DecodeRestoreNotice(bytes).status().code() == absl::StatusCode::kInvalidArgument);
  bytes.pop_back();
  bytes[0] = 2;
  CHECK(DecodeRestoreNotice(bytes).status().message().find("version") != absl::string_view::npos);
  bytes[0] = 1;
  bytes[49] = 2;
  CHECK(DecodeRestoreNotice(bytes).status().code() == absl::StatusCode::kInvalidArgument);
  // Without a superseded head its fields must be zero: one encoding each.
  bytes[49] = 0;
  CHECK(DecodeRestoreNotice(bytes).status().message().find("non-zero") != absl::string_view::npos);
}

TEST_CASE("a restore notice verifies only as a restore notice, under the server's key", "[audit][restore]") {
  DeterministicRng rng(0x7e);
  const SigningKeyPair server = GenerateSigningKeyPair(rng);
  const SigningKeyPair other = GenerateSigningKeyPair(rng);
  const Log log;
  SignedRestoreNotice signed_notice = SignRestoreNotice(server, Notice(log));
  CHECK(VerifyRestoreNoticeSignature(signed_notice, server.public_key).ok());
  CHECK(VerifyRestoreNoticeSignature(signed_notice, other.public_key).code() == absl::StatusCode::kPermissionDenied);

  SignedRestoreNotice changed = signed_notice;
  changed.notice.restored_at_ms += 1;
  CHECK(VerifyRestoreNoticeSignature(changed, server.public_key).code() == absl::StatusCode::kPermissionDenied);

  // The same key signs tree heads: a tree-head signature over the notice's
  // bytes is not a notice signature.
  const EncodedRestoreNotice bytes = EncodeRestoreNotice(signed_notice.notice);
  SignedRestoreNotice relabelled = signed_notice;
  relabelled.signature = Sign(server, SigningContext::kTreeHead, bytes);
  CHECK(VerifyRestoreNoticeSignature(relabelled, server.public_key).code() == absl::StatusCode::kPermissionDenied);
}

TEST_CASE("a restore notice explains only an earlier head, within what it abandoned, and a log that extends the "
          "restored one",
          "[audit][restore]") {
  const Log log;
  const RestoreNotice notice = Notice(log);
  const TreeHead saved{2, 1'500, log.root2_lost};   // what the auditor saw before the restore
  const TreeHead latest{2, 2'500, log.root2};       // the restored log, grown by one entry
  const std::vector<Hash256> proof = {log.b};       // RFC 9162 consistency proof 1 -> 2

  CHECK(CheckRestoreExplains(notice, saved, latest, proof).ok());
  // Equal sizes: no proof, equal roots.
  CHECK(CheckRestoreExplains(notice, saved, TreeHead{1, 2'100, log.root1}, {}).ok());

  SECTION("a head signed after the restore: an old notice never covers a new rollback") {
    const TreeHead later{2, 2'000, log.root2_lost};
    CHECK(CheckRestoreExplains(notice, later, latest, proof).code() == absl::StatusCode::kFailedPrecondition);
  }
  SECTION("a saved head larger than the one the notice says it abandoned") {
    const TreeHead bigger{3, 1'900, log.root2_lost};
    CHECK(CheckRestoreExplains(notice, bigger, latest, proof).code() == absl::StatusCode::kFailedPrecondition);
    RestoreNotice unknown = notice;  // a restore into an empty directory names no superseded head
    unknown.superseded.reset();
    CHECK(CheckRestoreExplains(unknown, bigger, latest, proof).ok());
  }
  SECTION("a latest head that does not extend the restored log") {
    CHECK(CheckRestoreExplains(notice, saved, TreeHead{2, 2'500, log.root2_lost}, {log.c}).ok());  // same prefix
    const TreeHead elsewhere{2, 2'500, HashChildren(log.b, log.c)};
    CHECK(CheckRestoreExplains(notice, saved, elsewhere, {log.c}).code() == absl::StatusCode::kDataLoss);
    CHECK(CheckRestoreExplains(notice, saved, TreeHead{0, 2'500, EmptyTreeRoot()}, {}).code() ==
          absl::StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace trygg::audit
