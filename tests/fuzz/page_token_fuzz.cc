// SPDX-License-Identifier: Apache-2.0

// Page tokens: the server parses whatever a caller sends back as a
// page_token (audit entries, directory search, lists by id and by sequence),
// and a client follows whatever tokens a server sends (internal/page_tokens.h).
//
// Every server parser must refuse what it did not make, or accept it only as
// the token it would itself make for that position (hex digits in either
// case), so a token cannot point anywhere its maker could not. The client's
// loop guard must end any token sequence: within its page limit, and at the
// first repeated token.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz/fuzz_input.h"
#include "internal/page_tokens.h"
#include "server/api/convert.h"
#include "server/domain/audit_log.h"
#include "server/domain/directory.h"

namespace trygg::fuzz {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void ServerParsers(const std::string& token) {
  absl::StatusOr<uint64_t> audit_index = domain::DecodeAuditPageToken(token);
  if (audit_index.ok()) TRYGG_FUZZ_CHECK(domain::EncodeAuditPageToken(*audit_index) == token);
  absl::StatusOr<domain::ListingCursor> cursor = domain::DecodeListingPageToken(token);
  if (cursor.ok()) TRYGG_FUZZ_CHECK(Lower(domain::EncodeListingPageToken(*cursor)) == Lower(token));
  absl::StatusOr<Id128> id = api::IdFromPageToken(token);
  if (id.ok() && !token.empty()) TRYGG_FUZZ_CHECK(api::IdPageToken(*id) == Lower(token));
  absl::StatusOr<uint64_t> seq = api::SeqFromPageToken(token, 0);
  if (seq.ok() && !token.empty()) TRYGG_FUZZ_CHECK(api::SeqPageToken(*seq) == token);
}

void ClientLoop(FuzzInput& in) {
  const size_t max_pages = 1 + in.Byte();
  internal::PageTokens tokens("fuzz", max_pages);
  std::set<std::string> seen;
  size_t pages = 0;
  while (!in.empty()) {
    std::span<const uint8_t> bytes = in.Bytes(1 + in.Byte() % 8);
    const std::string token(bytes.begin(), bytes.end());
    if (token.empty()) return;  // the last page: a client stops here
    ++pages;
    const bool repeated = !seen.insert(token).second;
    const bool ok = tokens.Advance(token).ok();
    TRYGG_FUZZ_CHECK(ok == (!repeated && pages < max_pages));
    if (!ok) return;
  }
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trygg::fuzz::FuzzInput in(data, size);
  if (in.Byte() % 2 == 0) {
    trygg::fuzz::ServerParsers(in.RestString());
  } else {
    trygg::fuzz::ClientLoop(in);
  }
  return 0;
}
