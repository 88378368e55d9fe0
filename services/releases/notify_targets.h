#pragma once

#include <set>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>
#include <nlohmann/json.hpp>

// Where an environment's release events are announced (the policy's "notify" list), and which
// timeline events are worth announcing.
namespace flightdeck::releases {

// The events a target may ask for, in the order a release meets them.
inline const std::vector<std::string> kNotifyKinds = {"started", "awaiting_approval", "canary_paused",
                                                      "rolled_back", "succeeded"};

struct NotifyTarget {
  std::string name;    // unique in the environment; names the deliveries
  std::string url;     // http(s); a credential (a Slack webhook's path is): shown as scheme+host only
  std::string format = "json";  // "json" or "slack"
  std::string secret;  // HMAC key of X-Flightdeck-Signature; empty: unsigned
  std::set<std::string> events;  // empty: every kind
  // Slack only: Approve / Abort (awaiting approval) and Promote / Abort (paused canary) buttons,
  // for a Slack app whose interactivity URL is the gateway's /v1/chatops/slack/interactions.
  bool interactive = false;

  bool Wants(const std::string& kind) const { return events.empty() || events.count(kind) > 0; }
};

// Parses an environment's "notify" entry:
//   [{"name":"deploys","url":"https://hooks.slack.com/services/...","format":"slack",
//     "events":["awaiting_approval","rolled_back"],"interactive":true},
//    {"name":"audit","url":"https://hooks.example/flightdeck","secret_file":"/run/secrets/hook"}]
// INVALID_ARGUMENT naming the field ("production.notify[1].url: ...") for a missing or repeated
// name, a url that is not http(s), an unknown format or event, "interactive" on a json target,
// both "secret" and "secret_file", or a secret file that cannot be read.
grpc::Status ParseNotifyTargets(const std::string& field, const nlohmann::json& value,
                                std::vector<NotifyTarget>* out);

// The notification kind a timeline event announces ("" for none): CREATED is "started";
// STATE_CHANGED into AWAITING_APPROVAL, ROLLED_BACK or SUCCEEDED; PAUSED is "canary_paused".
std::string NotifyKindOf(const std::string& event_type, const std::string& event_data_json);

}  // namespace flightdeck::releases
