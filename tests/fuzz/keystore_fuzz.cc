// SPDX-License-Identifier: Apache-2.0

// The key-store file (trygg/key_store.h), as a device opens a file that an
// attacker with access to the disk may have rewritten, and the sealed server
// signing key of a backup (trygg/sealed_signing_key.h), as `tryggd restore`
// opens one from backup media. Both headers put the Argon2id limits at the
// same offset.
//
// The first byte picks a mode:
//   0: the rest is a key-store file. The target makes its trailing checksum
//      right, so the header checks run, and forces any Argon2id limits the
//      decoder would accept down to the minimum (limits out of range are kept,
//      so their refusal is fuzzed; the accepted ones would only make each run
//      cost up to 4 GiB). A forged file never opens: the AEAD stops it;
//   1: a real key store of keys from the input, encoded with the minimum
//      limits: it opens to the same contents with the right passphrase, and
//      not with another, nor after one flipped byte, nor without the test
//      option that accepts weak limits;
//   2: as 0, for a sealed signing key (its header's public key is read too);
//   3: a real sealed signing key of a seed from the input: it opens to the
//      same seed and key, and not with another passphrase nor after one
//      flipped byte.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include <sodium.h>

#include "fuzz/fuzz_input.h"
#include "trygg/key_store.h"
#include "trygg/random.h"
#include "trygg/sealed_signing_key.h"
#include "trygg/signing.h"

namespace trygg::fuzz {
namespace {

constexpr size_t kLimitsOffset = 4 + 1 + 1;
constexpr size_t kHeaderSize = kLimitsOffset + 8 + 8 + 16;
constexpr uint64_t kMaxOpslimit = 16;
constexpr uint64_t kMaxMemlimit = uint64_t{4} << 30;

uint64_t ReadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
void WriteU64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

// The rest of the input as a file of either kind, with its checksum made
// right and acceptable Argon2id limits forced down to the minimum.
std::vector<uint8_t> RawFileBytes(FuzzInput& in) {
  std::vector<uint8_t> file = in.Vector(in.remaining());
  if (file.size() >= kHeaderSize) {
    const uint64_t ops = ReadU64(file.data() + kLimitsOffset);
    const uint64_t mem = ReadU64(file.data() + kLimitsOffset + 8);
    if (ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= kMaxOpslimit && mem >= crypto_pwhash_MEMLIMIT_MIN &&
        mem <= kMaxMemlimit) {
      WriteU64(file.data() + kLimitsOffset, crypto_pwhash_OPSLIMIT_MIN);
      WriteU64(file.data() + kLimitsOffset + 8, crypto_pwhash_MEMLIMIT_MIN);
    }
  }
  if (file.size() >= 32) {
    crypto_generichash(file.data() + file.size() - 32, 32, file.data(), file.size() - 32, nullptr, 0);
  }
  return file;
}

void RawFile(FuzzInput& in) {
  KeyStoreOpenOptions options;
  options.allow_weak_kdf_for_tests = in.Byte() % 2 == 1;
  TRYGG_FUZZ_CHECK(!DecodeKeyStore(RawFileBytes(in), "fuzz", options).ok());
}

void RawSealedKey(FuzzInput& in) {
  KeyStoreOpenOptions options;
  options.allow_weak_kdf_for_tests = in.Byte() % 2 == 1;
  const std::vector<uint8_t> file = RawFileBytes(in);
  (void)SealedSigningKeyPublicKey(file);
  TRYGG_FUZZ_CHECK(!OpenSealedSigningKey(file, "fuzz", options).ok());
}

void SealedKeyRoundTrip(FuzzInput& in) {
  const uint32_t flip_at = in.U32();
  DeterministicRng rng(in.Byte());
  std::array<uint8_t, 32> seed{};
  std::memcpy(seed.data(), in.Padded(32).data(), 32);
  absl::StatusOr<std::vector<uint8_t>> sealed = SealSigningKey(seed, "fuzz", MinimumKdfLimitsForTests(), rng);
  TRYGG_FUZZ_CHECK(sealed.ok());
  KeyStoreOpenOptions weak;
  weak.allow_weak_kdf_for_tests = true;
  const SignPublicKey public_key = SigningKeyPairFromSeed(seed).public_key;
  absl::StatusOr<OpenedSigningKey> opened = OpenSealedSigningKey(*sealed, "fuzz", weak);
  TRYGG_FUZZ_CHECK(opened.ok());
  TRYGG_FUZZ_CHECK(std::equal(seed.begin(), seed.end(), opened->seed.span().begin()));
  TRYGG_FUZZ_CHECK(opened->public_key == public_key);
  TRYGG_FUZZ_CHECK(SealedSigningKeyPublicKey(*sealed).value() == public_key);
  TRYGG_FUZZ_CHECK(!OpenSealedSigningKey(*sealed, "fuzz2", weak).ok());
  std::vector<uint8_t> bad = *sealed;
  bad[flip_at % bad.size()] ^= 0x01;
  TRYGG_FUZZ_CHECK(!OpenSealedSigningKey(bad, "fuzz", weak).ok());
}

void RoundTrip(FuzzInput& in) {
  const uint32_t flip_at = in.U32();
  DeterministicRng rng(in.Byte());
  KeyStoreContents contents{Id128(), Id128(), DeviceKeys::Generate(rng), {}};
  std::memcpy(contents.org_id.data(), in.Padded(16).data(), 16);
  std::memcpy(contents.device_id.data(), in.Padded(16).data(), 16);
  const size_t keys = in.Byte() % 6;
  for (size_t i = 0; i < keys; ++i) contents.org_keys.push_back(GenerateOrgKey(in.U32(), rng));
  absl::StatusOr<std::vector<uint8_t>> file = EncodeKeyStore("fuzz", contents, MinimumKdfLimitsForTests(), rng);
  if (!file.ok()) return;  // e.g. a generation twice, or generation 0: refused on writing
  KeyStoreOpenOptions weak;
  weak.allow_weak_kdf_for_tests = true;
  absl::StatusOr<KeyStoreContents> opened = DecodeKeyStore(*file, "fuzz", weak);
  TRYGG_FUZZ_CHECK(opened.ok());
  TRYGG_FUZZ_CHECK(opened->org_id == contents.org_id && opened->device_id == contents.device_id);
  TRYGG_FUZZ_CHECK(opened->device.signing().public_key == contents.device.signing().public_key);
  TRYGG_FUZZ_CHECK(opened->org_keys.size() == contents.org_keys.size());
  TRYGG_FUZZ_CHECK(!DecodeKeyStore(*file, "fuzz2", weak).ok());
  TRYGG_FUZZ_CHECK(!DecodeKeyStore(*file, "fuzz", KeyStoreOpenOptions{}).ok());
  std::vector<uint8_t> bad = *file;
  bad[flip_at % bad.size()] ^= 0x01;
  TRYGG_FUZZ_CHECK(!DecodeKeyStore(bad, "fuzz", weak).ok());
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trygg::fuzz::FuzzInput in(data, size);
  switch (in.Byte() % 4) {
    case 0: trygg::fuzz::RawFile(in); break;
    case 1: trygg::fuzz::RoundTrip(in); break;
    case 2: trygg::fuzz::RawSealedKey(in); break;
    default: trygg::fuzz::SealedKeyRoundTrip(in); break;
  }
  return 0;
}
