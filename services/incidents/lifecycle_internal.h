#pragma once

#include <chrono>
#include <string>

// Helpers shared by lifecycle.cc, lifecycle_jobs.cc and notifications.cc.
namespace flightdeck::incidents {

// The notifier.h event kind people are told about for a timeline kind ("OPENED" -> "opened"),
// or empty when the timeline kind notifies no one.
std::string NotificationKindOf(const std::string& timeline_kind);

// "5m", "15m", "1h", "1h30m", "2s", "2d3h" for timeline messages.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace flightdeck::incidents
