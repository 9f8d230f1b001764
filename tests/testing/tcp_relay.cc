// SPDX-License-Identifier: Apache-2.0

#include "testing/tcp_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace trygg::testing {
namespace {

sockaddr_in Ipv4(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  return address;
}

// Writes all of `data`; false when the peer is gone.
bool WriteAll(int fd, const char* data, ssize_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= n;
  }
  return true;
}

}  // namespace

TcpRelay::TcpRelay(const std::string& upstream, const std::string& source) : source_(source) {
  const size_t colon = upstream.rfind(':');
  upstream_host_ = upstream.substr(0, colon);
  upstream_port_ = std::stoi(upstream.substr(colon + 1));
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) return;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local = Ipv4("127.0.0.1", 0);
  socklen_t length = sizeof(local);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    if (fd >= 0) close(fd);
    return;
  }
  listener_ = fd;
  port_ = ntohs(local.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

TcpRelay::~TcpRelay() {
  if (stop_pipe_[1] >= 0) close(stop_pipe_[1]);  // wakes every poll
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& thread : threads_) thread.join();
  for (int fd : open_) close(fd);
  if (listener_ >= 0) close(listener_);
  if (stop_pipe_[0] >= 0) close(stop_pipe_[0]);
}

void TcpRelay::Accept() {
  for (;;) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from = Ipv4(source_, 0);
    sockaddr_in to = Ipv4(upstream_host_, upstream_port_);
    if (server < 0 || bind(server, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
        connect(server, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
      close(client);
      if (server >= 0) close(server);
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_.push_back(client);
    open_.push_back(server);
    threads_.emplace_back([this, client, server] { Pump(client, server); });
  }
}

void TcpRelay::Pump(int client, int server) {
  // The relay stands for the network between a remote caller and tryggd: on
  // a test machine its copying must not be charged to the server.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  char buffer[64 * 1024];
  for (;;) {
    pollfd fds[3] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) continue;
    if (fds[2].revents != 0) break;
    bool open = true;
    for (int i = 0; i < 2 && open; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = recv(fds[i].fd, buffer, sizeof(buffer), 0);
      open = n > 0 && WriteAll(fds[1 - i].fd, buffer, n);
    }
    if (!open) break;
  }
  // One side closed: close both ways, so the other side hears of it.
  shutdown(client, SHUT_RDWR);
  shutdown(server, SHUT_RDWR);
}

}  // namespace trygg::testing
