// SPDX-License-Identifier: Apache-2.0

// The page tokens of one paged listing, as a client follows them.
//
// Purpose: every "list everything" loop in libtrygg asks for the next page
// while the server sends a next_page_token. A server that repeats a token, or
// makes up new ones forever, would keep such a loop running for ever; Advance
// refuses both, so a loop ends with DATA_LOSS instead of hanging.
// Usage: one PageTokens per listing; after each response, call
// Advance(response.next_page_token()) before asking for the next page.
// Ownership: a value type; remembers a 32-byte hash per token (at most
// kMaxPages of them), never the tokens themselves, so a server's huge tokens
// cost nothing to remember.
// Thread-safety: none; one listing, one thread.
// Failure modes: DATA_LOSS "<what>: the server repeated a page token" or
// "<what>: the server sent more than N pages".
#ifndef TRYGG_CLIENT_LIB_INTERNAL_PAGE_TOKENS_H_
#define TRYGG_CLIENT_LIB_INTERNAL_PAGE_TOKENS_H_

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "trygg/bytes.h"

namespace trygg::internal {

// At the server's largest page (500 items), five million items: far past any
// organisation's cases, devices or log links, and a few seconds of loopback
// calls for a server that never stops.
inline constexpr size_t kMaxPages = 10'000;

class PageTokens {
 public:
  explicit PageTokens(std::string_view what, size_t max_pages = kMaxPages) : what_(what), max_pages_(max_pages) {}

  // Records the token the latest page ended with: OK to follow it (or, when
  // it is empty, to stop), DATA_LOSS when the listing cannot end well.
  absl::Status Advance(const std::string& next_page_token) {
    ++pages_;
    if (next_page_token.empty()) return absl::OkStatus();
    if (pages_ >= max_pages_) {
      return absl::DataLossError(what_ + ": the server sent more than " + std::to_string(max_pages_) +
                                 " pages (too many pages)");
    }
    const Hash256 hash = Blake2b256(
        std::span(reinterpret_cast<const uint8_t*>(next_page_token.data()), next_page_token.size()));
    if (!seen_.insert(std::string(hash.span().begin(), hash.span().end())).second) {
      return absl::DataLossError(what_ + ": the server repeated a page token");
    }
    return absl::OkStatus();
  }

 private:
  std::string what_;
  size_t max_pages_;
  size_t pages_ = 0;
  std::set<std::string> seen_;
};

}  // namespace trygg::internal

#endif  // TRYGG_CLIENT_LIB_INTERNAL_PAGE_TOKENS_H_
