#pragma once

#include <string>

#include "cli/command.h"

namespace flightdeck::cli {

// Shell completion scripts generated from the command table the parser uses, so that a new
// command or flag completes without anyone editing a script. Both complete command words
// (`fdctl rel<TAB>` -> release), subcommands, a command's flags and global flags (after
// `-`), and listed operand values (`fdctl completion <TAB>` -> bash zsh); they skip the value
// after a flag that takes one, and offer nothing for it.
std::string BashCompletion(const CommandTable& table);  // source <(fdctl completion bash)
std::string ZshCompletion(const CommandTable& table);   // source <(fdctl completion zsh)

}  // namespace flightdeck::cli
