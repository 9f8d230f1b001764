// SPDX-License-Identifier: Apache-2.0

#include "server/api/request_id.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace trygg::api {

absl::Status CheckRequestId(absl::string_view request_id) {
  // The id goes into a log line and a metadata header. Letters, digits and
  // - . _ : / leave no room for control characters or line breaks, nor for a
  // space or '=' that would forge another field of a text log line.
  if (request_id.size() > kMaxRequestIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("request_id is ", request_id.size(), " characters; at most ",
                                                   kMaxRequestIdLength, " are allowed"));
  }
  for (char c : request_id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                         c == '.' || c == '_' || c == ':' || c == '/';
    if (!allowed) {
      return absl::InvalidArgumentError("request_id may hold ASCII letters, digits and - . _ : / only");
    }
  }
  return absl::OkStatus();
}

absl::Status AcceptRequestId(grpc::ServerContextBase& context, absl::string_view request_id) {
  absl::Status valid = CheckRequestId(request_id);
  if (!valid.ok()) return valid;
  if (!request_id.empty()) context.AddTrailingMetadata(kRequestIdKey, std::string(request_id));
  return absl::OkStatus();
}

}  // namespace trygg::api
