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

bool SignatureValid(const PrecheckedSignatures* prechecked, SignedKind kind, const SignPublicKey& key,
                    const SignedObject& object) {
  if (prechecked != nullptr) {
    if (std::optional<bool> found = prechecked->Find(kind, key, object); found.has_value()) return *found;
  }
  return Verify(kind, key, object);
}

}  // namespace trygg::domain
