#include "services/incidents/notifier.h"

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "common/notify/format.h"

namespace flightdeck::incidents {
namespace {

using Json = nlohmann::json;
using notify::SlackEscape;

std::string SeverityText(const v1::Incident& incident) {
  return incident.severity() == v1::Incident::SEVERITY_UNSPECIFIED
             ? "SEV?"
             : v1::Incident::Severity_Name(incident.severity());
}

std::string Where(const v1::Incident& incident) {
  std::string where = incident.service();
  if (!incident.environment().empty()) where += (where.empty() ? "" : "/") + incident.environment();
  return where;
}

}  // namespace

std::string GenericBody(const NotificationEvent& e) {
  v1::Incident summary = e.incident;
  summary.clear_timeline();
  summary.clear_alerts();
  summary.clear_updates();
  std::string incident_json;
  Json incident = Json::object();
  if (google::protobuf::util::MessageToJsonString(summary, &incident_json).ok()) {
    incident = Json::parse(incident_json, nullptr, /*allow_exceptions=*/false);
    if (incident.is_discarded()) incident = Json::object();
  }
  Json extra = Json::object();
  if (e.escalation_level >= 0) extra["level"] = e.escalation_level;
  return notify::GenericBody(e.kind, e.message, "incident", std::move(incident), extra);
}

std::string SlackBody(const NotificationEvent& e) {
  const v1::Incident& inc = e.incident;
  notify::SlackMessage m;
  m.heading = "[" + SeverityText(inc) + "] " + inc.title();
  m.message = e.message;
  const std::string where = Where(inc);
  m.text = m.heading + (where.empty() ? "" : " (" + where + ")") + ": " + e.message;
  m.context = "*State:* " + v1::Incident::State_Name(inc.state());
  if (!where.empty()) m.context += "  *Service:* " + SlackEscape(where);
  if (e.escalation_level >= 0) m.context += "  *Escalation level:* " + std::to_string(e.escalation_level);
  if (!inc.id().empty()) m.context += "  *Incident:* " + SlackEscape(inc.id());
  // Acknowledge / Resolve from the message itself: when the webhook belongs to a Slack app whose
  // interactivity points at the gateway, a press arrives at /v1/chatops/slack/interactions with
  // these action ids and runs as the presser's linked principal.
  if (!inc.id().empty() && inc.state() == v1::Incident::TRIGGERED) {
    m.buttons.push_back({"Acknowledge", "ack", inc.id(), "primary", ""});
  }
  if (!inc.id().empty() && (inc.state() == v1::Incident::TRIGGERED || inc.state() == v1::Incident::ACKNOWLEDGED)) {
    m.buttons.push_back({"Resolve", "resolve", inc.id(), "", "Resolve " + inc.id() + "?"});
  }
  return notify::SlackBody(m);
}

std::string BodyFor(const v1::NotificationTarget& target, const NotificationEvent& e) {
  return target.format() == "slack" ? SlackBody(e) : GenericBody(e);
}

std::string WebhookRefusal(const net::EgressPolicy* egress, const std::string& url) {
  return notify::UrlRefusal(egress, url);
}

}  // namespace flightdeck::incidents
