#pragma once

#include <memory>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include "common/api/methods.h"
#include "services/gateway/chatops/chat_answer.h"
#include "services/gateway/chatops/command_parser.h"
#include "services/gateway/core/auth.h"

// What each chat command means for the API: the one RPC of the method table it calls, with
// which request, and how its answer reads in chat. Pure: running the call is the core's job
// (chat_work.h).
namespace flightdeck::gateway::chatops {

struct PlannedCall {
  const api::Method* method = nullptr;  // nullptr for `help`, which calls nothing
  std::unique_ptr<google::protobuf::Message> request;
  std::string target_path;  // the REST path it mirrors, for the audit log: "/v1/releases/3f2a/approve"
};

PlannedCall PlanCall(const ChatCommand& command);

// `rollback <service> <env> <reason>` without `to` rolls back what runs now: the caller reads
// the environment first (PlanCurrentLookup) and aims the planned call at its current release.
bool NeedsCurrentRelease(const ChatCommand& command);
PlannedCall PlanCurrentLookup(const ChatCommand& command);
grpc::Status AimAtCurrentRelease(const google::protobuf::Message& environment, const ChatCommand& command,
                                 PlannedCall* plan);

// Who pressed or typed, for the answer's small print: "alice via Slack".
struct Actor {
  Principal principal;
  std::string platform;  // "slack", "mattermost"
};

ChatAnswer HelpAnswer();
ChatAnswer ParseErrorAnswer(const std::string& error);
ChatAnswer NotLinkedAnswer(const std::string& platform, const std::string& team_id, const std::string& user_id);
// A successful call's answer. Changes go to the channel, reads to the caller only.
ChatAnswer ResultAnswer(const ChatCommand& command, const google::protobuf::Message& response, const Actor& actor);
// A refused or failed call, only to the caller; a PERMISSION_DENIED says which role is needed.
ChatAnswer ErrorAnswer(const ChatCommand& command, const api::Method* method, const grpc::Status& status,
                       const Actor& actor);

}  // namespace flightdeck::gateway::chatops
