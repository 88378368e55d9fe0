#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cli/args.h"
#include "cli/format.h"

namespace flightdeck::cli {

// Command-line values turned into the gateway's JSON request bodies. Each returns nullopt
// with a message naming the flag on bad input, so that nothing half-checked is sent.

// "600s", "10m", "1h30m", "1.5s", "250ms", "0" -> proto JSON duration ("600s", "1.500s").
std::optional<std::string> ParseDuration(std::string_view text);

// Whole numbers: ParseCount allows 0..max.
std::optional<int64_t> ParseCount(std::string_view text, int64_t max = INT64_MAX);
// A finite decimal number >= 0 ("0.05", "800", "1e3").
std::optional<double> ParseNonNegativeNumber(std::string_view text);

// "canary" -> "CANARY"; nullopt unless it names a release state.
std::optional<std::string> ParseReleaseState(std::string_view text);
// SUCCEEDED, ROLLED_BACK, ABORTED, FAILED: nothing more happens to the release on its own.
bool IsTerminalState(std::string_view state);

// release create: --service --env --version --commit [--image] [--require-approval |
// --no-approval] [--driver external|command] [--step WEIGHT:DURATION]... [--interval D]
// [--max-error-rate R] [--max-p99-ms X] [--min-requests N] [--failure-limit N]
// [--inconclusive-limit N] [--queue]. Options left out are left out of the body too, so the
// environment's policy decides them.
std::optional<Json> CreateReleaseBody(const ParsedArgs& args, std::string* error);

// release observe: --requests N --errors N [--p99-ms X] [--window D].
std::optional<Json> ObservationsBody(const ParsedArgs& args, std::string* error);

// release verify: exactly one of --passed / --failed, [--details TEXT].
std::optional<Json> VerificationBody(const ParsedArgs& args, std::string* error);

}  // namespace flightdeck::cli
