#pragma once

#include <optional>
#include <string>

#include "services/incidents/model.h"

namespace flightdeck::incidents {

// The label severity (case-insensitive) to a severity: sev1..sev4 and p1..p4 directly;
// critical -> `critical` (SEV1 or SEV2, a setting, default SEV2); error/high -> SEV2;
// warning -> SEV3; info/low -> SEV4; anything else or absent -> `fallback`.
Severity SeverityFromLabel(const std::string& value, Severity critical, Severity fallback);
// The severity of an alert: its integration's override, else from its labels (fallback: the
// integration default or SEV3).
Severity SeverityOf(const AlertInput& alert, Severity critical);
// PagerDuty payload.severity (critical|error|warning|info): same table.

std::string SeverityName(Severity s);  // "SEV1"
// "SEV1".."SEV4" (also "sev1", "1"): false for anything else.
bool ParseSeverity(const std::string& text, Severity* out);

}  // namespace flightdeck::incidents
