#include "server/api/status.h"

#include <string>

namespace trygg::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    case absl::StatusCode::kUnavailable:
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "temporarily unavailable; retry");
    default:
      return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
  }
}

}  // namespace trygg::api
