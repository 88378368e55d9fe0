#pragma once

#include <chrono>
#include <string>

#include <grpcpp/support/status.h>

#include "common/jobs/jobs.h"
#include "common/net/egress.h"
#include "services/gateway/chatops/chat_answer.h"
#include "services/gateway/chatops/chat_commands.h"
#include "services/gateway/chatops/chat_request.h"

namespace flightdeck::gateway {
class Core;
}

namespace flightdeck::gateway::chatops {

class ChatStore;

// Renders an answer the way the platform reads it.
std::string RenderFor(const std::string& platform, const ChatAnswer& answer);

struct ChatWorkOptions {
  std::chrono::milliseconds call_timeout{15000};      // a command's wait for the core
  std::chrono::milliseconds delivery_timeout{5000};   // one POST to a response_url
  jobs::RetryPolicy delivery_retry{6, std::chrono::milliseconds(1000), std::chrono::milliseconds(30000)};
  const net::EgressPolicy* egress = nullptr;          // checked on every response_url connection
};

// The durable half of the chat front: a command taken from chat is a job ("chatops.command")
// that runs it through the call core as the linked principal, then a job ("chatops.deliver")
// that posts the answer to the platform's response_url, retried with backoff, every attempt
// recorded. Both run on the jobs worker's threads, never on the HTTP threads, so a slow or
// absent Slack never holds up the API.
class ChatWork {
 public:
  static constexpr const char* kCommandJob = "chatops.command";
  static constexpr const char* kDeliverJob = "chatops.deliver";

  ChatWork(Core& core, ChatStore& store, jobs::Queue& queue, ChatWorkOptions options = {});

  void Register(jobs::Worker& worker);
  grpc::Status Enqueue(const ChatContext& context, long long* job_id);

  // Runs the command now and returns its answer (the first half of the command job).
  // Writes carry `idempotency_key`, so that a job run again after a crash does not act twice.
  ChatAnswer Execute(const ChatContext& context, const std::string& idempotency_key,
                     const std::string& request_id);

  grpc::Status RunCommand(const jobs::Job& job);
  grpc::Status Deliver(const jobs::Job& job);

 private:
  struct Outcome {
    grpc::Status status;
    std::unique_ptr<google::protobuf::Message> response;
  };
  // One call through the core as `principal`, waited for (bounded).
  Outcome Call(PlannedCall& plan, const Principal& principal, const ChatContext& context,
               const std::string& idempotency_key, const std::string& request_id);

  Core& core_;
  ChatStore& store_;
  jobs::Queue& queue_;
  ChatWorkOptions options_;
  jobs::Worker* worker_ = nullptr;  // woken when work is enqueued
};

}  // namespace flightdeck::gateway::chatops
