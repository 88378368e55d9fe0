#include "cli/health_format.h"

#include <cmath>
#include <cstdio>

#include "cli/backup_request.h"
#include "cli/http_client.h"

namespace flightdeck::cli {
namespace {

std::string Or(const std::string& text, const std::string& fallback) { return text.empty() ? fallback : text; }

std::string Status(const Json& object) { return Paint(Or(FieldText(object, "status"), "UNKNOWN")); }

std::string Millis(const Json& object, std::string_view field) {
  const Json* value = FindField(object, field);
  if (value == nullptr || !value->is_number()) return "-";
  return std::to_string(static_cast<long long>(std::llround(value->get<double>()))) + " ms";
}

std::string Percent(const Json& object, std::string_view field) {
  const Json* value = FindField(object, field);
  if (value == nullptr || !value->is_number()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", value->get<double>() * 100);
  return text;
}

// "ok 12 ms" or "FAIL status 503 not in [200]".
std::string ResultText(const Json* result) {
  if (result == nullptr || !result->is_object() || result->empty()) return "-";
  const bool ok = FieldText(*result, "ok") == "true";
  if (ok) return "ok " + Millis(*result, "latency_ms");
  return "FAIL " + OneLine(Or(FieldText(*result, "error"), "failed"), 60);
}

// The statuses an HTTP probe passes on: the list given, or the service's default 200-399 when
// none was (an empty list in the answer means the default).
std::string ExpectStatusText(const Json& target) {
  const Json* list = FindField(target, "expect_status");
  if (list == nullptr || !list->is_array() || list->empty()) return "200-399 (default)";
  std::string out;
  for (const Json& code : *list) out += (out.empty() ? "" : ", ") + (code.is_string() ? code.get<std::string>() : code.dump());
  return out;
}

// "ServiceDown firing" or "ServiceDown resolved", from the alert an ALERT event carries.
std::string AlertChange(const Json& event) {
  const Json alert = Json::parse(FieldText(event, "alert"), nullptr, /*allow_exceptions=*/false);
  std::string name = "alert";
  std::string status = "firing";
  if (alert.is_object()) {
    if (const Json* labels = FindField(alert, "labels"); labels != nullptr && labels->is_object()) {
      name = Or(FieldText(*labels, "alertname"), name);
    }
    status = Or(FieldText(alert, "status"), status);
  }
  return name + " " + status;
}

}  // namespace

std::string FormatHealthTargetTable(const Json& targets) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& t : targets) {
    rows.push_back({FieldText(t, "name"), FieldText(t, "service"), FieldText(t, "environment"),
                    FieldText(t, "role"), FieldText(t, "kind"), Status(t), ResultText(FindField(t, "last_result"))});
  }
  return FormatTable({"NAME", "SERVICE", "ENVIRONMENT", "ROLE", "KIND", "STATUS", "LAST"}, rows);
}

std::string FormatHealthTargetDetails(const Json& t) {
  std::string out;
  auto line = [&out](const std::string& key, const std::string& value) {
    if (!value.empty()) out += key + ": " + value + "\n";
  };
  line("name", FieldText(t, "name"));
  line("service", FieldText(t, "service"));
  line("environment", FieldText(t, "environment"));
  line("role", FieldText(t, "role"));
  line("kind", FieldText(t, "kind"));
  line("url", RedactUrl(FieldText(t, "url")));
  line("address", FieldText(t, "address"));
  line("method", FieldText(t, "method"));
  if (FieldText(t, "kind") == "HTTP" || FindField(t, "expect_status") != nullptr) {
    line("expect status", ExpectStatusText(t));
  }
  line("body contains", FieldText(t, "body_contains"));
  line("max latency", HumanDuration(FieldText(t, "max_latency")));
  if (const Json* reuse = FindField(t, "reuse_connections"); reuse != nullptr && reuse->is_boolean()) {
    line("connections", *reuse ? "kept alive between probes" : "a new one per probe");
  }
  line("grpc service", FieldText(t, "grpc_service"));
  std::string timing = "period " + Or(HumanDuration(FieldText(t, "period")), "10s") + ", timeout " +
                       Or(HumanDuration(FieldText(t, "timeout")), "1s") + ", initial delay " +
                       Or(HumanDuration(FieldText(t, "initial_delay")), "0s") + ", success threshold " +
                       Or(FieldText(t, "success_threshold"), "1") + ", failure threshold " +
                       Or(FieldText(t, "failure_threshold"), "3");
  line("timing", timing);
  std::string status = Status(t);
  if (!FieldText(t, "status_since").empty()) status += " since " + ShortTime(FieldText(t, "status_since"));
  line("status", status);
  line("consecutive", Or(FieldText(t, "consecutive_successes"), "0") + " successes, " +
                          Or(FieldText(t, "consecutive_failures"), "0") + " failures");
  line("last result", ResultText(FindField(t, "last_result")));
  if (const Json* stats = FindField(t, "stats"); stats != nullptr && stats->is_object()) {
    line("last hour", "uptime " + Percent(*stats, "uptime_1h") + ", p50 " + Millis(*stats, "latency_p50_1h_ms") +
                          ", p99 " + Millis(*stats, "latency_p99_1h_ms") + ", " +
                          Or(FieldText(*stats, "probes_1h"), "0") + " probes");
    line("last day", "uptime " + Percent(*stats, "uptime_24h") + ", p50 " + Millis(*stats, "latency_p50_24h_ms") +
                         ", p99 " + Millis(*stats, "latency_p99_24h_ms") + ", " +
                         Or(FieldText(*stats, "probes_24h"), "0") + " probes");
  }
  if (const Json* recent = FindField(t, "recent_results"); recent != nullptr && recent->is_array() && !recent->empty()) {
    out += "recent results:\n";
    std::vector<std::vector<std::string>> rows;
    for (const Json& r : *recent) {
      rows.push_back({ShortTime(FieldText(r, "at")), FieldText(r, "ok") == "true" ? "ok" : "FAIL",
                      Or(FieldText(r, "status_code"), "-"), Millis(r, "latency_ms"), OneLine(FieldText(r, "error"), 80)});
    }
    std::string table = FormatTable({"AT", "RESULT", "STATUS", "LATENCY", "ERROR"}, rows);
    size_t start = 0;
    while (start < table.size()) {
      size_t end = table.find('\n', start);
      if (end == std::string::npos) end = table.size();
      out += "  " + table.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  return out;
}

std::string FormatServiceHealth(const Json& answer) {
  const Json* environments = FindField(answer, "environments");
  if (environments == nullptr || !environments->is_array() || environments->empty()) {
    return "No health targets for service " + FieldText(answer, "service") + ".\n";
  }
  std::string out;
  for (const Json& e : *environments) {
    if (!out.empty()) out += "\n";
    out += FieldText(e, "service") + "/" + FieldText(e, "environment") + ": " + Status(e);
    if (!FieldText(e, "status_since").empty()) out += " since " + ShortTime(FieldText(e, "status_since"));
    if (!FieldText(e, "reason").empty()) out += " (" + FieldText(e, "reason") + ")";
    out += "\n";
    if (const Json* targets = FindField(e, "targets"); targets != nullptr && targets->is_array() && !targets->empty()) {
      std::vector<std::vector<std::string>> rows;
      for (const Json& t : *targets) rows.push_back({"  " + FieldText(t, "name"), FieldText(t, "role"), Status(t)});
      out += FormatTable({"  TARGET", "ROLE", "STATUS"}, rows);
    }
  }
  return out;
}

std::string FormatHealthEventTable(const Json& events) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& e : events) {
    std::string change = Or(FieldText(e, "from"), "UNKNOWN") + " -> " + Or(FieldText(e, "to"), "UNKNOWN");
    std::string reason = FieldText(e, "reason");
    if (FieldText(e, "kind") == "ALERT") {
      // An alert is no change of state: say what happened to the alert instead.
      change = AlertChange(e);
      if (reason.rfind(change + ": ", 0) == 0) reason = reason.substr(change.size() + 2);
      if (!FieldText(e, "delivery").empty()) {
        reason += (reason.empty() ? "" : " ") + std::string("[") + FieldText(e, "delivery") + "]";
      }
    }
    rows.push_back({ShortTime(FieldText(e, "at")), FieldText(e, "kind"), FieldText(e, "service"),
                    FieldText(e, "environment"), Or(FieldText(e, "target"), "-"), change, OneLine(reason, 80)});
  }
  return FormatTable({"AT", "KIND", "SERVICE", "ENVIRONMENT", "TARGET", "CHANGE", "REASON"}, rows);
}

std::string FormatSmokeResult(const Json& result) {
  const bool passed = FieldText(result, "passed") == "true";
  std::string line = std::string(passed ? "PASS" : "FAIL") + "  " + FieldText(result, "name") + "  " +
                     Or(FieldText(result, "status_code"), "-") + "  " + Millis(result, "latency_ms");
  if (!passed) line += "  " + OneLine(FieldText(result, "error"), 200);
  line += "\n";
  if (!passed && !FieldText(result, "body_excerpt").empty()) {
    line += "      body: " + OneLine(FieldText(result, "body_excerpt"), 200) + "\n";
  }
  return line;
}

std::string FormatSmokeSummary(const Json& run) {
  return "Smoke run " + FieldText(run, "id") + " " + FieldText(run, "state") + ": " +
         Or(FieldText(run, "passed_count"), "0") + " passed, " + Or(FieldText(run, "failed_count"), "0") +
         " failed\n";
}

}  // namespace flightdeck::cli
