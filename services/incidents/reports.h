#pragma once

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/incidents.pb.h"

namespace flightdeck::db {
class Pool;
}

// The weekly incident report (issue 5 "Reports").
namespace flightdeck::incidents {

class BusinessCalendar;

// Incidents opened in the ISO week (Monday 00:00 in the calendar's zone; default the week of
// now): counts by severity, MTTA and MTTR, the share correlated with a deploy and the ids that
// breached their acknowledgement deadline. Overdue reviews and actions are those overdue at
// `now` across all incidents: they are what the weekly review has to chase, whatever week the
// incident began in. A malformed week is INVALID_ARGUMENT "week: ...".
grpc::Status WeeklyReport(db::Pool& pool, const BusinessCalendar& calendar, Clock::TimePoint now,
                          const std::string& week, v1::WeeklyReport* out);

}  // namespace flightdeck::incidents
