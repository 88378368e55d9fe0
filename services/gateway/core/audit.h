#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/gateway.pb.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway {

// The audit log (gateway.audit): one row per authenticated write, with its outcome. The row is
// durable before the caller hears the answer: a write whose answer went out is in the log. A
// write with an Idempotency-Key has its row written by IdempotencyStore::Finish, in the same
// statement as its stored answer; Record() is for the others.
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
