#include "services/incidents/severity.h"

#include <algorithm>
#include <cctype>

namespace flightdeck::incidents {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

Severity SeverityFromLabel(const std::string& value, Severity critical, Severity fallback) {
  const std::string v = Lower(value);
  if (v == "sev1" || v == "p1") return Severity::kSev1;
  if (v == "sev2" || v == "p2") return Severity::kSev2;
  if (v == "sev3" || v == "p3") return Severity::kSev3;
  if (v == "sev4" || v == "p4") return Severity::kSev4;
  if (v == "critical") return critical;
  if (v == "error" || v == "high") return Severity::kSev2;
  if (v == "warning") return Severity::kSev3;
  if (v == "info" || v == "low") return Severity::kSev4;
  return fallback;
}

Severity SeverityOf(const AlertInput& alert, Severity critical) {
  if (alert.severity_override) return *alert.severity_override;
  const Severity fallback = alert.default_severity.value_or(Severity::kSev3);
  auto it = alert.labels.find("severity");
  if (it == alert.labels.end()) return fallback;
  return SeverityFromLabel(it->second, critical, fallback);
}

std::string SeverityName(Severity s) {
  return "SEV" + std::to_string(static_cast<int>(s));
}

bool ParseSeverity(const std::string& text, Severity* out) {
  std::string v = Lower(text);
  if (v.rfind("sev", 0) == 0) v = v.substr(3);
  if (v.size() != 1 || v[0] < '1' || v[0] > '4') return false;
  *out = static_cast<Severity>(v[0] - '0');
  return true;
}

}  // namespace flightdeck::incidents
