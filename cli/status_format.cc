#include "cli/status_format.h"

#include <algorithm>
#include <vector>

#include "cli/backup_format.h"

namespace flightdeck::cli {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// A message field that is there: not absent, not null, not an empty object.
const Json* Message(const Json& parent, std::string_view name) {
  const Json* field = FindField(parent, name);
  if (field == nullptr || !field->is_object() || field->empty()) return nullptr;
  return field;
}

const Json& Array(const Json& parent, std::string_view name) {
  static const Json kEmpty = Json::array();
  const Json* field = FindField(parent, name);
  return field != nullptr && field->is_array() ? *field : kEmpty;
}

long long Integer(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  return field != nullptr && field->is_number_integer() ? field->get<long long>() : 0;
}

bool IsTrue(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  return field != nullptr && field->is_boolean() && field->get<bool>();
}

// "2026-03-01T12:00:07.5Z" -> "2026-03-01 12:00Z": an overview is read at minute precision.
std::string Minute(std::string_view rfc3339) {
  const std::string time = ShortTime(rfc3339);
  if (time.size() < 17 || time[10] != 'T' || time.back() != 'Z') return time;
  return time.substr(0, 10) + " " + time.substr(11, 5) + "Z";
}

std::string VersionOf(const Json& release) {
  const std::string version = FieldText(release, "version");
  return version.empty() ? ShortCommit(FieldText(release, "commit_sha")) : version;
}

// "v2.4.0 since 2026-03-01 12:00Z", "v2.3.9 (rollback) since ...".
std::string Current(const Json& entry) {
  const Json* current = Message(entry, "current");
  if (current == nullptr) return "-";
  std::string text = VersionOf(*current);
  if (FieldText(*current, "kind") == "ROLLBACK") text += " (rollback)";
  std::string since = FieldText(*current, "finished_at");
  if (since.empty()) since = FieldText(*current, "updated_at");
  if (!since.empty()) text += " since " + Minute(since);
  return text;
}

// "v2.5.0 CANARY 25%", "v2.5.0 CANARY 25% paused +1 queued", "2 queued".
std::string InFlight(const Json& entry) {
  const long long queued = Integer(entry, "queued");
  const std::string waiting = queued > 0 ? std::to_string(queued) + " queued" : "";
  const Json* release = Message(entry, "in_flight");
  if (release == nullptr) return waiting.empty() ? "-" : waiting;
  const std::string state = FieldText(*release, "state");
  std::string text = VersionOf(*release) + " " + Paint(state);
  if (state == "CANARY") text += " " + std::to_string(Integer(*release, "current_weight")) + "%";
  if (IsTrue(*release, "paused")) text += " paused";
  if (!waiting.empty()) text += " +" + waiting;
  return text;
}

std::string Health(const Json& entry) {
  const Json* health = Message(entry, "health");
  if (health == nullptr) return "-";
  const std::string status = FieldText(*health, "status");
  return Paint(status.empty() ? "UNKNOWN" : status);
}

// Proto JSON names the severities SEV1..SEV4 (SEV1 the worst); unset sorts last.
std::string SeverityKey(const Json& incident) {
  const std::string severity = FieldText(incident, "severity");
  return severity.rfind("SEV", 0) == 0 ? severity : "SEV9";
}

// The worst open incident: "SEV2 TRIGGERED", "SEV1 ACKNOWLEDGED +2".
std::string Incidents(const Json& entry) {
  const Json& open = Array(entry, "open_incidents");
  if (open.empty()) return "-";
  const Json& worst = *std::min_element(open.begin(), open.end(), [](const Json& a, const Json& b) {
    return SeverityKey(a) < SeverityKey(b);
  });
  std::string text =
      Paint(CellOrDash(FieldText(worst, "severity"))) + " " + Paint(FieldText(worst, "state"));
  if (open.size() > 1) text += " +" + std::to_string(open.size() - 1);
  return text;
}

std::string Indented(const std::string& table) {
  std::string out;
  size_t start = 0;
  while (start < table.size()) {
    const size_t end = table.find('\n', start);
    out += "  " + table.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

// Why each service and environment that is not HEALTHY is not.
std::string NotHealthySection(const Json& entries) {
  std::string out;
  for (const Json& entry : entries) {
    const Json* health = Message(entry, "health");
    if (health == nullptr) continue;
    const std::string status = FieldText(*health, "status");
    if (status == "HEALTHY") continue;
    const std::string since = FieldText(*health, "status_since");
    const std::string reason = OneLine(FieldText(*health, "reason"), 200);
    out += "  " + FieldText(entry, "service") + "/" + FieldText(entry, "environment") + " " +
           Paint(status.empty() ? "UNKNOWN" : status) +
           (since.empty() ? "" : " since " + Minute(since)) +
           (reason.empty() ? "" : ": " + reason) + "\n";
  }
  return out.empty() ? "" : "\nNot healthy:\n" + out;
}

std::vector<std::string> IncidentRow(const Json& incident) {
  const std::string service = FieldText(incident, "service");
  const std::string environment = FieldText(incident, "environment");
  std::string where = service.empty() ? "-" : service;
  if (!service.empty() && !environment.empty()) where += "/" + environment;
  // What the on-call must do next, when it is acknowledging.
  std::string next;
  if (FieldText(incident, "state") == "TRIGGERED") {
    const std::string deadline = FieldText(incident, "ack_deadline");
    if (IsTrue(incident, "ack_breached")) {
      next = Tint("ack overdue", Tone::kBad);
    } else if (!deadline.empty()) {
      next = "ack by " + Minute(deadline);
    }
  }
  return {CellOrDash(FieldText(incident, "id")), Paint(CellOrDash(FieldText(incident, "severity"))),
          Paint(CellOrDash(FieldText(incident, "state"))), where,
          CellOrDash(OneLine(FieldText(incident, "title"), 60)), next};
}

std::string IncidentsSection(const Json& entries, const Json& others) {
  Rows rows;
  for (const Json& entry : entries) {
    for (const Json& incident : Array(entry, "open_incidents")) {
      rows.push_back(IncidentRow(incident));
    }
  }
  for (const Json& incident : others) rows.push_back(IncidentRow(incident));
  if (rows.empty()) return "";
  return "\nOpen incidents:\n" +
         Indented(FormatTable({"ID", "SEV", "STATE", "WHERE", "TITLE", ""}, rows));
}

std::string BackupsSection(const Json& backups) {
  if (backups.empty()) return "";
  Rows rows;
  for (const Json& target : backups) {
    static const Json kNoStatus = Json::object();
    const Json* status = Message(target, "status");
    const Json& s = status != nullptr ? *status : kNoStatus;
    const std::string last = FieldText(s, "last_success_at");
    const std::string rpo = FormatRpo(target);
    rows.push_back({CellOrDash(FieldText(target, "name")),
                    last.empty() ? Tint("never", Tone::kBad) : Minute(last),
                    IsTrue(s, "rpo_met") ? rpo : Tint(rpo, Tone::kBad),
                    IsTrue(s, "last_backup_verified") ? "yes" : Tint("no", Tone::kWarn)});
  }
  return "\nBACKUPS\n" + FormatTable({"NAME", "LAST SUCCESS", "RPO", "VERIFIED"}, rows);
}

}  // namespace

std::string FormatOverview(const Json& overview) {
  const Json& entries = Array(overview, "entries");
  const Json& backups = Array(overview, "backups");
  const Json& others = Array(overview, "other_incidents");
  const Json& unavailable = Array(overview, "unavailable");

  std::string missing;
  for (const Json& service : unavailable) {
    missing += (missing.empty() ? "" : ", ") +
               (service.is_string() ? service.get<std::string>() : DumpJson(service));
  }
  const std::string missing_note =
      missing.empty() ? ""
                      : Tint("No answer from " + missing +
                                 ": what they know is missing from this overview, not empty.",
                             Tone::kWarn) +
                            "\n";

  std::string out;
  if (entries.empty()) {
    if (backups.empty() && others.empty() && missing.empty()) {
      return "Nothing here yet: no releases, health targets, incidents or backup targets.\n"
             "Start with a first release, e.g.:\n"
             "  fdctl release create --service checkout --env staging --version v1.0.0 "
             "--commit 9fceb02d\n";
    }
    out += "No services yet (a first release adds one: fdctl release create --help).\n";
    out += missing_note;
  } else {
    Rows rows;
    for (const Json& entry : entries) {
      rows.push_back({CellOrDash(FieldText(entry, "service")),
                      CellOrDash(FieldText(entry, "environment")), Current(entry),
                      InFlight(entry), Health(entry), Incidents(entry)});
    }
    out += FormatTable({"SERVICE", "ENV", "CURRENT", "IN-FLIGHT", "HEALTH", "INCIDENTS"}, rows);
    out += missing_note;
  }
  out += NotHealthySection(entries);
  out += IncidentsSection(entries, others);
  out += BackupsSection(backups);
  return out;
}

}  // namespace flightdeck::cli
