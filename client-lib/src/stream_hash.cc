// SPDX-License-Identifier: Apache-2.0

#include "trygg/stream_hash.h"

#include "internal/sodium.h"
#include "trygg/status_macros.h"

namespace trygg {

struct StreamHasher::State {
  crypto_generichash_state hash;
  bool finished = false;
};

StreamHasher::StreamHasher() : state_(std::make_unique<State>()) {
  internal::EnsureSodiumInitialized();
  crypto_generichash_init(&state_->hash, nullptr, 0, Hash256::kSize);
}

StreamHasher::StreamHasher(StreamHasher&&) noexcept = default;
StreamHasher& StreamHasher::operator=(StreamHasher&&) noexcept = default;
StreamHasher::~StreamHasher() = default;

void StreamHasher::Update(std::span<const uint8_t> bytes) {
  TRYGG_CHECK(state_ != nullptr && !state_->finished);  // Update after Finish or a move
  crypto_generichash_update(&state_->hash, bytes.data(), bytes.size());
}

Hash256 StreamHasher::Finish() {
  TRYGG_CHECK(state_ != nullptr && !state_->finished);  // Finish twice or after a move
  state_->finished = true;
  Hash256 out;
  crypto_generichash_final(&state_->hash, out.data(), out.size());
  return out;
}

}  // namespace trygg
