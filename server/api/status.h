// SPDX-License-Identifier: Apache-2.0

// The one place where domain errors become gRPC statuses.
//
// absl::StatusCode and grpc::StatusCode share their numbering (both follow
// google.rpc.Code), so the code passes through unchanged; messages from the
// domain are written for the caller and never contain secrets. Internal and
// storage faults are reported without detail, since their messages may name
// files or SQL.
#ifndef TRYGG_SERVER_API_STATUS_H_
#define TRYGG_SERVER_API_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace trygg::api {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_STATUS_H_
