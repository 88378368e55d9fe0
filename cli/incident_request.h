#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cli/args.h"
#include "cli/format.h"

namespace flightdeck::cli {

// Command-line values of `fdctl incident ...` turned into the gateway's JSON bodies and
// queries. Each returns nullopt with a message naming the flag on bad input.

// "SEV2", "sev2", "2" -> "SEV2".
std::optional<std::string> ParseSeverity(std::string_view text);
// "acknowledged" -> "ACKNOWLEDGED"; "open" (anything not resolved) is kept as "open".
std::optional<std::string> ParseIncidentState(std::string_view text);
// "2026-W47" (ISO week), as the report wants it.
bool IsIsoWeek(std::string_view text);
// "2026-12-01" -> "2026-12-01T00:00:00Z"; a full RFC 3339 time is passed through.
std::optional<std::string> ParseDueDate(std::string_view text);
// "2h", "30m", "1d", "90s" -> seconds (> 0).
std::optional<long long> ParseDurationSeconds(std::string_view text);
// "service=checkout", "env!=staging", "alertname=~High.*", "team!~ops|sre" -> Matcher JSON.
std::optional<Json> ParseMatcher(std::string_view text);
// Seconds since the epoch as RFC 3339 UTC ("2026-11-22T10:00:00Z").
std::string Rfc3339(long long unix_seconds);

// incident declare: --title --severity --service [--environment].
std::optional<Json> DeclareIncidentBody(const ParsedArgs& args, std::string* error);
// One --action of incident review: "TITLE|OWNER" or "TITLE|OWNER|DUE" (DUE as for --due) ->
// an AddActionRequest body.
std::optional<Json> ParseReviewAction(std::string_view text, std::string* error);
// incident review: --summary --impact --root-cause [--timeline-notes] [--action ...]; the
// actions go in the review's request, added with it in one transaction.
std::optional<Json> ReviewBody(const ParsedArgs& args, std::string* error);
// incident action add: --title --owner --due.
std::optional<Json> ActionBody(const ParsedArgs& args, std::string* error);
// silence add: --matcher M... --duration D [--comment C]; starts now.
std::optional<Json> SilenceBody(const ParsedArgs& args, std::chrono::system_clock::time_point now,
                                std::string* error);

}  // namespace flightdeck::cli
