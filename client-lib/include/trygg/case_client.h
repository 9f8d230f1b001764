// SPDX-License-Identifier: Apache-2.0

// CaseClient: a caseworker's cases, end to end encrypted. It seals each
// version on the device (record envelopes, protocol.md section 5), grants the
// case's scope key to the organisation's current key, and on reading verifies
// every version (author signature against the verified organisation log,
// scope, epoch, the prev_hash chain) before returning plaintext. What this
// device has seen of each case (its highest version and that version's record
// hash) is remembered through the Client in its state file, so a server that
// later shows fewer versions or another record under a version seen is caught
// even by a new Client (DATA_LOSS, kRollback or kFork; docs/protocol.md 14).
//
// Ownership: borrows the Client (logged in) and the device's key store
// contents; both must outlive the CaseClient. Plaintext is returned in
// ordinary memory to the caller, which owns it.
// Thread-safety: safe to call from several threads. Calls on one CaseClient
// run one at a time (each holds the client for its duration, including
// DownloadAttachment's sink and RekeyStaleCases' progress callbacks, which
// must not wait for another thread's call on the same CaseClient). For cases
// worked on in parallel, give each thread a CaseClient of its own over the
// same Client (a pool); they share the Client's verified state. The Clock and
// Rng given must be safe to share (SystemClock and SystemRng are).
// Failure modes: server statuses as Client returns them (NOT_FOUND for a case
// the organisation may not see); verification failures carry a CryptoError;
// FailedPrecondition when this device lacks the organisation key needed.
#ifndef TRYGG_CASE_CLIENT_H_
#define TRYGG_CASE_CLIENT_H_

#include <functional>
#include <istream>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/attachment.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/record.h"
#include "trygg/workflow.h"

namespace trygg {

struct CaseVersion {
  RecordHeader header;
  std::vector<uint8_t> plaintext;
  // The hashes of the version's attachments, as its author signed them; fetch
  // one with DownloadAttachment(case, version, index).
  std::vector<Hash256> attachment_hashes;
};

// An attachment for a new version: `size` plaintext bytes read from `in` (a
// file, a pipe). It is encrypted on the fly in 64 KiB chunks, so memory use
// does not depend on its size (protocol.md section 6).
struct AttachmentInput {
  std::istream* in = nullptr;
  uint64_t size = 0;
};

struct CaseRead {
  Id128 case_id;
  std::vector<CaseVersion> versions;
};

// A case's current scope as this client last read it, with a copy of its
// key (in locked memory, wiped when the CaseScope dies).
struct CaseScope {
  Id128 scope_id;
  uint32_t epoch = 0;
  SecretKey key;
};

struct CaseListing {
  Id128 case_id;
  Id128 owner_org;
  uint64_t head_version = 0;
  int64_t updated_at_ms = 0;
};

struct RekeyReport {
  size_t cases_checked = 0;  // cases this organisation owns
  size_t cases_rekeyed = 0;  // moved to a new epoch by this call
};

class CaseClient {
 public:
  CaseClient(Client& client, const KeyStoreContents& self, Clock& clock, Rng& rng)
      : client_(client), self_(self), clock_(clock), rng_(rng) {}

  // Opens a case with its first version; returns the new case id.
  absl::StatusOr<Id128> CreateCase(std::span<const uint8_t> plaintext, uint16_t content_type);
  // Adds a version on top of the head this client last read. Attachments are
  // uploaded first (each under the new version's data key), then the version
  // that signs their hashes; at most 1 GiB each.
  absl::StatusOr<uint64_t> AppendVersion(const Id128& case_id, std::span<const uint8_t> plaintext,
                                         uint16_t content_type,
                                         const std::vector<AttachmentInput>& attachments = {});
  // Streams attachment `index` of `version` to `plaintext_sink`, decrypting and
  // authenticating chunk by chunk; the sink's output counts only if this
  // returns OK (a truncated, reordered or substituted stream fails at the end
  // or earlier: kTruncated, kDecryptFailed, kHashMismatch).
  absl::Status DownloadAttachment(const Id128& case_id, uint64_t version, size_t index,
                                  const ByteSink& plaintext_sink);
  // Fetches, verifies and opens every version.
  absl::StatusOr<CaseRead> ReadCase(const Id128& case_id);
  absl::StatusOr<std::vector<CaseListing>> ListCases();
  absl::Status EraseCase(const Id128& case_id);
  // The scope key new content of the case (consent evidence) is sealed
  // under. Reads the case first if this client has not yet, and re-keys it
  // first (Rekey) when it needs one and this organisation owns it, so that
  // nothing new is ever sealed under a key a revoked device may hold.
  absl::StatusOr<CaseScope> CurrentScope(const Id128& case_id);
  // Opens a blob sealed under any epoch of the case's scope that this
  // organisation holds (SealBlob, workflow.h): content sealed before a
  // re-key stays readable to the organisation's current devices.
  absl::StatusOr<std::vector<uint8_t>> OpenScopeBlob(const Id128& case_id, BlobKind kind, const Id128& object_id,
                                                     std::span<const uint8_t> blob);

  // Revocation that revokes (docs/threat-model.md, "Revocation"). A case
  // needs a re-key when its current epoch is granted to this organisation
  // only under an older organisation key generation than the verified log's
  // current one: a device revoked since then may hold that generation, and
  // with it the scope key of everything written at that epoch.
  absl::StatusOr<bool> NeedsRekey(const Id128& case_id);
  // Moves the case to a new epoch: a fresh scope key, granted to this
  // organisation's current generation only, and a version that carries the
  // latest content (no attachments; those stay readable in their own
  // versions). Only the owning organisation may do this (PERMISSION_DENIED
  // from the server otherwise). Returns the new version.
  absl::StatusOr<uint64_t> Rekey(const Id128& case_id);
  // Re-keys every case this organisation owns that needs it. Idempotent and
  // resumable: a run that was cut off is completed by running it again.
  // `progress`, if set, is told (done, total) after each case.
  absl::StatusOr<RekeyReport> RekeyStaleCases(const std::function<void(size_t, size_t)>& progress = {});

 private:
  struct Known {
    Id128 scope_id;
    Id128 record_id;
    Id128 owner_org;  // the author organisation of version 1
    uint32_t epoch = 0;
    RecordChainState chain;
    SecretKey scope_key;
    // Every epoch's scope key this organisation holds, the current one too.
    std::map<uint32_t, SecretKey> epoch_keys;
    // The current epoch's grant is sealed to an older organisation generation.
    bool grant_stale = false;
    // Per version read or written: its data key and attachment hashes.
    std::map<uint64_t, SecretKey> data_keys;
    std::map<uint64_t, std::vector<Hash256>> attachments;
  };
  absl::StatusOr<Hash256> UploadAttachment(const Id128& case_id, const Id128& record_id, const SecretKey& data_key,
                                           const AttachmentInput& input);
  // Moves a case this client has just read to the next epoch, with a version
  // carrying `latest` (the newest version read).
  absl::StatusOr<uint64_t> RekeyFrom(const Id128& case_id, const CaseVersion& latest);
  absl::StatusOr<Grant> GrantToOwnOrg(const Id128& scope_id, uint32_t epoch, const SecretKey& scope_key);
  // Seals the next version of `known` at `epoch` under `scope_key`, sends it
  // (with `grant` of that epoch, if any), queues its audit expectation,
  // remembers the new head, and advances `known`'s chain.
  absl::StatusOr<uint64_t> SendVersion(const Id128& case_id, Known& known, uint32_t epoch,
                                       const SecretKey& scope_key, std::span<const uint8_t> plaintext,
                                       uint16_t content_type, std::vector<Hash256> attachment_hashes, SecretKey dek,
                                       const Grant* grant, std::string_view what);

  Client& client_;
  const KeyStoreContents& self_;
  Clock& clock_;
  Rng& rng_;
  // Held for each public call: what this client knows of its cases (known_)
  // changes as a call reads and writes, so calls run one at a time.
  // Recursive: a call may make another (AppendVersion reads the case first).
  std::recursive_mutex mu_;
  std::map<Id128, Known> known_;
};

}  // namespace trygg

#endif  // TRYGG_CASE_CLIENT_H_
