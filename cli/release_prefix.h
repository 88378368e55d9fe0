#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/http_client.h"

namespace flightdeck::cli {

// Release ids and commits may be given as unique prefixes, like git's: the releases service
// resolves them, so fdctl passes what it was given through unchanged and never judges its
// length. A prefix that matches several is refused by the service with a message that names
// them ("... is ambiguous: <candidate>, <candidate>"); these show that answer readably.

// The error lines for an answer that refused `prefix` as ambiguous: its message with the
// candidates it names one per line, then `how_to_choose`. nullopt when the answer is not about
// an ambiguous prefix.
std::optional<std::string> FormatAmbiguousPrefix(long http_status, const std::string& body,
                                                 const std::string& prefix,
                                                 const std::string& how_to_choose);

// "release id <prefix> matches several releases" in the words of the command that took it.
std::string ChooseLongerReleaseId(const std::string& prefix);

// Context::Respond, with an ambiguous prefix shown as FormatAmbiguousPrefix does.
int RespondToPrefix(Context& ctx, const HttpResult& result, const std::string& prefix,
                    const std::string& how_to_choose,
                    const std::function<void(const Json&)>& render);

}  // namespace flightdeck::cli
