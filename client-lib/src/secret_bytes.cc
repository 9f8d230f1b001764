#include "trygg/secret_bytes.h"

#include <cstdio>
#include <cstdlib>

#include "internal/sodium.h"

namespace trygg::secret_memory {

uint8_t* Allocate(size_t size) {
  internal::EnsureSodiumInitialized();
  auto* ptr = static_cast<uint8_t*>(sodium_malloc(size));
  if (ptr == nullptr) {
    std::fprintf(stderr, "trygg: sodium_malloc(%zu) failed\n", size);
    std::abort();
  }
  sodium_memzero(ptr, size);
  // sodium_malloc already tries to lock; an explicit mlock failure (RLIMIT_MEMLOCK)
  // is tolerated because refusing to hold keys would be worse than a page that
  // could be swapped. Core dumps are disabled separately (hardening.h).
  (void)sodium_mlock(ptr, size);
  return ptr;
}

void Free(uint8_t* ptr) {
  // sodium_free wipes the region and unlocks it before releasing it.
  if (ptr != nullptr) sodium_free(ptr);
}

}  // namespace trygg::secret_memory
