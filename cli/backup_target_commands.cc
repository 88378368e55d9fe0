// fdctl backup target create|list|get|delete: the databases the backups service protects.
#include <istream>
#include <ostream>

#include "cli/backup_format.h"
#include "cli/backup_request.h"
#include "cli/command.h"

namespace flightdeck::cli {
namespace {

std::string TargetPath(const std::string& name) { return "/v1/backup-targets/" + UrlEscape(name); }

// `--database-url -` keeps the password off the command line (and out of `ps` and shell
// history): the URL is the first line of standard input.
bool ReadDatabaseUrl(Context& ctx, std::string* url) {
  *url = ctx.args().Get("database-url").value_or("");
  if (*url != "-") return true;
  if (!std::getline(ctx.in(), *url)) url->clear();
  while (!url->empty() && (url->back() == '\r' || url->back() == ' ')) url->pop_back();
  if (url->empty()) {
    ctx.err() << "error: --database-url - reads the URL from standard input, which was empty\n";
    return false;
  }
  return true;
}

int CreateTarget(Context& ctx) {
  std::string database_url;
  if (!ReadDatabaseUrl(ctx, &database_url)) return kExitUsage;
  std::string error;
  const std::optional<Json> body =
      CreateBackupTargetBody(ctx.operands().front(), database_url, ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post("/v1/backup-targets", DumpJson(*body)), [&ctx](const Json& t) {
    ctx.out() << FormatBackupTargetDetails(t) << "\nBack it up now: fdctl backup run "
              << FieldText(t, "name") << " --wait\n";
  });
}

int ListTargets(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/backup-targets"), [&ctx](const Json& page) {
    const Json* targets = FindField(page, "backup_targets");
    if (targets == nullptr || !targets->is_array() || targets->empty()) {
      ctx.out() << "No backup targets. Create one: fdctl backup target create NAME "
                   "--database-url URL --path DIR\n";
      return;
    }
    ctx.out() << FormatBackupTargetTable(*targets);
  });
}

int GetTarget(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get(TargetPath(ctx.operands().front())), [&ctx](const Json& target) {
    ctx.out() << FormatBackupTargetDetails(target);
  });
}

int DeleteTarget(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& name = ctx.operands().front();
  return ctx.Respond(client->Delete(TargetPath(name)), [&ctx, &name](const Json&) {
    ctx.out() << "Deleted backup target " << name << ".\n";
  });
}

}  // namespace

void AddBackupTargetCommands(CommandTable& table) {
  table.Add(
      Command{{"backup", "target", "create"},
              "NAME",
              "Protect a PostgreSQL database: where to back it up, when, and how long to "
              "keep its backups",
              {{"database-url", "URL",
                "postgresql://user:password@host/db to back up; - reads it from stdin "
                "(keeps the password off the command line)",
                true},
               {"path", "DIR", "absolute directory for the backups on the service's machine", true},
               {"schedule", "CRON",
                "5-field cron in UTC, e.g. \"0 3 * * *\"; "
                "left out: on demand only"},
               {"keep-last", "N", "newest verified backups always kept (default 7)"},
               {"keep-days", "N", "backups younger than this are kept (default 30)"},
               {"rpo", "D", "the recovery point objective, e.g. 24h, 90m, 7d (default 24h)"},
               {"no-verify", "", "do not test-restore each scheduled backup"}},
              1,
              1,
              CreateTarget});
  table.Add(Command{{"backup", "target", "list"},
                    "",
                    "List backup targets with their last backup, RPO and next run",
                    {},
                    0,
                    0,
                    ListTargets});
  table.Add(Command{{"backup", "target", "get"},
                    "NAME",
                    "Show a backup target's settings and status (achieved RPO, last failure, "
                    "next run)",
                    {},
                    1,
                    1,
                    GetTarget});
  table.Add(Command{{"backup", "target", "delete"},
                    "NAME",
                    "Stop protecting a database (its schedule ends)",
                    {},
                    1,
                    1,
                    DeleteTarget});
}

}  // namespace flightdeck::cli
