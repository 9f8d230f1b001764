// SPDX-License-Identifier: Apache-2.0

#include "testing/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace trygg::testing {

std::optional<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path,
                                    std::chrono::milliseconds timeout) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return std::nullopt;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string raw;
  bool complete = false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[16384];
      while (std::chrono::steady_clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) break;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) break;
        if (n == 0) {
          complete = true;
          break;
        }
        raw.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  const size_t header_end = raw.find("\r\n\r\n");
  if (!complete || raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  response.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  response.body = raw.substr(header_end + 4);
  return response;
}

}  // namespace trygg::testing
