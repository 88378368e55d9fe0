#pragma once

#include <string>

#include <grpcpp/support/status.h>

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway {

// Idempotency-Key records (gateway.idempotency), kept 24 hours per actor and key.
class IdempotencyStore {
 public:
  explicit IdempotencyStore(db::Pool& pool);

  struct Outcome {
    enum Kind { kProceed, kReplay } kind = kProceed;
    int status = 0;  // kReplay: the first answer
    std::string body;
  };
  // Claims the key for this request (kProceed), or returns the first answer (kReplay).
  // A key reused for a different request is INVALID_ARGUMENT; a key whose first request is
  // still running is ABORTED (409).
  grpc::Status Begin(const std::string& actor, const std::string& key, const std::string& method,
                     const std::string& path, const std::string& body, Outcome* out);
  // Stores the answer. Server errors (5xx) release the key instead, so a retry runs again.
  grpc::Status Finish(const std::string& actor, const std::string& key, int status,
                      const std::string& body);

 private:
  db::Pool& pool_;
};

// A sane Idempotency-Key: 1-255 printable ASCII characters.
bool IsValidIdempotencyKey(const std::string& key);

}  // namespace flightdeck::gateway
