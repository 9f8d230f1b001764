// Secret key material in locked, guarded memory.
//
// Purpose: SecretBytes<N> holds N secret bytes in memory from sodium_malloc
// (guard pages, canary), locked into RAM with sodium_mlock so it is never
// swapped, and wiped by sodium_free when the object dies.
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
uint8_t* Allocate(size_t size);  // zero-filled, locked; aborts on failure
void Free(uint8_t* ptr);         // wipes and releases; nullptr is a no-op
}  // namespace secret_memory

template <size_t N>
class SecretBytes {
 public:
  static constexpr size_t kSize = N;

  // Zero-filled.
  SecretBytes() : data_(secret_memory::Allocate(N)) {}
  ~SecretBytes() { secret_memory::Free(data_); }

  SecretBytes(SecretBytes&& other) noexcept : data_(other.data_) {
    other.data_ = nullptr;
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      secret_memory::Free(data_);
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
