// SPDX-License-Identifier: Apache-2.0

#include "server/domain/prechecked_signatures.h"

#include "trygg/listing.h"
#include "trygg/workflow.h"

namespace trygg::domain {
namespace {

bool Verify(SignedKind kind, const SignPublicKey& key, const SignedObject& object) {
  switch (kind) {
    case SignedKind::kReferralRecord:
      return VerifyReferralRecord(object, key).ok();
    case SignedKind::kReferralTransition:
      return VerifyReferralTransition(object, key).ok();
    case SignedKind::kConsentRecord:
      return VerifyConsentRecord(object, key).ok();
    case SignedKind::kDirectoryObject:
      return VerifyListingSignature(object, key).ok();
  }
  return false;
}

bool SameRecord(const SealedRecord& a, const SealedRecord& b) {
  return a.signature == b.signature && a.header == b.header && a.wrapped_dek == b.wrapped_dek && a.body == b.body &&
         a.attachment_hashes == b.attachment_hashes;
}

bool SameGrant(const Grant& a, const Grant& b) {
  return a.signature == b.signature && a.header == b.header && a.sealed == b.sealed;
}

// The remembered result of the first entry under `key` that `same` accepts.
template <typename Entry, typename Same>
std::optional<bool> FindChecked(const std::vector<Entry>& entries, const SignPublicKey& key, Same same) {
  for (const Entry& entry : entries) {
    if (entry.key == key && same(entry)) return entry.valid;
  }
  return std::nullopt;
}

// The remembered result if `prechecked` holds one, else `verify()`.
template <typename Find, typename Verify>
bool Decide(const PrecheckedSignatures* prechecked, Find find, Verify verify) {
  if (prechecked != nullptr) {
    if (std::optional<bool> found = find(*prechecked); found.has_value()) return *found;
  }
  return verify();
}

}  // namespace

void PrecheckedSignatures::Check(SignedKind kind, const SignPublicKey& key, const SignedObject& object) {
  checked_.push_back({kind, key, object, Verify(kind, key, object)});
}

std::optional<bool> PrecheckedSignatures::Find(SignedKind kind, const SignPublicKey& key,
                                               const SignedObject& object) const {
  return FindChecked(checked_, key, [&](const Checked& c) {
    return c.kind == kind && c.object.signature == object.signature && c.object.bytes == object.bytes;
  });
}

void PrecheckedSignatures::CheckRecord(const SignPublicKey& key, const SealedRecord& record) {
  records_.push_back({key, record, VerifyRecordSignature(record, key).ok()});
}

std::optional<bool> PrecheckedSignatures::FindRecord(const SignPublicKey& key, const SealedRecord& record) const {
  return FindChecked(records_, key, [&](const CheckedRecord& c) { return SameRecord(c.record, record); });
}

void PrecheckedSignatures::CheckGrant(const SignPublicKey& key, const Grant& grant) {
  grants_.push_back({key, grant, VerifyGrantSignature(grant, key).ok()});
}

std::optional<bool> PrecheckedSignatures::FindGrant(const SignPublicKey& key, const Grant& grant) const {
  return FindChecked(grants_, key, [&](const CheckedGrant& c) { return SameGrant(c.grant, grant); });
}

bool SignatureValid(const PrecheckedSignatures* prechecked, SignedKind kind, const SignPublicKey& key,
                    const SignedObject& object) {
  return Decide(
      prechecked, [&](const PrecheckedSignatures& p) { return p.Find(kind, key, object); },
      [&] { return Verify(kind, key, object); });
}

bool RecordSignatureValid(const PrecheckedSignatures* prechecked, const SignPublicKey& key,
                          const SealedRecord& record) {
  return Decide(
      prechecked, [&](const PrecheckedSignatures& p) { return p.FindRecord(key, record); },
      [&] { return VerifyRecordSignature(record, key).ok(); });
}

bool GrantSignatureValid(const PrecheckedSignatures* prechecked, const SignPublicKey& key, const Grant& grant) {
  return Decide(
      prechecked, [&](const PrecheckedSignatures& p) { return p.FindGrant(key, grant); },
      [&] { return VerifyGrantSignature(grant, key).ok(); });
}

}  // namespace trygg::domain
