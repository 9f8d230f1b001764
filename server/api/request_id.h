// SPDX-License-Identifier: Apache-2.0

// A client's request_id: an optional label it gives a write so that it can
// find the call in the server's log. The server validates it, logs it with
// the call, and returns it unchanged in the trailing metadata entry
// kRequestIdKey, on success and on failure alike. It plays no part in
// idempotency (docs/api.md, "Request ids").
//
// Thread-safety: stateless.
// Failure modes: a request_id longer than kMaxRequestIdLength or holding
// anything but printable ASCII (0x20..0x7e) is INVALID_ARGUMENT, and the call
// then changes nothing.
#ifndef TRYGG_SERVER_API_REQUEST_ID_H_
#define TRYGG_SERVER_API_REQUEST_ID_H_

#include <grpcpp/server_context.h>

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trygg::api {

// The trailing metadata key that carries the request_id back.
inline constexpr char kRequestIdKey[] = "x-request-id";
inline constexpr size_t kMaxRequestIdLength = 128;

// OK for an empty or well-formed request_id.
absl::Status CheckRequestId(absl::string_view request_id);

// Checks `request_id` and, if it is set and well formed, attaches it to the
// call's trailing metadata. Handlers call it first, before authentication,
// so that a refused call can be found in the log too.
absl::Status AcceptRequestId(grpc::ServerContextBase& context, absl::string_view request_id);

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_REQUEST_ID_H_
