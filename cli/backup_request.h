#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/args.h"
#include "cli/format.h"

namespace flightdeck::cli {

// Command-line values of `fdctl backup ...` turned into request bodies and query values, and
// the few readers of the server's proto JSON they need. Parsers return nullopt with a message
// naming the flag, so that nothing half-checked is sent.

// backup target create NAME: --database-url URL --path DIR [--schedule CRON] [--keep-last N]
// [--keep-days N] [--rpo D] [--no-verify]. Options left out are left out of the body, so the
// server's defaults (keep 7 / 30 days, RPO 24h, verify after scheduled backups) apply.
// `database_url` is passed separately because `--database-url -` reads it from stdin.
std::optional<Json> CreateBackupTargetBody(const std::string& name, const std::string& database_url,
                                           const ParsedArgs& args, std::string* error);

// backup restore ID --to DATABASE [--overwrite]; `confirm` is what the user confirmed with
// (the backup id, or what they typed).
Json RestoreBackupBody(const std::string& target_database, const std::string& confirm,
                       bool overwrite);

// "succeeded" -> "SUCCEEDED"; nullopt unless it names a backup state.
std::optional<std::string> ParseBackupState(std::string_view text);
bool IsTerminalBackupState(std::string_view state);  // SUCCEEDED, FAILED, DELETED

// A 64-bit integer field, which proto JSON sends as a string ("12345") but a hand-written
// answer may send as a number. nullopt when absent or not a whole number.
std::optional<int64_t> Int64Field(const Json& object, std::string_view proto_name);

// Decimal units, one decimal below 100: "512 B", "12.3 MB", "1.04 GB" -> "1.0 GB".
std::string FormatBytes(int64_t bytes);

// A proto JSON duration ("86400s", "3.500s") for humans: "24h", "1h2m3s", "3.5s", "250ms".
// Anything else comes back unchanged.
std::string HumanDuration(std::string_view proto_duration);

}  // namespace flightdeck::cli
