#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flightdeck::cli {

// A flag a command accepts: `--name VALUE` (or `--name=VALUE`) when value_name is set,
// otherwise a boolean switch.
struct FlagSpec {
  std::string name;        // without the leading dashes
  std::string value_name;  // "S", "SHA"; empty for a switch
  std::string help;
  bool required = false;
  bool repeatable = false;  // `--step 5:600s --step 100:0s`: every value counts (GetAll)

  bool takes_value() const { return !value_name.empty(); }
};

// One flag under two names in every command, so that no command has to declare both:
// `--environment` is `--env`. Parsed values, look-ups and command specs all go through the
// canonical (first) name.
std::string CanonicalFlagName(const std::string& name);
// Every name of the flag `name` denotes, `name` first ("env" -> {"env", "environment"}).
std::vector<std::string> FlagNames(const std::string& name);

struct ParsedArgs {
  std::vector<std::string> positionals;      // command words then operands, in order
  std::map<std::string, std::string> flags;  // canonical name -> value; a switch maps to "true";
                                             // the last one given wins
  std::vector<std::pair<std::string, std::string>> given;  // every flag, in command-line order

  // Each takes any of a flag's names.
  bool Has(const std::string& name) const;
  std::optional<std::string> Get(const std::string& name) const;
  // Every value of a repeatable flag, in the order given.
  std::vector<std::string> GetAll(const std::string& name) const;
  void Set(const std::string& name, std::string value);
};

// Flags may come anywhere on the line, before or after the command words, so parsing needs
// every flag any command knows (to tell `--service api` from a switch followed by an
// operand). `--` ends the flags; `-h` means `--help`. nullopt with a message on bad input
// (an unknown flag close to a known one says "did you mean").
std::optional<ParsedArgs> ParseArgs(const std::vector<std::string>& argv,
                                    const std::vector<FlagSpec>& known, std::string* error);

}  // namespace flightdeck::cli
