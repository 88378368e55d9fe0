#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/config.h"
#include "cli/format.h"
#include "cli/http_client.h"

namespace flightdeck::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // the server said no, or it could not be reached
constexpr int kExitUsage = 2;  // the command line was wrong

struct Command;

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

// What the process provides besides argv, env and streams; injected so that tests of
// polling commands (release events --watch) run without waiting.
struct RunOptions {
  std::function<void(std::chrono::milliseconds)> sleep;  // empty: std::this_thread::sleep_for
  // Whether a person can answer a question on stdin (backup restore's confirmation);
  // empty: whether standard input is a terminal.
  std::function<bool()> interactive;
  // Whether standard output is a terminal (colour is only for people); empty: isatty(1).
  std::function<bool()> stdout_is_terminal;
};

// What a command handler gets: its parsed line, the environment and the streams, and the
// gateway client built from the settings (file < env < flags) on first use.
class Context {
 public:
  Context(const ParsedArgs& args, EnvLookup env, Io io, RunOptions options = {});

  const ParsedArgs& args() const { return args_; }
  const EnvLookup& env() const { return env_; }
  std::istream& in() { return io_.in; }
  std::ostream& out() { return io_.out; }
  std::ostream& err() { return io_.err; }
  bool json() const { return args_.Has("json"); }
  const std::vector<std::string>& operands() const { return operands_; }
  void set_operands(std::vector<std::string> operands) { operands_ = std::move(operands); }
  void set_command(const Command* command) { command_ = command; }
  void Sleep(std::chrono::milliseconds duration) const;
  bool Interactive() const;

  // A bad value the parser could not know about: prints it and the command's help.
  int UsageError(const std::string& message);

  // nullptr after printing why (no URL configured, unreadable config file).
  const HttpClient* client();

  // The common tail of every request: an unreachable gateway, an HTTP error or a body that is
  // not JSON prints one error line and gives kExitError; with --json the body is printed
  // pretty and `render` is not called; otherwise `render` prints the answer.
  int Respond(const HttpResult& result, const std::function<void(const Json&)>& render);
  // The 2xx JSON answer, or nullopt with the error line Respond would print.
  std::optional<Json> ReadAnswer(const HttpResult& result, std::string* error) const;

 private:
  const ParsedArgs& args_;
  EnvLookup env_;
  Io io_;
  RunOptions options_;
  std::vector<std::string> operands_;
  const Command* command_ = nullptr;
  std::optional<HttpClient> client_;
};

struct Command {
  std::vector<std::string> words;  // {"release", "create"}
  // "ID" in the usage line; empty when it takes none. Literal values separated by '|'
  // ("bash|zsh") when the operand takes only those: shell completion offers them.
  std::string operands;
  std::string summary;
  std::vector<FlagSpec> flags;  // beyond the global ones
  size_t min_operands = 0;
  size_t max_operands = 0;
  std::function<int(Context&)> run;

  std::string Name() const;       // "release create"
  std::string UsageLine() const;  // "fdctl release create --service S ... [--image I]"
  std::string Help() const;       // usage line, summary, flags
  std::vector<std::string> OperandChoices() const;  // "bash|zsh" -> {"bash", "zsh"}; else {}
};

// Every command fdctl knows. New areas (deploy, backup, health, incident) add an
// Add<Area>Commands function the way release commands do and call it from BuiltinCommands.
// Flags are parsed before the command is known, so a flag name must mean the same thing
// (switch or value) in every command.
class CommandTable {
 public:
  void Add(Command command);
  // The command whose words are the longest prefix of `positionals`.
  const Command* Find(const std::vector<std::string>& positionals) const;
  // Commands whose words start with `prefix` (for `fdctl release` alone).
  std::vector<const Command*> Under(const std::vector<std::string>& prefix) const;
  // Global flags plus every command's (one entry per flag, aliases aside), for ParseArgs.
  std::vector<FlagSpec> AllFlags() const;
  // The words that may follow `prefix` ({} -> "login", "release", ...), in table order.
  std::vector<std::string> NextWords(const std::vector<std::string>& prefix) const;
  const std::vector<Command>& commands() const { return commands_; }

 private:
  std::vector<Command> commands_;
};

const std::vector<FlagSpec>& GlobalFlags();
void AddLoginCommand(CommandTable& table);
void AddReleaseCommands(CommandTable& table);        // create, get, list
void AddReleaseActionCommands(CommandTable& table);  // approve, promote, abort, rollback, ...
void AddReleaseEventsCommand(CommandTable& table);
void AddDeployCommands(CommandTable& table);
void AddBackupTargetCommands(CommandTable& table);  // backup target create, list, get, delete
void AddBackupCommands(CommandTable& table);        // backup run, list, get, verify, restore
void AddHealthCommands(CommandTable& table);        // health targets, add, rm, service, smoke ...
void AddIncidentCommands(CommandTable& table);      // incident list, get, ack, resolve, report ...
void AddWindowCommands(CommandTable& table);       // window create, list, next, checklist, tick ...
void AddWhoamiCommand(CommandTable& table);
void AddTokenCommands(CommandTable& table);       // token create, list, revoke
void AddChatOpsCommands(CommandTable& table);     // chatops link, list, unlink
void AddStatusCommand(CommandTable& table);       // status: GET /v1/overview as a table
void AddVersionCommand(CommandTable& table);      // version (also `fdctl --version`)
void AddCompletionCommand(CommandTable& table);   // completion bash|zsh
CommandTable BuiltinCommands();

// "fdctl 0.1.0 (commit 0123456789ab)": PROJECT_VERSION and the git commit of the build, when
// the build knew it.
std::string VersionLine();

std::string Usage(const CommandTable& table);

// fdctl itself: argv without the program name. Returns the exit code.
int Run(const std::vector<std::string>& argv, const EnvLookup& env, Io io);
int Run(const std::vector<std::string>& argv, const EnvLookup& env, Io io,
        const RunOptions& options);

}  // namespace flightdeck::cli
