#pragma once

#include <chrono>

#include <string>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/gateway.pb.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway {

// Idempotency-Key records (gateway.idempotency), kept 24 hours per actor and key. A record
// holds the first answer in a protocol-neutral form: a retry gets it back through any front.
// Each call is single statements without BEGIN/COMMIT (db::Autocommit): a claim is one round
// trip, the answer with its audit row another. A claim re-run after a lost connection finds
// itself "in progress" (409, retry), never a second effect.
class IdempotencyStore {
 public:
  // A claim still "in progress" after `abandoned_after` belonged to a gateway that died during
  // the request (its upstream call has a deadline well inside that): the next request with the
  // key takes it over instead of getting 409 for 24 hours.
  explicit IdempotencyStore(db::Pool& pool,
                            std::chrono::milliseconds abandoned_after = std::chrono::seconds(70));

  struct Outcome {
    enum Kind { kProceed, kReplay } kind = kProceed;
    // kReplay: the first answer: its status, and the serialized response message when OK.
    grpc::Status status;
    std::string response;
    // Records written before the neutral form: the JSON body and its HTTP status.
    bool legacy_json = false;
    int legacy_http_status = 0;
  };
  // Claims the key for this request (kProceed), or returns the first answer (kReplay).
  // `request_hash` identifies the request (method and message): a key reused for a different
  // request is INVALID_ARGUMENT; a key whose first request is still running is ABORTED (409).
  grpc::Status Begin(const std::string& actor, const std::string& key, const std::string& method,
                     const std::string& target, const std::string& request_hash, Outcome* out);
  // Stores the answer. Server-side failures (UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, ...)
  // release the key instead, so that a retry runs again. With `audit`, the request's audit row
  // is written in the same statement: one round trip and one commit for both, durable before
  // the caller hears the answer.
  grpc::Status Finish(const std::string& actor, const std::string& key, const grpc::Status& status,
                      const std::string& response, const v1::AuditEntry* audit = nullptr);

 private:
  db::Pool& pool_;
  std::chrono::milliseconds abandoned_after_;
};

// A sane Idempotency-Key: 1-255 printable ASCII characters.
bool IsValidIdempotencyKey(const std::string& key);

}  // namespace flightdeck::gateway
