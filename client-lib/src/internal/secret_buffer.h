// SPDX-License-Identifier: Apache-2.0

// Private: a variable-size buffer in locked, wiped memory (for plaintexts of
// key material whose size is only known at run time).
#ifndef TRYGG_SRC_INTERNAL_SECRET_BUFFER_H_
#define TRYGG_SRC_INTERNAL_SECRET_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "trygg/secret_bytes.h"

namespace trygg::internal {

class SecretBuffer {
 public:
  explicit SecretBuffer(size_t size)
      : data_(secret_memory::Allocate(size == 0 ? 1 : size)), size_(size) {}
  ~SecretBuffer() { secret_memory::Free(data_, size_ == 0 ? 1 : size_); }
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

 private:
  uint8_t* data_;
  size_t size_;
};

}  // namespace trygg::internal

#endif  // TRYGG_SRC_INTERNAL_SECRET_BUFFER_H_
