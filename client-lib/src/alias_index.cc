// SPDX-License-Identifier: Apache-2.0

#include "trygg/alias_index.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>

#include "internal/byte_codec.h"
#include "internal/sodium.h"
#include "internal/utf8.h"
#include "trygg/atomic_file.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

// crypto_kdf contexts are exactly 8 bytes; one per purpose (docs/protocol.md).
constexpr char kAliasKeyContext[] = "trgalias";
constexpr std::string_view kAliasAdLabel = "trygg/v1/alias-index";
constexpr std::string_view kMagic = "TRYGGALI";
constexpr size_t kHeaderSize = 8 + 1;  // magic, version
constexpr size_t kChecksumSize = 32;
constexpr size_t kPadBlock = 1024;
// Far above kMaxAliases full-length entries; a planted file cannot make the
// app read gigabytes.
constexpr size_t kMaxFileBytes = size_t{32} << 20;

// The plaintext, in locked memory that is wiped when it goes.
class LockedBuffer {
 public:
  explicit LockedBuffer(size_t size) : size_(size), data_(secret_memory::Allocate(size == 0 ? 1 : size)) {}
  ~LockedBuffer() { secret_memory::Free(data_, size_ == 0 ? 1 : size_); }
  LockedBuffer(const LockedBuffer&) = delete;
  LockedBuffer& operator=(const LockedBuffer&) = delete;
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

 private:
  size_t size_;
  uint8_t* data_;
};

void WipeString(std::string& s) {
  // The whole buffer, including what a short string keeps inline.
  if (s.capacity() > 0) sodium_memzero(s.data(), s.capacity());
  s.clear();
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint32_t FoldCodePoint(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 0x20;
  // Latin-1 Supplement: À-Þ except × (U+00D7) fold to à-þ.
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;
  // Latin Extended-A: pairs of upper (even) and lower (odd) from U+0100 to
  // U+0137 and U+014A to U+0177; U+0139 to U+0148 pair odd/even; U+0179 to
  // U+017E as well.
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return cp | 1;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return (cp & 1) ? cp + 1 : cp;
  if (cp == 0x178) return 0xFF;  // Ÿ
  return cp;
}

}  // namespace

absl::Status CheckAlias(std::string_view alias) {
  if (alias.size() > kMaxAliasBytes) {
    return absl::InvalidArgumentError("an alias has at most " + std::to_string(kMaxAliasBytes) + " bytes");
  }
  for (std::string_view rest = alias; !rest.empty();) {
    const std::optional<char32_t> cp = internal::PopCodePoint(rest);
    if (!cp.has_value()) return absl::InvalidArgumentError("an alias must be valid UTF-8");
    if (*cp < 0x20 || (*cp >= 0x7F && *cp < 0xA0) || *cp == 0x2028 || *cp == 0x2029) {
      return absl::InvalidArgumentError("an alias must not contain control characters or line breaks");
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status Damaged(std::string_view what) {
  return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kCorruptKeyStore,
                         "the alias index is damaged (" + std::string(what) +
                             "); it was left as it is: restore it from a backup or move it away to start a new one");
}

}  // namespace

std::filesystem::path AliasIndexPathFor(const std::filesystem::path& key_store) {
  std::filesystem::path p = key_store;
  p += ".aliases";
  return p;
}

std::string FoldAliasForSearch(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (std::string_view rest = utf8; !rest.empty();) {
    const std::optional<char32_t> cp = internal::PopCodePoint(rest);
    if (!cp.has_value()) {
      out += rest.front();
      rest.remove_prefix(1);
      continue;
    }
    AppendUtf8(out, FoldCodePoint(*cp));
  }
  return out;
}

AliasIndex::AliasIndex(SecretKey key, const Id128& org_id, const Id128& device_id)
    : key_(std::move(key)), org_id_(org_id), device_id_(device_id) {}

AliasIndex AliasIndex::Empty(const KeyStoreContents& keys) {
  return AliasIndex(internal::DeriveSubkey(keys.device.box_seed().span(), 1, kAliasKeyContext), keys.org_id,
                    keys.device_id);
}

AliasIndex::~AliasIndex() { WipeEntries(); }

AliasIndex::AliasIndex(AliasIndex&& other) noexcept
    : key_(std::move(other.key_)),
      org_id_(other.org_id_),
      device_id_(other.device_id_),
      entries_(std::move(other.entries_)),
      wiped_(other.wiped_) {
  other.entries_.clear();
  other.wiped_ = true;
}

AliasIndex& AliasIndex::operator=(AliasIndex&& other) noexcept {
  if (this != &other) {
    WipeEntries();
    key_ = std::move(other.key_);
    org_id_ = other.org_id_;
    device_id_ = other.device_id_;
    entries_ = std::move(other.entries_);
    wiped_ = other.wiped_;
    other.entries_.clear();
    other.wiped_ = true;
  }
  return *this;
}

void AliasIndex::WipeEntries() {
  for (auto& [id, alias] : entries_) WipeString(alias);
  entries_.clear();
}

void AliasIndex::Wipe() {
  WipeEntries();
  // Replacing the key frees (and wipes) its locked memory.
  key_ = SecretKey();
  wiped_ = true;
}

std::vector<uint8_t> AliasIndex::AdditionalData() const {
  std::vector<uint8_t> ad;
  internal::ByteWriter w(ad);
  w.Bytes(AsBytes(kAliasAdLabel));
  w.Bytes(AsBytes(kMagic));
  w.U8(kAliasIndexVersion);
  w.Bytes(org_id_.span());
  w.Bytes(device_id_.span());
  return ad;
}

absl::Status AliasIndex::Set(const Id128& case_id, std::string_view alias) {
  if (wiped_) return absl::FailedPreconditionError("the alias index was wiped (the app is locked)");
  TRYGG_RETURN_IF_ERROR(CheckAlias(alias));
  auto it = entries_.find(case_id);
  if (alias.empty()) {
    if (it != entries_.end()) {
      WipeString(it->second);
      entries_.erase(it);
    }
    return absl::OkStatus();
  }
  if (it == entries_.end() && entries_.size() >= kMaxAliases) {
    return absl::ResourceExhaustedError("the alias index holds at most " + std::to_string(kMaxAliases) + " aliases");
  }
  std::string& slot = entries_[case_id];
  WipeString(slot);
  slot.assign(alias);
  return absl::OkStatus();
}

std::string AliasIndex::Get(const Id128& case_id) const {
  auto it = entries_.find(case_id);
  return it == entries_.end() ? std::string() : it->second;
}

std::vector<Id128> AliasIndex::Find(std::string_view query) const {
  const std::string folded = FoldAliasForSearch(query);
  std::vector<Id128> out;
  for (const auto& [id, alias] : entries_) {
    std::string candidate = FoldAliasForSearch(alias);
    if (candidate.find(folded) != std::string::npos) out.push_back(id);
    WipeString(candidate);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> AliasIndex::Encode(Rng& rng) const {
  if (wiped_) return absl::FailedPreconditionError("the alias index was wiped (the app is locked)");
  size_t body = 4;
  for (const auto& [id, alias] : entries_) body += Id128::kSize + 2 + alias.size();
  const size_t padded = (body + kPadBlock - 1) / kPadBlock * kPadBlock;
  LockedBuffer plain(padded);
  std::span<uint8_t> p = plain.span();
  size_t at = 0;
  auto put = [&](uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) p[at++] = static_cast<uint8_t>(v >> (8 * i));
  };
  put(entries_.size(), 4);
  for (const auto& [id, alias] : entries_) {
    std::memcpy(p.data() + at, id.data(), Id128::kSize);
    at += Id128::kSize;
    put(alias.size(), 2);
    std::memcpy(p.data() + at, alias.data(), alias.size());
    at += alias.size();
  }
  // The rest is zero (Allocate zero-fills): the padding.
  std::vector<uint8_t> file(kMagic.begin(), kMagic.end());
  file.push_back(kAliasIndexVersion);
  const std::vector<uint8_t> sealed = internal::AeadSeal(key_.span(), plain.span(), AdditionalData(), rng);
  file.insert(file.end(), sealed.begin(), sealed.end());
  const Hash256 checksum = Blake2b256(file);
  file.insert(file.end(), checksum.array().begin(), checksum.array().end());
  return file;
}

absl::Status AliasIndex::Save(const std::filesystem::path& path, Rng& rng) const {
  TRYGG_ASSIGN_OR_RETURN(std::vector<uint8_t> file, Encode(rng));
  return WriteFileAtomically(path, file, IfExists::kReplace);
}

absl::StatusOr<AliasIndex> AliasIndex::Decode(std::span<const uint8_t> file, const KeyStoreContents& keys) {
  const size_t minimum = kHeaderSize + internal::kAeadNonceSize + internal::kAeadTagSize + kChecksumSize;
  if (file.size() < minimum) return Damaged("too short");
  if (!std::equal(kMagic.begin(), kMagic.end(), file.begin())) return Damaged("not an alias index");
  const std::span<const uint8_t> covered = file.first(file.size() - kChecksumSize);
  const Hash256 checksum = Blake2b256(covered);
  if (sodium_memcmp(checksum.data(), file.data() + covered.size(), kChecksumSize) != 0) {
    return Damaged("checksum mismatch");
  }
  if (file[8] != kAliasIndexVersion) {
    return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kUnknownFormat,
                           "the alias index has format version " + std::to_string(file[8]) +
                               ", which this version of Trygg does not read");
  }
  AliasIndex index = Empty(keys);
  const std::span<const uint8_t> sealed = covered.subspan(kHeaderSize);
  LockedBuffer plain(sealed.size() - internal::kAeadNonceSize - internal::kAeadTagSize);
  if (!internal::AeadOpen(index.key_.span(), sealed, index.AdditionalData(), plain.span())) {
    return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kDecryptFailed,
                           "the alias index does not open with this device's keys (it belongs to another device or "
                           "organisation, or it was altered); it was left as it is");
  }
  const std::span<const uint8_t> p = plain.span();
  size_t at = 0;
  auto get = [&](int width, uint64_t& v) {
    if (p.size() - at < static_cast<size_t>(width)) return false;
    v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | p[at++];
    return true;
  };
  uint64_t count = 0;
  if (!get(4, count) || count > kMaxAliases) return Damaged("bad entry count");
  const Id128* previous = nullptr;
  for (uint64_t n = 0; n < count; ++n) {
    if (p.size() - at < Id128::kSize) return Damaged("truncated entry");
    absl::StatusOr<Id128> id = Id128::FromSpan(p.subspan(at, Id128::kSize));
    at += Id128::kSize;
    uint64_t len = 0;
    if (!get(2, len) || len == 0 || len > p.size() - at) return Damaged("bad alias length");
    const std::string_view alias(reinterpret_cast<const char*>(p.data() + at), len);
    at += len;
    if (previous != nullptr && !(*previous < *id)) return Damaged("entries out of order");
    if (!CheckAlias(alias).ok()) return Damaged("an alias that is not valid text");
    auto [it, inserted] = index.entries_.emplace(*id, std::string(alias));
    previous = &it->first;
  }
  for (; at < p.size(); ++at) {
    if (p[at] != 0) return Damaged("bad padding");
  }
  if (p.size() % kPadBlock != 0) return Damaged("bad padding length");
  return index;
}

absl::StatusOr<AliasIndex> AliasIndex::Load(const std::filesystem::path& path, const KeyStoreContents& keys) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (ec) return absl::InternalError("cannot look for the alias index " + path.string() + ": " + ec.message());
  if (!exists) return Empty(keys);
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError("cannot open the alias index " + path.string() + ": " + std::strerror(errno));
  std::vector<uint8_t> file;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    file.insert(file.end(), buf, buf + in.gcount());
    if (file.size() > kMaxFileBytes) return Damaged("larger than any alias index");
  }
  if (in.bad()) return absl::InternalError("cannot read the alias index " + path.string());
  return Decode(file, keys);
}

}  // namespace trygg
