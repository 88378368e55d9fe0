#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cli/args.h"

namespace flightdeck::cli {

// Reads an environment variable; unset and empty are both nullopt. Injected for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// What `fdctl login` stores.
struct StoredConfig {
  std::string url;
  std::string token;
};

// Where a setting came from, so that messages can say what to fix.
enum class Source { kNone, kFile, kEnv, kFlag };

// The gateway to talk to. Precedence: config file < FLIGHTDECK_URL/FLIGHTDECK_TOKEN <
// --url/--token.
struct Settings {
  std::string url;  // without a trailing slash
  std::string token;
  Source url_source = Source::kNone;
  Source token_source = Source::kNone;
};

// $FDCTL_CONFIG, else $HOME/.config/flightdeck/fdctl.json; nullopt when neither is set.
std::optional<std::string> ConfigPath(const EnvLookup& env);

// A missing file is an empty config, not an error. `warning` is set when the file can be read
// by other users (it holds a token).
bool ReadConfigFile(const std::string& path, StoredConfig* config, std::string* error,
                    std::string* warning = nullptr);

// Creates missing directories with mode 0700 and writes the file with mode 0600 (atomically:
// a temporary file renamed over the old one). Keys other than url/token already in the file
// are kept.
bool WriteConfigFile(const std::string& path, const StoredConfig& config, std::string* error);

Settings ResolveSettings(const StoredConfig& file, const EnvLookup& env, const ParsedArgs& args);

// "http://" or "https://" followed by a host; nullopt otherwise. Drops trailing slashes.
std::optional<std::string> NormalizeGatewayUrl(const std::string& url);

}  // namespace flightdeck::cli
