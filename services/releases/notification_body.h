#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "flightdeck/v1/releases.pb.h"
#include "services/releases/notify_targets.h"

// What a release notification says, as a generic webhook body or a Slack message (formats and
// signing are common/notify's, shared with incidents).
namespace flightdeck::releases {

struct ReleaseNotification {
  std::string kind;        // one of kNotifyKinds
  std::string message;     // the timeline event's message
  std::string actor;       // who caused it
  v1::Release release;     // as it was when the notification was written
  // rolled_back after a failed canary or bake analysis: that ANALYSIS event's data (verdict,
  // reason, requests, errors, error_rate, max_error_rate, p99_latency_ms, ...). Null otherwise.
  nlohmann::json verdict;
};

// {"event":kind,"message":..,"actor":..,"release":{canonical JSON, no timeline},"verdict":{..}}
// ("verdict" only when there is one).
std::string GenericReleaseBody(const ReleaseNotification& n);
// Slack incoming webhook: heading, the event, commit and image, the reason and the failing
// verdict's numbers, and, with `interactive`, Approve / Abort while awaiting approval and
// Promote / Abort on a paused canary (action ids the gateway's chat-ops front runs).
std::string SlackReleaseBody(const ReleaseNotification& n, bool interactive);
std::string ReleaseBodyFor(const NotifyTarget& target, const ReleaseNotification& n);

// "error rate 12.50% of 400 requests (limit 5.00%), p99 830 ms (limit 500 ms)": the numbers of
// an ANALYSIS event's data, for people; "" when it has none.
std::string VerdictNumbers(const nlohmann::json& verdict);

}  // namespace flightdeck::releases
