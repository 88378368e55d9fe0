#pragma once

#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/gateway.pb.h"
#include "services/gateway/core/auth.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway::chatops {

// The chat front's tables (migrations/gateway/0005_chatops.sql): the chat users linked to
// Flightdeck principals, the replay record of signed requests, and the record of every attempt
// to post an answer back. Thread-safe.
class ChatStore {
 public:
  explicit ChatStore(db::Pool& pool);

  // INVALID_ARGUMENT naming the field; ALREADY_EXISTS when that chat user is linked already.
  grpc::Status Create(const v1::ChatIdentity& request, const std::string& created_by, v1::ChatIdentity* out);
  grpc::Status List(const std::string& platform, std::vector<v1::ChatIdentity>* out);
  grpc::Status Delete(const v1::DeleteChatIdentityRequest& request);
  // The principal a chat user acts as; nullopt when they are not linked.
  grpc::Status Find(const std::string& platform, const std::string& team_id, const std::string& user_id,
                    std::optional<Principal>* out);

  // Records a signed request by its digest; false in *fresh when it was seen before (a replay).
  // Forgets digests older than `window`, which the timestamp check refuses anyway.
  grpc::Status RecordRequest(const std::string& digest, int window_seconds, bool* fresh);

  // One attempt to post job `job_id`'s answer to its response_url.
  grpc::Status RecordDelivery(long long job_id, const std::string& platform, int attempt, int http_status,
                              const std::string& error, double latency_ms);

 private:
  db::Pool& pool_;
};

}  // namespace flightdeck::gateway::chatops
