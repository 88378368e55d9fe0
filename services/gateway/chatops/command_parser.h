#pragma once

#include <string>
#include <string_view>
#include <vector>

// The chat command language (README "Chat-ops"): one line of words after the slash command,
// the same on Slack and Mattermost. Parsing is pure: what a command means for the API is
// chat_commands.h's business.
namespace flightdeck::gateway::chatops {

struct Word {
  std::string text;
  bool quoted = false;  // written in quotes: one argument, spaces and all
};

// Splits on blanks; "double" and 'single' quotes (and Slack's curly “quotes”) group words; a
// backslash escapes the next character inside double quotes. false with *error set on an
// unclosed quote.
bool SplitWords(std::string_view text, std::vector<Word>* out, std::string* error);

enum class CommandKind {
  kHelp, kStatus, kReleases, kRelease, kApprove, kPromote, kAbort, kRollback,
  kIncidentDeclare, kIncidentAck, kIncidentResolve, kIncidentUpdate, kIncidents,
  kHealth, kBackup, kBackups, kWindows,
};

struct ChatCommand {
  CommandKind kind = CommandKind::kHelp;
  std::string service;
  std::string environment;
  std::string id;        // a release id (or unique prefix), an incident id (INC-n)
  std::string target;    // a backup target
  std::string to_sha;    // rollback ... to <sha-prefix>
  std::string severity;  // SEV1..SEV4
  std::string text;      // reason, title, update text
};

struct ParseResult {
  bool ok = false;
  ChatCommand command;
  std::string error;  // for people: what is wrong, then the usage line of the command
};

ParseResult ParseCommand(std::string_view text);

// True for commands that change something (their answers go to the whole channel).
bool IsChange(CommandKind kind);
// The usage line of every command, one per line (the answer to `help`).
std::string UsageText();
// The known command word closest to `word` (edit distance), or "" when none is close.
std::string ClosestCommand(std::string_view word);

}  // namespace flightdeck::gateway::chatops
