// SPDX-License-Identifier: Apache-2.0

// Private: big-endian encoding helpers for Trygg's fixed binary layouts.
#ifndef TRYGG_SRC_INTERNAL_BYTE_CODEC_H_
#define TRYGG_SRC_INTERNAL_BYTE_CODEC_H_

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace trygg::internal {

// Appends fields to a byte vector.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { BigEndian(v, 2); }
  void U32(uint32_t v) { BigEndian(v, 4); }
  void U64(uint64_t v) { BigEndian(v, 8); }
  void I64(int64_t v) { BigEndian(static_cast<uint64_t>(v), 8); }
  // resize and copy rather than insert(): GCC 12 at -O3 reports a false
  // -Wstringop-overflow inside vector's range insert.
  void Bytes(std::span<const uint8_t> bytes) {
    const size_t at = out_.size();
    out_.resize(at + bytes.size());
    std::copy(bytes.begin(), bytes.end(), out_.begin() + static_cast<std::ptrdiff_t>(at));
  }

 private:
  void BigEndian(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>& out_;
};

// Reads fields from a byte span. Reads past the end return zeros and set
// failed(); callers check failed() (or exhausted()) once at the end.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

  uint8_t U8() { return static_cast<uint8_t>(BigEndian(1)); }
  uint16_t U16() { return static_cast<uint16_t>(BigEndian(2)); }
  uint32_t U32() { return static_cast<uint32_t>(BigEndian(4)); }
  uint64_t U64() { return BigEndian(8); }
  int64_t I64() { return static_cast<int64_t>(BigEndian(8)); }
  void Bytes(std::span<uint8_t> out) {
    if (!Take(out.size())) return;
    for (size_t i = 0; i < out.size(); ++i) out[i] = in_[pos_ - out.size() + i];
  }

  bool failed() const { return failed_; }
  size_t remaining() const { return in_.size() - pos_; }
  // True when every byte was consumed and no read failed.
  bool exhausted() const { return !failed_ && pos_ == in_.size(); }

 private:
  bool Take(size_t n) {
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }
  uint64_t BigEndian(size_t width) {
    if (!Take(width)) return 0;
    uint64_t v = 0;
    for (size_t i = pos_ - width; i < pos_; ++i) v = (v << 8) | in_[i];
    return v;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace trygg::internal

#endif  // TRYGG_SRC_INTERNAL_BYTE_CODEC_H_
