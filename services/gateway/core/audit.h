#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/gateway.pb.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway {

// The audit log (gateway.audit): one row per authenticated write, with its outcome.
class AuditLog {
 public:
  explicit AuditLog(db::Pool& pool);
  grpc::Status Record(const v1::AuditEntry& entry);
  // Newest first; page tokens are the last id seen.
  grpc::Status List(const v1::ListAuditRequest& request, v1::ListAuditResponse* out);

 private:
  db::Pool& pool_;
};

}  // namespace flightdeck::gateway
