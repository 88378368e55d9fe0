// Integration: the release pipeline against the real PostgreSQL and Redis, with a fake clock
// and a driver that counts what it is asked to do.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/cache/cache.h"
#include "common/clock/clock.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/metrics/metrics.h"
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

   private:
    CountingDriver* d_;
  };
  std::mutex mu_;
  std::vector<Call> calls_;
  std::string fail_;
  std::function<void(const Call&)> during_;
};

// The health service's smoke runs as the pipeline sees them: each run reports RUNNING once,
// then the scripted outcome.
class ScriptedSmokeRuns final : public SmokeRuns {
 public:
  grpc::Status Start(const std::string& suite, const std::string& release_id,
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
    store_.SetOnChange([this](const std::string& id, long long revision) {
      cache_.InvalidateVersion(ReleaseServiceImpl::CacheKey(id), revision, 60s);
    });
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

}  // namespace
}  // namespace flightdeck::releases
