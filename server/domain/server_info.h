// What the server tells anyone about itself: versions, its database identity
// and the platform root key it pins. Fixed at start-up; immutable after.
#ifndef TRYGG_SERVER_DOMAIN_SERVER_INFO_H_
#define TRYGG_SERVER_DOMAIN_SERVER_INFO_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "server/domain/store.h"

namespace trygg::domain {

struct ServerInfo {
  std::string server_version;
  int schema_version = 0;
  ServerIdentity identity;
  std::optional<std::array<uint8_t, 32>> platform_root_public_key;
  // The server's own signing key (its tree heads; certified by the root).
  std::array<uint8_t, 32> server_public_key{};
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_SERVER_INFO_H_
