#pragma once

// The cron parser moved to common/schedule (the releases service's windows use it too); the
// backups code keeps its name for it.
#include "common/schedule/cron.h"

namespace flightdeck::backups {
using schedule::CronSchedule;
}  // namespace flightdeck::backups
