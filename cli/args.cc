#include "cli/args.h"

#include <array>

#include "cli/suggest.h"

namespace flightdeck::cli {
namespace {

// {canonical, alias}: release and deploy commands said --env, health and incident ones
// --environment; both work everywhere.
constexpr std::array<std::pair<const char*, const char*>, 1> kFlagAliases = {{
    {"env", "environment"},
}};

}  // namespace

std::string CanonicalFlagName(const std::string& name) {
  for (const auto& [canonical, alias] : kFlagAliases) {
    if (name == alias) return canonical;
  }
  return name;
}

std::vector<std::string> FlagNames(const std::string& name) {
  std::vector<std::string> names = {name};
  const std::string canonical = CanonicalFlagName(name);
  if (canonical != name) names.push_back(canonical);
  for (const auto& [from, alias] : kFlagAliases) {
    if (canonical == from && name != alias) names.push_back(alias);
  }
  return names;
}

std::optional<std::string> ParsedArgs::Get(const std::string& name) const {
  auto it = flags.find(CanonicalFlagName(name));
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  const std::string canonical = CanonicalFlagName(name);
  std::vector<std::string> values;
  for (const auto& [flag, value] : given) {
    if (flag == canonical) values.push_back(value);
  }
  return values;
}

bool ParsedArgs::Has(const std::string& name) const {
  return flags.count(CanonicalFlagName(name)) != 0;
}

void ParsedArgs::Set(const std::string& name, std::string value) {
  const std::string canonical = CanonicalFlagName(name);
  given.emplace_back(canonical, value);
  flags[canonical] = std::move(value);
}

std::optional<ParsedArgs> ParseArgs(const std::vector<std::string>& argv,
                                    const std::vector<FlagSpec>& known, std::string* error) {
  auto find = [&known](const std::string& name) -> const FlagSpec* {
    const std::string canonical = CanonicalFlagName(name);
    for (const FlagSpec& spec : known) {
      if (CanonicalFlagName(spec.name) == canonical) return &spec;
    }
    return nullptr;
  };
  auto unknown = [&known](const std::string& name) {
    std::vector<std::string> names;
    for (const FlagSpec& spec : known) {
      for (const std::string& n : FlagNames(spec.name)) names.push_back(n);
    }
    const std::string guess = ClosestMatch(name, names);
    return "unknown flag --" + name + (guess.empty() ? "" : " (did you mean --" + guess + "?)");
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
    if (spec == nullptr) return fail(unknown(name));
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
