#pragma once

#include <chrono>
#include <string>

#include "common/net/egress.h"
#include "flightdeck/v1/incidents.pb.h"

// Outgoing webhooks (issue 5 "Notifications"): a generic JSON body or a Slack incoming-webhook
// body, signed with HMAC-SHA256 when the target has a secret.
namespace flightdeck::incidents {

// What happened, for the body: "opened", "escalated", "acknowledged", "resolved",
// "update_reminder", "review_overdue", "status_update".
struct NotificationEvent {
  std::string kind;
  std::string message;  // one line for people
  v1::Incident incident;  // summary fields only (no timeline)
  int escalation_level = -1;
};

// {"event":kind,"message":..,"incident":{canonical JSON of the incident}, "level":n}; "level"
// only when escalation_level >= 0; alerts, timeline and updates are left out of "incident".
std::string GenericBody(const NotificationEvent& e);
// Slack incoming webhook: {"text":..,"blocks":[...]}
std::string SlackBody(const NotificationEvent& e);
std::string BodyFor(const v1::NotificationTarget& target, const NotificationEvent& e);

// Header X-Flightdeck-Signature: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>"
// (receivers check the timestamp is recent to refuse replays).
std::string SignatureHeader(const std::string& secret, const std::string& body, long long unix_seconds);
bool VerifySignature(const std::string& secret, const std::string& body, const std::string& header);

struct DeliveryResult {
  bool ok = false;         // 2xx
  int http_status = 0;     // 0 when no answer
  std::string error;       // "connection refused", "timeout after 10000 ms", "status 500"
  double latency_ms = 0;
};
// POSTs body as application/json (with the signature header when secret is non-empty).
// Never throws; never logs the secret. The address connected to is checked against `egress`
// (null: none); a refused one fails the delivery with the policy's reason.
DeliveryResult Deliver(const std::string& url, const std::string& body, const std::string& secret,
                       long long unix_seconds, std::chrono::milliseconds timeout,
                       const net::EgressPolicy* egress = nullptr);

// For registration: "" when the egress policy lets a webhook reach `url`, else why not (the
// host and address, never the URL: webhook URLs are credentials).
std::string WebhookRefusal(const net::EgressPolicy* egress, const std::string& url);

}  // namespace flightdeck::incidents
