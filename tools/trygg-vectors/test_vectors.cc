// SPDX-License-Identifier: Apache-2.0

#include "test_vectors.h"

#include <string>

#include "trygg/attachment.h"
#include "trygg/bytes.h"
#include "trygg/fingerprint.h"
#include "trygg/grant.h"
#include "trygg/key_store.h"
#include "trygg/keys.h"
#include "trygg/random.h"
#include "trygg/record.h"
#include "trygg/sealed_signing_key.h"
#include "trygg/signing.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"

namespace trygg::vectors {
namespace {

using nlohmann::json;

constexpr int64_t kVectorTime = 1767225600000;  // 2026-01-01T00:00:00Z

std::string Hex(std::span<const uint8_t> bytes) { return HexEncode(bytes); }

Id128 IdFromByte(uint8_t byte) {
  std::array<uint8_t, 16> bytes;
  bytes.fill(byte);
  return Id128(bytes);
}

template <typename T>
T ValueOrDie(absl::StatusOr<T> value) {
  TRYGG_CHECK(value.ok());
  return std::move(value).value();
}

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

json RecordVector(std::string_view description, const SealedRecord& record,
                  const SecretKey& scope_key, const SigningKeyPair& author,
                  std::span<const uint8_t> plaintext, size_t pad_block_size) {
  json hashes = json::array();
  for (const Hash256& hash : record.attachment_hashes) hashes.push_back(Hex(hash.span()));
  return {
      {"description", description},
      {"scope_key", Hex(scope_key.span())},
      {"author_sign_pk", Hex(author.public_key.span())},
      {"header", Hex(record.header)},
      {"wrapped_dek", Hex(record.wrapped_dek)},
      {"body", Hex(record.body)},
      {"signature", Hex(record.signature.span())},
      {"signed", Hex(RecordSignedBytes(record))},
      {"plaintext", Hex(plaintext)},
      {"pad_block_size", pad_block_size},
      {"attachment_hashes", hashes},
  };
}

}  // namespace

json RecordVectors() {
  DeterministicRng rng(0x01);
  FixedClock clock(kVectorTime);
  const SigningKeyPair author = GenerateSigningKeyPair(rng);
  const SecretKey scope_key = GenerateDataKey(rng);

  RecordDraft draft;
  draft.case_id = IdFromByte(0xca);
  draft.scope_id = IdFromByte(0x5c);
  draft.epoch = 1;
  draft.record_id = IdFromByte(0x7e);
  draft.author_org = IdFromByte(0x0a);
  draft.author_device = IdFromByte(0xde);
  draft.content_type = 1;

  json out = json::array();

  const std::vector<uint8_t> v1_text =
      Text("{\"htcds\":\"2.0\",\"note\":\"first contact at shelter\"}");
  const SecretKey dek1 = GenerateDataKey(rng);
  const SealedRecord v1 = ValueOrDie(
      SealRecord(draft, v1_text, {}, dek1, scope_key, author, clock, rng, 1024));
  out.push_back(RecordVector("version 1, no attachments, 1 KiB padding", v1, scope_key,
                             author, v1_text, 1024));

  clock.Advance(60'000);
  draft.version = 2;
  draft.prev_hash = RecordHash(v1);
  const std::vector<uint8_t> v2_text =
      Text("{\"htcds\":\"2.0\",\"note\":\"documents scanned\",\"attachments\":2}");
  const std::vector<Hash256> hashes = {Blake2b256(Text("attachment one ciphertext")),
                                       Blake2b256(Text("attachment two ciphertext"))};
  const SecretKey dek2 = GenerateDataKey(rng);
  const SealedRecord v2 = ValueOrDie(
      SealRecord(draft, v2_text, hashes, dek2, scope_key, author, clock, rng, 1024));
  out.push_back(RecordVector(
      "version 2 chained to version 1 (prev_hash = BLAKE2b-256(v1 header || v1 "
      "signature)), two attachment hashes",
      v2, scope_key, author, v2_text, 1024));

  clock.Advance(60'000);
  draft.version = 1;
  draft.prev_hash = Hash256();
  draft.record_id = IdFromByte(0x7f);
  const SecretKey dek3 = GenerateDataKey(rng);
  const SealedRecord empty =
      ValueOrDie(SealRecord(draft, {}, {}, dek3, scope_key, author, clock, rng, 256));
  out.push_back(RecordVector("empty plaintext, 256-byte padding", empty, scope_key, author,
                             {}, 256));

  const std::vector<uint8_t> block_text(1024, 'x');
  draft.record_id = IdFromByte(0x80);
  const SecretKey dek4 = GenerateDataKey(rng);
  const SealedRecord full = ValueOrDie(
      SealRecord(draft, block_text, {}, dek4, scope_key, author, clock, rng, 1024));
  out.push_back(RecordVector(
      "plaintext of exactly one block: sodium_pad adds a whole block (2048 bytes)", full,
      scope_key, author, block_text, 1024));
  return out;
}

json GrantVectors() {
  DeterministicRng rng(0x02);
  FixedClock clock(kVectorTime);
  const SigningKeyPair granter = GenerateSigningKeyPair(rng);
  json out = json::array();

  auto add = [&](std::string_view description, GrantKind kind, const Id128& scope_id,
                 uint32_t epoch) {
    const OrgKey recipient_org = GenerateOrgKey(1, rng);
    const BoxKeyPair recipient = DeriveOrgBoxKeyPair(recipient_org);
    const SecretKey key = GenerateDataKey(rng);
    GrantParams params;
    params.kind = kind;
    params.scope_id = scope_id;
    params.epoch = epoch;
    params.granter_device = IdFromByte(0xde);
    const Grant grant =
        ValueOrDie(SealGrant(params, key, recipient.public_key, granter, clock, rng));
    out.push_back({
        {"description", description},
        {"recipient_box_pk", Hex(recipient.public_key.span())},
        {"recipient_box_sk", Hex(recipient.secret_key.span())},
        {"sealed", Hex(grant.sealed)},
        {"key", Hex(key.span())},
        {"granter_sign_pk", Hex(granter.public_key.span())},
        {"signature", Hex(grant.signature.span())},
        {"signed", Hex(GrantSignedBytes(grant))},
    });
  };
  add("scope key for epoch 1", GrantKind::kScopeKey, IdFromByte(0x5c), 1);
  clock.Advance(1000);
  add("scope key for epoch 7", GrantKind::kScopeKey, IdFromByte(0x5d), 7);
  clock.Advance(1000);
  add("organisation seed, generation 3 (scope_id = org_id)", GrantKind::kOrgSeed,
      IdFromByte(0x0a), 3);
  return out;
}

json AttachmentVectors() {
  DeterministicRng rng(0x03);
  json out = json::array();
  auto add = [&](std::string_view description, size_t size) {
    const SecretKey data_key = GenerateDataKey(rng);
    const Id128 record_id = IdFromByte(0x7e);
    std::vector<uint8_t> plaintext(size);
    for (size_t i = 0; i < size; ++i) plaintext[i] = static_cast<uint8_t>(i * 31 + 7);
    std::vector<uint8_t> stream;
    AttachmentWriter writer = ValueOrDie(AttachmentWriter::Create(
        data_key, record_id, size,
        [&stream](std::span<const uint8_t> bytes) {
          stream.insert(stream.end(), bytes.begin(), bytes.end());
          return absl::OkStatus();
        },
        rng));
    TRYGG_CHECK(writer.Write(plaintext).ok());
    const Hash256 hash = ValueOrDie(writer.Finish());
    out.push_back({
        {"description", description},
        {"data_key", Hex(data_key.span())},
        {"record_id", Hex(record_id.span())},
        {"plaintext", Hex(plaintext)},
        {"padded_size", PaddedAttachmentSize(size)},
        {"stream", Hex(stream)},
        {"hash", Hex(hash.span())},
    });
  };
  add("empty attachment: the 8-byte length prefix alone, one final chunk", 0);
  add("100 bytes: prefix and content, 108 bytes, padded to 112, one final chunk", 100);
  add("1000 bytes: 1008 padded to 1024", 1000);
  add("64 KiB + 1 byte: 65545 padded to 67584, a full message chunk and a 2048-byte final chunk",
      65537);
  return out;
}

json KeyStoreVectors() {
  DeterministicRng rng(0x04);
  json out = json::array();
  std::vector<OrgKey> org_keys;
  org_keys.push_back(GenerateOrgKey(1, rng));
  org_keys.push_back(GenerateOrgKey(2, rng));
  KeyStoreContents contents{IdFromByte(0x0a), IdFromByte(0xde), DeviceKeys::Generate(rng),
                            std::move(org_keys)};
  const std::string passphrase = "correct horse battery staple";
  const std::vector<uint8_t> file =
      ValueOrDie(EncodeKeyStore(passphrase, contents, MinimumKdfLimitsForTests(), rng));
  json org_seeds = json::array();
  for (const OrgKey& key : contents.org_keys) {
    org_seeds.push_back({{"generation", key.generation}, {"seed", Hex(key.seed.span())}});
  }
  out.push_back({
      {"description",
       "Argon2id MIN limits (test only; OpenKeyStore refuses them by default)"},
      {"passphrase", passphrase},
      {"file", Hex(file)},
      {"org_id", Hex(contents.org_id.span())},
      {"device_id", Hex(contents.device_id.span())},
      {"sign_seed", Hex(contents.device.sign_seed().span())},
      {"box_seed", Hex(contents.device.box_seed().span())},
      {"sign_pk", Hex(contents.device.signing().public_key.span())},
      {"box_pk", Hex(contents.device.box().public_key.span())},
      {"org_seeds", org_seeds},
  });
  return out;
}

json SealedSigningKeyVectors() {
  DeterministicRng rng(0x07);
  SecretKey seed;
  rng.Fill(seed.span());
  const std::string passphrase = "en lång lösenfras för serverns nyckel";
  const std::vector<uint8_t> file =
      ValueOrDie(SealSigningKey(seed.span(), passphrase, MinimumKdfLimitsForTests(), rng));
  json out = json::array();
  out.push_back({
      {"description",
       "a server signing key sealed by `tryggd backup --with-signing-key`; Argon2id MIN limits "
       "(test only; OpenSealedSigningKey refuses them by default)"},
      {"passphrase", passphrase},
      {"file", Hex(file)},
      {"seed", Hex(seed.span())},
      {"sign_pk", Hex(SigningKeyPairFromSeed(seed.span()).public_key.span())},
  });
  return out;
}

json FingerprintVectors() {
  DeterministicRng rng(0x05);
  json out = json::array();
  for (int i = 0; i < 2; ++i) {
    const DeviceKeys device = DeviceKeys::Generate(rng);
    out.push_back({{"kind", "sign"},
                   {"public_key", Hex(device.signing().public_key.span())},
                   {"safety_number", SafetyNumber(device.signing().public_key)},
                   {"short", ShortSafetyNumber(device.signing().public_key)}});
    out.push_back({{"kind", "box"},
                   {"public_key", Hex(device.box().public_key.span())},
                   {"safety_number", SafetyNumber(device.box().public_key)},
                   {"short", ShortSafetyNumber(device.box().public_key)}});
  }
  return out;
}

json WorkflowVectors() {
  DeterministicRng rng(0x06);
  const SigningKeyPair device = GenerateSigningKeyPair(rng);
  json out = json::array();

  auto add_signed = [&](std::string_view description, std::string_view object,
                        SigningContext context, const SignedObject& signed_object) {
    out.push_back({
        {"description", description},
        {"object", object},
        {"context", ContextString(context)},
        {"signer_sign_pk", Hex(device.public_key.span())},
        {"bytes", Hex(signed_object.bytes)},
        {"signature", Hex(signed_object.signature.span())},
        {"signed", Hex(SignedBytes(context, signed_object.bytes))},
    });
  };
  auto add_blob = [&](std::string_view description, BlobKind kind, const Id128& object_id,
                      std::string_view plaintext) {
    SecretKey key;
    rng.Fill(key.span());
    const std::vector<uint8_t> blob =
        ValueOrDie(SealBlob(kind, object_id, Text(plaintext), key, rng));
    out.push_back({
        {"description", description},
        {"object", "blob"},
        {"kind", static_cast<int>(kind)},
        {"key", Hex(key.span())},
        {"object_id", Hex(object_id.span())},
        {"plaintext", Hex(Text(plaintext))},
        {"blob", Hex(blob)},
        {"hash", Hex(Blake2b256(blob).span())},
    });
    return Blake2b256(blob);
  };

  const Id128 case_id = IdFromByte(0xca);
  const Id128 device_id = IdFromByte(0xde);
  ConsentRecord consent;
  consent.consent_id = IdFromByte(0xc0);
  consent.case_id = case_id;
  consent.to_org_id = IdFromByte(0x0b);
  consent.services = ServiceBit(1) | ServiceBit(2);
  consent.purpose = ConsentPurpose::kReferralForServices;
  consent.recorded_at_ms = kVectorTime;
  consent.expires_at_ms = kVectorTime + 90LL * 24 * 3600 * 1000;
  consent.evidence_hash =
      add_blob("consent evidence (kind 1) for consent c0..c0, one 256-byte block",
               BlobKind::kConsentEvidence, consent.consent_id,
               "Survivor agreed orally to a referral for shelter and legal advice; "
               "interpreter present.");
  consent.recorder_device_id = device_id;
  add_signed("consent to organisation 0b..0b for shelter and legal advice (services 0x0006), "
             "evidence_hash = hash of the blob above",
             "consent", SigningContext::kConsent, ValueOrDie(SignConsentRecord(consent, device)));

  ConsentRecord any = consent;
  any.consent_id = IdFromByte(0xc1);
  any.to_org_id = Id128();
  any.services = kAllServicesMask;
  any.purpose = ConsentPurpose::kCoordinationOfSupport;
  add_signed("consent to any member organisation (zero to_org_id), every service (0x03fe)",
             "consent", SigningContext::kConsent, ValueOrDie(SignConsentRecord(any, device)));

  ConsentWithdrawal withdrawal;
  withdrawal.consent_id = any.consent_id;
  withdrawal.case_id = case_id;
  withdrawal.withdrawn_at_ms = kVectorTime + 3'600'000;
  withdrawal.device_id = device_id;
  add_signed("withdrawal of consent c1..c1 (format 2)", "withdrawal", SigningContext::kConsentWithdrawal,
             ValueOrDie(SignConsentWithdrawal(withdrawal, device)));

  ReferralRecord referral;
  referral.referral_id = IdFromByte(0xf0);
  referral.case_id = case_id;
  referral.from_org_id = IdFromByte(0x0a);
  referral.to_org_id = consent.to_org_id;
  referral.listing_id = IdFromByte(0x1b);
  referral.service = 1;
  referral.urgency = ReferralUrgency::kUrgent;
  referral.basis = ReferralBasis::kConsent;
  referral.consent_id = consent.consent_id;
  referral.created_at_ms = kVectorTime + 60'000;
  referral.packet_hash = Blake2b256(Text("stand-in for the packet's header || signature"));
  referral.sender_device_id = device_id;
  add_signed("referral for shelter on the consent basis (consent c0..c0), urgent", "referral",
             SigningContext::kReferral, ValueOrDie(SignReferralRecord(referral, device)));

  ReferralRecord vital = referral;
  vital.referral_id = IdFromByte(0xf1);
  vital.urgency = ReferralUrgency::kEmergency;
  vital.basis = ReferralBasis::kVitalInterests;
  vital.consent_id = Id128();
  vital.justification_hash =
      add_blob("vital-interests justification (kind 2) for referral f1..f1",
               BlobKind::kReferralJustification, vital.referral_id,
               "Immediate danger: the survivor cannot be reached to consent.");
  add_signed("referral on the vital-interests basis: zero consent_id, justification_hash = "
             "hash of the blob above",
             "referral", SigningContext::kReferral, ValueOrDie(SignReferralRecord(vital, device)));

  ReferralTransition decline;
  decline.referral_id = referral.referral_id;
  decline.from_state = 1;
  decline.to_state = 3;
  decline.code = 1;
  decline.actor_device_id = IdFromByte(0xdf);
  decline.at_ms = kVectorTime + 120'000;
  add_signed("transition SENT -> DECLINED, reason 1 (no capacity)", "transition",
             SigningContext::kTransition, ValueOrDie(SignReferralTransition(decline, device)));
  ReferralTransition complete = decline;
  complete.referral_id = vital.referral_id;
  complete.from_state = 2;
  complete.to_state = 6;
  complete.code = 1;
  add_signed("transition ACCEPTED -> COMPLETED, outcome 1 (service provided)", "transition",
             SigningContext::kTransition, ValueOrDie(SignReferralTransition(complete, device)));

  ErasureStatement erasure;
  erasure.case_id = case_id;
  erasure.erased_at_ms = kVectorTime + 86'400'000;
  erasure.device_id = device_id;
  add_signed("erasure of case ca..ca", "erasure", SigningContext::kErasure,
             ValueOrDie(SignErasureStatement(erasure, device)));
  return out;
}

std::vector<VectorFile> AllVectorFiles() {
  auto file = [](std::string name, const json& j) {
    return VectorFile{std::move(name), j.dump(2) + "\n"};
  };
  return {
      file("records.json", RecordVectors()),
      file("grants.json", GrantVectors()),
      file("attachments.json", AttachmentVectors()),
      file("keystore.json", KeyStoreVectors()),
      file("sealed_signing_key.json", SealedSigningKeyVectors()),
      file("fingerprints.json", FingerprintVectors()),
      file("workflow.json", WorkflowVectors()),
  };
}

}  // namespace trygg::vectors
