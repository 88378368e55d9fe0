// Fault scenario 1: kill -9 of a random process at a random moment (and of releases while a
// driver command runs) while releases move through two canary steps with the command driver.
// Invariants, checked after every fault and at the end:
//  - every release in flight progresses (a new timeline event, or an end) within
//    lease + analysis interval + the longest driver command + a restart allowance;
//  - every release reaches a terminal state;
//  - no driver action is carried out twice at the same time, none is recorded twice in the
//    timeline, and none that the outcome needs is skipped (the command never ran it);
//  - the timeline has no gap (each STATE_CHANGED starts where the one before ended, the last
//    ends in the release's state) and no duplicate (a transition or driver event twice).
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/chaos/chaos.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kLease = 3s;
constexpr auto kInterval = 1s;
constexpr auto kLongCommand = 4s;  // the second canary step's command outlives the lease
// A killed process is started again after up to 0.5 s and needs a moment to serve.
constexpr auto kRestartAllowance = 4s;
constexpr auto kProgressBound = kLease + kInterval + kLongCommand + kRestartAllowance;

const std::set<std::string> kTerminal = {"SUCCEEDED", "ROLLED_BACK", "ABORTED", "FAILED"};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::vector<std::string>> Lines(const std::string& path) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    std::string word;
    while (words >> word) w.push_back(word);
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

struct ReleaseRow {
  std::string state;
  long last_event = 0;
};

class ReleasesKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fd-chaos-releases-XXXXXX";
    dir_ = mkdtemp(dir);
    // The command records each invocation (start and end, with its pid) and applies an action
    // id at most once (idempotent on FLIGHTDECK_ACTION_ID, as the README asks of commands).
    const std::string script = dir_ + "/deploy.sh";
    std::ofstream(script)
        << "#!/bin/sh\n"
           "d=" << dir_ << "\n"
           "id=\"$FLIGHTDECK_ACTION_ID\"\n"
           // A run of the same action still alive (not ended, its pid answers) is an overlap.
           // (A zombie, killed and not yet reaped, is not alive.)
           "alive() { s=$(cut -d')' -f2 /proc/$1/stat 2>/dev/null) || return 1; set -- $s; [ \"$1\" != Z ]; }\n"
           "grep \"^start $id \" $d/invocations.log 2>/dev/null | while read _ _ pid; do\n"
           "  grep -qx \"end $id $pid\" $d/invocations.log || ! alive $pid ||"
           " echo \"overlap $id $pid\" >> $d/overlaps.log\n"
           "done\n"
           "echo \"start $id $$\" >> $d/invocations.log\n"
           "if [ \"$FLIGHTDECK_WEIGHT\" = 50 ]; then sleep " << kLongCommand.count() << "; else sleep 0.3; fi\n"
           "exec 9>>$d/lock\n"
           "flock 9\n"
           "grep -qxF \"applied $id\" $d/applied.log 2>/dev/null || echo \"applied $id\" >> $d/applied.log\n"
           "flock -u 9\n"
           "echo \"end $id $$\" >> $d/invocations.log\n"
           "echo \"$FLIGHTDECK_ACTION $FLIGHTDECK_WEIGHT done\"\n";
    chmod(script.c_str(), 0755);
    std::ofstream(dir_ + "/environments.json")
        << json{{"chaos",
                 {{"driver", "command"},
                  {"command", {script}},
                  {"command_timeout", "30s"},
                  {"verification_timeout", "120s"},
                  {"canary",
                   {{"steps", {{{"weight", 10}, {"duration", "2s"}}, {{"weight", 50}, {"duration", "2s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 100}}}}}}}}
               .dump();
    stack_ = std::make_unique<Stack>(std::map<std::string, std::string>{
        {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},  // the load is the point here, not the limits
        {"FLIGHTDECK_ENVIRONMENTS_FILE", dir_ + "/environments.json"},
        {"FLIGHTDECK_JOBS_LEASE", "3s"},
        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
        {"FLIGHTDECK_UPSTREAM_TIMEOUT", "3s"}});
    ASSERT_TRUE(stack_->WaitReady());
    HttpResponse r = HttpRequest("POST", stack_->gateway_url() + "/v1/tokens",
                                 json{{"name", "ci"}, {"role", "DEPLOYER"}}.dump(),
                                 {{"Authorization", "Bearer " + stack_->admin_token()}});
    ASSERT_EQ(r.status, 200) << r.body;
    token_ = json::parse(r.body).value("secret", "");
  }

  void TearDown() override {
    stack_.reset();
    RunCommand({"/bin/rm", "-rf", dir_});
  }

  HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + token_}}, 3000);
  }

  // Read straight from PostgreSQL, so that the checks do not depend on the processes under fault.
  std::map<std::string, ReleaseRow> Releases() {
    std::map<std::string, ReleaseRow> out;
    pqxx::connection c(stack_->database_url());
    pqxx::nontransaction w(c);
    for (const auto& row : w.exec("SELECT r.id::text, r.state, coalesce(max(e.id), 0) FROM releases.releases r "
                                  "LEFT JOIN releases.events e ON e.release_id = r.id GROUP BY r.id, r.state")) {
      out[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<long>()};
    }
    return out;
  }

  // Creates releases (distinct services, so they run side by side) until `total` exist; an
  // eighth of them get failing numbers and roll back. Pushes numbers and verdicts meanwhile.
  void DriveReleases(int total, std::atomic<bool>& stop) {
    std::map<std::string, bool> bad;  // release id -> pushes failing numbers
    int created = 0;
    while (!stop) {
      std::map<std::string, ReleaseRow> rows;
      try {
        rows = Releases();
      } catch (const std::exception&) {
      }
      int in_flight = 0;
      for (const auto& [id, row] : rows) {
        if (kTerminal.count(row.state)) continue;
        ++in_flight;
        if (row.state == "CANARY") {
          Call("POST", "/v1/releases/" + id + "/observations",
               bad[id] ? json{{"requests", 200}, {"errors", 60}, {"window", "1s"}}
                       : json{{"requests", 200}, {"errors", 1}, {"p99_latency_ms", 100}, {"window", "1s"}});
        } else if (row.state == "VERIFYING") {
          Call("POST", "/v1/releases/" + id + "/verification", {{"passed", true}, {"details", "chaos"}});
        }
      }
      if (created < total && in_flight < parallel_) {
        const std::string sha = "c0ffee" + std::to_string(1000 + created);
        // Idempotency-Key: a create retried across a gateway kill is one release, not two.
        HttpResponse r = HttpRequest(
            "POST", stack_->gateway_url() + "/v1/releases",
            json{{"service", "svc" + std::to_string(created)}, {"environment", "chaos"},
                 {"version", "v" + sha}, {"commit_sha", sha}, {"image", "registry.example/svc:" + sha}}
                .dump(),
            {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", "chaos-create-" + sha}}, 3000);
        if (r.status == 200) {
          bad[json::parse(r.body).value("id", "")] = created % 8 == 3;
          ++created;
        }
      }
      if (created >= total && in_flight == 0 && rows.size() >= size_t(total)) done_ = true;
      std::this_thread::sleep_for(150ms);
    }
  }

  // True while some command has started and not ended (from the invocation log).
  bool CommandRunning() {
    std::map<std::string, int> open;
    for (const auto& w : Lines(dir_ + "/invocations.log")) {
      if (w.size() < 3) continue;
      open[w[2]] += w[0] == "start" ? 1 : -1;
    }
    for (const auto& [pid, n] : open) {
      if (n > 0) return true;
    }
    return false;
  }

  // After a fault: every release that was in flight shows a new event or has ended.
  void CheckProgress(const std::map<std::string, ReleaseRow>& before, SteadyClock::time_point since,
                     Figures& figures) {
    std::set<std::string> waiting;
    for (const auto& [id, row] : before) {
      if (!kTerminal.count(row.state)) waiting.insert(id);
    }
    // kProgressBound counts from `since`; the check allows 2 s of slack over it.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(since + kProgressBound + 2s - SteadyClock::now());
    WaitUntil([&] {
      std::map<std::string, ReleaseRow> now;
      try {
        now = Releases();
      } catch (const std::exception&) {
      }
      for (auto it = waiting.begin(); it != waiting.end();) {
        const ReleaseRow& row = now[*it];
        if (kTerminal.count(row.state) || row.last_event > before.at(*it).last_event) {
          it = waiting.erase(it);
        } else {
          ++it;
        }
      }
      return waiting.empty();
    }, left, 100ms);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - since);
    figures.Recovery(took);
    for (const std::string& id : waiting) {
      figures.Violation("release " + id + " made no progress within " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(kProgressBound).count()) +
                        " ms of the fault (state " + before.at(id).state + ")");
    }
  }

  void CheckTimelines(Figures& figures) {
    pqxx::connection c(stack_->database_url());
    pqxx::nontransaction w(c);
    std::set<std::string> applied;
    for (const auto& line : Lines(dir_ + "/applied.log")) {
      if (line.size() == 2) applied.insert(line[1]);
    }
    for (const auto& row : w.exec("SELECT id::text, state FROM releases.releases")) {
      const std::string id = row[0].as<std::string>();
      const std::string state = row[1].as<std::string>();
      if (!kTerminal.count(state)) {
        std::string jobs;
        for (const auto& j : w.exec_params("SELECT state, attempts, max_attempts, coalesce(last_error, '') FROM releases.jobs "
                                           "WHERE payload->>'release_id' = $1 ORDER BY id DESC LIMIT 3", id)) {
          jobs += " [job " + j[0].as<std::string>() + ", attempt " + j[1].as<std::string>() + " of " +
                  j[2].as<std::string>() + ": " + j[3].as<std::string>() + "]";
        }
        figures.Violation("release " + id + " ended the run in " + state + ";" + jobs);
      }
      std::string at = "PENDING";
      std::set<std::string> transitions;
      std::map<std::string, int> driver_events;
      for (const auto& e : w.exec_params("SELECT type, data::text FROM releases.events WHERE release_id = $1 ORDER BY id", id)) {
        const json data = json::parse(e[1].as<std::string>(), nullptr, false);
        const std::string type = e[0].as<std::string>();
        if (type == "STATE_CHANGED") {
          const std::string from = data.value("from", ""), to = data.value("to", "");
          if (from != at) figures.Violation("release " + id + ": gap in the timeline: " + from + " -> " + to + " after " + at);
          if (!transitions.insert(from + "->" + to).second) figures.Violation("release " + id + ": " + from + " -> " + to + " twice");
          at = to;
        } else if (type == "DRIVER") {
          const std::string key = data.value("action", "") + " " + std::to_string(data.value("weight", -1));
          if (++driver_events[key] > 1) figures.Violation("release " + id + ": driver event " + key + " recorded twice");
        }
      }
      if (at != state) figures.Violation("release " + id + ": timeline ends in " + at + " but the release is " + state);
      // What the outcome needs the command to have carried out.
      std::vector<std::string> needed;
      if (state == "SUCCEEDED") needed = {id + ":canary:0", id + ":canary:1", id + ":promote"};
      if (state == "ROLLED_BACK") needed = {id + ":canary:0", id + ":rollback"};
      for (const std::string& action : needed) {
        if (!applied.count(action)) figures.Violation("action " + action + " was skipped (the command never completed it)");
      }
    }
    for (const auto& row : w.exec("SELECT d.action_id FROM releases.driver_actions d JOIN releases.releases r "
                                  "ON r.id = d.release_id WHERE d.status = 'started'")) {
      figures.Violation("driver action " + row[0].as<std::string>() + " is still recorded as started");
    }
    // The same action never runs twice at once (the script records a run that finds an
    // earlier run of its action still alive).
    for (const auto& line : Lines(dir_ + "/overlaps.log")) {
      if (line.size() == 3) figures.Violation("action " + line[1] + " started while run " + line[2] + " of it was still going");
    }
    int starts = 0;
    int reruns = 0;
    std::map<std::string, int> ends;
    for (const auto& line : Lines(dir_ + "/invocations.log")) {
      if (line.size() < 3) continue;
      if (line[0] == "start") ++starts;
      if (line[0] == "end" && ++ends[line[1]] > 1) ++reruns;
    }
    figures.Sample("driver commands started", starts);
    figures.Sample("actions completed again after a crash", reruns);
  }

  std::string dir_;
  std::unique_ptr<Stack> stack_;
  std::string token_;
  int parallel_ = 4;
  std::atomic<bool> done_{false};
};

TEST_F(ReleasesKillTest, EveryReleaseEndsAndEveryActionRunsOnceWhateverIsKilled) {
  Figures figures("kill -9 during canaries");
  const int total = 8 * Scale();
  const auto time_limit = SteadyClock::now() + std::chrono::seconds(150 * Scale());
  std::atomic<bool> stop{false};
  std::thread driver([&] { DriveReleases(total, stop); });
  const std::vector<std::string> names = {"releases", "gateway", "backups", "health", "incidents"};
  while (!done_ && SteadyClock::now() < time_limit && !HasFailure()) {
    std::this_thread::sleep_for(UniformMs(300, 1500));
    std::string victim;
    if (Uniform(0, 1) == 0) {
      // Wait (bounded) for a driver command to be running, then kill releases under it.
      WaitUntil([&] { return CommandRunning(); }, 2s);
      std::this_thread::sleep_for(UniformMs(0, 200));
      victim = "releases";
    } else {
      victim = names[size_t(Uniform(0, int(names.size()) - 1))];
    }
    std::map<std::string, ReleaseRow> before = Releases();
    stack_->Kill(victim);
    figures.Fault();
    std::this_thread::sleep_for(UniformMs(0, 500));
    stack_->Start(victim);
    const auto restarted = SteadyClock::now();
    figures.Iteration();
    CheckProgress(before, restarted, figures);
  }
  // Faults over: everything ends within the same bound per remaining step.
  WaitUntil([&] { return done_.load(); }, 60s, 200ms);
  stop = true;
  driver.join();
  EXPECT_TRUE(done_) << "not every release ended in time\n" << stack_->Logs();
  CheckTimelines(figures);
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
