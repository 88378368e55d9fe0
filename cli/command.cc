#include "cli/command.h"

#include <unistd.h>

#include <algorithm>
#include <istream>
#include <ostream>
#include <thread>

#include "cli/suggest.h"

namespace flightdeck::cli {

Context::Context(const ParsedArgs& args, EnvLookup env, Io io, RunOptions options)
    : args_(args), env_(std::move(env)), io_(io), options_(std::move(options)) {}

void Context::Sleep(std::chrono::milliseconds duration) const {
  if (options_.sleep) {
    options_.sleep(duration);
  } else {
    std::this_thread::sleep_for(duration);
  }
}

bool Context::Interactive() const {
  return options_.interactive ? options_.interactive() : isatty(STDIN_FILENO) == 1;
}

const HttpClient* Context::client() {
  if (client_) return &*client_;
  StoredConfig file;
  const std::optional<std::string> path = ConfigPath(env_);
  if (path) {
    std::string error;
    std::string warning;
    if (!ReadConfigFile(*path, &file, &error, &warning)) {
      err() << "error: " << error << "\n";
      return nullptr;
    }
    if (!warning.empty()) err() << "warning: " << warning << "\n";
  }
  Settings settings = ResolveSettings(file, env_, args_);
  if (settings.url.empty()) {
    err() << "error: no gateway URL: run `fdctl login --url URL --token TOKEN`, set "
             "FLIGHTDECK_URL, or pass --url\n";
    return nullptr;
  }
  if (!NormalizeGatewayUrl(settings.url)) {
    const char* from = settings.url_source == Source::kFlag  ? "--url"
                       : settings.url_source == Source::kEnv ? "FLIGHTDECK_URL"
                                                             : path->c_str();
    err() << "error: gateway URL from " << from << " must start with http:// or https://\n";
    return nullptr;
  }
  client_.emplace(settings.url, settings.token);
  return &*client_;
}

int Context::UsageError(const std::string& message) {
  err() << "error: " << message << "\n";
  if (command_ != nullptr) err() << "\n" << command_->Help();
  return kExitUsage;
}

std::optional<Json> Context::ReadAnswer(const HttpResult& result, std::string* error) const {
  if (!result.reached) {
    *error = "error: could not reach " +
             RedactUrl(client_ ? client_->base_url() : std::string("the gateway")) + ": " +
             result.transport_error + "\n";
    return std::nullopt;
  }
  if (result.status < 200 || result.status >= 300) {
    *error = FormatError(result.status, result.body);
    return std::nullopt;
  }
  // An empty 2xx body (204 No Content) is a success with nothing to show.
  Json body = result.body.empty() ? Json::object()
                                  : Json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    *error = "error: the gateway answered HTTP " + std::to_string(result.status) +
             " with a body that is not JSON\n";
    return std::nullopt;
  }
  return body;
}

int Context::Respond(const HttpResult& result, const std::function<void(const Json&)>& render) {
  std::string error;
  const std::optional<Json> body = ReadAnswer(result, &error);
  if (!body) {
    err() << error;
    return kExitError;
  }
  if (json()) {
    out() << DumpJson(*body, 2) << "\n";
  } else {
    render(*body);
  }
  return kExitOk;
}

std::string Command::Name() const {
  std::string name;
  for (const std::string& word : words) name += (name.empty() ? "" : " ") + word;
  return name;
}

std::string Command::UsageLine() const {
  std::string line = "fdctl " + Name();
  if (!operands.empty()) line += " " + operands;
  for (const FlagSpec& flag : flags) {
    std::string text = "--" + flag.name + (flag.takes_value() ? " " + flag.value_name : "");
    line += flag.required ? " " + text : " [" + text + "]";
    if (flag.repeatable) line += "...";
  }
  return line;
}

std::vector<std::string> Command::OperandChoices() const {
  if (operands.find('|') == std::string::npos) return {};
  std::vector<std::string> choices;
  size_t start = 0;
  for (size_t bar; (bar = operands.find('|', start)) != std::string::npos; start = bar + 1) {
    choices.push_back(operands.substr(start, bar - start));
  }
  choices.push_back(operands.substr(start));
  return choices;
}

std::string Command::Help() const {
  std::string help = "Usage: " + UsageLine() + "\n\n" + summary + "\n";
  if (!flags.empty()) {
    help += "\nFlags:\n";
    for (const FlagSpec& flag : flags) {
      std::string left;
      for (const std::string& name : FlagNames(flag.name)) {
        left += (left.empty() ? "--" : ", --") + name;
      }
      if (flag.takes_value()) left += " " + flag.value_name;
      left.resize(std::max<size_t>(left.size() + 2, 24), ' ');
      help += "  " + left + flag.help + "\n";
    }
  }
  help +=
      "\nGlobal flags: --url URL, --token TOKEN, --json (print the server's JSON), --no-color, "
      "-h/--help\n";
  return help;
}

void CommandTable::Add(Command command) { commands_.push_back(std::move(command)); }

const Command* CommandTable::Find(const std::vector<std::string>& positionals) const {
  const Command* best = nullptr;
  for (const Command& command : commands_) {
    if (command.words.size() > positionals.size()) continue;
    if (!std::equal(command.words.begin(), command.words.end(), positionals.begin())) continue;
    if (best == nullptr || command.words.size() > best->words.size()) best = &command;
  }
  return best;
}

std::vector<const Command*> CommandTable::Under(const std::vector<std::string>& prefix) const {
  std::vector<const Command*> found;
  for (const Command& command : commands_) {
    if (command.words.size() > prefix.size() &&
        std::equal(prefix.begin(), prefix.end(), command.words.begin())) {
      found.push_back(&command);
    }
  }
  return found;
}

std::vector<FlagSpec> CommandTable::AllFlags() const {
  std::vector<FlagSpec> all = GlobalFlags();
  for (const Command& command : commands_) {
    for (const FlagSpec& flag : command.flags) {
      const std::string name = CanonicalFlagName(flag.name);
      const bool known = std::any_of(all.begin(), all.end(), [&name](const FlagSpec& f) {
        return CanonicalFlagName(f.name) == name;
      });
      if (!known) all.push_back(flag);
    }
  }
  return all;
}

std::vector<std::string> CommandTable::NextWords(const std::vector<std::string>& prefix) const {
  std::vector<std::string> words;
  for (const Command* command : Under(prefix)) {
    const std::string& word = command->words[prefix.size()];
    if (std::find(words.begin(), words.end(), word) == words.end()) words.push_back(word);
  }
  return words;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec> kFlags = {
      {"url", "URL", "gateway URL (overrides FLIGHTDECK_URL and the config file)"},
      {"token", "TOKEN", "API token (overrides FLIGHTDECK_TOKEN and the config file)"},
      {"json", "", "print the server's JSON answer instead of a table"},
      {"no-color", "", "no colour even on a terminal (so does NO_COLOR=1)"},
      {"help", "", "show help"},
  };
  return kFlags;
}

CommandTable BuiltinCommands() {
  CommandTable table;
  AddLoginCommand(table);
  AddWhoamiCommand(table);
  AddStatusCommand(table);
  AddReleaseCommands(table);
  AddReleaseEventsCommand(table);
  AddReleaseActionCommands(table);
  AddDeployCommands(table);
  AddBackupTargetCommands(table);
  AddBackupCommands(table);
  AddHealthCommands(table);
  AddIncidentCommands(table);
  AddWindowCommands(table);
  AddTokenCommands(table);
  AddChatOpsCommands(table);
  AddCompletionCommand(table);
  AddVersionCommand(table);
  return table;
}

std::string Usage(const CommandTable& table) {
  std::string usage =
      "Usage: fdctl [--url URL] [--token TOKEN] [--json] [--no-color] <command> [arguments]\n\n"
      "Commands:\n";
  size_t width = 0;
  for (const Command& command : table.commands()) width = std::max(width, command.Name().size());
  for (const Command& command : table.commands()) {
    std::string name = command.Name();
    name.resize(width + 2, ' ');
    usage += "  " + name + command.summary + "\n";
  }
  usage +=
      "\nSettings come from the config file ($FDCTL_CONFIG or ~/.config/flightdeck/fdctl.json,\n"
      "written by `fdctl login`), then FLIGHTDECK_URL and FLIGHTDECK_TOKEN, then --url and "
      "--token.\n"
      "Colour is used when standard output is a terminal, unless NO_COLOR is set or --no-color "
      "is given.\n"
      "Run `fdctl <command> --help` for a command's flags, `fdctl --version` for the version.\n";
  return usage;
}

namespace {

// For a mistyped command: the usage line and the top-level words, not the whole list.
std::string ShortUsage(const CommandTable& table) {
  std::string words;
  for (const std::string& word : table.NextWords({})) words += (words.empty() ? "" : ", ") + word;
  return "Usage: fdctl [--url URL] [--token TOKEN] [--json] [--no-color] <command> [arguments]\n"
         "Commands: " +
         words +
         "\nRun `fdctl --help` for every command, `fdctl <command> --help` for its flags.\n";
}

std::string UnknownCommand(const CommandTable& table, const std::vector<std::string>& prefix,
                           const std::string& word) {
  std::string message = "unknown command '" + word + "'";
  const std::string guess = ClosestMatch(word, table.NextWords(prefix));
  if (guess.empty()) return message;
  std::string command = "fdctl";
  for (const std::string& w : prefix) command += " " + w;
  return message + " (did you mean `" + command + " " + guess + "`?)";
}

// Colour is for a person reading a terminal: not for pipes, files, --json, or anyone who opted
// out (https://no-color.org).
bool ShouldColor(const ParsedArgs& args, const EnvLookup& env, const RunOptions& options) {
  if (args.Has("no-color") || args.Has("json") || env("NO_COLOR")) return false;
  if (env("TERM").value_or("") == "dumb") return false;
  return options.stdout_is_terminal ? options.stdout_is_terminal() : isatty(STDOUT_FILENO) == 1;
}

// `fdctl --version` (with nothing but flags after it) is `fdctl version`: release create's
// `--version V` makes --version a value flag for the parser.
std::vector<std::string> WithVersionCommand(std::vector<std::string> argv) {
  if (argv.empty() || argv.front() != "--version") return argv;
  const bool only_flags = std::all_of(argv.begin() + 1, argv.end(), [](const std::string& arg) {
    return arg.size() > 1 && arg[0] == '-';
  });
  if (only_flags) argv.front() = "version";
  return argv;
}

int UsageError(std::ostream& err, const std::string& message, const std::string& usage) {
  err << "error: " << message << "\n\n" << usage;
  return kExitUsage;
}

std::string GroupHelp(const std::vector<const Command*>& commands) {
  std::string help = "Usage:\n";
  for (const Command* command : commands) help += "  " + command->UsageLine() + "\n";
  return help;
}

}  // namespace

int Run(const std::vector<std::string>& argv, const EnvLookup& env, Io io) {
  return Run(argv, env, io, RunOptions{});
}

int Run(const std::vector<std::string>& argv, const EnvLookup& env, Io io,
        const RunOptions& options) {
  const CommandTable table = BuiltinCommands();
  std::string error;
  std::optional<ParsedArgs> parsed = ParseArgs(WithVersionCommand(argv), table.AllFlags(), &error);
  if (!parsed) return UsageError(io.err, error, ShortUsage(table));

  std::vector<std::string> positionals = parsed->positionals;
  bool help = parsed->Has("help");
  if (!positionals.empty() && positionals.front() == "help") {
    positionals.erase(positionals.begin());
    help = true;
  }
  if (positionals.empty()) {
    if (help) {
      io.out << Usage(table);
      return kExitOk;
    }
    io.err << Usage(table);
    return kExitUsage;
  }

  const Command* command = table.Find(positionals);
  if (command == nullptr) {
    // `fdctl release` alone, or `fdctl release frobnicate`: show what `release` can do.
    for (size_t n = positionals.size(); n > 0; --n) {
      std::vector<std::string> prefix(positionals.begin(), positionals.begin() + n);
      std::vector<const Command*> group = table.Under(prefix);
      if (group.empty()) continue;
      if (help && n == positionals.size()) {
        io.out << GroupHelp(group);
        return kExitOk;
      }
      const std::string what = n == positionals.size()
                                   ? "a subcommand is required"
                                   : UnknownCommand(table, prefix, positionals[n]);
      return UsageError(io.err, what, GroupHelp(group));
    }
    return UsageError(io.err, UnknownCommand(table, {}, positionals.front()), ShortUsage(table));
  }
  if (help) {
    io.out << command->Help();
    return kExitOk;
  }

  for (const auto& [name, value] : parsed->flags) {
    const auto is = [&name = name](const FlagSpec& f) { return CanonicalFlagName(f.name) == name; };
    if (std::none_of(GlobalFlags().begin(), GlobalFlags().end(), is) &&
        std::none_of(command->flags.begin(), command->flags.end(), is)) {
      return UsageError(io.err, "fdctl " + command->Name() + " has no flag --" + name,
                        command->Help());
    }
  }
  for (const FlagSpec& flag : command->flags) {
    const std::optional<std::string> value = parsed->Get(flag.name);
    if (flag.required && (!value || value->empty())) {
      return UsageError(io.err, "--" + flag.name + " is required", command->Help());
    }
  }
  std::vector<std::string> operands(positionals.begin() + command->words.size(), positionals.end());
  if (operands.size() < command->min_operands || operands.size() > command->max_operands) {
    const std::string message =
        operands.size() < command->min_operands
            ? "missing " + command->operands
            : "unexpected argument '" + operands[command->max_operands] + "'";
    return UsageError(io.err, message, command->Help());
  }

  Context context(*parsed, env, io, options);
  context.set_operands(std::move(operands));
  context.set_command(command);
  const ColorScope color(ShouldColor(*parsed, env, options));
  return command->run(context);
}

}  // namespace flightdeck::cli
