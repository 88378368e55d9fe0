// fdctl incident commands (being written).
#include "cli/command.h"

namespace flightdeck::cli {

void AddIncidentCommands(CommandTable&) {}

}  // namespace flightdeck::cli
