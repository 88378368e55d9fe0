// Integration: the release pipeline against the real PostgreSQL and Redis, with a fake clock
// and a driver that counts what it is asked to do.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/alerts/alerts.h"
#include "common/cache/cache.h"
#include "common/clock/clock.h"
#include "common/config/config.h"
#include "common/db/change_feed.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/clock/timestamps.h"
#include "common/metrics/metrics.h"
#include "common/net/egress.h"
#include "services/releases/metric_source.h"
#include "services/releases/pipeline.h"
#include "services/releases/service.h"
#include "services/releases/state_machine.h"
#include "services/releases/store.h"
#include "tests/support/env.h"
#include "tests/support/test_database.h"

namespace flightdeck::releases {
namespace {

using namespace std::chrono_literals;

// Records every action; fails the actions it is told to.
class CountingDriver {
 public:
  struct Call {
    std::string action;
    int weight;
    std::string action_id;
  };
  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  void FailAction(const std::string& action) { fail_ = action; }
  // Runs `during` inside each driver call, as if it happened while the command ran.
  void During(std::function<void(const Call&)> during) { during_ = std::move(during); }
  std::unique_ptr<Driver> Make() { return std::make_unique<Proxy>(this); }
  // Like `external`: the action touches nothing outside Flightdeck.
  void ActInsideOnly() { outside_ = false; }

 private:
  class Proxy : public Driver {
   public:
    explicit Proxy(CountingDriver* d) : d_(d) {}
    DriverResult Run(const DriverAction& a) override {
      const Call call{a.action, a.weight, a.action_id};
      std::function<void(const Call&)> during;
      {
        std::lock_guard<std::mutex> lock(d_->mu_);
        d_->calls_.push_back(call);
        during = d_->during_;
      }
      if (during) during(call);
      if (a.action == d_->fail_) return {false, 3, "boom", "exit status 3"};
      return {true, 0, "ok", ""};
    }
    bool ActsOutside() const override { return d_->outside_; }

   private:
    CountingDriver* d_;
  };
  std::mutex mu_;
  std::vector<Call> calls_;
  std::string fail_;
  std::function<void(const Call&)> during_;
  bool outside_ = true;
};

// The health service's smoke runs as the pipeline sees them: each run reports RUNNING once,
// then the scripted outcome.
class ScriptedSmokeRuns final : public SmokeRuns {
 public:
  grpc::Status Start(const std::string& suite, const std::string&, const std::string& release_id,
                     std::string* run_id) override {
    if (suite != "checkout-smoke") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no smoke suite " + suite);
    started.push_back(release_id);
    *run_id = "run-" + std::to_string(started.size());
    return grpc::Status::OK;
  }
  grpc::Status State(const std::string&, std::string* state, std::string* summary) override {
    *state = polls++ == 0 ? "RUNNING" : outcome;
    *summary = outcome == "PASSED" ? "2/2 checks passed" : "1/2 checks passed; cart: status 500 not 200";
    return grpc::Status::OK;
  }
  std::vector<std::string> started;
  std::string outcome = "PASSED";
  int polls = 0;
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : pool_({database_.url(), 4, 5000ms, 4, "test"}),
        migrated_(Migrate()),
        cache_([] {
          cache::CacheOptions o;
          o.url = test::RequireEnv("REDIS_URL");
          return o;
        }()),
        queue_(pool_, "releases", clock_),
        store_(pool_, queue_),
        pipeline_(store_, clock_, policies_, registry_,
                  [this](const std::string&, const EnvironmentPolicy&) { return driver_.Make(); },
                  {}),
        service_(store_, pipeline_, cache_, 60s) {
    store_.SetOnChange([this](const std::string& id, long long revision) { service_.ReleaseChanged(id, revision); });
    service_.SetChangeFeed(&feed_);
    pipeline_.SetSmokeRuns(&smoke_);
  }

  bool Migrate() {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("releases"));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok();
  }

  // Runs every job due now, like the worker would, until none is left.
  void RunDue() {
    for (int round = 0; round < 50; ++round) {
      std::vector<jobs::Job> due;
      ASSERT_TRUE(queue_.Claim("test", 20, 60s, &due).ok());
      if (due.empty()) return;
      for (const jobs::Job& job : due) {
        if (job.kind == alerts::kSendAlertJob) {
          alerts_queued_.push_back(nlohmann::json::parse(job.payload));
          ASSERT_TRUE(queue_.Complete(job.id, "test").ok());
          continue;
        }
        std::string id = nlohmann::json::parse(job.payload).value("release_id", "");
        grpc::Status s = pipeline_.Advance(id);
        EXPECT_TRUE(s.ok()) << s.error_message();
        ASSERT_TRUE(queue_.Complete(job.id, "test").ok());
      }
    }
  }

  // Moves the fake clock forward in steps, running what becomes due.
  void Elapse(std::chrono::seconds total, std::chrono::seconds step = 10s) {
    for (auto t = 0s; t < total; t += step) {
      clock_.Advance(step);
      RunDue();
    }
  }

  v1::Release Create(const std::string& env, const std::string& sha, const std::string& actor = "ci",
                     const std::string& canary_json = "") {
    v1::CreateReleaseRequest req;
    req.set_service("checkout");
    req.set_environment(env);
    req.set_version("v-" + sha);
    req.set_commit_sha(sha);
    req.set_image("registry.example/checkout:" + sha);
    if (!canary_json.empty()) {
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(canary_json, req.mutable_canary()).ok());
    }
    v1::Release r;
    grpc::Status s = pipeline_.Create(req, {actor, ""}, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    RunDue();
    return r;
  }

  v1::Release Get(const std::string& id) {
    v1::Release r;
    EXPECT_TRUE(store_.Get(id, &r).ok());
    return r;
  }

  void Push(const std::string& id, long long requests, long long errors) {
    v1::PostObservationsRequest o;
    o.set_id(id);
    o.set_requests(requests);
    o.set_errors(errors);
    v1::Release r;
    grpc::Status s = pipeline_.Observe(o, {"ci", ""}, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void VerifyPassed(const std::string& id) {
    v1::PostVerificationRequest v;
    v.set_id(id);
    v.set_passed(true);
    v1::Release r;
    ASSERT_TRUE(pipeline_.Verify(v, {"ci", ""}, &r).ok());
  }

  // A healthy staging release of `sha`, all the way to SUCCEEDED.
  // Good figures until the canary steps are over.
  void PassCanary(const std::string& id) {
    for (int minute = 0; minute < 10 && Get(id).state() == v1::Release::CANARY; ++minute) {
      Push(id, 1000, 10);
      Elapse(60s);
    }
  }

  v1::Release Succeed(const std::string& env, const std::string& sha) {
    v1::Release r = Create(env, sha);
    for (int minute = 0; minute < 10; ++minute) {
      Push(r.id(), 1000, 10);
      Elapse(60s);
    }
    EXPECT_EQ(Get(r.id()).state(), v1::Release::VERIFYING) << Timeline(r.id());
    VerifyPassed(r.id());
    RunDue();
    return Get(r.id());
  }

  // For failure messages: the release's timeline, one event a line.
  std::string Timeline(const std::string& id) {
    std::string out;
    for (const auto& e : Events(id)) out += e.type() + " " + e.message() + "\n";
    return out;
  }

  std::vector<v1::ReleaseEvent> Events(const std::string& id) {
    std::vector<v1::ReleaseEvent> events;
    bool more = false;
    EXPECT_TRUE(store_.ListEvents(id, 0, 1000, &events, &more).ok());
    return events;
  }

  test::TestDatabase database_;
  FakeClock clock_;
  metrics::Registry registry_;
  PolicySet policies_ = PolicySet::Defaults();
  CountingDriver driver_;
  db::Pool pool_;
  ScriptedSmokeRuns smoke_;
  std::vector<nlohmann::json> alerts_queued_;  // send_alert jobs' payloads, in order
  bool migrated_;
  cache::Cache cache_;
  jobs::Queue queue_;
  ReleaseStore store_;
  Pipeline pipeline_;
  db::ChangeFeed feed_{database_.url(), "releases_events"};  // GetRelease keeps releases in memory
  ReleaseServiceImpl service_;
};

TEST_F(PipelineTest, TenMinuteCanaryRunsThroughInMilliseconds) {
  auto start = std::chrono::steady_clock::now();
  v1::Release r = Create("staging", "abcdef1", "ci",
                         R"({"steps":[{"weight":5,"duration":"600s"},{"weight":50,"duration":"600s"}]})");
  EXPECT_EQ(Get(r.id()).state(), v1::Release::CANARY);
  EXPECT_EQ(Get(r.id()).current_weight(), 5);
  for (int minute = 0; minute < 10; ++minute) {
    Push(r.id(), 1000, 10);
    Elapse(60s);
  }
  EXPECT_EQ(Get(r.id()).current_weight(), 50) << "second step after ten minutes";
  for (int minute = 0; minute < 10; ++minute) {
    Push(r.id(), 1000, 10);
    Elapse(60s);
  }
  EXPECT_EQ(Get(r.id()).state(), v1::Release::VERIFYING);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60))
      << "twenty fake minutes must not take real ones";
}

TEST_F(PipelineTest, HealthyCanarySucceedsWithOneDriverCallPerStep) {
  v1::Release r = Succeed("staging", "abcdef1");
  EXPECT_EQ(r.state(), v1::Release::SUCCEEDED);
  std::vector<std::string> actions;
  for (const auto& c : driver_.calls()) actions.push_back(c.action + ":" + std::to_string(c.weight));
  EXPECT_EQ(actions, (std::vector<std::string>{"canary:5", "promote:100"}));
  int verdicts = 0;
  for (const auto& e : Events(r.id())) verdicts += e.type() == "ANALYSIS";
  EXPECT_EQ(verdicts, 10) << "one analysis per minute of the 10-minute step";
}

// Clock jumps (an NTP step, a resumed VM) during a canary. Analyses are due-work at absolute
// instants: a step back leaves the release where it was (nothing runs early or again), and a
// step forward runs what became due once: one analysis, the step ended once, one driver call
// per step.
TEST_F(PipelineTest, ACanaryJudgesOnceAndStepsOnceWhateverTheClockJumps) {
  v1::Release r = Create("staging", "abcdef1");  // 5% for 10 minutes, judged every 60 s
  auto analyses = [&] {
    int n = 0;
    for (const auto& e : Events(r.id())) n += e.type() == "ANALYSIS";
    return n;
  };
  Push(r.id(), 1000, 10);
  Elapse(60s);
  ASSERT_EQ(analyses(), 1) << Timeline(r.id());
  const Clock::TimePoint at = clock_.Now();

  clock_.Set(at - 1h);
  for (int minute = 0; minute < 5; ++minute) {
    Push(r.id(), 1000, 10);
    Elapse(60s);
  }
  EXPECT_EQ(analyses(), 1) << "nothing is due an hour before the next analysis:\n" << Timeline(r.id());
  EXPECT_EQ(Get(r.id()).state(), v1::Release::CANARY);
  EXPECT_EQ(driver_.calls().size(), 1u);

  clock_.Set(at + 3h);
  Push(r.id(), 1000, 10);
  for (int look = 0; look < 5; ++look) RunDue();
  EXPECT_EQ(analyses(), 2) << "one analysis for the three hours skipped:\n" << Timeline(r.id());
  EXPECT_EQ(Get(r.id()).state(), v1::Release::VERIFYING) << Timeline(r.id());
  std::vector<std::string> actions;
  for (const auto& c : driver_.calls()) actions.push_back(c.action + ":" + std::to_string(c.weight));
  EXPECT_EQ(actions, (std::vector<std::string>{"canary:5", "promote:100"}));

  clock_.Set(at);  // back again across the step's end: nothing is judged or run twice
  for (int minute = 0; minute < 15; ++minute) Elapse(60s);
  EXPECT_EQ(analyses(), 2) << Timeline(r.id());
  EXPECT_EQ(driver_.calls().size(), 2u);
  VerifyPassed(r.id());
  RunDue();
  EXPECT_EQ(Get(r.id()).state(), v1::Release::SUCCEEDED) << Timeline(r.id());
}

TEST_F(PipelineTest, BadCanaryRollsBackWithinOneIntervalAndSaysWhy) {
  Succeed("staging", "abcdef1");
  v1::Release r = Create("staging", "bad0001");
  Push(r.id(), 1000, 80);
  Elapse(60s);
  v1::Release after = Get(r.id());
  EXPECT_EQ(after.state(), v1::Release::ROLLED_BACK);
  EXPECT_NE(after.outcome_reason().find("8.00%"), std::string::npos) << after.outcome_reason();
  bool saw_numbers = false;
  for (const auto& e : Events(r.id())) {
    if (e.type() == "ANALYSIS" && e.message().find("FAIL") == 0) {
      saw_numbers = e.data().fields().at("errors").number_value() == 80 &&
                    e.data().fields().at("requests").number_value() == 1000;
    }
  }
  EXPECT_TRUE(saw_numbers);
  EXPECT_EQ(driver_.calls().back().action, "rollback");
}

TEST_F(PipelineTest, InconclusiveAnalysesPauseForAHuman) {
  v1::Release r = Create("staging", "abcdef1");
  Elapse(180s);  // three analyses without data
  v1::Release paused = Get(r.id());
  EXPECT_EQ(paused.state(), v1::Release::CANARY);
  EXPECT_TRUE(paused.paused());
  Elapse(600s);
  EXPECT_EQ(Get(r.id()).state(), v1::Release::CANARY) << "neither promotes nor rolls back alone";
  v1::Release promoted;
  ASSERT_TRUE(pipeline_.Promote(r.id(), "looked at dashboards", {"alice", ""}, &promoted).ok());
  EXPECT_EQ(promoted.state(), v1::Release::PROMOTING) << "the answer is the state after the promotion";
  EXPECT_FALSE(promoted.paused());
  RunDue();
  EXPECT_EQ(Get(r.id()).state(), v1::Release::VERIFYING);
}

TEST_F(PipelineTest, ProductionNeedsStagingFirstAndAnApprovalByAnotherPerson) {
  v1::CreateReleaseRequest req;
  req.set_service("checkout");
  req.set_environment("production");
  req.set_version("v1");
  req.set_commit_sha("abcdef1");
  v1::Release r;
  grpc::Status refused = pipeline_.Create(req, {"ci", ""}, &r);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("staging"), std::string::npos);

  Succeed("staging", "abcdef1");
  v1::Release prod = Create("production", "abcdef1");
  EXPECT_EQ(Get(prod.id()).state(), v1::Release::AWAITING_APPROVAL);
  v1::Release out;
  EXPECT_EQ(pipeline_.Approve(prod.id(), "", {"ci", ""}, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(pipeline_.Approve(prod.id(), "lgtm", {"alice", ""}, &out).ok());
  EXPECT_EQ(out.state(), v1::Release::PENDING) << "the answer is the state after the approval";
  EXPECT_EQ(out.approved_by(), "alice");
  EXPECT_EQ(Get(prod.id()).state(), v1::Release::PENDING) << "and so is the stored release";
  RunDue();
  EXPECT_EQ(Get(prod.id()).state(), v1::Release::CANARY);
  EXPECT_EQ(Get(prod.id()).approved_by(), "alice");
}

TEST_F(PipelineTest, OneReleaseInFlightPerEnvironmentUnlessQueued) {
  v1::Release first = Create("staging", "abcdef1");
  v1::CreateReleaseRequest req;
  req.set_service("checkout");
  req.set_environment("staging");
  req.set_version("v2");
  req.set_commit_sha("abcdef2");
  v1::Release second;
  grpc::Status s = pipeline_.Create(req, {"ci", ""}, &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(s.error_message().find(first.id()), std::string::npos) << "names the one in flight";

  req.set_queue(true);
  ASSERT_TRUE(pipeline_.Create(req, {"ci", ""}, &second).ok());
  EXPECT_TRUE(second.queued());
  RunDue();
  EXPECT_EQ(Get(second.id()).state(), v1::Release::PENDING);
  v1::Release aborted;
  ASSERT_TRUE(pipeline_.Abort(first.id(), "wrong build", {"alice", ""}, &aborted).ok());
  RunDue();
  EXPECT_EQ(Get(first.id()).state(), v1::Release::ABORTED);
  v1::Release next = Get(second.id());
  EXPECT_FALSE(next.queued());
  EXPECT_EQ(next.state(), v1::Release::CANARY) << "the queued release started after the abort";
}

TEST_F(PipelineTest, IllegalActionsNameTheCurrentState) {
  v1::Release r = Create("staging", "abcdef1");
  v1::Release out;
  grpc::Status s = pipeline_.Approve(r.id(), "", {"alice", ""}, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("CANARY"), std::string::npos) << s.error_message();
  v1::PostVerificationRequest v;
  v.set_id(r.id());
  v.set_passed(true);
  EXPECT_EQ(pipeline_.Verify(v, {"ci", ""}, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(PipelineTest, AReasonPast2000CharactersIsRefusedBeforeTheReleaseChanges) {
  v1::Release r = Create("staging", "abcdef1");
  v1::Release out;
  for (auto action : {&Pipeline::Abort, &Pipeline::Promote, &Pipeline::Approve, &Pipeline::RollBack}) {
    grpc::Status s = (pipeline_.*action)(r.id(), std::string(2001, 'r'), {"alice", ""}, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "reason: must be at most 2000 characters (it has 2001)");
  }
  EXPECT_EQ(Get(r.id()).outcome_reason(), "");  // none of them acted
  EXPECT_TRUE(pipeline_.Abort(r.id(), std::string(2000, 'r'), {"alice", ""}, &out).ok());
}

TEST_F(PipelineTest, RollbackToAPreviousGoodCommitIsItselfARelease) {
  v1::Release one = Succeed("staging", "1111111");
  v1::Release two = Succeed("staging", "2222222");
  ASSERT_EQ(two.state(), v1::Release::SUCCEEDED);
  v1::Release rollback;
  grpc::Status s = pipeline_.RollBackTo("checkout", "staging", "1111111", "bad data in v2", {"alice", ""}, &rollback);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rollback.kind(), v1::Release::ROLLBACK);
  RunDue();
  EXPECT_EQ(Get(rollback.id()).state(), v1::Release::SUCCEEDED);
  EXPECT_EQ(Get(two.id()).state(), v1::Release::ROLLED_BACK) << Timeline(two.id()) << "--\n"
                                                             << Timeline(rollback.id());
  v1::Release current;
  ASSERT_TRUE(store_.CurrentGood("checkout", "staging", &current).ok());
  EXPECT_EQ(current.id(), rollback.id());
  EXPECT_EQ(current.commit_sha(), one.commit_sha());
  EXPECT_EQ(pipeline_.RollBackTo("checkout", "staging", "9999999", "x", {"alice", ""}, &rollback).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PipelineTest, RollingBackTheCurrentReleaseRestoresThePreviousGoodOne) {
  v1::Release one = Succeed("staging", "1111111");
  v1::Release two = Succeed("staging", "2222222");
  v1::Release out;
  EXPECT_EQ(pipeline_.RollBack(one.id(), "old", {"alice", ""}, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION)
      << "only what runs now can be rolled back";
  EXPECT_EQ(pipeline_.RollBack(two.id(), "", {"alice", ""}, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << "a reason is required";
  ASSERT_TRUE(pipeline_.RollBack(two.id(), "latency regression", {"alice", ""}, &out).ok());
  EXPECT_EQ(out.commit_sha(), "1111111");
  EXPECT_EQ(out.rollback_target_id(), one.id());
  RunDue();
  EXPECT_EQ(Get(out.id()).state(), v1::Release::SUCCEEDED);
  EXPECT_EQ(Get(two.id()).state(), v1::Release::ROLLED_BACK);
}

TEST_F(PipelineTest, TwoFailedReleasesInARowRaiseAnAlert) {
  Succeed("staging", "abcdef1");
  for (const char* sha : {"bad0001", "bad0002"}) {
    v1::Release r = Create("staging", sha);
    Push(r.id(), 1000, 500);
    Elapse(60s);
    ASSERT_EQ(Get(r.id()).state(), v1::Release::ROLLED_BACK);
    bool alert = false;
    for (const auto& e : Events(r.id())) alert = alert || e.type() == "ALERT";
    EXPECT_EQ(alert, std::string(sha) == "bad0002") << sha;
  }
  RunDue();
  ASSERT_EQ(alerts_queued_.size(), 1u) << "the alert goes to incidents once";
  const nlohmann::json& sent = alerts_queued_[0];
  EXPECT_EQ(sent["source"], "releases");
  EXPECT_EQ(sent["alert"]["labels"]["alertname"], "ConsecutiveFailedReleases");
  EXPECT_EQ(sent["alert"]["labels"]["service"], "checkout");
  EXPECT_EQ(sent["alert"]["labels"]["environment"], "staging");
}

TEST_F(PipelineTest, ASmokeSuiteGivesTheVerificationVerdict) {
  for (const std::string outcome : {"PASSED", "FAILED"}) {
    smoke_.outcome = outcome;
    smoke_.polls = 0;
    v1::CreateReleaseRequest req;
    req.set_service("checkout");
    req.set_environment("staging");
    req.set_version("v-" + outcome);
    req.set_commit_sha(outcome == "PASSED" ? "5a0e001" : "5a0e002");
    req.set_smoke_suite("checkout-smoke");
    v1::Release r;
    ASSERT_TRUE(pipeline_.Create(req, {"ci", ""}, &r).ok());
    RunDue();
    PassCanary(r.id());
    Elapse(20s, 2s);
    v1::Release after = Get(r.id());
    EXPECT_EQ(after.state(), outcome == "PASSED" ? v1::Release::SUCCEEDED : v1::Release::ROLLED_BACK)
        << outcome << ": " << after.outcome_reason();
    EXPECT_EQ(after.smoke_run_id(), "run-" + std::to_string(smoke_.started.size()));
    bool smoke_event = false;
    std::string verdict;
    for (const auto& e : Events(r.id())) {
      smoke_event = smoke_event || e.type() == "SMOKE";
      if (e.type() == "VERIFICATION") verdict = e.message();
    }
    EXPECT_TRUE(smoke_event);
    EXPECT_NE(verdict.find(outcome == "PASSED" ? "2/2 checks passed" : "cart: status 500"), std::string::npos)
        << verdict;
  }
}

TEST_F(PipelineTest, AnUnknownSmokeSuiteFailsVerification) {
  v1::CreateReleaseRequest req;
  req.set_service("checkout");
  req.set_environment("staging");
  req.set_version("v1");
  req.set_commit_sha("5a0e003");
  req.set_smoke_suite("no-such-suite");
  v1::Release r;
  ASSERT_TRUE(pipeline_.Create(req, {"ci", ""}, &r).ok());
  RunDue();
  PassCanary(r.id());
  Elapse(10s, 2s);
  v1::Release after = Get(r.id());
  EXPECT_EQ(after.state(), v1::Release::ROLLED_BACK);
  EXPECT_NE(after.outcome_reason().find("no smoke suite no-such-suite"), std::string::npos)
      << after.outcome_reason();
}

TEST_F(PipelineTest, FailedDriverStepRollsBack) {
  driver_.FailAction("canary");
  v1::Release r = Create("staging", "abcdef1");
  v1::Release after = Get(r.id());
  EXPECT_EQ(after.state(), v1::Release::ROLLED_BACK);
  EXPECT_NE(after.outcome_reason().find("exit status 3"), std::string::npos) << after.outcome_reason();
}

TEST_F(PipelineTest, AStepRetriedAfterACrashDoesNotRunTheDriverAgain) {
  v1::Release r = Create("staging", "abcdef1");
  ASSERT_EQ(driver_.calls().size(), 1u);
  // A second worker (or a restarted one) advancing the same release at the same moment finds
  // nothing new to do, and the recorded canary action is not repeated.
  ASSERT_TRUE(pipeline_.Advance(r.id()).ok());
  ASSERT_TRUE(pipeline_.Advance(r.id()).ok());
  EXPECT_EQ(driver_.calls().size(), 1u);
}

TEST_F(PipelineTest, AStepTakenAgainWhileItsCommandRunsWaitsForItInsteadOfRunningItTwice) {
  // The step's job lease lapsed while its command ran (a stalled database, a starved process),
  // and another poller or replica took the job: it advances the release while the first run of
  // the command still goes on.
  v1::Release r = Create("staging", "abcdef1", "ci",
                         R"({"steps":[{"weight":10,"duration":"60s"},{"weight":50,"duration":"60s"}]})");
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::future<grpc::Status> second;
  driver_.During([&](const CountingDriver::Call& c) {
    const int now = ++running;
    most = std::max(most.load(), now);
    if (c.action == "canary" && c.weight == 50 && !second.valid()) {
      second = std::async(std::launch::async, [&] { return pipeline_.Advance(r.id()); });
      std::this_thread::sleep_for(300ms);  // the command runs on while the second arrives
    }
    --running;
  });
  Push(r.id(), 1000, 10);
  Elapse(60s, 60s);
  ASSERT_TRUE(second.valid()) << Timeline(r.id());
  grpc::Status s = second.get();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(most.load(), 1);
  int runs = 0;
  for (const auto& c : driver_.calls()) runs += c.action == "canary" && c.weight == 50;
  EXPECT_EQ(runs, 1);
  int recorded = 0;
  for (const auto& e : Events(r.id())) recorded += e.type() == "DRIVER" && e.message() == "canary 50% done";
  EXPECT_EQ(recorded, 1) << Timeline(r.id());
  EXPECT_EQ(Get(r.id()).current_weight(), 50);
}

TEST_F(PipelineTest, OnlyActionsThatActOutsideAreRecordedForRetries) {
  auto recorded = [&] {
    pqxx::connection c(database_.url());
    pqxx::nontransaction w(c);
    return w.exec1("SELECT count(*) FROM releases.driver_actions")[0].as<int>();
  };
  const v1::Release outside = Succeed("staging", "abcdef1");
  ASSERT_EQ(outside.state(), v1::Release::SUCCEEDED);
  EXPECT_EQ(recorded(), 2);  // canary, promote: a retried step finds them done

  // `external` records the decision in the release itself: running it again changes nothing.
  driver_.ActInsideOnly();
  const v1::Release inside = Succeed("staging", "abcdef2");
  ASSERT_EQ(inside.state(), v1::Release::SUCCEEDED) << Timeline(inside.id());
  EXPECT_EQ(recorded(), 2);
  EXPECT_EQ(driver_.calls().size(), 4u);
}

TEST_F(PipelineTest, AStepWhoseActionCannotBeRecordedIsTriedAgainNotRolledBack) {
  v1::CreateReleaseRequest req;
  req.set_service("checkout");
  req.set_environment("staging");
  req.set_version("v-abcdef1");
  req.set_commit_sha("abcdef1");
  req.set_image("registry.example/checkout:abcdef1");
  v1::Release r;
  ASSERT_TRUE(pipeline_.Create(req, {"ci", ""}, &r).ok());
  auto sql = [&](const std::string& statement) {
    pqxx::connection c(database_.url());
    pqxx::nontransaction w(c);
    w.exec(statement);
  };
  // The record cannot be written (as if the database failed just then): the step fails, the
  // command does not run, the release waits in PENDING for the job's next attempt.
  sql("ALTER TABLE releases.driver_actions RENAME TO driver_actions_away");
  std::vector<jobs::Job> due;
  ASSERT_TRUE(queue_.Claim("test", 1, 60s, &due).ok());
  ASSERT_EQ(due.size(), 1u);
  grpc::Status s = pipeline_.Advance(r.id());
  EXPECT_FALSE(s.ok());
  ASSERT_TRUE(queue_.Fail(due[0].id, "test", s.error_message()).ok());
  EXPECT_TRUE(driver_.calls().empty());
  EXPECT_EQ(Get(r.id()).state(), v1::Release::PENDING) << Timeline(r.id());

  sql("ALTER TABLE releases.driver_actions_away RENAME TO driver_actions");
  Elapse(10s, 10s);  // past the retry's backoff
  EXPECT_EQ(Get(r.id()).state(), v1::Release::CANARY) << Timeline(r.id());
  EXPECT_EQ(driver_.calls().size(), 1u);
}

TEST_F(PipelineTest, ObservationsPushedWhileTheDriverRunsDoNotStallTheCanary) {
  // A CI pushing figures every few hundred milliseconds lands one while a slow driver command
  // shifts traffic: appending figures is not a change the pipeline must yield to.
  v1::Release r = Create("staging", "abcdef1", "ci",
                         R"({"steps":[{"weight":10,"duration":"60s"},{"weight":50,"duration":"60s"}]})");
  driver_.During([&](const CountingDriver::Call& c) {
    if (c.action == "canary" && c.weight == 50) Push(r.id(), 100, 1);
  });
  for (int i = 0; i < 4 && Get(r.id()).state() == v1::Release::CANARY; ++i) {
    Push(r.id(), 1000, 10);
    Elapse(60s);
  }
  EXPECT_EQ(Get(r.id()).state(), v1::Release::VERIFYING) << Timeline(r.id());
  std::vector<std::string> actions;
  for (const auto& c : driver_.calls()) actions.push_back(c.action + ":" + std::to_string(c.weight));
  EXPECT_EQ(actions, (std::vector<std::string>{"canary:10", "canary:50", "promote:100"}));
}

// --- id and commit prefixes, enums in any case, every field at once, the view of every environment ---

TEST_F(PipelineTest, RollbackTakesAUniqueCommitPrefixInAnyCase) {
  v1::Release one = Succeed("staging", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
  Succeed("staging", "2222222aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  v1::Release rollback;
  grpc::Status s = pipeline_.RollBackTo("checkout", "staging", "A1B2C3D4", "bad data", {"alice", ""}, &rollback);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rollback.commit_sha(), one.commit_sha());
  EXPECT_EQ(rollback.rollback_target_id(), one.id());
  RunDue();
  EXPECT_EQ(Get(rollback.id()).state(), v1::Release::SUCCEEDED);

  s = pipeline_.RollBackTo("checkout", "staging", "a1b2c3f", "x", {"alice", ""}, &rollback);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  s = pipeline_.RollBackTo("checkout", "staging", "a1b2c3", "x", {"alice", ""}, &rollback);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "fewer than 7 characters";
}

TEST_F(PipelineTest, AnAmbiguousCommitPrefixListsTheCandidates) {
  Succeed("staging", "abcdef1111");
  Succeed("staging", "abcdef1222");
  v1::Release rollback;
  grpc::Status s = pipeline_.RollBackTo("checkout", "staging", "abcdef1", "x", {"alice", ""}, &rollback);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("ambiguous"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("abcdef1111"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("abcdef1222"), std::string::npos) << s.error_message();
  // One more character decides.
  s = pipeline_.RollBackTo("checkout", "staging", "abcdef111", "x", {"alice", ""}, &rollback);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rollback.commit_sha(), "abcdef1111");
  RunDue();
  // A release created with a short form, rolled back to by a longer SHA of it: the same commit.
  s = pipeline_.RollBackTo("checkout", "staging", "ABCDEF1222FFFF", "x", {"alice", ""}, &rollback);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rollback.commit_sha(), "abcdef1222");
}

// GetRelease keeps what it answered in memory: a change made here is seen by the next read at
// once, and one committed by another replica as soon as its notification arrives.
TEST_F(PipelineTest, AReleaseReadAgainShowsEveryChangeWhereverItWasMade) {
  v1::Release r = Create("staging", "abcdef1");
  grpc::ServerContext context;
  v1::GetReleaseRequest get;
  get.set_id(r.id());
  v1::Release got;
  feed_.WaitForChange(0, 10s);  // its first LISTEN moves the generation
  ASSERT_TRUE(feed_.listening());
  ASSERT_TRUE(service_.GetRelease(&context, &get, &got).ok());
  ASSERT_TRUE(service_.GetRelease(&context, &get, &got).ok());  // from memory now
  EXPECT_EQ(got.version(), r.version());

  // Another replica: its commit, then its own cache invalidation, as its ReleaseChanged does.
  const uint64_t seen = feed_.generation();
  {
    pqxx::connection other(database_.url());
    pqxx::work tx(other);
    tx.exec_params0("UPDATE releases.releases SET version = 'v9-elsewhere', revision = revision + 1 WHERE id = $1",
                    r.id());
    tx.commit();
  }
  cache_.InvalidateVersion(ReleaseServiceImpl::CacheKey(r.id()), Get(r.id()).revision(), 60s);
  for (int i = 0; i < 100 && feed_.generation() == seen; ++i) feed_.WaitForChange(seen, 200ms);
  ASSERT_TRUE(service_.GetRelease(&context, &get, &got).ok());
  EXPECT_EQ(got.version(), "v9-elsewhere");
  ASSERT_TRUE(service_.GetRelease(&context, &get, &got).ok());

  // This replica: the answer to the action comes after its own read can no longer be stale.
  v1::ReleaseActionRequest abort;
  abort.set_id(r.id());
  abort.set_reason("wrong build");
  v1::Release aborted;
  ASSERT_TRUE(service_.AbortRelease(&context, &abort, &aborted).ok());
  ASSERT_TRUE(service_.GetRelease(&context, &get, &got).ok());
  EXPECT_EQ(got.state(), v1::Release::ROLLING_BACK);  // it was in its canary
  EXPECT_EQ(got.revision(), aborted.revision());
}

TEST_F(PipelineTest, ReleaseIdsTakeAUniquePrefixLikeGit) {
  v1::Release r = Create("staging", "abcdef1");
  grpc::ServerContext context;
  v1::GetReleaseRequest get;
  v1::Release got;
  for (const std::string& given : {r.id().substr(0, 8), r.id().substr(0, 13), r.id()}) {
    std::string upper = given;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    get.set_id(upper);
    grpc::Status s = service_.GetRelease(&context, &get, &got);
    ASSERT_TRUE(s.ok()) << given << ": " << s.error_message();
    EXPECT_EQ(got.id(), r.id());
  }
  // The actions take it too.
  v1::ReleaseActionRequest abort;
  abort.set_id(r.id().substr(0, 6));
  abort.set_reason("wrong build");
  ASSERT_TRUE(service_.AbortRelease(&context, &abort, &got).ok());
  EXPECT_EQ(got.id(), r.id());
  v1::ListReleaseEventsRequest events;
  events.set_id(r.id().substr(0, 5));
  v1::ListReleaseEventsResponse listed;
  ASSERT_TRUE(service_.ListReleaseEvents(&context, &events, &listed).ok());
  EXPECT_GT(listed.events_size(), 0);

  get.set_id(r.id().substr(0, 3));
  EXPECT_EQ(service_.GetRelease(&context, &get, &got).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "at least 4 characters";
  get.set_id(r.id()[0] == 'f' ? "0000" : "ffff");
  if (r.id().compare(0, 4, get.id()) != 0) {
    EXPECT_EQ(service_.GetRelease(&context, &get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  }

  // Two releases whose ids share a prefix: the answer lists both.
  for (const char* id : {"abcd0000-0000-4000-8000-000000000001", "abcd0000-0000-4000-8000-000000000002"}) {
    ASSERT_TRUE(pool_.Transact("test release", [&](pqxx::transaction_base& tx) {
      tx.exec_params("INSERT INTO releases.releases (id, service, environment, version, commit_sha, "
                     "state, created_by, created_at, updated_at) VALUES ($1::uuid, 'search', 'qa', "
                     "'v1', 'abcdef1', 'SUCCEEDED', 'ci', now(), now())",
                     std::string(id));
      return grpc::Status::OK;
    }).ok());
  }
  get.set_id("abcd0000");
  grpc::Status s = service_.GetRelease(&context, &get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("ambiguous"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("abcd0000-0000-4000-8000-000000000001"), std::string::npos);
  EXPECT_NE(s.error_message().find("abcd0000-0000-4000-8000-000000000002"), std::string::npos);
  get.set_id("abcd0000-0000-4000-8000-000000000002");
  ASSERT_TRUE(service_.GetRelease(&context, &get, &got).ok());
}

TEST_F(PipelineTest, EnumsAreTakenInAnyCaseAndAnsweredLowerCase) {
  v1::CreateReleaseRequest req;
  req.set_service("checkout");
  req.set_environment("staging");
  req.set_version("v1");
  req.set_commit_sha("abcdef1");
  req.mutable_driver()->set_kind("External");
  req.mutable_canary()->mutable_analysis()->set_source("PUSHED");
  v1::Release r;
  grpc::Status s = pipeline_.Create(req, {"ci", ""}, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.driver().kind(), "external");
  EXPECT_EQ(r.canary().analysis().source(), "pushed");

  req.set_environment("qa");
  req.mutable_driver()->set_kind("kubectl");
  req.mutable_canary()->mutable_analysis()->set_source("datadog");
  s = pipeline_.Create(req, {"ci", ""}, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("driver.kind: unknown value \"kubectl\" (one of external, command)"),
            std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("canary.analysis.source: unknown value \"datadog\" (one of "
                                   "pushed, prometheus, health)"),
            std::string::npos) << s.error_message();
}

TEST_F(PipelineTest, CreateReportsEveryBadFieldAtOnce) {
  v1::CreateReleaseRequest req;
  req.set_service("Check_Out");
  req.set_environment("staging");
  req.set_commit_sha("xyz");
  req.mutable_canary()->add_steps()->set_weight(0);
  v1::Release r;
  grpc::Status s = pipeline_.Create(req, {"ci", ""}, &r);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (const char* field : {"service: \"Check_Out\"", "version: is required", "commit_sha: \"xyz\"",
                            "canary.steps[0].weight", "canary.steps[0].duration: is required"}) {
    EXPECT_NE(s.error_message().find(field), std::string::npos) << field << " in " << s.error_message();
  }
  v1::Release out;
  s = pipeline_.RollBackTo("Bad_Name", "staging", "zz", "", {"alice", ""}, &out);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (const char* field : {"service:", "to_commit_sha:", "reason:"}) {
    EXPECT_NE(s.error_message().find(field), std::string::npos) << field << " in " << s.error_message();
  }
}

TEST_F(PipelineTest, RollingBackNamesTheReasonOnTheRolledBackRelease) {
  Succeed("staging", "1111111");
  v1::Release two = Succeed("staging", "2222222");
  v1::Release out;
  ASSERT_TRUE(pipeline_.RollBack(two.id(), "incident inc-7 (SEV2, checkout/staging)", {"incidents", ""}, &out).ok());
  bool named = false;
  for (const auto& e : Events(two.id())) {
    named = named || (e.type() == "ROLLBACK_REQUESTED" && e.actor() == "incidents" &&
                      e.message().find("incident inc-7 (SEV2") != std::string::npos &&
                      e.message().find(out.id()) != std::string::npos);
  }
  EXPECT_TRUE(named) << Timeline(two.id());
}

TEST_F(PipelineTest, AnnotateAddsANoteWithoutChangingTheRelease) {
  v1::Release r = Succeed("staging", "1111111");
  grpc::ServerContext context;
  v1::AnnotateReleaseRequest note;
  note.set_id(r.id().substr(0, 8));
  note.set_message("incident inc-9 (SEV2): no automatic rollback: release x no longer runs");
  v1::ReleaseEvent event;
  grpc::Status s = service_.AnnotateRelease(&context, &note, &event);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(event.type(), "NOTE");
  EXPECT_EQ(event.release_id(), r.id());
  EXPECT_EQ(Events(r.id()).back().message(), note.message());
  EXPECT_EQ(Get(r.id()).revision(), r.revision()) << "the release itself is unchanged";
  note.set_message("");
  EXPECT_EQ(service_.AnnotateRelease(&context, &note, &event).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  note.set_id("00000000-0000-4000-8000-000000000000");
  note.set_message("x");
  EXPECT_EQ(service_.AnnotateRelease(&context, &note, &event).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PipelineTest, ListServiceEnvironmentsAnswersEachAsGetServiceEnvironmentDoes) {
  Succeed("staging", "1111111");
  v1::Release in_flight = Create("staging", "2222222");
  v1::CreateReleaseRequest queued;
  queued.set_service("checkout");
  queued.set_environment("staging");
  queued.set_version("v3");
  queued.set_commit_sha("3333333");
  queued.set_queue(true);
  v1::Release q;
  ASSERT_TRUE(pipeline_.Create(queued, {"ci", ""}, &q).ok());
  Create("qa", "4444444");  // in flight, nothing current
  v1::CreateReleaseRequest other = queued;
  other.set_service("search");
  other.set_environment("staging");
  other.set_queue(false);
  ASSERT_TRUE(pipeline_.Create(other, {"ci", ""}, &q).ok());
  RunDue();

  grpc::ServerContext context;
  v1::ListServiceEnvironmentsRequest all;
  v1::ListServiceEnvironmentsResponse listed;
  ASSERT_TRUE(service_.ListServiceEnvironments(&context, &all, &listed).ok());
  std::vector<std::string> pairs;
  for (const auto& e : listed.environments()) {
    pairs.push_back(e.service() + "/" + e.environment());
    v1::GetServiceEnvironmentRequest one;
    one.set_service(e.service());
    one.set_environment(e.environment());
    v1::ServiceEnvironment expected;
    ASSERT_TRUE(service_.GetServiceEnvironment(&context, &one, &expected).ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(e, expected))
        << e.DebugString() << "\n---\n" << expected.DebugString();
  }
  EXPECT_EQ(pairs, (std::vector<std::string>{"checkout/qa", "checkout/staging", "search/staging"}));
  const v1::ServiceEnvironment& staging = listed.environments(1);
  EXPECT_EQ(staging.in_flight().id(), in_flight.id());
  EXPECT_EQ(staging.queued(), 1);
  EXPECT_EQ(staging.current().commit_sha(), "1111111");

  v1::ListServiceEnvironmentsRequest search;
  search.set_service("search");
  listed.Clear();
  ASSERT_TRUE(service_.ListServiceEnvironments(&context, &search, &listed).ok());
  ASSERT_EQ(listed.environments_size(), 1);
  EXPECT_EQ(listed.environments(0).service(), "search");
  search.set_service("Bad_Name");
  EXPECT_EQ(service_.ListServiceEnvironments(&context, &search, &listed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// --- the statistical judge and the bake ---

class JudgeAndBakeTest : public PipelineTest {
 protected:
  // One minute of traffic: request counts, and latency samples of both versions (30 each,
  // spread evenly from `from` ms in 1 ms steps).
  void PushSamples(const std::string& id, long long requests, long long errors, double canary_from,
                   double baseline_from, int count = 30) {
    v1::PostObservationsRequest o;
    o.set_id(id);
    o.set_requests(requests);
    o.set_errors(errors);
    for (int i = 0; i < count; ++i) {
      o.add_canary_latency_ms(canary_from + i);
      o.add_baseline_latency_ms(baseline_from + i);
    }
    v1::Release r;
    grpc::Status s = pipeline_.Observe(o, {"ci", ""}, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // The data of the release's last ANALYSIS event.
  google::protobuf::Struct LastAnalysis(const std::string& id) {
    google::protobuf::Struct data;
    for (const auto& e : Events(id)) {
      if (e.type() == "ANALYSIS") data = e.data();
    }
    return data;
  }

  // A production release of a commit that succeeded in staging, approved, through its canary
  // and verified: where the bake starts.
  v1::Release VerifiedInProduction(const std::string& sha) {
    Succeed("staging", sha);
    v1::Release prod = Create("production", sha);
    v1::Release out;
    EXPECT_TRUE(pipeline_.Approve(prod.id(), "lgtm", {"alice", ""}, &out).ok());
    RunDue();
    PassCanary(prod.id());
    EXPECT_EQ(Get(prod.id()).state(), v1::Release::VERIFYING) << Timeline(prod.id());
    VerifyPassed(prod.id());
    RunDue();
    return Get(prod.id());
  }
};

constexpr char kMannWhitneyPlan[] = R"({"analysis":{"judge":"mann_whitney"}})";

TEST_F(JudgeAndBakeTest, JudgeRollsBackACanaryWhoseLatencyShiftedUnderAGoodErrorRate) {
  v1::Release r = Create("staging", "abcdef1", "ci", kMannWhitneyPlan);
  // 1% errors (the threshold is 5%), but every canary request is ~60 ms slower than the
  // baseline's: the p99 moved, the mean error rate did not.
  PushSamples(r.id(), 1000, 10, 160, 100);
  Elapse(60s);
  const v1::Release after = Get(r.id());
  EXPECT_EQ(after.state(), v1::Release::ROLLED_BACK) << Timeline(r.id());
  EXPECT_NE(after.outcome_reason().find("Mann-Whitney"), std::string::npos) << after.outcome_reason();
  EXPECT_EQ(driver_.calls().back().action, "rollback");

  const auto data = LastAnalysis(r.id()).fields();
  EXPECT_EQ(data.at("verdict").string_value(), "FAIL");
  EXPECT_EQ(data.at("judge").string_value(), "mann_whitney");
  EXPECT_DOUBLE_EQ(data.at("error_rate").number_value(), 0.01);
  const auto test = data.at("mann_whitney").struct_value().fields();
  EXPECT_EQ(test.at("canary_samples").number_value(), 30);
  EXPECT_EQ(test.at("baseline_samples").number_value(), 30);
  EXPECT_EQ(test.at("u").number_value(), 900) << "every canary sample is slower than every baseline one";
  EXPECT_DOUBLE_EQ(test.at("canary_median_ms").number_value(), 174.5);
  EXPECT_DOUBLE_EQ(test.at("baseline_median_ms").number_value(), 114.5);
  EXPECT_LT(test.at("p_value").number_value(), 0.05);
  EXPECT_GT(test.at("effect_size").number_value(), 0.1);
  EXPECT_TRUE(test.contains("z"));
}

TEST_F(JudgeAndBakeTest, JudgePassesACanaryLikeItsBaseline) {
  v1::Release r = Create("staging", "abcdef1", "ci", kMannWhitneyPlan);
  for (int minute = 0; minute < 10 && Get(r.id()).state() == v1::Release::CANARY; ++minute) {
    PushSamples(r.id(), 1000, 10, 101, 100);
    Elapse(60s);
  }
  EXPECT_EQ(Get(r.id()).state(), v1::Release::VERIFYING) << Timeline(r.id());
  EXPECT_EQ(LastAnalysis(r.id()).fields().at("verdict").string_value(), "PASS");
}

TEST_F(JudgeAndBakeTest, JudgeWithTooFewSamplesIsInconclusiveNeverAPass) {
  v1::Release r = Create("staging", "abcdef1", "ci", kMannWhitneyPlan);
  PushSamples(r.id(), 1000, 10, 100, 100, 5);  // 5 samples a version: under the 20 minimum
  Elapse(60s);
  EXPECT_EQ(Get(r.id()).state(), v1::Release::CANARY);
  const auto data = LastAnalysis(r.id()).fields();
  EXPECT_EQ(data.at("verdict").string_value(), "INCONCLUSIVE");
  EXPECT_NE(data.at("reason").string_value().find("only 5 canary / 5 baseline"), std::string::npos)
      << data.at("reason").string_value();
}

TEST_F(JudgeAndBakeTest, ObservationsWithBadSamplesAreRefusedNamingTheField) {
  v1::Release r = Create("staging", "abcdef1", "ci", kMannWhitneyPlan);
  v1::PostObservationsRequest o;
  o.set_id(r.id());
  o.add_canary_latency_ms(12);
  o.add_canary_latency_ms(-3);
  v1::Release out;
  grpc::Status s = pipeline_.Observe(o, {"ci", ""}, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("canary_latency_ms[1]"), std::string::npos) << s.error_message();
}

TEST_F(JudgeAndBakeTest, ProductionBakesFifteenMinutesAndAFleetErrorRateRollsBack) {
  v1::Release r = VerifiedInProduction("abcdef1");
  ASSERT_EQ(r.state(), v1::Release::BAKING) << Timeline(r.id());
  EXPECT_EQ(TimeOf(r.bake_until()) - clock_.Now(), std::chrono::minutes(15));
  // The whole fleet's numbers, five minutes in: 8% errors.
  for (int minute = 0; minute < 5; ++minute) {
    Push(r.id(), 1000, 10);
    Elapse(60s);
  }
  EXPECT_EQ(Get(r.id()).state(), v1::Release::BAKING);
  Push(r.id(), 1000, 80);
  Elapse(60s);
  const v1::Release after = Get(r.id());
  EXPECT_EQ(after.state(), v1::Release::ROLLED_BACK) << Timeline(r.id());
  EXPECT_NE(after.outcome_reason().find("bake"), std::string::npos) << after.outcome_reason();
  EXPECT_NE(after.outcome_reason().find("8.00%"), std::string::npos) << after.outcome_reason();
  EXPECT_EQ(driver_.calls().back().action, "rollback");
  EXPECT_TRUE(LastAnalysis(r.id()).fields().at("bake").bool_value());
}

TEST_F(JudgeAndBakeTest, CleanBakeSucceedsAtItsEndAndNotBefore) {
  v1::Release r = VerifiedInProduction("abcdef1");
  ASSERT_EQ(r.state(), v1::Release::BAKING) << Timeline(r.id());
  // A second release waits: the baking one still holds the environment.
  v1::CreateReleaseRequest next;
  next.set_service("checkout");
  next.set_environment("production");
  next.set_version("v2");
  next.set_commit_sha("abcdef1");
  v1::Release refused;
  grpc::Status busy = pipeline_.Create(next, {"ci", ""}, &refused);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(busy.error_message().find("(BAKING)"), std::string::npos) << busy.error_message();
  for (int minute = 0; minute < 14; ++minute) {
    Push(r.id(), 1000, 10);
    Elapse(60s);
  }
  EXPECT_EQ(Get(r.id()).state(), v1::Release::BAKING) << "fourteen minutes into a fifteen-minute bake";
  Push(r.id(), 1000, 10);
  Elapse(60s);
  const v1::Release after = Get(r.id());
  EXPECT_EQ(after.state(), v1::Release::SUCCEEDED) << Timeline(r.id());
  EXPECT_NE(after.outcome_reason().find("baked for 900s"), std::string::npos) << after.outcome_reason();
}

TEST_F(JudgeAndBakeTest, BakeWithoutNumbersPausesUntilAHumanAcceptsIt) {
  v1::Release r = VerifiedInProduction("abcdef1");
  ASSERT_EQ(r.state(), v1::Release::BAKING);
  Elapse(20min);
  v1::Release paused = Get(r.id());
  EXPECT_EQ(paused.state(), v1::Release::BAKING) << "no numbers is never a pass";
  EXPECT_TRUE(paused.paused());
  v1::Release out;
  ASSERT_TRUE(pipeline_.Promote(r.id(), "dashboards are clean", {"alice", ""}, &out).ok());
  EXPECT_EQ(out.state(), v1::Release::SUCCEEDED);
  EXPECT_NE(out.outcome_reason().find("bake ended early by alice"), std::string::npos);
}

TEST_F(JudgeAndBakeTest, BakeIsOptionalPerEnvironment) {
  ASSERT_TRUE(PolicySet::FromJson(R"({"staging":{"bake":{"duration":"2m","max_error_rate":0.01}},
                                      "production":{"bake":{"duration":"0s"}}})",
                                  &policies_)
                  .ok());
  v1::Release staging = Succeed("staging", "abcdef1");
  ASSERT_EQ(staging.state(), v1::Release::BAKING);
  Push(staging.id(), 1000, 20);  // 2%: over staging's 1%
  Elapse(60s);
  EXPECT_EQ(Get(staging.id()).state(), v1::Release::ROLLED_BACK) << Timeline(staging.id());
}

TEST_F(JudgeAndBakeTest, BakeSurvivesARestartOfTheProcess) {
  v1::Release r = VerifiedInProduction("abcdef1");
  ASSERT_EQ(r.state(), v1::Release::BAKING);
  Push(r.id(), 1000, 90);
  // The process that started the bake is gone; a new one finds the bake's next analysis as a
  // job row and carries on from the stored release.
  metrics::Registry fresh_registry;
  Pipeline restarted(store_, clock_, policies_, fresh_registry,
                     [this](const std::string&, const EnvironmentPolicy&) { return driver_.Make(); }, {});
  clock_.Advance(60s);
  for (int round = 0; round < 10; ++round) {
    std::vector<jobs::Job> due;
    ASSERT_TRUE(queue_.Claim("restarted", 20, 60s, &due).ok());
    if (due.empty()) break;
    for (const jobs::Job& job : due) {
      if (job.kind != alerts::kSendAlertJob) {
        EXPECT_TRUE(restarted.Advance(nlohmann::json::parse(job.payload).value("release_id", "")).ok());
      }
      ASSERT_TRUE(queue_.Complete(job.id, "restarted").ok());
    }
  }
  EXPECT_EQ(Get(r.id()).state(), v1::Release::ROLLED_BACK) << Timeline(r.id());
  EXPECT_NE(Get(r.id()).outcome_reason().find("9.00%"), std::string::npos);
}

// The Prometheus canary source is a user-given destination: a release whose URL leads to an
// address the egress policy refuses is refused when it is created, naming the field.
TEST_F(PipelineTest, APrometheusUrlAtARefusedAddressIsRefusedAtCreation) {
  net::EgressPolicy egress = net::EgressPolicy::FromEnv(config::Env::FromMap({}), {{"127.0.0.1", 9101, "admin port"}});
  PrometheusSource prometheus(std::chrono::seconds(1), &egress);
  Pipeline guarded(store_, clock_, policies_, registry_,
                   [this](const std::string&, const EnvironmentPolicy&) { return driver_.Make(); },
                   {{"prometheus", &prometheus}});
  for (const std::string& url : {std::string("http://169.254.169.254/"), std::string("http://127.0.0.1:9101")}) {
    v1::CreateReleaseRequest req;
    req.set_service("checkout");
    req.set_environment("staging");
    req.set_version("v1");
    req.set_commit_sha("abcdef1");
    const std::string canary = R"({"steps":[{"weight":5,"duration":"60s"}],"analysis":{"interval":"10s",)"
                               R"("source":"prometheus","prometheus":{"url":")" + url +
                               R"(","error_rate_query":"x"}}})";
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(canary, req.mutable_canary()).ok());
    v1::Release r;
    grpc::Status s = guarded.Create(req, {"ci", ""}, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << url;
    EXPECT_EQ(s.error_message().rfind("canary.analysis.prometheus.url: egress policy refuses", 0), 0u)
        << s.error_message();
  }
}

}  // namespace
}  // namespace flightdeck::releases
