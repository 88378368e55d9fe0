#include "cli/args.h"

namespace flightdeck::cli {

std::optional<std::string> ParsedArgs::Get(const std::string& name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  std::vector<std::string> values;
  for (const auto& [flag, value] : given) {
    if (flag == name) values.push_back(value);
  }
  return values;
}

void ParsedArgs::Set(const std::string& name, std::string value) {
  given.emplace_back(name, value);
  flags[name] = std::move(value);
}

std::optional<ParsedArgs> ParseArgs(const std::vector<std::string>& argv,
                                    const std::vector<FlagSpec>& known, std::string* error) {
  auto find = [&known](const std::string& name) -> const FlagSpec* {
    for (const FlagSpec& spec : known) {
      if (spec.name == name) return &spec;
    }
    return nullptr;
  };
  auto fail = [error](std::string message) -> std::optional<ParsedArgs> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };

  ParsedArgs parsed;
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (flags_done || arg == "-" || arg.empty() || arg[0] != '-') {
      parsed.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h") {
      parsed.Set("help", "true");
      continue;
    }
    if (arg.rfind("--", 0) != 0) return fail("unknown flag " + arg);

    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const FlagSpec* spec = find(name);
    if (spec == nullptr) return fail("unknown flag --" + name);
    if (!spec->takes_value()) {
      if (eq != std::string::npos) return fail("flag --" + name + " takes no value");
      parsed.Set(name, "true");
      continue;
    }
    if (eq != std::string::npos) {
      parsed.Set(name, arg.substr(eq + 1));
      continue;
    }
    // A following "--flag" means the value was forgotten, not that it is the value; a
    // value that really starts with "--" can be given as --name=--value.
    if (i + 1 >= argv.size() || argv[i + 1].rfind("--", 0) == 0) {
      return fail("flag --" + name + " needs a value (" + spec->value_name + ")");
    }
    parsed.Set(name, argv[++i]);
  }
  return parsed;
}

}  // namespace flightdeck::cli
