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

}  // namespace

void PrecheckedSignatures::Check(SignedKind kind, const SignPublicKey& key, const SignedObject& object) {
  checked_.push_back({kind, key, object, Verify(kind, key, object)});
}

std::optional<bool> PrecheckedSignatures::Find(SignedKind kind, const SignPublicKey& key,
                                               const SignedObject& object) const {
  for (const Checked& c : checked_) {
    if (c.kind == kind && c.key == key && c.object.signature == object.signature && c.object.bytes == object.bytes) {
      return c.valid;
    }
  }
  return std::nullopt;
}

void PrecheckedSignatures::CheckRecord(const SignPublicKey& key, const SealedRecord& record) {
  records_.push_back({key, record, VerifyRecordSignature(record, key).ok()});
}

std::optional<bool> PrecheckedSignatures::FindRecord(const SignPublicKey& key, const SealedRecord& record) const {
  for (const CheckedRecord& c : records_) {
    if (c.key == key && SameRecord(c.record, record)) return c.valid;
  }
  return std::nullopt;
}

void PrecheckedSignatures::CheckGrant(const SignPublicKey& key, const Grant& grant) {
  grants_.push_back({key, grant, VerifyGrantSignature(grant, key).ok()});
}

std::optional<bool> PrecheckedSignatures::FindGrant(const SignPublicKey& key, const Grant& grant) const {
  for (const CheckedGrant& c : grants_) {
    if (c.key == key && SameGrant(c.grant, grant)) return c.valid;
  }
  return std::nullopt;
}

bool SignatureValid(const PrecheckedSignatures* prechecked, SignedKind kind, const SignPublicKey& key,
                    const SignedObject& object) {
  if (prechecked != nullptr) {
    if (std::optional<bool> found = prechecked->Find(kind, key, object); found.has_value()) return *found;
  }
  return Verify(kind, key, object);
}

bool RecordSignatureValid(const PrecheckedSignatures* prechecked, const SignPublicKey& key,
                          const SealedRecord& record) {
  if (prechecked != nullptr) {
    if (std::optional<bool> found = prechecked->FindRecord(key, record); found.has_value()) return *found;
  }
  return VerifyRecordSignature(record, key).ok();
}

bool GrantSignatureValid(const PrecheckedSignatures* prechecked, const SignPublicKey& key, const Grant& grant) {
  if (prechecked != nullptr) {
    if (std::optional<bool> found = prechecked->FindGrant(key, grant); found.has_value()) return *found;
  }
  return VerifyGrantSignature(grant, key).ok();
}

}  // namespace trygg::domain
