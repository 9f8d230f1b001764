// SPDX-License-Identifier: Apache-2.0

#include "local_peer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace trygg::app {
namespace {

std::optional<uint32_t> Hex32(std::string_view text) {
  if (text.size() != 8) return std::nullopt;
  uint32_t v = 0;
  for (char ch : text) {
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  return v;
}

// The kernel prints each 32-bit word of an address as "%08X" of the word as
// it lies in memory (network byte order read as a host integer), so the
// parsed value is s_addr as it is.
std::optional<uint32_t> Address(std::string_view text) {
  if (text.size() == 8) return Hex32(text);
  if (text.size() != 32) return std::nullopt;
  // ::ffff:a.b.c.d
  const unsigned char mapped_bytes[4] = {0, 0, 0xff, 0xff};
  uint32_t mapped;
  std::memcpy(&mapped, mapped_bytes, sizeof(mapped));
  std::optional<uint32_t> w0 = Hex32(text.substr(0, 8)), w1 = Hex32(text.substr(8, 8)),
                          w2 = Hex32(text.substr(16, 8)), w3 = Hex32(text.substr(24, 8));
  if (!w0 || !w1 || !w2 || !w3 || *w0 != 0 || *w1 != 0 || *w2 != mapped) return std::nullopt;
  return w3;
}

std::optional<std::pair<uint32_t, int>> Endpoint(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || text.size() - colon - 1 != 4) return std::nullopt;
  std::optional<uint32_t> addr = Address(text.substr(0, colon));
  std::string port_hex = "0000" + std::string(text.substr(colon + 1));
  std::optional<uint32_t> port = Hex32(port_hex);
  if (!addr || !port) return std::nullopt;
  return std::make_pair(*addr, static_cast<int>(*port));
}

std::optional<uint32_t> Dotted(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return a.s_addr;
}

}  // namespace

std::optional<TcpRow> ParseProcNetTcpLine(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size() && fields.size() < 8) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
  if (fields.size() < 8 || fields[0].empty() || fields[0].back() != ':') return std::nullopt;
  std::optional<std::pair<uint32_t, int>> local = Endpoint(fields[1]), remote = Endpoint(fields[2]);
  if (!local || !remote) return std::nullopt;
  const std::string_view uid_text = fields[7];
  if (uid_text.empty() || uid_text.size() > 10 ||
      !std::all_of(uid_text.begin(), uid_text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  const unsigned long long uid = std::stoull(std::string(uid_text));
  if (uid > 0xFFFFFFFFull) return std::nullopt;
  return TcpRow{local->first, local->second, remote->first, remote->second, static_cast<uid_t>(uid)};
}

std::optional<uid_t> FindPeerUid(std::string_view table, uint32_t peer_addr, int peer_port, uint32_t our_addr,
                                 int our_port) {
  size_t start = 0;
  while (start < table.size()) {
    size_t end = table.find('\n', start);
    if (end == std::string_view::npos) end = table.size();
    std::optional<TcpRow> row = ParseProcNetTcpLine(table.substr(start, end - start));
    if (row && row->local_addr == peer_addr && row->local_port == peer_port && row->remote_addr == our_addr &&
        row->remote_port == our_port) {
      return row->uid;
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<uid_t> LoopbackPeerUid(const std::string& peer_addr, int peer_port, const std::string& our_addr,
                                     int our_port) {
  std::optional<uint32_t> peer = Dotted(peer_addr), ours = Dotted(our_addr);
  if (!peer || !ours || peer_port <= 0 || our_port <= 0) return std::nullopt;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    if (std::optional<uid_t> uid = FindPeerUid(text.str(), *peer, peer_port, *ours, our_port)) return uid;
  }
  return std::nullopt;
}

std::chrono::milliseconds UnlockThrottle::DelayAfter(int failures) {
  if (failures < 3) return std::chrono::milliseconds(0);
  const int doublings = std::min(failures - 3, 9);  // 2^9 s > 5 minutes
  return std::min(std::chrono::milliseconds(1000LL << doublings), std::chrono::milliseconds(5 * 60 * 1000));
}

std::optional<std::chrono::milliseconds> UnlockThrottle::Begin(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (in_flight_) return std::chrono::milliseconds(1000);
  if (now < next_allowed_) {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::ceil<std::chrono::milliseconds>(next_allowed_ - now));
  }
  in_flight_ = true;
  return std::nullopt;
}

void UnlockThrottle::End(bool ok, bool wrong_passphrase, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_flight_ = false;
  if (ok) {
    failures_ = 0;
    next_allowed_ = Clock::time_point{};
  } else if (wrong_passphrase) {
    failures_ = std::min(failures_ + 1, 1000);
    next_allowed_ = now + DelayAfter(failures_);
  }
}

}  // namespace trygg::app
