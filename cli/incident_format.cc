#include "cli/incident_format.h"

#include <cmath>
#include <cstdio>
#include <vector>

namespace flightdeck::cli {
namespace {

std::string Cell(std::string text) { return text.empty() ? std::string("-") : text; }

bool IsTrue(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  return field != nullptr && field->is_boolean() && field->get<bool>();
}

const Json& ArrayField(const Json& object, std::string_view name) {
  static const Json kEmpty = Json::array();
  const Json* field = FindField(object, name);
  return field != nullptr && field->is_array() ? *field : kEmpty;
}

std::string Label(const Json& labels, const char* name) {
  if (!labels.is_object() || !labels.contains(name) || !labels[name].is_string()) return "";
  return labels[name].get<std::string>();
}

void Line(std::string* out, const std::string& label, const std::string& value) {
  if (!value.empty()) *out += label + ": " + value + "\n";
}

std::string Number(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  if (field == nullptr || !field->is_number()) return "0";
  return DumpJson(*field);
}

double AsDouble(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  return field != nullptr && field->is_number() ? field->get<double>() : 0.0;
}

// "5 incidents", "1 incident".
std::string Incidents(long long n) { return std::to_string(n) + (n == 1 ? " incident" : " incidents"); }

// "MTTA over 5 acknowledged incidents: mean 4m32s, p90 10m": the count says what the times are of.
std::string DurationStatsLine(const Json& report, std::string_view name, const std::string& label,
                              const std::string& which) {
  const Json* stats = FindField(report, name);
  const long long count = stats != nullptr && stats->is_object() ? std::llround(AsDouble(*stats, "count")) : 0;
  if (count == 0) return label + ": - (no " + which + " incidents)";
  return label + " over " + std::to_string(count) + " " + which + (count == 1 ? " incident" : " incidents") +
         ": mean " + HumanSeconds(AsDouble(*stats, "mean_seconds")) + ", p90 " +
         HumanSeconds(AsDouble(*stats, "p90_seconds"));
}

std::string JoinStrings(const Json& list) {
  std::string out;
  for (const Json& item : list) {
    out += (out.empty() ? "" : ", ") + (item.is_string() ? item.get<std::string>() : DumpJson(item));
  }
  return out;
}

}  // namespace

std::string HumanSeconds(double seconds) {
  long long total = std::llround(seconds);
  if (total <= 0) return "0s";
  std::string out;
  const long long h = total / 3600;
  const long long m = (total % 3600) / 60;
  const long long s = total % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (m > 0) out += std::to_string(m) + "m";
  if (s > 0 || out.empty()) out += std::to_string(s) + "s";
  return out;
}

std::string FormatIncidentTable(const Json& incidents) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& i : incidents) {
    rows.push_back({Cell(FieldText(i, "id")), Paint(Cell(FieldText(i, "severity"))),
                    Paint(Cell(FieldText(i, "state"))), Cell(FieldText(i, "service")),
                    Cell(FieldText(i, "environment")), Cell(OneLine(FieldText(i, "title"), 60)),
                    Cell(ShortTime(FieldText(i, "opened_at")))});
  }
  return FormatTable({"ID", "SEV", "STATE", "SERVICE", "ENV", "TITLE", "OPENED"}, rows);
}

std::string FormatIncidentDetails(const Json& incident) {
  std::string out;
  Line(&out, "ID", FieldText(incident, "id"));
  Line(&out, "Title", FieldText(incident, "title"));
  Line(&out, "Severity", Paint(FieldText(incident, "severity")));
  Line(&out, "State", Paint(FieldText(incident, "state")));
  Line(&out, "Service", FieldText(incident, "service"));
  Line(&out, "Environment", FieldText(incident, "environment"));
  Line(&out, "Commander", FieldText(incident, "commander"));
  Line(&out, "Declared by", FieldText(incident, "declared_by"));
  Line(&out, "Opened", ShortTime(FieldText(incident, "opened_at")));
  std::string deadline = ShortTime(FieldText(incident, "ack_deadline"));
  if (!deadline.empty() && IsTrue(incident, "ack_breached")) deadline += " (BREACHED)";
  Line(&out, "Ack deadline", deadline);
  Line(&out, "Acknowledged", ShortTime(FieldText(incident, "acknowledged_at")));
  Line(&out, "Resolved", ShortTime(FieldText(incident, "resolved_at")));
  Line(&out, "Closed", ShortTime(FieldText(incident, "closed_at")));
  const std::string level = FieldText(incident, "escalation_level");
  if (!FieldText(incident, "escalation_policy").empty()) {
    Line(&out, "Escalation", FieldText(incident, "escalation_policy") + " level " + level);
  }
  std::string review_due = ShortTime(FieldText(incident, "review_due"));
  if (!review_due.empty() && IsTrue(incident, "review_overdue")) review_due += " (OVERDUE)";
  Line(&out, "Review due", review_due);
  if (IsTrue(incident, "deploy_correlated")) Line(&out, "Deploy correlated", "yes");
  Line(&out, "Alerts", Number(incident, "firing_alert_count") + " firing of " +
                           Number(incident, "alert_count"));

  const Json& timeline = ArrayField(incident, "timeline");
  if (!timeline.empty()) {
    out += "\nTimeline:\n";
    std::vector<std::vector<std::string>> rows;
    for (const Json& e : timeline) {
      rows.push_back({Cell(ShortTime(FieldText(e, "at"))), Cell(FieldText(e, "kind")),
                      Cell(FieldText(e, "actor")), OneLine(FieldText(e, "message"), 100)});
    }
    out += FormatTable({"AT", "KIND", "ACTOR", "MESSAGE"}, rows);
    // The answer carries the newest page of events only (proto: Incident.timeline).
    if (IsTrue(incident, "timeline_truncated")) {
      long long earlier = std::stoll(Number(incident, "timeline_count")) - static_cast<long long>(timeline.size());
      out += std::to_string(earlier) + " earlier events: GET /v1/incidents/" + FieldText(incident, "id") +
             "/events\n";
    }
  }
  const Json& alerts = ArrayField(incident, "alerts");
  if (!alerts.empty()) {
    out += "\nAlerts:\n";
    std::vector<std::vector<std::string>> rows;
    for (const Json& a : alerts) {
      const Json* labels = FindField(a, "labels");
      std::string note = IsTrue(a, "inhibited") ? "inhibited" : IsTrue(a, "silenced") ? "silenced" : "";
      rows.push_back({Cell(FieldText(a, "fingerprint")), Cell(FieldText(a, "state")),
                      Cell(labels ? Label(*labels, "alertname") : ""), Cell(FieldText(a, "severity")),
                      Number(a, "deliveries"), Cell(note), OneLine(FieldText(a, "summary"), 60)});
    }
    out += FormatTable({"FINGERPRINT", "STATE", "ALERTNAME", "SEV", "DELIVERIES", "NOTE", "SUMMARY"},
                       rows);
    if (IsTrue(incident, "alerts_truncated")) {
      long long more = std::stoll(Number(incident, "alert_count")) - static_cast<long long>(alerts.size());
      out += std::to_string(more) + " more alerts: GET /v1/incidents/" + FieldText(incident, "id") + "/alerts\n";
    }
  }
  const Json& releases = ArrayField(incident, "related_releases");
  if (!releases.empty()) {
    out += "\nRelated releases:\n";
    std::vector<std::vector<std::string>> rows;
    for (const Json& r : releases) {
      rows.push_back({Cell(FieldText(r, "release_id")), Cell(FieldText(r, "version")),
                      Cell(ShortCommit(FieldText(r, "commit_sha"))), Cell(FieldText(r, "state")),
                      IsTrue(r, "rollback_requested") ? "rollback requested" : "-",
                      OneLine(FieldText(r, "note"), 60)});
    }
    out += FormatTable({"RELEASE", "VERSION", "COMMIT", "STATE", "ROLLBACK", "NOTE"}, rows);
  }
  const Json* review = FindField(incident, "review");
  if (review != nullptr && review->is_object() && !FieldText(*review, "summary").empty()) {
    out += "\nReview (" + FieldText(*review, "author") + ", " +
           ShortTime(FieldText(*review, "submitted_at")) + "):\n";
    Line(&out, "  Summary", FieldText(*review, "summary"));
    Line(&out, "  Impact", FieldText(*review, "impact"));
    Line(&out, "  Root cause", FieldText(*review, "root_cause"));
    Line(&out, "  Timeline notes", FieldText(*review, "timeline_notes"));
  }
  const Json& actions = ArrayField(incident, "actions");
  if (!actions.empty()) out += "\nActions:\n" + FormatActionTable(actions);
  return out;
}

std::string FormatActionTable(const Json& actions) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& a : actions) {
    std::string state = FieldText(a, "state");
    if (IsTrue(a, "overdue")) state += " (OVERDUE)";
    if (!FieldText(a, "tracking_url").empty()) state += " tracked: " + FieldText(a, "tracking_url");
    rows.push_back({Cell(FieldText(a, "id")), Cell(FieldText(a, "incident_id")),
                    Cell(OneLine(FieldText(a, "title"), 60)), Cell(FieldText(a, "owner")),
                    Cell(FieldText(a, "due").substr(0, 10)), Cell(state)});
  }
  return FormatTable({"ID", "INCIDENT", "TITLE", "OWNER", "DUE", "STATE"}, rows);
}

std::string FormatSilenceTable(const Json& silences) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& s : silences) {
    std::string matchers;
    for (const Json& m : ArrayField(s, "matchers")) {
      std::string op = FieldText(m, "op");
      matchers += (matchers.empty() ? "" : ",") + FieldText(m, "name") + (op.empty() ? "=" : op) +
                  FieldText(m, "value");
    }
    rows.push_back({Cell(FieldText(s, "id")), Cell(matchers), Cell(ShortTime(FieldText(s, "starts_at"))),
                    Cell(ShortTime(FieldText(s, "ends_at"))), IsTrue(s, "active") ? "yes" : "no",
                    Cell(FieldText(s, "created_by")), OneLine(FieldText(s, "comment"), 60)});
  }
  return FormatTable({"ID", "MATCHERS", "STARTS", "ENDS", "ACTIVE", "BY", "COMMENT"}, rows);
}

std::string FormatWeeklyReport(const Json& report) {
  std::string out;
  out += "Week " + FieldText(report, "week") + " (" + ShortTime(FieldText(report, "from")) +
         " to " + ShortTime(FieldText(report, "to")) + ")\n";
  std::string by_severity;
  const Json* severities = FindField(report, "by_severity");
  for (const char* sev : {"SEV1", "SEV2", "SEV3", "SEV4"}) {
    std::string n = "0";
    if (severities != nullptr && severities->is_object() && severities->contains(sev)) {
      n = DumpJson((*severities)[sev]);
    }
    by_severity += (by_severity.empty() ? "" : ", ") + std::string(sev) + " " + n;
  }
  const long long opened = std::llround(AsDouble(report, "incidents"));
  out += "Incidents opened: " + std::to_string(opened) + " (" + by_severity + ")\n";
  out += DurationStatsLine(report, "mtta", "MTTA", "acknowledged") + "\n";
  out += DurationStatsLine(report, "mttr", "MTTR", "resolved") + "\n";
  const double share = AsDouble(report, "deploy_correlated_share");
  char percent[32];
  std::snprintf(percent, sizeof percent, "%.0f%%", share * 100);
  out += std::string("Correlated with a deploy: ") + percent + " of " + Incidents(opened) + " (" +
         std::to_string(std::llround(share * opened)) + ")\n";
  const Json& breached = ArrayField(report, "ack_breached");
  out += "Ack deadline breached: " + Incidents(breached.size()) +
         (breached.empty() ? "" : " (" + JoinStrings(breached) + ")") + "\n";
  const Json& reviews = ArrayField(report, "overdue_reviews");
  out += "Overdue reviews: " + Incidents(reviews.size()) +
         (reviews.empty() ? "" : " (" + JoinStrings(reviews) + ")") + "\n";
  const Json& actions = ArrayField(report, "overdue_actions");
  out += "Overdue actions: " + std::to_string(actions.size()) + (actions.size() == 1 ? " action" : " actions") + "\n";
  if (!actions.empty()) out += FormatActionTable(actions);
  return out;
}

}  // namespace flightdeck::cli
