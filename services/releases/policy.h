#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/releases.pb.h"
#include "services/releases/canary_analysis.h"
#include "services/releases/notify_targets.h"
#include "services/releases/statistical_judge.h"

namespace flightdeck::releases {

// How releases into one environment behave (DESIGN.md §3 "Promotion policy").
struct EnvironmentPolicy {
  std::string name;
  // A commit must have SUCCEEDED in one of these environments first (production <- staging).
  std::vector<std::string> requires_success_in;
  bool require_approval = false;
  // May the creator of a release approve it? (Never in production by default.)
  bool allow_self_approval = true;
  v1::CanaryPlan default_canary;  // fully resolved: every analysis field set
  std::string driver = "external";  // "external" | "command"
  // The command driver's executable and arguments (no shell), and its time limit.
  std::vector<std::string> command;
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  // VERIFYING without a verdict for this long rolls back (0: wait forever).
  std::chrono::milliseconds verification_timeout{std::chrono::minutes(30)};
  // A backup target (backups service) that gets a fresh backup before every deploy into this
  // environment; the release waits for it and fails if it fails. Empty: no backup.
  std::string backup_before_deploy;
  // After promotion and verification, the release stays BAKING this long while the analysis
  // judges the whole fleet against bake.max_error_rate (from bake.source, with the release's
  // analysis settings otherwise); a failure rolls back. Duration 0: no bake.
  v1::BakeConfig bake;
  // A MAINTENANCE window (POST /v1/windows) that releases into this environment must fall in,
  // for the services it covers; empty: any time. Freezes apply whatever this says.
  std::string requires_window;
  // Where release events in this environment are announced (notify_targets.h); none: nowhere.
  std::vector<NotifyTarget> notify;
};

// The policies of all environments, from a JSON file (FLIGHTDECK_ENVIRONMENTS_FILE) or the
// built-in defaults. An environment not named gets the "default" entry (or the built-in one).
//
// File format (every field optional; durations as "600s", or "10m", "1h", "1h30m", "250ms"):
//   {"default":    {"canary": {"steps":[{"weight":5,"duration":"600s"}],
//                              "analysis":{"interval":"60s","max_error_rate":0.05,...}},
//                   "driver":"external"},
//    "production": {"requires_success_in":["staging"], "require_approval":true,
//                   "allow_self_approval":false, "driver":"command",
//                   "command":["/usr/local/bin/deploy.sh"], "command_timeout":"300s",
//                   "verification_timeout":"1800s", "backup_before_deploy":"orders-db",
//                   "bake":{"duration":"15m","max_error_rate":0.05,"source":"pushed"},
//                   "requires_window":"db-maintenance",
//                   "notify":[{"name":"deploys","url":"https://hooks.slack.com/...",
//                              "format":"slack","interactive":true}]}}
// Unset fields of a named environment come from "default", except that "production" keeps its
// built-in gates (requires_success_in, require_approval, allow_self_approval, bake) unless its
// entry sets them. A bake needs its duration ("0s" turns it off); its max_error_rate defaults
// to 0.05 and its source to "pushed". Environment names are DNS labels; unknown fields, a
// "command" driver without a command, and requirements that lead back to the environment
// itself are errors.
class PolicySet {
 public:
  // Built in: every environment: one 5% step for 10 minutes, analysis every 60 s (max error
  // rate 0.05, min 100 requests, failure limit 1, inconclusive limit 3, source "pushed"),
  // external driver, no approval. "production": requires success in "staging", approval
  // required, no self-approval, and the runbook's bake: 15 minutes at most 5% errors (pushed).
  static PolicySet Defaults();
  // INVALID_ARGUMENT naming the environment and field on a bad file.
  static grpc::Status FromJson(const std::string& json_text, PolicySet* out);
  static grpc::Status FromFile(const std::string& path, PolicySet* out);

  // The named entry, or the "default" one (whose name is "default") for any other environment.
  const EnvironmentPolicy& For(const std::string& environment) const;

 private:
  EnvironmentPolicy default_;
  std::map<std::string, EnvironmentPolicy> environments_;
};

// Fills the unset parts of a requested plan from the environment's default and validates it,
// naming the field on error ("canary.steps[1].weight: must be between 1 and 100"). Requested steps replace
// the default steps (none requested: the default's); each analysis field given replaces the
// default's. Limits: weights 1-100 and non-decreasing, step durations 1s-24h, interval 1s-1h
// and not longer than any step, max_error_rate 0-1, limits >= 1, source known and its query
// settings present (prometheus: url and error_rate_query; health: target). The result has every
// analysis field set except max_p99_latency_ms, which stays absent unless someone set it.
grpc::Status ResolvePlan(const v1::CanaryPlan& requested, const v1::CanaryPlan& defaults,
                         v1::CanaryPlan* out);

// Reads the resolved analysis config.
struct AnalysisSettings {
  std::chrono::milliseconds interval{60000};
  std::string source = "pushed";
  std::string judge = "threshold";  // or "mann_whitney"
  ComparisonSettings comparison;    // the mann_whitney judge's
};
AnalysisSettings SettingsOf(const v1::AnalysisConfig& analysis);
Thresholds ThresholdsOf(const v1::AnalysisConfig& analysis);

}  // namespace flightdeck::releases
