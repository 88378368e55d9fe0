#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/model.h"

// The three intake formats normalised to AlertInput, with validation that names the field.
namespace flightdeck::incidents {

// Alertmanager webhook v4. Every alert needs labels with alertname and status firing|resolved
// (any case).
// A given fingerprint is the alert's identity, kept as sent (16 hex digits lower-cased, as
// Alertmanager prints them; anything else opaque), at most 255 printable ASCII characters
// without spaces; an absent one is computed from the labels. startsAt/endsAt are RFC 3339
// (Go's "0001-01-01T00:00:00Z" zero time means absent). One INVALID_ARGUMENT naming every bad
// field ("alerts[3].status: ...; alerts[4].fingerprint: ...").
grpc::Status ParseAlertmanager(const v1::AlertmanagerWebhook& in, std::vector<AlertInput>* out);

// PagerDuty Events API v2 after the integration is known (the caller checks routing_key).
// Errors are collected the way PagerDuty words them ("'payload.summary' is missing or blank",
// "'payload.severity' is invalid") into `errors`; INVALID_ARGUMENT when any. The fingerprint is
// dedup_key; a trigger without one gets a generated 32-hex key (returned to the caller in the
// response). A trigger's labels come from the payload: alertname=<class or "PagerDutyEvent">,
// severity, source, component, group, and service/environment from the integration.
// acknowledge/resolve carry no payload: their labels are only alertname=PagerDutyEvent and the
// integration's service/environment, so the store must find the alert by fingerprint and keep
// its stored labels.
struct IntegrationView {
  std::string name;
  std::string service;
  std::string environment;
  std::optional<Severity> severity_override;
  std::optional<Severity> default_severity;
};
grpc::Status ParsePagerDuty(const v1::PagerDutyEvent& in, const IntegrationView& integration,
                            AlertInput* out, std::vector<std::string>* errors);

// Native alerts: labels.alertname required; status firing (default) | resolved; fingerprint
// as for Alertmanager.
grpc::Status ParseNative(const v1::PostAlertsRequest& in, std::vector<AlertInput>* out);

// RFC 3339 with optional fraction (1-9 digits) and Z or ±hh:mm; false when malformed.
bool ParseRfc3339(const std::string& text, Clock::TimePoint* out);

}  // namespace flightdeck::incidents
