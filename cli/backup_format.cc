#include "cli/backup_format.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "cli/backup_request.h"
#include "cli/http_client.h"

namespace flightdeck::cli {
namespace {

using Lines = std::vector<std::pair<std::string, std::string>>;

std::string Render(const Lines& lines) {
  std::string out;
  for (const auto& [key, value] : lines) {
    if (!value.empty()) out += key + ": " + value + "\n";
  }
  return out;
}

const Json& Object(const Json& parent, std::string_view name) {
  static const Json kEmpty = Json::object();
  const Json* field = FindField(parent, name);
  return field != nullptr && field->is_object() ? *field : kEmpty;
}

std::string Time(const Json& object, std::string_view name) {
  return ShortTime(FieldText(object, name));
}

std::string Bool(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  if (field == nullptr || field->is_null()) return "";
  // BoolValue wrappers are plain booleans in proto JSON.
  return field->is_boolean() ? (field->get<bool>() ? "yes" : "no") : FieldText(object, name);
}

std::string Bytes(const Json& object, std::string_view name) {
  const std::optional<int64_t> bytes = Int64Field(object, name);
  return bytes ? FormatBytes(*bytes) : "";
}

std::string Ratio(const Json& backup) {
  const Json* ratio = FindField(backup, "compression_ratio");
  if (ratio == nullptr || !ratio->is_number() || ratio->get<double>() <= 0) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", ratio->get<double>());
  return text;
}

std::string Retention(const Json& target) {
  const Json& retention = Object(target, "retention");
  const std::string last = FieldText(retention, "keep_last");
  const std::string days = FieldText(retention, "keep_days");
  if (last.empty() && days.empty()) return "";
  return "keep the last " + (last.empty() ? std::string("7") : last) + " verified, and all from " +
         "the last " + (days.empty() ? std::string("30") : days) + " days";
}

std::string Storage(const Json& target) {
  const Json& storage = Object(target, "storage");
  const std::string kind = FieldText(storage, "kind");
  const std::string path = FieldText(storage, "path");
  if (kind.empty()) return path;
  return path.empty() ? kind : kind + " " + path;
}

std::string LastFailure(const Json& status) {
  const std::string at = Time(status, "last_failure_at");
  if (at.empty()) return "";
  const std::string reason = OneLine(FieldText(status, "last_failure_reason"), 200);
  const std::string id = FieldText(status, "last_failure_id");
  return at + (id.empty() ? "" : " (" + id + ")") + (reason.empty() ? "" : ": " + reason);
}

std::string Differences(const Json& verification) {
  std::string out;
  const Json* differences = FindField(verification, "differences");
  if (differences == nullptr || !differences->is_array()) return out;
  for (const Json& difference : *differences) {
    out += "  - " +
           OneLine(difference.is_string() ? difference.get<std::string>() : DumpJson(difference),
                   300) +
           "\n";
  }
  return out;
}

std::string TablesSection(const Json& backup) {
  const Json* tables = FindField(backup, "tables");
  if (tables == nullptr || !tables->is_array() || tables->empty()) return "";
  std::vector<std::vector<std::string>> rows;
  int64_t total = 0;
  for (const Json& table : *tables) {
    const std::optional<int64_t> count = Int64Field(table, "rows");
    total += count.value_or(0);
    rows.push_back({FieldText(table, "table"), count ? std::to_string(*count) : "?"});
  }
  std::string section = "\ntables (" + std::to_string(tables->size()) + ", " +
                        std::to_string(total) + " rows in the snapshot):\n";
  const std::string table = FormatTable({"TABLE", "ROWS"}, rows);
  size_t start = 0;
  while (start < table.size()) {
    const size_t end = table.find('\n', start);
    section += "  " + table.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return section;
}

}  // namespace

std::string FormatRpo(const Json& target) {
  const Json& status = Object(target, "status");
  std::string wanted = FieldText(target, "rpo_target");
  wanted = wanted.empty() ? "24h" : HumanDuration(wanted);
  const std::string achieved = FieldText(status, "achieved_rpo");
  if (achieved.empty()) return "no good backup yet (target " + wanted + ")";
  // Only a verified backup meets the RPO (the API's rpo_met); a newer one still unverified is
  // named beside it.
  const std::string verified = FieldText(status, "verified_rpo");
  if (verified.empty()) return "no verified backup (newest " + HumanDuration(achieved) + ", target " + wanted + ") (MISSED)";
  const Json* met = FindField(status, "rpo_met");
  const bool is_met = met != nullptr && met->is_boolean() && met->get<bool>();
  std::string text = HumanDuration(verified) + " of " + wanted + (is_met ? " (met)" : " (MISSED)");
  if (verified != achieved) text += ", newer backup " + HumanDuration(achieved) + " not verified";
  return text;
}

std::string FormatBackupTargetTable(const Json& targets) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& target : targets) {
    const Json& status = Object(target, "status");
    std::string schedule = FieldText(target, "schedule");
    const std::string failure_at = Time(status, "last_failure_at");
    const std::string success_at = Time(status, "last_success_at");
    const std::string reason = OneLine(FieldText(status, "last_failure_reason"), 40);
    rows.push_back({FieldText(target, "name"), schedule.empty() ? "on demand" : schedule,
                    success_at.empty() ? "never" : success_at, FormatRpo(target),
                    success_at.empty() ? "-" : Bool(status, "last_backup_verified"),
                    Time(status, "next_run_at"),
                    failure_at.empty() ? "" : failure_at + (reason.empty() ? "" : " " + reason)});
  }
  return FormatTable(
      {"NAME", "SCHEDULE", "LAST SUCCESS", "RPO", "VERIFIED", "NEXT RUN", "LAST FAILURE"}, rows);
}

std::string FormatBackupTargetDetails(const Json& target) {
  const Json& status = Object(target, "status");
  const std::string schedule = FieldText(target, "schedule");
  const std::string success_at = Time(status, "last_success_at");
  const std::string success_id = FieldText(status, "last_success_id");
  const std::string failures = FieldText(status, "consecutive_scheduled_failures");
  Lines lines = {
      {"name", FieldText(target, "name")},
      {"database", RedactUrl(FieldText(target, "database_url"))},
      {"schedule", schedule.empty() ? "on demand only" : schedule + " (UTC)"},
      {"retention", Retention(target)},
      {"storage", Storage(target)},
      {"verify after backup", Bool(target, "verify_after_backup")},
      {"created", Time(target, "created_at")},
      {"updated", Time(target, "updated_at")},
      {"last success", success_at.empty()
                           ? "never"
                           : success_at + (success_id.empty() ? "" : " (" + success_id + ")")},
      {"last failure", LastFailure(status)},
      {"failed scheduled runs in a row", failures == "0" ? "" : failures},
      {"next run", Time(status, "next_run_at")},
      {"RPO", FormatRpo(target)},
      {"last backup verified", success_at.empty() ? "" : Bool(status, "last_backup_verified")},
  };
  return Render(lines);
}

std::string FormatVerification(const Json& backup) {
  const Json& verification = Object(backup, "verification");
  const std::string result = FieldText(verification, "result");
  if (result.empty() || result == "RESULT_UNSPECIFIED") return "";
  std::string out = result;
  const std::string at = Time(verification, "finished_at");
  const std::string took = FieldText(verification, "duration");
  if (!at.empty()) out += " at " + at;
  if (!took.empty() && result != "RUNNING") out += " in " + HumanDuration(took);
  const Json* differences = FindField(verification, "differences");
  if (differences != nullptr && differences->is_array() && !differences->empty()) {
    out += ", " + std::to_string(differences->size()) +
           (differences->size() == 1 ? " difference" : " differences");
  }
  return out;
}

std::string FormatVerificationSection(const Json& backup) {
  const std::string summary = FormatVerification(backup);
  if (summary.empty()) return "";
  return "verification: " + summary + "\n" + Differences(Object(backup, "verification"));
}

std::string FormatRestore(const Json& backup) {
  const Json& restore = Object(backup, "last_restore");
  const std::string state = FieldText(restore, "state");
  if (state.empty()) return "";
  std::string out = state;
  const std::string database = FieldText(restore, "target_database");
  if (!database.empty()) out += " into " + database;
  const std::string at = Time(restore, state == "RUNNING" ? "started_at" : "finished_at");
  if (!at.empty()) out += (state == "RUNNING" ? " since " : " at ") + at;
  const std::string took = FieldText(restore, "duration");
  if (!took.empty() && state != "RUNNING") out += " in " + HumanDuration(took);
  const std::string by = FieldText(restore, "requested_by");
  if (!by.empty()) out += " by " + by;
  const std::string error = OneLine(FieldText(restore, "error"), 300);
  if (!error.empty()) out += ": " + error;
  return out;
}

std::string FormatBackupProgress(const Json& backup) {
  const std::string state = FieldText(backup, "state");
  if (state == "PENDING") return "waiting to start...";
  const std::optional<int64_t> progress = Int64Field(backup, "progress_bytes");
  return "dumped " + FormatBytes(progress.value_or(0)) + "...";
}

std::string FormatBackupTable(const Json& backups) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& backup : backups) {
    const std::string state = FieldText(backup, "state");
    std::string dumped = Bytes(backup, "bytes_dumped");
    if (state == "RUNNING") dumped = Bytes(backup, "progress_bytes") + "...";
    const Json& verification = Object(backup, "verification");
    rows.push_back({FieldText(backup, "id"), FieldText(backup, "target"), state,
                    FieldText(backup, "trigger"), Time(backup, "started_at"), dumped,
                    state == "SUCCEEDED" ? Bytes(backup, "bytes_stored") : "",
                    state == "SUCCEEDED" ? Ratio(backup) : "", FieldText(verification, "result")});
  }
  return FormatTable(
      {"ID", "TARGET", "STATE", "TRIGGER", "STARTED", "DUMPED", "STORED", "RATIO", "VERIFIED"},
      rows);
}

std::string FormatBackupDetails(const Json& backup) {
  const std::string state = FieldText(backup, "state");
  const bool running = state == "RUNNING" || state == "PENDING";
  const std::optional<int64_t> dumped = Int64Field(backup, "bytes_dumped");
  Lines lines = {
      {"id", FieldText(backup, "id")},
      {"target", FieldText(backup, "target")},
      {"state", state},
      {"progress", running ? FormatBackupProgress(backup) : ""},
      {"failure", OneLine(FieldText(backup, "failure_reason"), 1000)},
      {"deleted", OneLine(FieldText(backup, "deletion_reason"), 300)},
      {"trigger", FieldText(backup, "trigger")},
      {"created by", FieldText(backup, "created_by")},
      {"started", Time(backup, "started_at")},
      {"finished", Time(backup, "finished_at")},
      {"snapshot", Time(backup, "snapshot_time")},
      {"server version", FieldText(backup, "server_version")},
      {"dumped", running || !dumped || *dumped == 0 ? "" : FormatBytes(*dumped)},
      {"stored", running ? "" : Bytes(backup, "bytes_stored")},
      {"compression ratio", running ? "" : Ratio(backup)},
      {"sha256", FieldText(backup, "sha256")},
      {"cipher", FieldText(backup, "cipher")},
      {"key id", FieldText(backup, "key_id")},
      {"location", FieldText(backup, "location")},
      {"request id", FieldText(backup, "request_id")},
      {"trace id", FieldText(backup, "trace_id")},
      {"verification", FormatVerification(backup)},
      {"last restore", FormatRestore(backup)},
  };
  std::string out;
  for (const auto& [key, value] : lines) {
    if (value.empty()) continue;
    out += key == "verification" ? FormatVerificationSection(backup) : key + ": " + value + "\n";
  }
  return out + TablesSection(backup);
}

}  // namespace flightdeck::cli
