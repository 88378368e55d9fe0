// Integration: maintenance windows, freezes and their checklist gating real releases, against
// the real PostgreSQL, with a fake clock pinned to known instants and a fake backups service.
#include <gtest/gtest.h>

#include <date/date.h>
#include <pqxx/pqxx>
#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/clock/clock.h"
#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/metrics/metrics.h"
#include "services/releases/checklist.h"
#include "services/releases/pipeline.h"
#include "services/releases/window_gate.h"
#include "services/releases/window_store.h"
#include "services/releases/window_verification.h"
#include "tests/support/test_database.h"

namespace flightdeck::releases {
namespace {

using namespace std::chrono_literals;

Clock::TimePoint Utc(const std::string& text) {
  std::istringstream in(text);
  date::sys_seconds t;
  in >> date::parse("%F %R", t);
  EXPECT_FALSE(in.fail()) << text;
  return Clock::TimePoint(t);
}

class NoopDriver final : public Driver {
 public:
  explicit NoopDriver(int* calls) : calls_(calls) {}
  DriverResult Run(const DriverAction&) override {
    ++*calls_;
    return {true, 0, "ok", ""};
  }

 private:
  int* calls_;
};

// The backups service as the checklist sees it: when each target's last verified backup was.
class FakeBackupFacts final : public BackupFacts {
 public:
  grpc::Status LastVerified(const std::string& target, std::optional<Clock::TimePoint>* at) override {
    auto it = verified.find(target);
    *at = it == verified.end() ? std::nullopt : std::optional(it->second);
    return grpc::Status::OK;
  }
  std::map<std::string, Clock::TimePoint> verified;
};

// The health service's smoke runs as the post-maintenance verification sees them: a known
// suite's run reports RUNNING once, then the scripted outcome; `unavailable` start attempts fail
// as a restarting service would.
class ScriptedSmokeRuns final : public SmokeRuns {
 public:
  grpc::Status Start(const std::string& suite, const std::string& actor, const std::string&,
                     std::string* run_id) override {
    if (unavailable > 0) {
      --unavailable;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
    }
    if (suite != "db-smoke") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no smoke suite " + suite);
    started.push_back(actor);
    *run_id = "run-" + std::to_string(started.size());
    polls = 0;
    return grpc::Status::OK;
  }
  grpc::Status State(const std::string&, std::string* state, std::string* summary) override {
    *state = polls++ == 0 ? "RUNNING" : outcome;
    *summary = outcome == "PASSED" ? "2/2 checks passed" : "1/2 checks passed; orders: status 500 not 200";
    return grpc::Status::OK;
  }
  std::vector<std::string> started;  // the actor of each run
  std::string outcome = "PASSED";
  int polls = 0;
  int unavailable = 0;
};

PolicySet StagingRequiresWindow() {
  PolicySet set;
  grpc::Status s = PolicySet::FromJson(R"({"staging": {"requires_window": "db-maintenance"}})", &set);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return set;
}

class WindowPipelineTest : public ::testing::Test {
 protected:
  WindowPipelineTest()
      : pool_({database_.url(), 4, 5000ms, 4, "test"}),
        migrated_(db::Migrate(pool_, db::EmbeddedMigrations("releases")).ok()),
        queue_(pool_, "releases", clock_),
        store_(pool_, queue_),
        pipeline_(store_, clock_, policies_, registry_,
                  [this](const std::string&, const EnvironmentPolicy&) {
                    return std::make_unique<NoopDriver>(&driver_calls_);
                  },
                  {}),
        window_store_(pool_),
        checklists_(window_store_, store_, &backups_),
        gate_(window_store_, checklists_, policies_, clock_),
        verification_(window_store_, queue_, &smoke_, clock_) {
    EXPECT_TRUE(migrated_);
    pipeline_.SetWindows(&gate_);
    gate_.SetVerification(&verification_);
    gate_.SetScheduledChecks(&queue_, 1h);
    clock_.Set(Utc("2027-03-03 10:00"));  // a Wednesday
  }

  // Sundays 02:00-04:00 UTC, for staging.
  void DefineMaintenance(const std::string& checklist_json = "[]", const std::string& smoke_suite = "") {
    v1::Window w;
    w.set_name("db-maintenance");
    w.set_smoke_suite(smoke_suite);
    w.set_kind(v1::Window::MAINTENANCE);
    w.set_schedule("0 2 * * SUN");
    w.mutable_duration()->set_seconds(2 * 3600);
    w.add_environments("staging");
    for (const auto& item : nlohmann::json::parse(checklist_json)) {
      v1::ChecklistItem* i = w.add_checklist();
      i->set_name(item["name"]);
      v1::ChecklistItem::Check check;
      ASSERT_TRUE(v1::ChecklistItem::Check_Parse(item["check"], &check));
      i->set_check(check);
      i->set_required(item.value("required", true));
      for (const auto& t : item.value("targets", nlohmann::json::array())) i->add_backup_targets(t);
    }
    v1::Window out;
    grpc::Status s = gate_.Create(w, "ops", &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  grpc::Status Create(const std::string& sha, bool queue, v1::Release* out,
                      const std::string& role = "DEPLOYER", const std::string& override_reason = "") {
    v1::CreateReleaseRequest req;
    req.set_service("checkout");
    req.set_environment("staging");
    req.set_version("v-" + sha);
    req.set_commit_sha(sha);
    req.set_queue(queue);
    req.set_window_override_reason(override_reason);
    return pipeline_.Create(req, {"ci", "", role}, out);
  }

  void RunDue() {
    for (int round = 0; round < 50; ++round) {
      std::vector<jobs::Job> due;
      ASSERT_TRUE(queue_.Claim("test", 20, 60s, &due).ok());
      if (due.empty()) return;
      for (const jobs::Job& job : due) {
        if (job.kind == alerts::kSendAlertJob) {
          alerts_.push_back(nlohmann::json::parse(job.payload));
          ASSERT_TRUE(queue_.Complete(job.id, "test").ok());
          continue;
        }
        grpc::Status s = job.kind == kWindowCheckJob   ? gate_.RunScheduledCheck(job)
                         : job.kind == kWindowSmokeJob ? verifier_->Run(job)
                                                       : pipeline_.Advance(nlohmann::json::parse(job.payload).value("release_id", ""));
        EXPECT_TRUE(s.ok()) << s.error_message();
        ASSERT_TRUE(queue_.Complete(job.id, "test").ok());
      }
    }
  }

  int CountDueJobsAt(Clock::TimePoint at) { return CountDueJobsOfKindAt(kAdvanceJob, at); }

  int CountDueJobsOfKindAt(const std::string& kind, Clock::TimePoint at) {
    int n = 0;
    EXPECT_TRUE(pool_.Transact("count jobs", [&](pqxx::transaction_base& tx) {
      n = tx.exec_params1("SELECT count(*) FROM releases.jobs WHERE state = 'pending' AND kind = $1 AND due_at = "
                          "to_timestamp($2::double precision)",
                          kind, std::chrono::duration<double>(at.time_since_epoch()).count())[0].as<int>();
      return grpc::Status::OK;
    }).ok());
    return n;
  }

  v1::Release Get(const std::string& id) {
    v1::Release r;
    EXPECT_TRUE(store_.Get(id, &r).ok());
    return r;
  }

  std::string Timeline(const std::string& id) {
    std::vector<v1::ReleaseEvent> events;
    bool more = false;
    EXPECT_TRUE(store_.ListEvents(id, 0, 1000, &events, &more).ok());
    std::string out;
    for (const auto& e : events) out += e.type() + " " + e.message() + "\n";
    return out;
  }

  test::TestDatabase database_;
  FakeClock clock_;
  metrics::Registry registry_;
  PolicySet policies_ = StagingRequiresWindow();
  db::Pool pool_;
  bool migrated_;
  jobs::Queue queue_;
  ReleaseStore store_;
  int driver_calls_ = 0;
  Pipeline pipeline_;
  WindowStore window_store_;
  FakeBackupFacts backups_;
  ChecklistEvaluator checklists_;
  WindowGate gate_;
  ScriptedSmokeRuns smoke_;
  WindowVerification verification_;
  WindowVerification* verifier_ = &verification_;  // the one the job runner calls
  std::vector<nlohmann::json> alerts_;  // send_alert jobs' payloads
};

TEST_F(WindowPipelineTest, OutsideTheRequiredWindowIsRefusedSayingWhenItOpens) {
  DefineMaintenance();
  v1::Release r;
  grpc::Status s = Create("abcdef1", false, &r);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("requires maintenance window \"db-maintenance\""), std::string::npos);
  EXPECT_NE(s.error_message().find("next go out at 2027-03-07T02:00:00Z (in 3d16h)"), std::string::npos)
      << s.error_message();
  // Production has no required window: only staging is gated.
  v1::NextWindow next;
  ASSERT_TRUE(gate_.Next("checkout", "staging", &next).ok());
  EXPECT_FALSE(next.open());
  EXPECT_EQ(TimeOf(next.opens_at()), Utc("2027-03-07 02:00"));
  EXPECT_EQ(TimeOf(next.closes_at()), Utc("2027-03-07 04:00"));
  ASSERT_TRUE(gate_.Next("checkout", "production", &next).ok());
  EXPECT_TRUE(next.open());
}

TEST_F(WindowPipelineTest, QueuedReleaseWaitsInTheJobsTableAndStartsWhenTheWindowOpens) {
  DefineMaintenance();
  v1::Release r;
  ASSERT_TRUE(Create("abcdef1", true, &r).ok());
  EXPECT_EQ(TimeOf(r.not_before()), Utc("2027-03-07 02:00"));
  RunDue();
  clock_.Set(Utc("2027-03-07 01:59"));
  RunDue();
  EXPECT_EQ(Get(r.id()).state(), v1::Release::PENDING) << Timeline(r.id());
  EXPECT_EQ(driver_calls_, 0);
  // The wait is a row in the jobs table due at the opening, not a sleeping thread.
  EXPECT_EQ(CountDueJobsAt(Utc("2027-03-07 02:00")), 1);
  clock_.Set(Utc("2027-03-07 02:00"));
  RunDue();
  v1::Release started = Get(r.id());
  EXPECT_EQ(started.state(), v1::Release::CANARY) << Timeline(r.id());
  EXPECT_GT(driver_calls_, 0);
  const std::string timeline = Timeline(r.id());
  EXPECT_NE(timeline.find("WINDOW_WAIT"), std::string::npos) << timeline;
  EXPECT_NE(timeline.find("WINDOW_OPENED"), std::string::npos) << timeline;
}

TEST_F(WindowPipelineTest, AFreezeDeclaredMeanwhilePushesTheQueuedReleaseToTheNextOpening) {
  DefineMaintenance();
  v1::Release r;
  ASSERT_TRUE(Create("abcdef1", true, &r).ok());
  v1::Window freeze;
  freeze.set_name("release-freeze");
  freeze.set_kind(v1::Window::FREEZE);
  v1::TimeRange* range = freeze.add_ranges();
  SetTimestamp(range->mutable_start(), Utc("2027-03-06 00:00"));
  SetTimestamp(range->mutable_end(), Utc("2027-03-08 00:00"));
  v1::Window out;
  ASSERT_TRUE(gate_.Create(freeze, "ops", &out).ok());
  clock_.Set(Utc("2027-03-07 02:00"));
  RunDue();
  v1::Release waiting = Get(r.id());
  EXPECT_EQ(waiting.state(), v1::Release::PENDING);
  EXPECT_EQ(TimeOf(waiting.not_before()), Utc("2027-03-14 02:00")) << Timeline(r.id());
  EXPECT_NE(Timeline(r.id()).find("freeze \"release-freeze\""), std::string::npos);
  clock_.Set(Utc("2027-03-14 02:00"));
  RunDue();
  EXPECT_EQ(Get(r.id()).state(), v1::Release::CANARY) << Timeline(r.id());
}

TEST_F(WindowPipelineTest, OnlyAnAdminOverridesAndTheReasonIsOnTheTimeline) {
  DefineMaintenance();
  v1::Release r;
  grpc::Status s = Create("abcdef1", false, &r, "DEPLOYER", "hotfix for INC-42");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  ASSERT_TRUE(Create("abcdef1", false, &r, "ADMIN", "hotfix for INC-42").ok());
  EXPECT_EQ(r.window_override(), "hotfix for INC-42");
  RunDue();
  EXPECT_EQ(Get(r.id()).state(), v1::Release::CANARY);
  EXPECT_NE(Timeline(r.id()).find("WINDOW_OVERRIDDEN window override by ci: hotfix for INC-42"),
            std::string::npos)
      << Timeline(r.id());
}

TEST_F(WindowPipelineTest, ChecklistFailsOnAStaleBackupAndPassesAfterAFreshVerifiedOne) {
  DefineMaintenance(R"([{"name":"backups-verified","check":"BACKUP_VERIFIED","targets":["orders-db"]},
                        {"name":"on-call","check":"ONCALL_COVERAGE"},
                        {"name":"rollback-tested","check":"ROLLBACK_TESTED","required":false}])");
  // Verified 17 hours ago: fresh now, but three days old when the window opens.
  backups_.verified["orders-db"] = Utc("2027-03-02 17:00");
  v1::Checklist before;
  ASSERT_TRUE(gate_.Checklist([] {
    v1::GetWindowChecklistRequest q;
    q.set_name("db-maintenance");
    q.set_service("checkout");
    q.set_environment("staging");
    return q;
  }(), &before).ok());
  EXPECT_EQ(before.verdict(), v1::ChecklistItemState::FAIL);
  EXPECT_EQ(before.items(0).state(), v1::ChecklistItemState::FAIL);
  EXPECT_NE(before.items(0).reason().find("more than 24h before the opening at 2027-03-07T02:00:00Z"), std::string::npos) << before.items(0).reason();
  EXPECT_EQ(before.items(1).state(), v1::ChecklistItemState::MANUAL);
  EXPECT_EQ(before.items(2).state(), v1::ChecklistItemState::FAIL);  // never rolled back

  clock_.Set(Utc("2027-03-07 02:30"));  // inside the window
  v1::Release r;
  grpc::Status s = Create("abcdef1", false, &r);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("backups-verified: the last verified backup of orders-db"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("on-call: not done before the release"), std::string::npos);

  backups_.verified["orders-db"] = Utc("2027-03-07 01:00");
  v1::TickChecklistItemRequest tick;
  tick.set_name("db-maintenance");
  tick.set_item("on-call");
  tick.set_note("alice and bob on the rota");
  v1::Checklist ticked;
  ASSERT_TRUE(gate_.Tick(tick, "ops-lead", &ticked).ok());
  EXPECT_EQ(ticked.items(1).state(), v1::ChecklistItemState::PASS);
  EXPECT_EQ(ticked.items(1).ticked_by(), "ops-lead");

  ASSERT_TRUE(Create("abcdef1", false, &r).ok());
  EXPECT_NE(Timeline(r.id()).find("CHECKLIST checklist of window db-maintenance: PASS"), std::string::npos)
      << Timeline(r.id());
}

TEST_F(WindowPipelineTest, AFailingChecklistRaisesAnAlertAnHourBeforeTheOpening) {
  DefineMaintenance(R"([{"name":"backups-verified","check":"BACKUP_VERIFIED","targets":["orders-db"]}])");
  clock_.Set(Utc("2027-03-07 00:59"));
  RunDue();
  EXPECT_TRUE(alerts_.empty());
  clock_.Set(Utc("2027-03-07 01:00"));
  RunDue();
  ASSERT_EQ(alerts_.size(), 1u);
  const std::string alert = alerts_[0].dump();
  EXPECT_NE(alert.find("MaintenanceChecklistFailed"), std::string::npos) << alert;
  EXPECT_NE(alert.find("no verified backup of orders-db"), std::string::npos) << alert;
  // The next opening's check is scheduled; with a fresh verified backup it passes quietly.
  EXPECT_EQ(CountDueJobsOfKindAt(kWindowCheckJob, Utc("2027-03-14 01:00")), 1);
  backups_.verified["orders-db"] = Utc("2027-03-14 00:30");
  clock_.Set(Utc("2027-03-14 01:00"));
  RunDue();
  EXPECT_EQ(alerts_.size(), 1u);
}

TEST_F(WindowPipelineTest, WindowsAreListedAndDeletedAndNamesAreUnique) {
  DefineMaintenance();
  v1::Window dup;
  dup.set_name("db-maintenance");
  dup.set_kind(v1::Window::FREEZE);
  SetTimestamp(dup.add_ranges()->mutable_start(), Utc("2027-12-20 00:00"));
  SetTimestamp(dup.mutable_ranges(0)->mutable_end(), Utc("2027-12-21 00:00"));
  v1::Window out;
  EXPECT_EQ(gate_.Create(dup, "ops", &out).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Windows that can never open again are refused, naming the field.
  v1::Window past = dup;
  past.set_name("last-year");
  SetTimestamp(past.mutable_ranges(0)->mutable_start(), Utc("2026-12-20 00:00"));
  SetTimestamp(past.mutable_ranges(0)->mutable_end(), Utc("2026-12-21 00:00"));
  grpc::Status s = gate_.Create(past, "ops", &out);
  EXPECT_EQ(s.error_message(), "ranges: the window never opens from now on");
  v1::Window never;
  never.set_name("never");
  never.set_kind(v1::Window::MAINTENANCE);
  never.set_schedule("0 0 30 2 *");
  never.mutable_duration()->set_seconds(3600);
  s = gate_.Create(never, "ops", &out);
  EXPECT_EQ(s.error_message(), "schedule: the window never opens from now on");
  std::vector<v1::Window> listed;
  ASSERT_TRUE(gate_.List("", "staging", &listed).ok());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(TimeOf(listed[0].next().start()), Utc("2027-03-07 02:00"));
  ASSERT_TRUE(gate_.List("", "production", &listed).ok());
  EXPECT_TRUE(listed.empty());
  ASSERT_TRUE(gate_.Delete("db-maintenance", &out).ok());
  EXPECT_EQ(gate_.Get("db-maintenance", &out).error_code(), grpc::StatusCode::NOT_FOUND);
  // With the window gone, staging's requirement names nothing: closed, and it says why.
  v1::Release r;
  s = Create("abcdef1", false, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("not defined"), std::string::npos) << s.error_message();
}

// Post-maintenance verification: the window's smoke suite runs when an opening closes (Sunday
// 04:00 here) and is followed on the job queue; only a failure alerts.
TEST_F(WindowPipelineTest, APassingSmokeSuiteAfterTheCloseRaisesNothing) {
  DefineMaintenance("[]", "db-smoke");
  clock_.Set(Utc("2027-03-07 03:59"));
  RunDue();
  EXPECT_TRUE(smoke_.started.empty()) << "the window is still open";
  clock_.Set(Utc("2027-03-07 04:00"));
  RunDue();
  ASSERT_EQ(smoke_.started.size(), 1u);
  EXPECT_EQ(smoke_.started[0], "window db-maintenance");
  v1::Window w;
  ASSERT_TRUE(gate_.Get("db-maintenance", &w).ok());
  EXPECT_EQ(w.last_smoke().state(), "RUNNING");
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(5s);
    RunDue();
  }
  ASSERT_TRUE(gate_.Get("db-maintenance", &w).ok());
  EXPECT_EQ(w.last_smoke().state(), "PASSED") << w.last_smoke().DebugString();
  EXPECT_EQ(w.last_smoke().summary(), "smoke run run-1: 2/2 checks passed");
  EXPECT_EQ(TimeOf(w.last_smoke().occurrence().end()), Utc("2027-03-07 04:00"));
  EXPECT_TRUE(alerts_.empty());
  EXPECT_EQ(smoke_.started.size(), 1u) << "one run per opening";
  // The next opening's verification is already due at its close.
  EXPECT_EQ(CountDueJobsOfKindAt(kWindowSmokeJob, Utc("2027-03-14 04:00")), 1);
  // The checklist shows it too.
  v1::GetWindowChecklistRequest req;
  req.set_name("db-maintenance");
  v1::Checklist checklist;
  ASSERT_TRUE(gate_.Checklist(req, &checklist).ok());
  EXPECT_EQ(checklist.last_smoke().state(), "PASSED");
}

TEST_F(WindowPipelineTest, AFailingSmokeSuiteAlertsOnceNamingTheWindowEvenAfterARestart) {
  DefineMaintenance("[]", "db-smoke");
  smoke_.outcome = "FAILED";
  clock_.Set(Utc("2027-03-07 04:00"));
  RunDue();
  ASSERT_EQ(smoke_.started.size(), 1u);
  // A restart between looks: a new verifier (same database, same queue) carries the run on.
  WindowVerification restarted(window_store_, queue_, &smoke_, clock_);
  gate_.SetVerification(&restarted);
  verifier_ = &restarted;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(5s);
    RunDue();
  }
  ASSERT_EQ(alerts_.size(), 1u);
  const std::string alert = alerts_[0].dump();
  EXPECT_NE(alert.find("MaintenanceVerificationFailed"), std::string::npos) << alert;
  EXPECT_EQ(alerts_[0]["alert"]["labels"].value("window", ""), "db-maintenance") << alert;
  EXPECT_NE(alert.find("post-maintenance verification of window db-maintenance"), std::string::npos) << alert;
  EXPECT_NE(alert.find("orders: status 500 not 200"), std::string::npos) << alert;
  v1::Window w;
  ASSERT_TRUE(gate_.Get("db-maintenance", &w).ok());
  EXPECT_EQ(w.last_smoke().state(), "FAILED");
  // A step that runs again for the same opening (a crash after the alert was enqueued) changes
  // nothing: no second run, no second alert.
  ASSERT_TRUE(queue_.Enqueue(kWindowSmokeJob, "",
                             nlohmann::json{{"window", "db-maintenance"},
                                            {"opening_us", ToMicros(Utc("2027-03-07 02:00"))},
                                            {"end_us", ToMicros(Utc("2027-03-07 04:00"))},
                                            {"step", 7}}.dump(),
                             clock_.Now()).ok());
  RunDue();
  EXPECT_EQ(alerts_.size(), 1u);
  EXPECT_EQ(smoke_.started.size(), 1u);
}

// Clock jumps: each opening is verified once whatever the clock does, and a run
// started long after its close (the clock stepped past it, or the service was down) gets its
// full time for a verdict instead of failing on its first look.
TEST_F(WindowPipelineTest, EachOpeningIsVerifiedOnceWhateverTheClockJumps) {
  DefineMaintenance("[]", "db-smoke");
  clock_.Set(Utc("2027-03-07 04:00"));
  RunDue();
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(5s);
    RunDue();
  }
  ASSERT_EQ(smoke_.started.size(), 1u);
  // Back across the close, then past it again: that opening is judged already.
  clock_.Set(Utc("2027-03-07 03:30"));
  RunDue();
  clock_.Set(Utc("2027-03-07 04:00"));
  RunDue();
  EXPECT_EQ(smoke_.started.size(), 1u);
  // Forward over two closes (03-14 and 03-21): each missed opening once, and the chain goes on.
  clock_.Set(Utc("2027-03-21 05:00"));
  for (int i = 0; i < 6; ++i) {
    RunDue();
    clock_.Advance(5s);
  }
  EXPECT_EQ(smoke_.started.size(), 3u);
  EXPECT_TRUE(alerts_.empty()) << alerts_.front().dump();
  v1::Window w;
  ASSERT_TRUE(gate_.Get("db-maintenance", &w).ok());
  EXPECT_EQ(w.last_smoke().state(), "PASSED") << w.last_smoke().DebugString();
  EXPECT_EQ(TimeOf(w.last_smoke().occurrence().end()), Utc("2027-03-21 04:00"));
  EXPECT_EQ(CountDueJobsOfKindAt(kWindowSmokeJob, Utc("2027-03-28 04:00")), 1);
}

TEST_F(WindowPipelineTest, ASmokeSuiteThatCannotStartAlertsAndAnUnreachableHealthServiceIsAskedAgain) {
  DefineMaintenance("[]", "db-smoke");
  smoke_.unavailable = 2;  // the health service is restarting at the close
  clock_.Set(Utc("2027-03-07 04:00"));
  RunDue();
  EXPECT_TRUE(smoke_.started.empty());
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(5s);
    RunDue();
  }
  ASSERT_EQ(smoke_.started.size(), 1u) << "started once the health service answered";
  EXPECT_TRUE(alerts_.empty());

  // A suite the health service does not know: NOT_STARTED, and an incident.
  v1::Window gone;
  ASSERT_TRUE(gate_.Delete("db-maintenance", &gone).ok());
  clock_.Set(Utc("2027-03-08 10:00"));
  DefineMaintenance("[]", "no-such-suite");
  clock_.Set(Utc("2027-03-14 04:00"));
  RunDue();
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_NE(alerts_[0].dump().find("smoke suite no-such-suite could not be started: no smoke suite no-such-suite"),
            std::string::npos)
      << alerts_[0].dump();
  v1::Window w;
  ASSERT_TRUE(gate_.Get("db-maintenance", &w).ok());
  EXPECT_EQ(w.last_smoke().state(), "NOT_STARTED");
}

// The first look at an opening can come long after its close (the clock stepped past it, or
// releases was down then): an unreachable health service still gets its whole start grace,
// counted from that first look, before the run counts as not startable.
TEST_F(WindowPipelineTest, TheStartGraceCountsFromTheFirstLookNotFromTheClose) {
  DefineMaintenance("[]", "db-smoke");
  smoke_.unavailable = 1000;
  clock_.Set(Utc("2027-03-07 05:00"));  // an hour past the 04:00 close
  RunDue();
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(5s);
    RunDue();
  }
  EXPECT_TRUE(alerts_.empty()) << "failed at once, an hour after the close: " << alerts_.front().dump();
  smoke_.unavailable = 0;
  clock_.Advance(5s);
  RunDue();
  ASSERT_EQ(smoke_.started.size(), 1u) << "started once the health service answered";
  clock_.Advance(5s);
  RunDue();
  ASSERT_TRUE(alerts_.empty()) << alerts_.front().dump();

  // Still unreachable when the grace is over: NOT_STARTED, once.
  clock_.Set(Utc("2027-03-14 06:00"));
  smoke_.unavailable = 1000;
  RunDue();
  clock_.Advance(9min);
  RunDue();
  EXPECT_TRUE(alerts_.empty());
  clock_.Advance(2min);
  RunDue();
  clock_.Advance(5s);
  RunDue();
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_NE(alerts_[0].dump().find("could not be started"), std::string::npos) << alerts_[0].dump();
}

TEST_F(WindowPipelineTest, OnlyAMaintenanceWindowNamesASmokeSuite) {
  v1::Window freeze;
  freeze.set_name("holidays");
  freeze.set_kind(v1::Window::FREEZE);
  v1::TimeRange* r = freeze.add_ranges();
  SetTimestamp(r->mutable_start(), Utc("2027-12-20 00:00"));
  SetTimestamp(r->mutable_end(), Utc("2028-01-03 00:00"));
  freeze.set_smoke_suite("db-smoke");
  v1::Window out;
  grpc::Status s = gate_.Create(freeze, "ops", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("smoke_suite: verifies the changes of a maintenance window"), std::string::npos)
      << s.error_message();
}

}  // namespace
}  // namespace flightdeck::releases
