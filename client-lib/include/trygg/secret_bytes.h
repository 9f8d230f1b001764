// SPDX-License-Identifier: Apache-2.0

// Secret key material in locked, guarded memory.
//
// Purpose: SecretBytes<N> holds N secret bytes in memory from sodium_malloc,
// locked into RAM (sodium_mlock) so it is never swapped, and wiped when the
// object dies. Secrets of up to 128 bytes (every key and seed, a grant's
// plaintext) share locked slabs of 128 KiB, one sodium_malloc each (guard
// pages and canary around the slab), because a sodium_malloc and free per
// secret costs tens of microseconds (mmap, mprotect, mlock, munmap) - more
// than an Ed25519 signature. Larger ones get their own sodium_malloc region.
// Either way a released secret is wiped at once.
// Ownership: move-only; the moved-from object is empty (data() == nullptr) and
// must not be read. There is no implicit copy; Clone() is explicit.
// Thread-safety: none; one owner at a time.
// Failure modes: allocation failure aborts (out of memory for a few bytes of key
// material is not a recoverable condition for a crypto client).
#ifndef TRYGG_SECRET_BYTES_H_
#define TRYGG_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace trygg {
namespace secret_memory {
// Implemented in secret_bytes.cc so that this header does not need <sodium.h>.
// Zero-filled, locked; aborts on failure. Thread-safe.
uint8_t* Allocate(size_t size);
// Wipes and releases memory from Allocate(size); nullptr is a no-op.
void Free(uint8_t* ptr, size_t size);
}  // namespace secret_memory

template <size_t N>
class SecretBytes {
 public:
  static constexpr size_t kSize = N;

  // Zero-filled.
  SecretBytes() : data_(secret_memory::Allocate(N)) {}
  ~SecretBytes() { secret_memory::Free(data_, N); }

  SecretBytes(SecretBytes&& other) noexcept : data_(other.data_) {
    other.data_ = nullptr;
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      secret_memory::Free(data_, N);
      data_ = other.data_;
      other.data_ = nullptr;
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes Clone() const {
    SecretBytes copy;
    for (size_t i = 0; i < N; ++i) copy.data_[i] = data_[i];
    return copy;
  }

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  static constexpr size_t size() { return N; }
  std::span<uint8_t, N> span() { return std::span<uint8_t, N>(data_, N); }
  std::span<const uint8_t, N> span() const {
    return std::span<const uint8_t, N>(data_, N);
  }

 private:
  uint8_t* data_;
};

// A 32-byte symmetric key or seed: scope keys, data keys, organisation seeds.
using SecretKey = SecretBytes<32>;

}  // namespace trygg

#endif  // TRYGG_SECRET_BYTES_H_
