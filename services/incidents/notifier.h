#pragma once

#include <string>

#include "common/net/egress.h"
#include "common/notify/delivery.h"
#include "common/notify/signature.h"
#include "flightdeck/v1/incidents.pb.h"

// Incidents' outgoing webhooks: a generic JSON body or a Slack incoming-webhook body (with
// Acknowledge / Resolve buttons), signed with HMAC-SHA256 when the target has a secret.
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

// Signing, one delivery attempt (notify::Deliver) and the egress check are common/notify's,
// shared with releases.
using notify::DeliveryResult;
using notify::SignatureHeader;
using notify::VerifySignature;

// For registration: "" when the egress policy lets a webhook reach `url`, else why not (the
// host and address, never the URL: webhook URLs are credentials).
std::string WebhookRefusal(const net::EgressPolicy* egress, const std::string& url);

}  // namespace flightdeck::incidents
