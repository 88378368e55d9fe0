#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::releases {

// One decision for the driver to carry out.
struct DriverAction {
  std::string action;     // "canary", "promote", "rollback"
  int weight = 0;         // canary weight; 100 for promote
  std::string action_id;  // idempotency key: the same decision always has the same id
  v1::Release release;    // service, environment, version, commit_sha, image
  std::string previous_image;  // what runs now / what a rollback restores
};

struct DriverResult {
  bool ok = false;
  int exit_code = 0;
  std::string output;  // captured, truncated (for the timeline)
  std::string error;   // why it failed: "exit status 3", "timed out after 300s", "cannot exec ..."
};

// Carries a pipeline decision out (DESIGN.md §3 "Drivers").
class Driver {
 public:
  virtual ~Driver() = default;
  virtual DriverResult Run(const DriverAction& action) = 0;
  // True when the action acts outside Flightdeck: it must not run twice at once, and a step
  // retried after a crash must find its result instead of running it again, so the pipeline
  // holds its lock and keeps its record (releases.driver_actions) while it runs. False: running
  // it again gives the same result and touches nothing, so neither is needed.
  virtual bool ActsOutside() const { return true; }
};

// The pipeline itself shifts traffic: Flightdeck only records the decision (Release.next_action,
// which the pipeline polls), so the action always succeeds at once.
class ExternalDriver final : public Driver {
 public:
  DriverResult Run(const DriverAction& action) override;
  bool ActsOutside() const override { return false; }
};

// Runs a configured executable directly (fork/exec, no shell) with the release in its
// environment: FLIGHTDECK_SERVICE, FLIGHTDECK_ENVIRONMENT, FLIGHTDECK_VERSION, FLIGHTDECK_IMAGE,
// FLIGHTDECK_COMMIT_SHA, FLIGHTDECK_ACTION (canary|promote|rollback), FLIGHTDECK_WEIGHT,
// FLIGHTDECK_PREVIOUS_IMAGE, FLIGHTDECK_ACTION_ID, FLIGHTDECK_RELEASE_ID. stdout and stderr are
// captured together (first max_output bytes kept, "[truncated]" noted); stdin is /dev/null.
// Past the timeout the process group gets SIGTERM, then SIGKILL 5 s later. The command gets
// SIGKILL when the releases process dies, so that it never runs on beside the step's retry. A non-zero exit, a
// signal, a timeout or a failed exec is a failure. The parent's secrets (DATABASE_URL,
// REDIS_URL, FLIGHTDECK_ADMIN_TOKEN, the master key variables FLIGHTDECK_*_KEY[_FILE], and any
// name with PASSWORD, SECRET or TOKEN in it) are removed from the child's environment. Thread-safe: several releases may run commands at once.
class CommandDriver final : public Driver {
 public:
  CommandDriver(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                size_t max_output = 16 * 1024);
  DriverResult Run(const DriverAction& action) override;

 private:
  std::vector<std::string> argv_;
  std::chrono::milliseconds timeout_;
  size_t max_output_;
};

}  // namespace flightdeck::releases
