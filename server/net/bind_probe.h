// SPDX-License-Identifier: Apache-2.0

// A bind probe: whether a TCP listener could bind host:port now, and the
// operating system's reason when it could not. gRPC reports a failed bind
// only as "no address added" and the metrics HTTP server (civetweb) as
// "possible problem binding to port", so tryggd probes each address it is
// about to listen on and tells the operator why ("Address already in use",
// "Permission denied", "Cannot assign requested address").
//
// The probe binds a socket, with SO_REUSEADDR as both servers set it, for
// every address `host` resolves to, and closes it again. A port another
// process takes between the probe and the real bind is still reported by
// the server, less clearly. Port 0 is not probed: any free port will do.
//
// Thread-safe (getaddrinfo, socket, bind, close). Failure modes:
// InvalidArgument when `host` does not resolve (message: getaddrinfo's
// reason); Unavailable when a bind fails (message: strerror's). Neither
// names the address: the caller adds which one it was and what for.
#ifndef TRYGG_SERVER_NET_BIND_PROBE_H_
#define TRYGG_SERVER_NET_BIND_PROBE_H_

#include <string>

#include "absl/status/status.h"

namespace trygg::net {

enum class AddressFamily {
  kAny,   // IPv4 and IPv6, whichever `host` resolves to
  kIpv4,  // IPv4 only (a server that cannot listen on IPv6)
};

absl::Status ProbeBind(const std::string& host, int port, AddressFamily family);

}  // namespace trygg::net

#endif  // TRYGG_SERVER_NET_BIND_PROBE_H_
