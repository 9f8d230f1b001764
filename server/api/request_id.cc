// SPDX-License-Identifier: Apache-2.0

#include "server/api/request_id.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace trygg::api {

absl::Status CheckRequestId(absl::string_view request_id) {
  // The id goes into a log line and a metadata header: printable ASCII keeps
  // both readable and leaves no room for control characters or line breaks.
  if (request_id.size() > kMaxRequestIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("request_id is ", request_id.size(), " characters; at most ",
                                                   kMaxRequestIdLength, " are allowed"));
  }
  for (char c : request_id) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError("request_id may hold printable ASCII characters (0x20..0x7e) only");
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
