// The one place that maps absl::Status to grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace recd::server {

grpc::Status ToGrpcStatus(const absl::Status& s);

}  // namespace recd::server
