// SPDX-License-Identifier: Apache-2.0

// Grants and key envelopes (trygg/grant.h): a scope key sealed to an
// organisation, or an organisation key seed sealed to a device (a key
// envelope), as a device receives them.
//
// The first byte picks a mode:
//   0: ParseGrantHeader on raw bytes; an accepted header serialises back to
//      the same bytes;
//   1: a trygg.v1.Grant from the wire, through GrantFromServer and OpenGrant;
//   2: header and sealed box from the input, signed with the fixed granter
//      key, so OpenGrant's checks after the signature run on them;
//   3: SealGrant then OpenGrant of the input's key, for either kind: it opens
//      to the same key, and a flipped byte, another recipient or another
//      expectation fails.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_keys.h"
#include "internal/wire.h"
#include "trygg/grant.h"
#include "trygg/random.h"
#include "trygg/v1/case.pb.h"

namespace trygg::fuzz {
namespace {

// What a device expects of a grant with these bound fields, from the fixed
// granter key.
template <typename Fields>
GrantExpectation ExpectFrom(const Fields& h) {
  GrantExpectation e;
  e.kind = h.kind;
  e.scope_id = h.scope_id;
  e.epoch = h.epoch;
  e.granter_device = h.granter_device;
  e.granter_key = FixedSigningKey(1).public_key;
  return e;
}

void ParseHeader(FuzzInput& in) {
  std::span<const uint8_t> bytes = in.Rest();
  absl::StatusOr<GrantHeader> header = ParseGrantHeader(bytes);
  if (!header.ok()) return;
  TRYGG_FUZZ_CHECK(SerializeGrantHeader(*header) == std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

void FromWire(FuzzInput& in) {
  trygg::v1::Grant wire;
  std::span<const uint8_t> bytes = in.Rest();
  if (!wire.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  absl::StatusOr<Grant> grant = internal::GrantFromServer(wire);
  if (!grant.ok()) return;
  GrantExpectation e;
  e.granter_key = FixedSigningKey(1).public_key;
  (void)OpenGrant(*grant, e, FixedBoxKey(0));
}

void SignedParts(FuzzInput& in) {
  Grant grant;
  grant.header = in.Padded(kGrantHeaderSize);
  grant.sealed = in.Vector(in.remaining());
  grant.signature = SignExact(FixedSigningKey(1), GrantSignedBytes(grant));
  absl::StatusOr<GrantHeader> header = ParseGrantHeader(grant.header);
  TRYGG_FUZZ_CHECK(VerifyGrantSignature(grant, FixedSigningKey(1).public_key).ok() == header.ok());
  GrantExpectation e = header.ok() ? ExpectFrom(*header) : GrantExpectation{};
  e.granter_key = FixedSigningKey(1).public_key;
  (void)OpenGrant(grant, e, FixedBoxKey(0));
}

void RoundTrip(FuzzInput& in) {
  GrantParams params;
  params.kind = in.Byte() % 2 == 0 ? GrantKind::kScopeKey : GrantKind::kOrgSeed;
  std::memcpy(params.scope_id.data(), in.Padded(16).data(), 16);
  params.epoch = in.U32();
  std::memcpy(params.granter_device.data(), in.Padded(16).data(), 16);
  const uint8_t flip_at = in.Byte();
  SecretKey key;
  const std::vector<uint8_t> key_bytes = in.Padded(32);
  std::memcpy(key.data(), key_bytes.data(), 32);
  DeterministicRng rng(0x66);
  FixedClock clock(1'700'000'000'000);
  absl::StatusOr<Grant> grant = SealGrant(params, key, FixedBoxKey(0).public_key, FixedSigningKey(1), clock, rng);
  TRYGG_FUZZ_CHECK(grant.ok());
  const GrantExpectation e = ExpectFrom(params);
  absl::StatusOr<SecretKey> opened = OpenGrant(*grant, e, FixedBoxKey(0));
  TRYGG_FUZZ_CHECK(opened.ok());
  TRYGG_FUZZ_CHECK(std::memcmp(opened->data(), key.data(), 32) == 0);

  TRYGG_FUZZ_CHECK(!OpenGrant(*grant, e, FixedBoxKey(1)).ok());
  GrantExpectation other_epoch = e;
  other_epoch.epoch = e.epoch + 1;
  TRYGG_FUZZ_CHECK(!OpenGrant(*grant, other_epoch, FixedBoxKey(0)).ok());
  GrantExpectation other_kind = e;
  other_kind.kind = e.kind == GrantKind::kScopeKey ? GrantKind::kOrgSeed : GrantKind::kScopeKey;
  TRYGG_FUZZ_CHECK(!OpenGrant(*grant, other_kind, FixedBoxKey(0)).ok());
  Grant tampered = *grant;
  std::vector<uint8_t>& part = flip_at % 2 == 0 ? tampered.header : tampered.sealed;
  part[(flip_at / 2u) % part.size()] ^= 0x80;
  TRYGG_FUZZ_CHECK(!OpenGrant(tampered, e, FixedBoxKey(0)).ok());
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trygg::fuzz::FuzzInput in(data, size);
  switch (in.Byte() % 4) {
    case 0: trygg::fuzz::ParseHeader(in); break;
    case 1: trygg::fuzz::FromWire(in); break;
    case 2: trygg::fuzz::SignedParts(in); break;
    default: trygg::fuzz::RoundTrip(in); break;
  }
  return 0;
}
