// SPDX-License-Identifier: Apache-2.0

#include "server/api/status.h"

#include <string>

#include <spdlog/spdlog.h>

namespace trygg::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      // The operator sees what the caller may not: our own messages name
      // files, tables or SQL, never bound values, keys or payloads.
      spdlog::error("internal error: {}", std::string(status.message()));
      return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    case absl::StatusCode::kUnavailable:
      spdlog::warn("unavailable: {}", std::string(status.message()));
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "temporarily unavailable; retry");
    default:
      return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
  }
}

}  // namespace trygg::api
