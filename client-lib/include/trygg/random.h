// SPDX-License-Identifier: Apache-2.0

// Injected randomness and time.
//
// Purpose: every libtrygg operation that needs random bytes takes an Rng, and
// every one that stamps a time takes a Clock, so tests and published test
// vectors are reproducible (the olm approach). Production code passes
// SystemRng (libsodium's randombytes_buf) and SystemClock.
// Ownership: callers own the Rng/Clock; functions only borrow them for the call.
// Thread-safety: SystemRng and SystemClock are stateless and thread-safe.
// DeterministicRng and FixedClock are not; they are for tests and vector tools.
// Failure modes: none; SystemRng aborts only if libsodium cannot initialise.
#ifndef TRYGG_RANDOM_H_
#define TRYGG_RANDOM_H_

#include <array>
#include <cstdint>
#include <span>

namespace trygg {

class Rng {
 public:
  virtual ~Rng() = default;
  // Fills `out` with random bytes.
  virtual void Fill(std::span<uint8_t> out) = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch, UTC.
  virtual int64_t NowUnixMillis() = 0;
};

// libsodium's CSPRNG (getrandom(2) on Linux).
class SystemRng final : public Rng {
 public:
  void Fill(std::span<uint8_t> out) override;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnixMillis() override;
};

// NOT RANDOM: a ChaCha20 keystream under a fixed 32-byte seed. The n-th call to
// Fill (n = 0, 1, ...) returns the first out.size() bytes of
// crypto_stream_chacha20(nonce = n as u64 little-endian, key = seed).
// For tests and test vectors only.
class DeterministicRng final : public Rng {
 public:
  explicit DeterministicRng(const std::array<uint8_t, 32>& seed);
  // Convenience: seed = 32 copies of `byte`.
  explicit DeterministicRng(uint8_t byte);
  void Fill(std::span<uint8_t> out) override;

 private:
  std::array<uint8_t, 32> seed_;
  uint64_t counter_ = 0;
};

// Returns a fixed time, advanced only by Advance().
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t unix_millis) : now_(unix_millis) {}
  int64_t NowUnixMillis() override { return now_; }
  void Advance(int64_t millis) { now_ += millis; }

 private:
  int64_t now_;
};

}  // namespace trygg

#endif  // TRYGG_RANDOM_H_
