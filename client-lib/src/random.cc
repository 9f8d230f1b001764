// SPDX-License-Identifier: Apache-2.0

#include "trygg/random.h"

#include <chrono>
#include <cstring>

#include "internal/sodium.h"

namespace trygg {

void SystemRng::Fill(std::span<uint8_t> out) {
  internal::EnsureSodiumInitialized();
  randombytes_buf(out.data(), out.size());
}

int64_t SystemClock::NowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DeterministicRng::DeterministicRng(const std::array<uint8_t, 32>& seed) : seed_(seed) {}

DeterministicRng::DeterministicRng(uint8_t byte) { seed_.fill(byte); }

void DeterministicRng::Fill(std::span<uint8_t> out) {
  internal::EnsureSodiumInitialized();
  static_assert(crypto_stream_chacha20_NONCEBYTES == 8);
  uint8_t nonce[8];
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<uint8_t>(counter_ >> (8 * i));
  ++counter_;
  crypto_stream_chacha20(out.data(), out.size(), nonce, seed_.data());
}

}  // namespace trygg
