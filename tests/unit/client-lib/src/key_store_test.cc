// SPDX-License-Identifier: Apache-2.0

#include "trygg/key_store.h"

#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <random>

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

// The names of the files in `dir`: after a write, only the key store itself
// (no temp file left behind).
std::vector<std::string> Files(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("key store: create, open, contents survive", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x44);
  const KeyStoreContents contents = SampleContents(rng);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "pass phrase", contents, MinimumKdfLimitsForTests(), rng).ok());

  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  REQUIRE(Files(dir.path()) == std::vector<std::string>{"device.keys"});

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
  // Limits outside libsodium's range are refused before anything is written.
  REQUIRE(CreateKeyStore(dir / "too-much", "x", contents, KdfLimits{3, uint64_t{8} << 30}, rng).code() ==
          StatusCode::kInvalidArgument);
  REQUIRE(CreateKeyStore(dir / "too-little", "x", contents, KdfLimits{0, 8192}, rng).code() ==
          StatusCode::kInvalidArgument);
  REQUIRE(Files(dir.path()) == std::vector<std::string>{"device.keys"});
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

TEST_CASE("key store: every header field is checked, with the checksum fixed", "[keystore]") {
  TempDir dir;
  DeterministicRng rng(0x4b);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "pw", SampleContents(rng), MinimumKdfLimitsForTests(), rng).ok());
  const std::vector<uint8_t> good = ReadAll(path);
  // Header: magic(4) version(1) algorithm(1) opslimit(8) memlimit(8) salt(16).
  auto edited = [&](const std::function<void(std::vector<uint8_t>&)>& edit) {
    std::vector<uint8_t> file = good;
    edit(file);
    FixChecksum(file);
    WriteAll(path, file);
    return OpenKeyStore(path, "pw", kTestOpen).status();
  };
  auto set_u64 = [](std::vector<uint8_t>& file, size_t at, uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) file[at + i] = static_cast<uint8_t>(v);
  };
  REQUIRE_CRYPTO_ERROR(edited([](auto& f) { f[4] = 2; }), StatusCode::kFailedPrecondition,
                       CryptoError::kUnknownFormat);
  REQUIRE_CRYPTO_ERROR(edited([](auto& f) { f[5] = 1; }), StatusCode::kFailedPrecondition,
                       CryptoError::kUnknownSuite);
  // Limits still in range but not the ones the key was derived with: the
  // header is additional data, so this is the wrong key for the AEAD.
  REQUIRE_CRYPTO_ERROR(edited([&](auto& f) { set_u64(f, 6, crypto_pwhash_OPSLIMIT_MIN + 1); }),
                       StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase);
  REQUIRE_CRYPTO_ERROR(edited([&](auto& f) { set_u64(f, 14, crypto_pwhash_MEMLIMIT_MIN * 2); }),
                       StatusCode::kPermissionDenied, CryptoError::kWrongPassphrase);
  // Out of range (a file asking for 64 GiB would exhaust the machine).
  REQUIRE_CRYPTO_ERROR(edited([&](auto& f) { set_u64(f, 14, uint64_t{64} << 30); }), StatusCode::kDataLoss,
                       CryptoError::kCorruptKeyStore);
  REQUIRE_CRYPTO_ERROR(edited([&](auto& f) { set_u64(f, 6, 0); }), StatusCode::kDataLoss,
                       CryptoError::kCorruptKeyStore);
  WriteAll(path, good);
  REQUIRE(OpenKeyStore(path, "pw", kTestOpen).ok());
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
  REQUIRE(Files(dir.path()) == std::vector<std::string>{"device.keys"});
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
  // Leftovers of an interrupted write, and a link planted where a fixed temp
  // name would be: none is opened, followed or truncated.
  WriteAll(path.string() + ".tmp", testing::Text("half-written garbage"));
  WriteAll(dir / "victim", testing::Text("not yours"));
  std::filesystem::create_symlink(dir / "victim", path.string() + ".tmp.AAAAAA");
  REQUIRE(OpenKeyStore(path, "pw", kTestOpen).ok());
  REQUIRE(ChangeKeyStorePassphrase(path, "pw", "pw2", MinimumKdfLimitsForTests(), rng, kTestOpen)
              .ok());
  REQUIRE(OpenKeyStore(path, "pw2", kTestOpen).ok());
  REQUIRE(ReadAll(dir / "victim") == testing::Text("not yours"));
}

TEST_CASE("key store: a process killed while changing the passphrase leaves a key store that opens",
          "[keystore]") {
  // A child changes the passphrase back and forth as fast as it can; it is
  // killed (SIGKILL) at a random moment, over and over. Each time the file
  // must open with one of the two passphrases and hold the same keys.
  TempDir dir;
  DeterministicRng rng(0x4c);
  const KeyStoreContents contents = SampleContents(rng);
  const auto path = dir / "device.keys";
  REQUIRE(CreateKeyStore(path, "even", contents, MinimumKdfLimitsForTests(), rng).ok());
  const absl::StatusOr<KeyStoreContents> original = OpenKeyStore(path, "even", kTestOpen);
  REQUIRE(original.ok());
  std::mt19937 random(0x4c);
  int killed_mid_run = 0;
  int ended_odd = 0;
  for (int round = 0; round < 40; ++round) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      SystemRng child_rng;
      for (;;) {
        for (const auto& [from, to] : {std::pair{"even", "odd"}, std::pair{"odd", "even"}}) {
          (void)ChangeKeyStorePassphrase(path, from, to, MinimumKdfLimitsForTests(), child_rng, kTestOpen);
        }
      }
    }
    // Not a wait: this random delay is where the crash falls (the test's
    // input), and no outcome depends on its length; whatever moment the kill
    // lands on, the file must open with exactly one passphrase.
    usleep(static_cast<useconds_t>(500 + random() % 20'000));
    REQUIRE(kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    killed_mid_run += WIFSIGNALED(status) ? 1 : 0;
    absl::StatusOr<KeyStoreContents> even = OpenKeyStore(path, "even", kTestOpen);
    absl::StatusOr<KeyStoreContents> odd = OpenKeyStore(path, "odd", kTestOpen);
    INFO("round " << round << ": " << even.status() << " / " << odd.status());
    REQUIRE(even.ok() != odd.ok());
    RequireSameContents(even.ok() ? *even : *odd, *original);
    ended_odd += odd.ok() ? 1 : 0;
  }
  CHECK(killed_mid_run == 40);
  // The child was busy changing it, so kills fell at different points.
  CHECK(ended_odd > 0);
  CHECK(ended_odd < 40);
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
