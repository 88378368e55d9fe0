#pragma once

#include <string>

#include "cli/format.h"

namespace flightdeck::cli {

// How fdctl shows backup targets and backups to a human; --json prints the server's answer
// instead. The server already masks the password in database_url; nothing here unmasks it,
// and a URL that still carries one is masked again before it is printed.

// NAME SCHEDULE LAST SUCCESS RPO VERIFIED NEXT RUN LAST FAILURE; a JSON array of targets.
std::string FormatBackupTargetTable(const Json& targets);

// "key: value" lines: the target's settings, then its status (last success, last failure and
// why, next run, achieved RPO against the target, whether the last backup was verified).
std::string FormatBackupTargetDetails(const Json& target);

// "3h12m of 24h (met)", "26h of 24h (MISSED)", "no good backup yet (target 24h)".
std::string FormatRpo(const Json& target);

// ID TARGET STATE TRIGGER STARTED DUMPED STORED RATIO VERIFIED; a JSON array of backups.
std::string FormatBackupTable(const Json& backups);

// The manifest: state, times, sizes, ratio, checksum, cipher, key id, location, progress
// while RUNNING, the failure reason, verification and last restore, then the tables with
// their row counts.
std::string FormatBackupDetails(const Json& backup);

// One line for a backup in flight: "dumped 12.3 MB..." (RUNNING), "waiting to start..."
// (PENDING).
std::string FormatBackupProgress(const Json& backup);

// "PASSED", "FAILED: 2 differences", "RUNNING", "" when never verified.
std::string FormatVerification(const Json& backup);

// "verification: FAILED at T in 4s, 2 differences" then one "  - ..." line per difference;
// "" when never verified.
std::string FormatVerificationSection(const Json& backup);

// "SUCCEEDED into orders_copy in 12s", "RUNNING into orders_copy", "" when never restored.
std::string FormatRestore(const Json& backup);

}  // namespace flightdeck::cli
