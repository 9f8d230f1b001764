#include "server/audit/node_store.h"

#include "absl/strings/str_cat.h"

namespace trygg::audit {

bool NodeExists(NodeId id, uint64_t size) {
  if (id.level >= 64) return false;
  // (index + 1) << level <= size, written so that it cannot overflow.
  return id.index < (size >> id.level);
}

}  // namespace trygg::audit
