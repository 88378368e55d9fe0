#pragma once

// A real incidents service on a fresh PostgreSQL database with a fake clock: the lifecycle,
// intake, configuration and gRPC service objects wired as main.cc wires them, and the jobs
// worker driven by the test (RunDue) instead of threads.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "common/clock/clock.h"
#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/secrets/secrets.h"
#include "services/incidents/config_store.h"
#include "services/incidents/correlation.h"
#include "services/incidents/deadlines.h"
#include "services/incidents/intake.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/service.h"
#include "services/incidents/severity.h"
#include "tests/support/test_database.h"

namespace flightdeck::incidents {

using namespace std::chrono_literals;

// Wednesday 2026-11-18 10:00:00 UTC (ISO week 2026-W47).
inline Clock::TimePoint kStart = Clock::TimePoint(std::chrono::seconds(1794996000));

// The master key the fixture's ConfigStore seals notification targets with.
inline secrets::KeyRing CoreTestKeys() {
  secrets::KeyRing keys;
  grpc::Status s = secrets::KeyRing::Parse("core:" + std::string(43, 'C'), "test keys", &keys);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return keys;
}

class CoreTest : public ::testing::Test {
 protected:
  explicit CoreTest(ReleasesClient* releases = nullptr)
      : clock_(kStart),
        pool_({db_.url(), 6, 5000ms, 4, "test"}),
        migrated_(Migrate()),
        calendar_(Utc()),
        keys_(CoreTestKeys()),
        config_(pool_, clock_, &keys_),
        queue_(pool_, "incidents", clock_),
        worker_(queue_, jobs::Worker::Options{"test-worker", 1, 50ms, 30000ms}),
        lifecycle_(pool_, queue_, clock_, calendar_, config_, releases),
        intake_(pool_, config_, lifecycle_, clock_),
        service_(pool_, clock_, calendar_, config_, intake_, lifecycle_) {
    lifecycle_.RegisterJobs(worker_);
  }

  bool Migrate() {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("incidents"));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok();
  }

  static BusinessCalendar Utc() {
    BusinessCalendar c;
    std::string error;
    EXPECT_TRUE(BusinessCalendar::Load("UTC", &c, &error)) << error;
    return c;
  }

  // Runs every job that is due now, including jobs that those jobs enqueue for now.
  int RunDue() {
    int total = 0;
    for (int round = 0; round < 50; ++round) {
      int ran = worker_.RunOnce();
      if (ran == 0) break;
      total += ran;
    }
    return total;
  }

  void Advance(std::chrono::microseconds d) {
    clock_.Advance(d);
    RunDue();
  }

  // Opens or joins the incident of `group` as intake would, in its own transaction.
  std::string Alert(const std::string& name, Severity severity, const std::string& service = "checkout",
                    const std::string& environment = "production", const std::string& policy = "") {
    AlertForIncident a;
    a.alert_id = std::to_string(++alert_seq_);
    a.fingerprint = "fp-" + a.alert_id;
    a.alertname = name;
    a.summary = name + " on " + service;
    a.severity = severity;
    a.service = service;
    a.environment = environment;
    a.group_key = "service=" + service + ",environment=" + environment;
    a.group_labels = {{"service", service}, {"environment", environment}};
    a.escalation_policy = policy;
    std::string id;
    bool opened = false;
    grpc::Status s = pool_.Transact("test alert", [&](pqxx::transaction_base& tx) {
      return lifecycle_.AttachAlert(tx, a, "alertmanager", &id, &opened);
    });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }

  std::string Declare(const std::string& severity, const std::string& policy = "",
                      const std::string& service = "") {
    v1::DeclareIncidentRequest req;
    req.set_title("checkout is slow");
    req.set_severity(severity);
    req.set_service(service);
    req.set_environment(service.empty() ? "" : "production");
    req.set_escalation_policy(policy);
    v1::Incident out;
    grpc::ServerContext ctx;
    grpc::Status s = service_.DeclareIncident(&ctx, &req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.id();
  }

  v1::Incident Get(const std::string& id) {
    v1::GetIncidentRequest req;
    req.set_id(id);
    v1::Incident out;
    grpc::ServerContext ctx;
    grpc::Status s = service_.GetIncident(&ctx, &req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // The timeline entries of one kind, in order.
  std::vector<v1::IncidentEvent> Events(const std::string& id, const std::string& kind) {
    std::vector<v1::IncidentEvent> out;
    v1::Incident incident = Get(id);
    for (const auto& e : incident.timeline()) {
      if (e.kind() == kind) out.push_back(e);
    }
    return out;
  }

  grpc::Status Act(grpc::Status (IncidentServiceImpl::*method)(grpc::ServerContext*,
                                                               const v1::IncidentActionRequest*,
                                                               v1::Incident*),
                   const std::string& id, v1::Incident* out = nullptr) {
    v1::IncidentActionRequest req;
    req.set_id(id);
    v1::Incident ignored;
    grpc::ServerContext ctx;
    return (service_.*method)(&ctx, &req, out ? out : &ignored);
  }

  void PutPolicy(const v1::EscalationPolicy& policy) {
    v1::EscalationPolicy out;
    grpc::Status s = config_.PutEscalationPolicy(policy, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  long long Count(const std::string& sql) {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    return w.exec1(sql)[0].as<long long>();
  }

  test::TestDatabase db_;
  FakeClock clock_;
  db::Pool pool_;
  bool migrated_;
  BusinessCalendar calendar_;
  secrets::KeyRing keys_;
  ConfigStore config_;
  jobs::Queue queue_;
  jobs::Worker worker_;
  Lifecycle lifecycle_;
  Intake intake_;
  IncidentServiceImpl service_;
  int alert_seq_ = 1000;
};

}  // namespace flightdeck::incidents
