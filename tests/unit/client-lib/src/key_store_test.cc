#include "trygg/key_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "crypto_test_util.h"

namespace trygg {
namespace {

using absl::StatusCode;
using testing::IdFromByte;

// A fresh directory per test case, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "trygg-keystore-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<uint8_t> ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteAll(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Recomputes the checksum trailer after a deliberate edit.
void FixChecksum(std::vector<uint8_t>& file) {
  const Hash256 sum = Blake2b256(std::span(file).first(file.size() - 32));
  std::copy(sum.array().begin(), sum.array().end(), file.end() - 32);
}

KeyStoreContents SampleContents(Rng& rng) {
  std::vector<OrgKey> keys;
  keys.push_back(GenerateOrgKey(2, rng));
  keys.push_back(GenerateOrgKey(1, rng));
  return KeyStoreContents{IdFromByte(0x0a), IdFromByte(0xde), DeviceKeys::Generate(rng),
                          std::move(keys)};
}

void RequireSameContents(const KeyStoreContents& a, const KeyStoreContents& b) {
  REQUIRE(a.org_id == b.org_id);
  REQUIRE(a.device_id == b.device_id);
  REQUIRE(a.device.signing().public_key == b.device.signing().public_key);
  REQUIRE(a.device.box().public_key == b.device.box().public_key);
  REQUIRE(a.org_keys.size() == b.org_keys.size());
  for (size_t i = 0; i < a.org_keys.size(); ++i) {
    REQUIRE(a.org_keys[i].generation == b.org_keys[i].generation);
    REQUIRE(std::equal(a.org_keys[i].seed.data(), a.org_keys[i].seed.data() + 32,
                       b.org_keys[i].seed.data()));
  }
}

const KeyStoreOpenOptions kTestOpen{.allow_weak_kdf_for_tests = true};

TEST_CASE("key store: create, open, contents survive", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x44);
  const KeyStoreContents contents = SampleContents(rng);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "pass phrase", contents, MinimumKdfLimitsForTests(), rng).ok());

  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  REQUIRE_FALSE(std::filesystem::exists(path.string() + ".tmp"));

  auto opened = OpenKeyStore(path, "pass phrase", kTestOpen);
  REQUIRE(opened.ok());
  REQUIRE(opened->org_keys[0].generation == 1);  // sorted by generation
  // Input order was 2, 1; compare against a sorted copy.
  KeyStoreContents sorted{contents.org_id, contents.device_id,
                          DeviceKeys::FromSeeds(contents.device.sign_seed(),
                                                contents.device.box_seed()),
                          {}};
  sorted.org_keys.push_back(OrgKey{1, contents.org_keys[1].seed.Clone()});
  sorted.org_keys.push_back(OrgKey{2, contents.org_keys[0].seed.Clone()});
  RequireSameContents(*opened, sorted);

  REQUIRE(CreateKeyStore(path, "x", contents, MinimumKdfLimitsForTests(), rng).code() ==
          StatusCode::kAlreadyExists);
  REQUIRE(OpenKeyStore(dir / "missing", "x", kTestOpen).status().code() == StatusCode::kNotFound);
  REQUIRE(CreateKeyStore(dir / "empty-pass", "", contents, MinimumKdfLimitsForTests(), rng)
              .code() == StatusCode::kInvalidArgument);
}

TEST_CASE("key store: wrong passphrase", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x45);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "right", SampleContents(rng), MinimumKdfLimitsForTests(), rng).ok());
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "wrong", kTestOpen).status(),
                       StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase);
}

TEST_CASE("key store: corruption is DataLoss, not a wrong passphrase", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x46);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "pw", SampleContents(rng), MinimumKdfLimitsForTests(), rng).ok());
  const std::vector<uint8_t> good = ReadAll(path);

  for (size_t i = 4; i < good.size(); i += 13) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x04;
    WriteAll(path, bad);
    INFO("byte " << i);
    REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "pw", kTestOpen).status(), StatusCode::kDataLoss,
                         CryptoError::kCorruptKeyStore);
  }
  WriteAll(path, std::span(good).first(good.size() - 1));
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "pw", kTestOpen).status(), StatusCode::kDataLoss,
                       CryptoError::kCorruptKeyStore);
  WriteAll(path, std::span(good).first(20));
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "pw", kTestOpen).status(), StatusCode::kDataLoss,
                       CryptoError::kCorruptKeyStore);
  std::vector<uint8_t> not_ours = good;
  not_ours[0] = 'X';
  WriteAll(path, not_ours);
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "pw", kTestOpen).status(), StatusCode::kDataLoss,
                       CryptoError::kCorruptKeyStore);

  // Deliberate tampering that also fixes the checksum still fails the AEAD,
  // because the header (here: the salt) is additional data.
  std::vector<uint8_t> tampered = good;
  tampered[30] ^= 0x01;
  FixChecksum(tampered);
  WriteAll(path, tampered);
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "pw", kTestOpen).status(),
                       StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase);
}

TEST_CASE("key store: weak Argon2id limits are refused (no downgrade)", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x47);
  const auto path = dir / "device.keys";
  // One run at INTERACTIVE, the lowest production limits (about 0.1 s).
  REQUIRE(CreateKeyStore(path, "pw", SampleContents(rng), InteractiveKdfLimits(), rng).ok());
  REQUIRE(OpenKeyStore(path, "pw").ok());

  // An attacker lowers opslimit to MIN and fixes the checksum.
  std::vector<uint8_t> file = ReadAll(path);
  for (int i = 0; i < 8; ++i) file[6 + i] = 0;
  file[13] = 1;
  FixChecksum(file);
  WriteAll(path, file);
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "pw").status(), StatusCode::kFailedPrecondition,
                       CryptoError::kWeakKdfLimits);

  const auto weak = dir / "weak.keys";
  REQUIRE(CreateKeyStore(weak, "pw", SampleContents(rng), MinimumKdfLimitsForTests(), rng).ok());
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(weak, "pw").status(), StatusCode::kFailedPrecondition,
                       CryptoError::kWeakKdfLimits);
}

TEST_CASE("key store: change passphrase keeps the contents", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x48);
  const KeyStoreContents contents = SampleContents(rng);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "old", contents, MinimumKdfLimitsForTests(), rng).ok());
  auto before = OpenKeyStore(path, "old", kTestOpen);
  REQUIRE(before.ok());

  REQUIRE_CRYPTO_ERROR(ChangeKeyStorePassphrase(path, "not it", "new", MinimumKdfLimitsForTests(),
                                                rng, kTestOpen),
                       StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase);
  REQUIRE(ChangeKeyStorePassphrase(path, "old", "new", MinimumKdfLimitsForTests(), rng, kTestOpen)
              .ok());
  REQUIRE_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  REQUIRE_CRYPTO_ERROR(OpenKeyStore(path, "old", kTestOpen).status(),
                       StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase);
  auto after = OpenKeyStore(path, "new", kTestOpen);
  REQUIRE(after.ok());
  RequireSameContents(*before, *after);
}

TEST_CASE("key store: a stale temp file from a crash does not matter", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x49);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "pw", SampleContents(rng), MinimumKdfLimitsForTests(), rng).ok());
  WriteAll(path.string() + ".tmp", testing::Text("half-written garbage"));
  REQUIRE(OpenKeyStore(path, "pw", kTestOpen).ok());
  REQUIRE(ChangeKeyStorePassphrase(path, "pw", "pw2", MinimumKdfLimitsForTests(), rng, kTestOpen)
              .ok());
  REQUIRE(OpenKeyStore(path, "pw2", kTestOpen).ok());
}

TEST_CASE("key store: encoding is deterministic under injected randomness", "[keystore]") {
  DeterministicRng a(0x4a);
  DeterministicRng b(0x4a);
  const KeyStoreContents ca = SampleContents(a);
  const KeyStoreContents cb = SampleContents(b);
  auto fa = EncodeKeyStore("pw", ca, MinimumKdfLimitsForTests(), a);
  auto fb = EncodeKeyStore("pw", cb, MinimumKdfLimitsForTests(), b);
  REQUIRE(fa.ok());
  REQUIRE(fb.ok());
  REQUIRE(*fa == *fb);
  REQUIRE(fa->size() == 38 + 24 + 100 + 2 * 36 + 16 + 32);
}

}  // namespace
}  // namespace trygg
