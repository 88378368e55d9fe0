// fdctl health commands (being written).
#include "cli/command.h"

namespace flightdeck::cli {

void AddHealthCommands(CommandTable&) {}

}  // namespace flightdeck::cli
