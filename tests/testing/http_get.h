// SPDX-License-Identifier: Apache-2.0

// A minimal blocking HTTP/1.0 GET over loopback TCP, for tests that scrape
// tryggd's /metrics endpoint. No TLS, no redirects, no chunked encoding: an
// HTTP/1.0 request makes the server close the connection after the body.
//
// Thread-safety: stateless.
#ifndef TRYGG_TESTS_TESTING_HTTP_GET_H_
#define TRYGG_TESTS_TESTING_HTTP_GET_H_

#include <chrono>
#include <optional>
#include <string>

namespace trygg::testing {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// GETs `path` from the IPv4 `host`:`port`; nullopt if the connection fails,
// the response is not HTTP, or `timeout` passes first.
std::optional<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace trygg::testing

#endif  // TRYGG_TESTS_TESTING_HTTP_GET_H_
