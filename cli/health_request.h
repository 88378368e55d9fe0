#pragma once

#include <optional>
#include <string>

#include "cli/args.h"
#include "cli/format.h"

namespace flightdeck::cli {

// Command-line values of `fdctl health ...` turned into request bodies. Parsers return nullopt
// with a message naming each bad flag (all of them, joined by "; "), so that nothing
// half-checked is sent; options left out are
// left out of the body, so the service's defaults (period 10s, timeout 1s, thresholds 1 and 3)
// apply.

// health add NAME --service S --environment E --role R --kind K (--probe-url U | --address A)
// [--expect-status 200,204] [--body-contains T] [--period D] [--timeout D] [--initial-delay D]
// [--success-threshold N] [--failure-threshold N] [--grpc-service S] [--method GET|HEAD]
// [--new-connection-per-probe] (HTTP: "reuse_connections": false).
std::optional<Json> CreateHealthTargetBody(const std::string& name, const ParsedArgs& args,
                                           std::string* error);

// health smoke --file F: the file is a suite ({"base_url":..., "checks":[...]}, a saved suite's
// JSON works too); base_url_override (--base-url) replaces its base_url when not empty.
std::optional<Json> SmokeRunBodyFromFile(const std::string& file_text,
                                         const std::string& base_url_override, std::string* error);

// The value of --environment, or of its other spelling --env ("" when neither is given).
std::string EnvironmentFlag(const ParsedArgs& args);

}  // namespace flightdeck::cli
