// SPDX-License-Identifier: Apache-2.0

// StreamHasher: BLAKE2b-256 of a byte stream that arrives in pieces.
//
// Purpose: a hash over data too large, or too slow in coming, to hold at once
// (an attachment upload read part by part). Feeding the pieces in order gives
// exactly Blake2b256 (bytes.h) of their concatenation, so a stream hashed on
// arrival can be compared with a hash computed over the whole.
// Ownership: owns its hashing state; move-only. The spans passed to Update are
// read during the call only.
// Thread-safety: none; one StreamHasher belongs to one stream. Distinct
// hashers may be used concurrently.
// Failure modes: none. Update after Finish is a broken invariant of the
// caller and aborts with a message.
#ifndef TRYGG_STREAM_HASH_H_
#define TRYGG_STREAM_HASH_H_

#include <cstdint>
#include <memory>
#include <span>

#include "trygg/bytes.h"

namespace trygg {

class StreamHasher {
 public:
  StreamHasher();
  StreamHasher(StreamHasher&&) noexcept;
  StreamHasher& operator=(StreamHasher&&) noexcept;
  ~StreamHasher();

  // Adds the next piece of the stream (may be empty).
  void Update(std::span<const uint8_t> bytes);
  // BLAKE2b-256 of everything added. Call once; the hasher is spent after.
  Hash256 Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace trygg

#endif  // TRYGG_STREAM_HASH_H_
