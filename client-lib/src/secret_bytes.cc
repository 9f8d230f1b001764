// SPDX-License-Identifier: Apache-2.0

#include "trygg/secret_bytes.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "internal/sodium.h"

namespace trygg::secret_memory {
namespace {

// Every key and seed (32 bytes), Ed25519 secret keys (64) and a grant's
// plaintext (68) fit; larger secrets get their own sodium_malloc region.
constexpr size_t kSlotSize = 128;
constexpr size_t kSlotsPerSlab = 1024;

[[noreturn]] void OutOfSecureMemory(size_t size) {
  std::fprintf(stderr, "trygg: sodium_malloc(%zu) failed\n", size);
  std::abort();
}

uint8_t* SodiumAllocate(size_t size) {
  auto* ptr = static_cast<uint8_t*>(sodium_malloc(size));
  if (ptr == nullptr) OutOfSecureMemory(size);
  // sodium_malloc locks when it can; an mlock failure (RLIMIT_MEMLOCK) is
  // tolerated because refusing to hold keys would be worse than a page that
  // could be swapped. Core dumps are disabled separately (hardening.h).
  (void)sodium_mlock(ptr, size);
  sodium_memzero(ptr, size);
  return ptr;
}

// Fixed kSlotSize-byte slots carved from locked slabs. Slabs live until exit.
// Slots of one slab sit side by side, with no guard page between them: an
// overflow from one secret would reach the next, not a guard page (the
// slab as a whole has libsodium's guard pages and canary).
class SlotPool {
 public:
  uint8_t* Allocate() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) {
      uint8_t* slab = SodiumAllocate(kSlotSize * kSlotsPerSlab);
      for (size_t i = kSlotsPerSlab; i > 0; --i) free_.push_back(slab + (i - 1) * kSlotSize);
    }
    uint8_t* slot = free_.back();
    free_.pop_back();
    return slot;
  }

  void Free(uint8_t* slot) {
    sodium_memzero(slot, kSlotSize);
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }

 private:
  std::mutex mu_;
  std::vector<uint8_t*> free_;
};

SlotPool& Pool() {
  static SlotPool* pool = new SlotPool;  // never destroyed: secrets may outlive statics
  return *pool;
}

}  // namespace

uint8_t* Allocate(size_t size) {
  internal::EnsureSodiumInitialized();
  if (size <= kSlotSize) return Pool().Allocate();
  return SodiumAllocate(size);
}

void Free(uint8_t* ptr, size_t size) {
  if (ptr == nullptr) return;
  if (size <= kSlotSize) {
    Pool().Free(ptr);
  } else {
    sodium_free(ptr);  // wipes, unlocks and unmaps
  }
}

}  // namespace trygg::secret_memory
