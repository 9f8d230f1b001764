// SPDX-License-Identifier: Apache-2.0

// The signed objects of the directory and the workflow (trygg/listing.h,
// trygg/workflow.h): listings, capacity updates and retirements (with their
// language tags and region codes), consent records and withdrawals, referral
// records, referral transitions and erasure statements.
//
// The first byte picks the kind. The rest is parsed raw; an object the parser
// accepts must serialise back to exactly the input (one encoding per value),
// and, signed with the fixed key under its kind's context, must verify under
// that key alone: not under another key, and not as any other kind (one
// signing context per kind of object).
#include <cstdint>
#include <functional>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_keys.h"
#include "trygg/listing.h"
#include "trygg/workflow.h"

namespace trygg::fuzz {
namespace {

struct Kind {
  SigningContext context;
  // Parses, and when it succeeds checks that the value serialises back to the
  // same bytes. Returns whether the parser accepted the bytes.
  std::function<bool(std::span<const uint8_t>)> parse_canonical;
  // The kind's signature check: signature and parse.
  std::function<bool(const SignedObject&, const SignPublicKey&)> verify;
};

template <typename T>
bool Canonical(const absl::StatusOr<T>& parsed, std::span<const uint8_t> bytes,
               const std::function<std::vector<uint8_t>(const T&)>& serialise) {
  if (!parsed.ok()) return false;
  TRYGG_FUZZ_CHECK(serialise(*parsed) == std::vector<uint8_t>(bytes.begin(), bytes.end()));
  return true;
}

template <typename T, typename Parse, typename Serialise>
std::function<bool(std::span<const uint8_t>)> ParseCanonical(Parse parse, Serialise serialise) {
  return [parse, serialise](std::span<const uint8_t> bytes) {
    return Canonical<T>(parse(bytes), bytes, std::function<std::vector<uint8_t>(const T&)>(serialise));
  };
}

template <typename Verify>
std::function<bool(const SignedObject&, const SignPublicKey&)> ByKey(Verify verify) {
  return [verify](const SignedObject& o, const SignPublicKey& k) { return verify(o, k).ok(); };
}

const std::vector<Kind>& Kinds() {
  static const auto* kinds = new std::vector<Kind>{
      {SigningContext::kListing,
       ParseCanonical<Listing>(ParseListing, [](const Listing& l) { return SerializeListing(l).value(); }),
       [](const SignedObject& o, const SignPublicKey& k) {
         return VerifyListingSignature(o, k).ok() && ParseListing(o.bytes).ok();
       }},
      {SigningContext::kListingCapacity,
       ParseCanonical<CapacityUpdate>(ParseCapacityUpdate, SerializeCapacityUpdate),
       [](const SignedObject& o, const SignPublicKey& k) {
         return Verify(k, SigningContext::kListingCapacity, o.bytes, o.signature).ok() &&
                ParseCapacityUpdate(o.bytes).ok();
       }},
      {SigningContext::kListingRetirement,
       ParseCanonical<Retirement>(ParseRetirement, SerializeRetirement),
       [](const SignedObject& o, const SignPublicKey& k) {
         return Verify(k, SigningContext::kListingRetirement, o.bytes, o.signature).ok() &&
                ParseRetirement(o.bytes).ok();
       }},
      {SigningContext::kConsent, ParseCanonical<ConsentRecord>(ParseConsentRecord, SerializeConsentRecord),
       ByKey(VerifyConsentRecord)},
      {SigningContext::kConsentWithdrawal,
       ParseCanonical<ConsentWithdrawal>(ParseConsentWithdrawal, SerializeConsentWithdrawal),
       ByKey(VerifyConsentWithdrawal)},
      {SigningContext::kReferral, ParseCanonical<ReferralRecord>(ParseReferralRecord, SerializeReferralRecord),
       ByKey(VerifyReferralRecord)},
      {SigningContext::kTransition,
       ParseCanonical<ReferralTransition>(ParseReferralTransition, SerializeReferralTransition),
       ByKey(VerifyReferralTransition)},
      {SigningContext::kErasure,
       ParseCanonical<ErasureStatement>(ParseErasureStatement, SerializeErasureStatement),
       ByKey(VerifyErasureStatement)},
  };
  return *kinds;
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trygg::fuzz;
  FuzzInput in(data, size);
  const auto& kinds = Kinds();
  const size_t which = in.Byte() % kinds.size();
  std::span<const uint8_t> bytes = in.Rest();
  const bool parsed = kinds[which].parse_canonical(bytes);

  trygg::SignedObject object;
  object.bytes.assign(bytes.begin(), bytes.end());
  object.signature = trygg::Sign(FixedSigningKey(3), kinds[which].context, object.bytes);
  const bool verified = kinds[which].verify(object, FixedSigningKey(3).public_key);
  TRYGG_FUZZ_CHECK(!verified || parsed);
  if (!verified) return 0;
  TRYGG_FUZZ_CHECK(!kinds[which].verify(object, FixedSigningKey(4).public_key));
  for (size_t other = 0; other < kinds.size(); ++other) {
    if (other != which) TRYGG_FUZZ_CHECK(!kinds[other].verify(object, FixedSigningKey(3).public_key));
  }
  return 0;
}
