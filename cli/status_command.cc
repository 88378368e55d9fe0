// fdctl status: what runs where and whether it is well, from one GET /v1/overview.
#include <ostream>

#include "cli/command.h"
#include "cli/status_format.h"

namespace flightdeck::cli {
namespace {

int Status(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/overview"),
                     [&](const Json& overview) { ctx.out() << FormatOverview(overview); });
}

}  // namespace

void AddStatusCommand(CommandTable& table) {
  table.Add(Command{{"status"},
                    "",
                    "What runs where, and is it well: releases, health, incidents, backups",
                    {},
                    0,
                    0,
                    Status});
}

}  // namespace flightdeck::cli
