// SPDX-License-Identifier: Apache-2.0

// Record envelopes and headers (trygg/record.h), as a device receives them
// from a server it does not trust: the wire message, the header parser, and
// OpenRecord's checks behind the signature.
//
// The first byte picks a mode:
//   0: ParseRecordHeader on raw bytes; a header it accepts serialises back to
//      exactly the same bytes (one encoding per header, so no two byte strings
//      carry one signed meaning);
//   1: a trygg.v1.RecordEnvelope from the wire, through EnvelopeFromServer and
//      OpenRecord;
//   2: header, wrapped data key and body from the input, signed with the
//      fixed author key, so OpenRecord's checks after the signature run on
//      what the fuzzer made;
//   3: SealRecord then OpenRecord of the input as plaintext: it must open, to
//      the same plaintext, and any one flipped byte must make it fail.
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_keys.h"
#include "internal/wire.h"
#include "trygg/random.h"
#include "trygg/record.h"
#include "trygg/v1/case.pb.h"

namespace trygg::fuzz {
namespace {

const Id128 kCase = Id128(std::array<uint8_t, 16>{1});
const Id128 kScope = Id128(std::array<uint8_t, 16>{2});

RecordExpectation Expect(uint32_t epoch) {
  RecordExpectation e;
  e.case_id = kCase;
  e.scope_id = kScope;
  e.epoch = epoch;
  return e;
}

void TryOpen(const SealedRecord& record, uint32_t epoch) {
  RecordChainState chain;
  (void)OpenRecord(record, Expect(epoch), FixedSigningKey(0).public_key, FixedSecretKey(0), chain);
}

void ParseHeader(FuzzInput& in) {
  std::span<const uint8_t> bytes = in.Rest();
  absl::StatusOr<RecordHeader> header = ParseRecordHeader(bytes);
  if (!header.ok()) return;
  const auto again = SerializeRecordHeader(*header);
  TRYGG_FUZZ_CHECK(std::vector<uint8_t>(again.begin(), again.end()) == std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

void FromWire(FuzzInput& in) {
  trygg::v1::RecordEnvelope envelope;
  std::span<const uint8_t> bytes = in.Rest();
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  absl::StatusOr<SealedRecord> record = internal::EnvelopeFromServer(envelope);
  if (record.ok()) TryOpen(*record, 0);
}

void SignedParts(FuzzInput& in) {
  SealedRecord record;
  record.header = in.Padded(kRecordHeaderSize);
  record.wrapped_dek = in.Padded(kWrappedDekSize);
  const uint8_t hashes = in.Byte() % 4;
  for (uint8_t i = 0; i < hashes; ++i) record.attachment_hashes.push_back(Hash256::FromSpan(in.Padded(32)).value());
  record.body = in.Vector(in.remaining());
  record.signature = SignExact(FixedSigningKey(0), RecordSignedBytes(record));
  TryOpen(record, 0);
}

void RoundTrip(FuzzInput& in) {
  const uint8_t flip_at = in.Byte();
  const uint8_t pad_choice = in.Byte();
  std::span<const uint8_t> plaintext = in.Bytes(64 * 1024);
  RecordDraft draft;
  draft.case_id = kCase;
  draft.scope_id = kScope;
  draft.record_id = Id128(std::array<uint8_t, 16>{3});
  DeterministicRng rng(0x55);
  FixedClock clock(1'700'000'000'000);
  const SecretKey data_key = GenerateDataKey(rng);
  const size_t pad = pad_choice % 2 == 0 ? kDefaultPadBlockSize : 1 + pad_choice;
  absl::StatusOr<SealedRecord> sealed =
      SealRecord(draft, plaintext, {}, data_key, FixedSecretKey(0), FixedSigningKey(0), clock, rng, pad);
  if (!sealed.ok()) return;
  RecordChainState chain;
  absl::StatusOr<OpenedRecord> opened =
      OpenRecord(*sealed, Expect(0), FixedSigningKey(0).public_key, FixedSecretKey(0), chain);
  TRYGG_FUZZ_CHECK(opened.ok());
  TRYGG_FUZZ_CHECK(opened->plaintext == std::vector<uint8_t>(plaintext.begin(), plaintext.end()));

  // One flipped byte anywhere (header, wrapped key, body, signature) fails.
  SealedRecord tampered = *sealed;
  std::vector<std::vector<uint8_t>*> parts = {&tampered.header, &tampered.wrapped_dek, &tampered.body};
  std::vector<uint8_t>& part = *parts[flip_at % parts.size()];
  part[(flip_at * 7u) % part.size()] ^= 0x01;
  RecordChainState fresh;
  TRYGG_FUZZ_CHECK(!OpenRecord(tampered, Expect(0), FixedSigningKey(0).public_key, FixedSecretKey(0), fresh).ok());
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
