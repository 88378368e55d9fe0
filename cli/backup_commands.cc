// fdctl backup run|list|get|verify|restore: backups of the targets, and proving they restore.
#include <istream>
#include <ostream>

#include "cli/backup_format.h"
#include "cli/backup_request.h"
#include "cli/command.h"

namespace flightdeck::cli {
namespace {

constexpr std::chrono::milliseconds kPollInterval{1000};
// A gateway restart or a few 503s should not end a wait on an hour-long backup; this many
// failed polls in a row (about ten seconds) should.
constexpr int kMaxPollFailures = 10;

std::string BackupPath(const std::string& id) { return "/v1/backups/" + UrlEscape(id); }

bool IsTransient(const HttpResult& result) {
  return !result.reached || result.status == 429 || result.status >= 500;
}

std::string WithoutErrorPrefix(const std::string& error) {
  return error.rfind("error: ", 0) == 0 ? error.substr(7) : error;
}

// Reads the backup every second until `done` says so, starting from `first` (the answer that
// started the work). Each new line `progress` gives is printed as it changes (not with --json,
// whose output is the final answer alone). nullopt after printing why it stopped.
std::optional<Json> WaitForBackup(Context& ctx, const HttpClient& client, Json first,
                                  const std::function<bool(const Json&)>& done,
                                  const std::function<std::string(const Json&)>& progress) {
  const std::string id = FieldText(first, "id");
  Json backup = std::move(first);
  std::string last_line;
  int failures = 0;
  for (;;) {
    if (done(backup)) return backup;
    const std::string line = progress(backup);
    if (!ctx.json() && !line.empty() && line != last_line) {
      ctx.out() << line << "\n";
      ctx.out().flush();
      last_line = line;
    }
    ctx.Sleep(kPollInterval);
    std::string error;
    const HttpResult answer = client.Get(BackupPath(id));
    std::optional<Json> next = ctx.ReadAnswer(answer, &error);
    if (!next) {
      if (!IsTransient(answer) || ++failures >= kMaxPollFailures) {
        ctx.err() << error;
        return std::nullopt;
      }
      ctx.err() << "warning: " << WithoutErrorPrefix(error);
      continue;
    }
    failures = 0;
    backup = std::move(*next);
  }
}

// The answer of a POST that starts work, or nullopt after printing the error.
std::optional<Json> Start(Context& ctx, const HttpResult& result) {
  std::string error;
  std::optional<Json> answer = ctx.ReadAnswer(result, &error);
  if (!answer) ctx.err() << error;
  return answer;
}

int RunBackup(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& target = ctx.operands().front();
  const HttpResult result = client->Post("/v1/backups", DumpJson(Json{{"target", target}}));
  if (!ctx.args().Has("wait")) {
    return ctx.Respond(result, [&ctx](const Json& backup) {
      ctx.out() << FormatBackupDetails(backup) << "\nFollow it: fdctl backup get "
                << FieldText(backup, "id") << "\n";
    });
  }
  std::optional<Json> started = Start(ctx, result);
  if (!started) return kExitError;
  const std::string id = FieldText(*started, "id");
  if (!ctx.json()) ctx.out() << "backup " << id << " of " << target << " started\n";
  const std::optional<Json> backup = WaitForBackup(
      ctx, *client, std::move(*started),
      [](const Json& b) { return IsTerminalBackupState(FieldText(b, "state")); },
      FormatBackupProgress);
  if (!backup) return kExitError;
  const std::string state = FieldText(*backup, "state");
  if (ctx.json()) {
    ctx.out() << DumpJson(*backup, 2) << "\n";
  } else if (state == "SUCCEEDED") {
    ctx.out() << "backup " << id << " SUCCEEDED\n\n" << FormatBackupDetails(*backup);
  } else {
    const std::string reason = OneLine(FieldText(*backup, "failure_reason"), 1000);
    ctx.out() << "backup " << id << " " << state << (reason.empty() ? "" : ": " + reason) << "\n";
  }
  return state == "SUCCEEDED" ? kExitOk : kExitError;
}

bool IsPositiveNumber(const std::string& text) {
  return !text.empty() && text.size() <= 9 &&
         text.find_first_not_of("0123456789") == std::string::npos && std::stol(text) > 0;
}

int ListBackups(Context& ctx) {
  Query query;
  if (auto target = ctx.args().Get("target")) query.emplace_back("target", *target);
  if (auto state = ctx.args().Get("state")) {
    const std::optional<std::string> name = ParseBackupState(*state);
    if (!name) {
      return ctx.UsageError("--state '" + *state +
                            "' is not a backup state (PENDING, RUNNING, SUCCEEDED, FAILED, "
                            "DELETED)");
    }
    query.emplace_back("state", *name);
  }
  if (auto size = ctx.args().Get("page-size")) {
    if (!IsPositiveNumber(*size)) return ctx.UsageError("--page-size must be a positive number");
    query.emplace_back("page_size", *size);
  }
  if (auto token = ctx.args().Get("page-token")) query.emplace_back("page_token", *token);

  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/backups", query), [&ctx](const Json& page) {
    const Json* backups = FindField(page, "backups");
    if (backups == nullptr || !backups->is_array() || backups->empty()) {
      ctx.out() << "No backups found.\n";
    } else {
      ctx.out() << FormatBackupTable(*backups);
    }
    const std::string next = FieldText(page, "next_page_token");
    if (!next.empty()) ctx.out() << "\nMore: fdctl backup list --page-token " << next << "\n";
  });
}

int GetBackup(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get(BackupPath(ctx.operands().front())),
                     [&ctx](const Json& backup) { ctx.out() << FormatBackupDetails(backup); });
}

std::string VerificationResult(const Json& backup) {
  const Json* verification = FindField(backup, "verification");
  return verification == nullptr ? "" : FieldText(*verification, "result");
}

int VerifyBackup(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& id = ctx.operands().front();
  const HttpResult result = client->Post(BackupPath(id) + "/verify", "{}");
  if (!ctx.args().Has("wait")) {
    return ctx.Respond(result, [&ctx, &id](const Json& backup) {
      ctx.out() << "verification of " << id << ": " << FormatVerification(backup)
                << "\nFollow it: fdctl backup get " << id << "\n";
    });
  }
  std::optional<Json> started = Start(ctx, result);
  if (!started) return kExitError;
  const std::optional<Json> backup = WaitForBackup(
      ctx, *client, std::move(*started),
      [](const Json& b) {
        const std::string r = VerificationResult(b);
        return r == "PASSED" || r == "FAILED";
      },
      [](const Json&) { return std::string("verifying (restoring into a scratch database)..."); });
  if (!backup) return kExitError;
  if (ctx.json()) {
    ctx.out() << DumpJson(*backup, 2) << "\n";
  } else {
    ctx.out() << "backup " << id << " " << FormatVerificationSection(*backup);
  }
  return VerificationResult(*backup) == "PASSED" ? kExitOk : kExitError;
}

// The typed confirmation, or nullopt after saying why there is none.
std::optional<std::string> AskConfirmation(Context& ctx, const HttpClient& client,
                                           const std::string& id, const std::string& database,
                                           bool overwrite) {
  if (!ctx.Interactive()) {
    ctx.err() << "error: refusing to restore backup " << id << " into " << database
              << " without confirmation: standard input is not a terminal. Pass --yes to "
                 "confirm.\n";
    return std::nullopt;
  }
  std::string error;
  const std::optional<Json> backup = ctx.ReadAnswer(client.Get(BackupPath(id)), &error);
  if (!backup) {
    ctx.err() << error;
    return std::nullopt;
  }
  const std::string snapshot = ShortTime(FieldText(*backup, "snapshot_time"));
  ctx.err() << "Restore backup " << id << " of " << FieldText(*backup, "target")
            << (snapshot.empty() ? "" : " (snapshot " + snapshot + ")") << " into database "
            << database
            << (overwrite ? ", REPLACING it if it exists" : " (which must not exist yet)")
            << ".\nType the backup id to confirm: ";
  ctx.err().flush();
  std::string typed;
  if (!std::getline(ctx.in(), typed)) typed.clear();
  while (!typed.empty() && (typed.back() == '\r' || typed.back() == ' ')) typed.pop_back();
  // The id as given (perhaps a prefix) or the full id it stands for.
  if (typed != id && typed != FieldText(*backup, "id")) {
    ctx.err() << "\nerror: that is not the backup id; nothing was restored\n";
    return std::nullopt;
  }
  return typed;
}

std::string RestoreState(const Json& backup) {
  const Json* restore = FindField(backup, "last_restore");
  return restore == nullptr ? "" : FieldText(*restore, "state");
}

int RestoreBackup(Context& ctx) {
  const std::string& id = ctx.operands().front();
  const std::string database = ctx.args().Get("to").value_or("");
  const bool overwrite = ctx.args().Has("overwrite");
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  std::string confirm = id;
  if (!ctx.args().Has("yes")) {
    std::optional<std::string> typed = AskConfirmation(ctx, *client, id, database, overwrite);
    if (!typed) return kExitError;
    confirm = *typed;
  }
  const HttpResult result = client->Post(BackupPath(id) + "/restore",
                                         DumpJson(RestoreBackupBody(database, confirm, overwrite)));
  if (!ctx.args().Has("wait")) {
    return ctx.Respond(result, [&ctx, &id](const Json& backup) {
      const std::string full_id = FieldText(backup, "id").empty() ? id : FieldText(backup, "id");
      ctx.out() << "restore of " << full_id << ": " << FormatRestore(backup)
                << "\nFollow it: fdctl backup get " << full_id << "\n";
    });
  }
  std::optional<Json> started = Start(ctx, result);
  if (!started) return kExitError;
  const std::optional<Json> backup = WaitForBackup(
      ctx, *client, std::move(*started),
      [](const Json& b) {
        const std::string state = RestoreState(b);
        return state == "SUCCEEDED" || state == "FAILED";
      },
      [&database](const Json&) { return "restoring into " + database + "..."; });
  if (!backup) return kExitError;
  if (ctx.json()) {
    ctx.out() << DumpJson(*backup, 2) << "\n";
  } else {
    ctx.out() << "restore of " << id << ": " << FormatRestore(*backup) << "\n";
  }
  return RestoreState(*backup) == "SUCCEEDED" ? kExitOk : kExitError;
}

}  // namespace

void AddBackupCommands(CommandTable& table) {
  table.Add(Command{{"backup", "run"},
                    "TARGET",
                    "Back up a target now",
                    {{"wait", "",
                      "show progress every second until the backup SUCCEEDED (exit 0) or "
                      "FAILED (exit 1)"}},
                    1,
                    1,
                    RunBackup});
  table.Add(Command{{"backup", "list"},
                    "",
                    "List backups, newest first",
                    {{"target", "T", "only this target's backups"},
                     {"state", "STATE", "only backups in this state, e.g. FAILED"},
                     {"page-size", "N", "at most N backups per page"},
                     {"page-token", "T", "the page after a previous list (from its output)"}},
                    0,
                    0,
                    ListBackups});
  table.Add(Command{{"backup", "get"},
                    "ID",
                    "Show a backup's manifest: sizes, checksum, key, tables and row counts, "
                    "verification, last restore",
                    {},
                    1,
                    1,
                    GetBackup});
  table.Add(Command{{"backup", "verify"},
                    "ID",
                    "Test-restore a backup into a scratch database and compare row counts",
                    {{"wait", "", "wait for the result: PASSED (exit 0) or FAILED (exit 1)"}},
                    1,
                    1,
                    VerifyBackup});
  table.Add(Command{{"backup", "restore"},
                    "ID",
                    "Restore a backup into a database on the target's server (asks you to type "
                    "the backup id unless --yes)",
                    {{"to", "DATABASE", "the database to restore into", true},
                     {"overwrite", "", "replace the database if it exists"},
                     {"yes", "", "do not ask: confirm with the backup id (for scripts)"},
                     {"wait", "", "wait until the restore SUCCEEDED (exit 0) or FAILED (exit 1)"}},
                    1,
                    1,
                    RestoreBackup});
}

}  // namespace flightdeck::cli
