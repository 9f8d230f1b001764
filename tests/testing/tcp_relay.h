// SPDX-License-Identifier: Apache-2.0

// TcpRelay: forwards every TCP connection made to 127.0.0.1:port() to an
// upstream IPv4 address, connecting from another loopback address (such as
// 127.0.0.2) so that the server sees that address as the caller's. Bytes pass
// unchanged both ways. Lets one test play callers from two addresses against
// a real tryggd on loopback (the per-address rate limit).
//
// Its threads run at a lower priority (nice 10), as the network between a
// remote caller and the server would not share the server's CPU.
//
// Ownership: owns its listener, its connections and one thread per
// connection. Destroying it closes them all and joins the threads.
// Thread-safety: construct and destroy on one thread; port() from any.
// Failure modes: ok() is false when the listener could not start; a
// connection whose upstream cannot be reached is closed at once.
#ifndef TRYGG_TESTS_TESTING_TCP_RELAY_H_
#define TRYGG_TESTS_TESTING_TCP_RELAY_H_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace trygg::testing {

class TcpRelay {
 public:
  // `upstream` is "a.b.c.d:port"; `source` the IPv4 address to connect from.
  TcpRelay(const std::string& upstream, const std::string& source);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  bool ok() const { return listener_ >= 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Accept();
  void Pump(int client, int server);

  std::string upstream_host_;
  int upstream_port_ = 0;
  std::string source_;
  int listener_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};  // readable once the relay is stopping
  std::mutex mu_;
  std::vector<int> open_;  // every socket of every live connection
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace trygg::testing

#endif  // TRYGG_TESTS_TESTING_TCP_RELAY_H_
