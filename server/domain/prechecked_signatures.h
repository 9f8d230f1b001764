// SPDX-License-Identifier: Apache-2.0

// PrecheckedSignatures: the signatures of one call's signed objects, checked
// before its write is queued, so that the Ed25519 work runs on the caller's
// gRPC thread instead of the store's one writer thread (issue 12; docs/
// benchmarks.md measures what it saves).
//
// The handler checks each object under the key the caller's session found
// for its device (Caller::sign_key) and puts the results in the Caller. The
// rule inside the write reads the device's key from the store as before and
// asks SignatureValid: a remembered result counts only for the same kind of
// object, the same bytes, the same signature and the same key the store holds
// now; anything else is checked afresh, in place. So every decision is the
// one a fresh check inside the write would make (an Ed25519 verification is
// deterministic), and every refusal keeps its status and its place among the
// rule's other checks (threat-model.md, "Signature checks before the write").
//
// Thread-safety: filled by one thread before the write is queued, then only
// read; shared by const pointer.
#ifndef TRYGG_SERVER_DOMAIN_PRECHECKED_SIGNATURES_H_
#define TRYGG_SERVER_DOMAIN_PRECHECKED_SIGNATURES_H_

#include <optional>
#include <vector>

#include "trygg/bytes.h"
#include "trygg/grant.h"
#include "trygg/record.h"
#include "trygg/trust.h"

namespace trygg::domain {

// The signed objects a rule checks against the calling device's key.
enum class SignedKind {
  kReferralRecord,
  kReferralTransition,
  kConsentRecord,
  kDirectoryObject,  // a listing, capacity update or retirement
};

class PrecheckedSignatures {
 public:
  // Checks `object` under `key` now and remembers the result.
  void Check(SignedKind kind, const SignPublicKey& key, const SignedObject& object);
  // The remembered result for exactly this kind, key, bytes and signature;
  // nullopt when none was checked.
  std::optional<bool> Find(SignedKind kind, const SignPublicKey& key, const SignedObject& object) const;

  // The same for a sealed record (a case version, a referral's packet) and
  // for a grant, each compared field by field.
  void CheckRecord(const SignPublicKey& key, const SealedRecord& record);
  std::optional<bool> FindRecord(const SignPublicKey& key, const SealedRecord& record) const;
  void CheckGrant(const SignPublicKey& key, const Grant& grant);
  std::optional<bool> FindGrant(const SignPublicKey& key, const Grant& grant) const;

 private:
  struct Checked {
    SignedKind kind;
    SignPublicKey key;
    SignedObject object;
    bool valid;
  };
  struct CheckedRecord {
    SignPublicKey key;
    SealedRecord record;
    bool valid;
  };
  struct CheckedGrant {
    SignPublicKey key;
    Grant grant;
    bool valid;
  };
  std::vector<Checked> checked_;
  std::vector<CheckedRecord> records_;
  std::vector<CheckedGrant> grants_;
};

// Whether `object` is validly signed under `key` as a `kind`: the result in
// `prechecked` (may be null) when it holds one for exactly these, else a
// fresh check.
bool SignatureValid(const PrecheckedSignatures* prechecked, SignedKind kind, const SignPublicKey& key,
                    const SignedObject& object);
bool RecordSignatureValid(const PrecheckedSignatures* prechecked, const SignPublicKey& key,
                          const SealedRecord& record);
bool GrantSignatureValid(const PrecheckedSignatures* prechecked, const SignPublicKey& key, const Grant& grant);

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_PRECHECKED_SIGNATURES_H_
