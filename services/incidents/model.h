#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/clock/clock.h"

// Plain types shared by the incidents service's parts (intake, grouping, lifecycle).
namespace flightdeck::incidents {

using Labels = std::map<std::string, std::string>;

enum class Severity { kSev1 = 1, kSev2 = 2, kSev3 = 3, kSev4 = 4 };

// An alert as received, normalised from any intake format (intake_parse.h).
struct AlertInput {
  std::string fingerprint;  // always set by the parsers (given, dedup_key, or computed)
  bool firing = true;       // false: a resolve
  bool acknowledge = false; // PagerDuty "acknowledge": acknowledges the alert's incident
  Labels labels;
  Labels annotations;
  std::optional<Clock::TimePoint> starts_at;
  std::optional<Clock::TimePoint> ends_at;
  std::string generator_url;
  std::string source;       // "alertmanager", "pagerduty", "native" (or the caller's name)
  std::string integration;  // the PagerDuty integration it came through
  std::string summary;      // annotations.summary, PagerDuty payload.summary, or alertname
  // An integration's override; when empty, severity comes from the labels (severity.h).
  std::optional<Severity> severity_override;
  std::optional<Severity> default_severity;
};

}  // namespace flightdeck::incidents
