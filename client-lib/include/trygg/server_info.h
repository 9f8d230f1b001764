// SPDX-License-Identifier: Apache-2.0

// ServerInfo: what a tryggd says about itself (TrustService.GetServerInfo),
// the one type for both sides. tryggd fills it at start; a client receives
// it, and trusts server_public_key only through a server_certificate signed
// by the platform root it pinned (Client::GetServerInfo).
//
// A plain value; public data only.
#ifndef TRYGG_SERVER_INFO_H_
#define TRYGG_SERVER_INFO_H_

#include <optional>
#include <string>

#include "trygg/bytes.h"
#include "trygg/trust.h"

namespace trygg {

struct ServerInfo {
  std::string server_version;
  int schema_version = 0;
  // Random 16 bytes naming the server's database; bound into session
  // challenges so a signature for one server cannot be replayed at another.
  Id128 server_instance_id;
  // The server's own signing key (its tree heads; certified by the root).
  SignPublicKey server_public_key;
  // The platform root key the server pins, if configured.
  std::optional<SignPublicKey> platform_root;
  // The root's certificate of server_public_key. A client fills it after
  // verifying it against its pinned root; tryggd keeps its certificate in the
  // database and leaves this empty.
  std::optional<RootCertificate> server_certificate;
};

}  // namespace trygg

#endif  // TRYGG_SERVER_INFO_H_
