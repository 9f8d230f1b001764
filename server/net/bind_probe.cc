// SPDX-License-Identifier: Apache-2.0

#include "server/net/bind_probe.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace trygg::net {

absl::Status ProbeBind(const std::string& host, int port, AddressFamily family) {
  if (port == 0) return absl::OkStatus();
  addrinfo hints{};
  hints.ai_family = family == AddressFamily::kIpv4 ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const std::string port_text = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &results);
  if (rc != 0) return absl::InvalidArgumentError(gai_strerror(rc));
  absl::Status status;
  for (addrinfo* ai = results; ai != nullptr && status.ok(); ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) status = absl::UnavailableError(std::strerror(errno));
    close(fd);
  }
  freeaddrinfo(results);
  return status;
}

}  // namespace trygg::net
