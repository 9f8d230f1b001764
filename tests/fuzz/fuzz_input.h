// SPDX-License-Identifier: Apache-2.0

// Splits one fuzzer input into the values a target needs.
//
// Purpose: libFuzzer hands a target one byte string; a target that builds a
// structured object (a header, then a body, then a split pattern) takes its
// parts from the front with these calls. When the input runs out, every call
// returns zeros or an empty span, so a target never reads past the input.
// Works the same under clang's libFuzzer and under the replay driver that the
// normal (GCC) build links, which is why it does not use clang's
// FuzzedDataProvider.
// Ownership: borrows the input; spans it returns live as long as the input.
// Thread-safety: none; one per call of LLVMFuzzerTestOneInput.
#ifndef TRYGG_TESTS_FUZZ_FUZZ_INPUT_H_
#define TRYGG_TESTS_FUZZ_FUZZ_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace trygg::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(data, size) {}

  bool empty() const { return rest_.empty(); }
  size_t remaining() const { return rest_.size(); }

  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = rest_.front();
    rest_ = rest_.subspan(1);
    return b;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | Byte();
    return v;
  }
  // At most `n` bytes (fewer when the input ends).
  std::span<const uint8_t> Bytes(size_t n) {
    const size_t take = std::min(n, rest_.size());
    std::span<const uint8_t> out = rest_.first(take);
    rest_ = rest_.subspan(take);
    return out;
  }
  // A length from one byte (0..255), then that many bytes.
  std::span<const uint8_t> ShortBytes() { return Bytes(Byte()); }
  std::vector<uint8_t> Vector(size_t n) {
    std::span<const uint8_t> b = Bytes(n);
    return {b.begin(), b.end()};
  }
  // Exactly `n` bytes: the input's next bytes, zero-filled past its end.
  std::vector<uint8_t> Padded(size_t n) {
    std::vector<uint8_t> out = Vector(n);
    out.resize(n, 0);
    return out;
  }
  std::span<const uint8_t> Rest() { return Bytes(rest_.size()); }
  std::string RestString() {
    std::span<const uint8_t> b = Rest();
    return {b.begin(), b.end()};
  }

 private:
  std::span<const uint8_t> rest_;
};

// A fuzz target's own consistency check failed: abort, so that libFuzzer (and
// the replay driver) report the input as a crash.
[[noreturn]] void Fail(const char* what);
#define TRYGG_FUZZ_CHECK(cond)                                  \
  do {                                                          \
    if (!(cond)) ::trygg::fuzz::Fail(__FILE__ ": " #cond);      \
  } while (false)

}  // namespace trygg::fuzz

#endif  // TRYGG_TESTS_FUZZ_FUZZ_INPUT_H_
