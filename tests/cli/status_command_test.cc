// fdctl status: GET /v1/overview as a table, against a fake gateway answering the way the
// gateway does (canonical proto3 JSON, snake_case names, every field present).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "cli/status_format.h"
#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::Outcome;
using testing::RecordedRequest;

// checkout/production runs v2.4.0 with v2.5.0 in its canary at 25% and one more queued, is
// DEGRADED, and has a SEV3 and a TRIGGERED SEV2 open; checkout/staging runs a ROLLBACK
// release; search/production has no release yet but a health target. One backup target met
// its RPO, one never succeeded; one incident names no service; incidents answered late.
const char* kOverview = R"({
  "entries": [
    {
      "service": "checkout",
      "environment": "production",
      "current": {
        "id": "0b6f3c1e-5d2a-4c8e-9f10-2a3b4c5d6e7f", "service": "checkout",
        "environment": "production", "version": "v2.4.0",
        "commit_sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "image": "registry.example.com/checkout:v2.4.0", "state": "SUCCEEDED",
        "created_by": "ci-pipeline", "created_at": "2026-03-01T09:58:12.104Z",
        "updated_at": "2026-03-01T10:31:40.877Z", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "kind": "DEPLOY", "require_approval": true, "queued": false, "current_step": 0,
        "current_weight": 100, "paused": false, "rollback_target_id": "", "previous_image": "",
        "outcome_reason": "all canary steps passed", "finished_at": "2026-03-01T10:31:40.877Z",
        "approved_by": "alice", "fail_streak": 0, "inconclusive_streak": 0, "revision": "14",
        "promote_requested": false, "abort_requested": false
      },
      "in_flight": {
        "id": "a7c2e9d4-1b3f-4e5a-8c6d-7e8f9a0b1c2d", "service": "checkout",
        "environment": "production", "version": "v2.5.0",
        "commit_sha": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
        "image": "registry.example.com/checkout:v2.5.0", "state": "CANARY",
        "created_by": "ci-pipeline", "created_at": "2026-03-02T14:02:00Z",
        "updated_at": "2026-03-02T14:10:00Z", "trace_id": "", "kind": "DEPLOY",
        "require_approval": false, "queued": false, "current_step": 1, "current_weight": 25,
        "step_started_at": "2026-03-02T14:10:00Z", "paused": false, "rollback_target_id": "",
        "previous_image": "registry.example.com/checkout:v2.4.0", "outcome_reason": "",
        "approved_by": "", "fail_streak": 0, "inconclusive_streak": 1, "revision": "6",
        "next_analysis_at": "2026-03-02T14:11:00Z", "promote_requested": false,
        "abort_requested": false
      },
      "queued": 1,
      "health": {
        "service": "checkout", "environment": "production", "status": "DEGRADED",
        "status_since": "2026-03-02T14:07:31.002Z",
        "reason": "readiness checkout-ready failing",
        "targets": [{"name": "checkout-live", "role": "liveness", "status": "HEALTHY"},
                    {"name": "checkout-ready", "role": "readiness", "status": "UNHEALTHY"}]
      },
      "open_incidents": [
        {"id": "inc-3e1f", "title": "Checkout latency p99 above 800 ms", "severity": "SEV3",
         "service": "checkout", "environment": "production", "state": "ACKNOWLEDGED",
         "commander": "bob", "group_key": "", "group_labels": {}, "declared_by": "alert",
         "escalation_policy": "checkout", "escalation_level": 0,
         "opened_at": "2026-03-02T13:40:00Z", "acknowledged_at": "2026-03-02T13:42:10Z",
         "ack_deadline": "2026-03-02T13:45:00Z", "ack_breached": false,
         "deploy_correlated": false, "alert_count": 2, "firing_alert_count": 1},
        {"id": "inc-7f3a", "title": "Checkout 5xx rate above 5%", "severity": "SEV2",
         "service": "checkout", "environment": "production", "state": "TRIGGERED",
         "commander": "", "group_key": "", "group_labels": {}, "declared_by": "alert",
         "escalation_policy": "checkout", "escalation_level": 0,
         "opened_at": "2026-03-02T14:08:05Z", "ack_deadline": "2026-03-02T14:13:05Z",
         "ack_breached": false, "deploy_correlated": true, "alert_count": 1,
         "firing_alert_count": 1}
      ]
    },
    {
      "service": "checkout",
      "environment": "staging",
      "current": {
        "id": "c1d2e3f4-0000-4000-8000-000000000001", "service": "checkout",
        "environment": "staging", "version": "v2.4.1",
        "commit_sha": "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f", "image": "",
        "state": "SUCCEEDED", "created_by": "alice", "created_at": "2026-03-02T11:00:00Z",
        "updated_at": "2026-03-02T11:00:09Z", "trace_id": "", "kind": "ROLLBACK",
        "require_approval": false, "queued": false, "current_step": 0, "current_weight": 0,
        "paused": false, "rollback_target_id": "c1d2e3f4-0000-4000-8000-000000000000",
        "previous_image": "", "outcome_reason": "", "finished_at": "2026-03-02T11:00:09Z",
        "approved_by": "", "fail_streak": 0, "inconclusive_streak": 0, "revision": "3",
        "promote_requested": false, "abort_requested": false
      },
      "queued": 0,
      "health": {"service": "checkout", "environment": "staging", "status": "HEALTHY",
                 "status_since": "2026-03-02T11:01:00Z",
                 "reason": "all liveness and readiness passing", "targets": []},
      "open_incidents": []
    },
    {
      "service": "search",
      "environment": "production",
      "queued": 0,
      "health": {"service": "search", "environment": "production", "status": "UNKNOWN",
                 "reason": "no probe result yet", "targets": []},
      "open_incidents": []
    }
  ],
  "backups": [
    {"name": "orders-db", "database_url": "postgres://backup:****@db.internal:5432/orders",
     "schedule": "0 * * * *", "retention": {"keep_last": 7, "keep_days": 30},
     "storage": {"kind": "LOCAL", "path": "/var/lib/flightdeck/backups"}, "rpo_target": "86400s",
     "verify_after_backup": true,
     "status": {"last_success_id": "b-91", "last_success_at": "2026-03-02T14:00:41.5Z",
                "last_failure_id": "", "last_failure_reason": "",
                "next_run_at": "2026-03-02T15:00:00Z", "achieved_rpo": "720s", "verified_rpo": "720s", "rpo_met": true,
                "last_backup_verified": true, "consecutive_scheduled_failures": 0},
     "created_at": "2026-02-01T00:00:00Z", "updated_at": "2026-02-01T00:00:00Z"},
    {"name": "ledger-db", "database_url": "postgres://backup:****@ledger.internal:5432/ledger",
     "schedule": "", "retention": {"keep_last": 7, "keep_days": 30},
     "storage": {"kind": "LOCAL", "path": "/var/lib/flightdeck/backups"}, "rpo_target": "3600s",
     "verify_after_backup": true,
     "status": {"last_success_id": "", "last_failure_id": "b-90",
                "last_failure_at": "2026-03-02T13:00:02Z",
                "last_failure_reason": "pg_dump: connection refused", "rpo_met": false,
                "last_backup_verified": false, "consecutive_scheduled_failures": 0},
     "created_at": "2026-02-01T00:00:00Z", "updated_at": "2026-02-01T00:00:00Z"}
  ],
  "other_incidents": [
    {"id": "inc-0a11", "title": "Office VPN down", "severity": "SEV4", "service": "",
     "environment": "", "state": "TRIGGERED", "commander": "", "group_key": "",
     "group_labels": {}, "declared_by": "carol", "escalation_policy": "", "escalation_level": 0,
     "opened_at": "2026-03-02T12:00:00Z", "ack_deadline": "2026-03-02T12:15:00Z",
     "ack_breached": true, "deploy_correlated": false, "alert_count": 0,
     "firing_alert_count": 0}
  ],
  "generated_at": "2026-03-02T14:10:30.123Z",
  "unavailable": ["incidents"]
})";

class StatusCommandTest : public FdctlTest {};

TEST_F(StatusCommandTest, PrintsOneRowPerServiceAndEnvironmentThenIncidentsAndBackups) {
  FakeGateway gateway([](const RecordedRequest& r) {
    return r.target == "/v1/overview" ? CannedResponse{200, kOverview}
                                      : CannedResponse{404, R"({"error":{"code":"NOT_FOUND"}})"};
  });
  Outcome o = Fdctl({"status", "--url", gateway.url()});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().at(0).method, "GET");
  EXPECT_EQ(o.out,
            "SERVICE   ENV         CURRENT                                    IN-FLIGHT                    "
            "HEALTH    INCIDENTS\n"
            "checkout  production  v2.4.0 since 2026-03-01 10:31Z             v2.5.0 CANARY 25% +1 queued  "
            "DEGRADED  SEV2 TRIGGERED +1\n"
            "checkout  staging     v2.4.1 (rollback) since 2026-03-02 11:00Z  -                            "
            "HEALTHY   -\n"
            "search    production  -                                          -                            "
            "UNKNOWN   -\n"
            "No answer from incidents: what they know is missing from this overview, not empty.\n"
            "\n"
            "Not healthy:\n"
            "  checkout/production DEGRADED since 2026-03-02 14:07Z: readiness checkout-ready failing\n"
            "  search/production UNKNOWN: no probe result yet\n"
            "\n"
            "Open incidents:\n"
            "  ID        SEV   STATE         WHERE                TITLE\n"
            "  inc-3e1f  SEV3  ACKNOWLEDGED  checkout/production  Checkout latency p99 above 800 ms\n"
            "  inc-7f3a  SEV2  TRIGGERED     checkout/production  Checkout 5xx rate above 5%         "
            "ack by 2026-03-02 14:13Z\n"
            "  inc-0a11  SEV4  TRIGGERED     -                    Office VPN down                    "
            "ack overdue\n"
            "\n"
            "BACKUPS\n"
            "NAME       LAST SUCCESS       RPO                             VERIFIED\n"
            "orders-db  2026-03-02 14:00Z  12m of 24h (met)                yes\n"
            "ledger-db  never              no good backup yet (target 1h)  no\n");
}

TEST_F(StatusCommandTest, JsonPrintsTheRawAnswer) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kOverview}; });
  Outcome o = Fdctl({"status", "--json", "--url", gateway.url()});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out), nlohmann::json::parse(kOverview));
}

TEST_F(StatusCommandTest, AnEmptyOverviewSaysHowToCreateAFirstRelease) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"entries":[],"backups":[],"other_incidents":[],
                                   "generated_at":"2026-03-02T14:10:30Z","unavailable":[]})"};
  });
  Outcome o = Fdctl({"status", "--url", gateway.url()});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("Nothing here yet"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("fdctl release create --service"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("SERVICE"), std::string::npos) << "no empty table: " << o.out;
}

TEST_F(StatusCommandTest, NothingAnsweredIsNotNothingDeployed) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"entries":[],"backups":[],"other_incidents":[],
                                   "unavailable":["releases","health"]})"};
  });
  Outcome o = Fdctl({"status", "--url", gateway.url()});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("No answer from releases, health"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("Nothing here yet"), std::string::npos) << o.out;
}

TEST_F(StatusCommandTest, AGatewayErrorIsShownWithExit1) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{403, R"({"error":{"code":"PERMISSION_DENIED","message":"role INGEST may not read"}})"};
  });
  Outcome o = Fdctl({"status", "--url", gateway.url()});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: PERMISSION_DENIED: role INGEST may not read\n");
}

TEST(FormatOverviewTest, StatesAndSeveritiesAreColouredOnATerminal) {
  const ColorScope color(true);
  const std::string out = FormatOverview(nlohmann::ordered_json::parse(kOverview));
  EXPECT_NE(out.find("\033[33mCANARY\033[0m 25%"), std::string::npos) << out;
  EXPECT_NE(out.find("\033[33mDEGRADED\033[0m"), std::string::npos) << out;
  EXPECT_NE(out.find("\033[31mSEV2\033[0m \033[31mTRIGGERED\033[0m"), std::string::npos) << out;
  EXPECT_NE(out.find("\033[32mHEALTHY\033[0m"), std::string::npos) << out;
  EXPECT_NE(out.find("\033[31mnever\033[0m"), std::string::npos) << out;
  const ColorScope plain(false);
  EXPECT_EQ(std::regex_replace(out, std::regex("\033\\[[0-9;]*m"), ""),
            FormatOverview(nlohmann::ordered_json::parse(kOverview)))
      << "colour changes no column";
}

}  // namespace
}  // namespace flightdeck::cli
