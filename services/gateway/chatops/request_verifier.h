#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.h"

// Who may talk to the chat endpoints: Slack proves it with a signature over each request,
// Mattermost with a shared token. Both are checked before anything in the request is parsed.
namespace flightdeck::gateway::chatops {

// Slack's request-signing scheme (v0): "v0=" + hex HMAC-SHA256(secret, "v0:{ts}:{raw body}").
std::string SlackSignature(const std::string& secret, std::string_view timestamp, std::string_view body);

// Requests older or newer than this are refused (Slack's own recommendation: 5 minutes).
inline constexpr std::chrono::seconds kSlackMaxSkew{300};

struct Verdict {
  bool ok = false;
  std::string reason;  // why not, for the 401 answer (never a secret)
};

// Checks the X-Slack-Request-Timestamp and X-Slack-Signature header values against every
// configured secret (several during a rotation), in constant time per secret; the timestamp
// must be a whole number of seconds within kSlackMaxSkew of `now_unix`.
Verdict VerifySlackRequest(const std::vector<std::string>& secrets, std::string_view timestamp,
                           std::string_view signature, std::string_view body, long long now_unix);

// Mattermost's slash-command token, compared in constant time against each configured one.
bool MattermostTokenMatches(const std::vector<std::string>& tokens, std::string_view token);

// Secrets from NAME (comma- or newline-separated) or, when NAME is unset, from the file named
// by NAME_FILE (one per line or comma-separated; blank lines and '#' comments ignored).
// Throws config::ConfigError naming the variable (never a secret) when the file cannot be read
// or a secret is shorter than `min_length`.
std::vector<std::string> LoadSecrets(const config::Env& env, const std::string& name, size_t min_length);

// "a, b\nc" -> {"a", "b", "c"}: blanks trimmed, empty entries and '#' comment lines dropped.
std::vector<std::string> SplitSecrets(std::string_view text);

}  // namespace flightdeck::gateway::chatops
