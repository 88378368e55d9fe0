// fdctl incident ... as an on-call engineer runs it, against a fake gateway on a loopback port:
// the requests it sends and what it prints.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/incident_format.h"
#include "cli/incident_request.h"
#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using nlohmann::json;
using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::kToken;
using testing::Outcome;
using testing::RecordedRequest;

const char kIncident[] = R"({"id":"inc-7","title":"checkout down","severity":"SEV1",
  "service":"checkout","environment":"production","state":"ACKNOWLEDGED","commander":"",
  "declared_by":"alert","opened_at":"2026-11-22T10:00:00.123Z",
  "ack_deadline":"2026-11-22T10:05:00Z","ack_breached":true,
  "acknowledged_at":"2026-11-22T10:07:00Z","deploy_correlated":true,"alert_count":2,
  "firing_alert_count":1,
  "timeline":[{"id":"1","at":"2026-11-22T10:00:00Z","actor":"alert","kind":"OPENED",
               "message":"opened by ServiceDown"},
              {"id":"2","at":"2026-11-22T10:01:00Z","actor":"flightdeck","kind":"ROLLBACK_REQUESTED",
               "message":"rolled back r-9"}],
  "alerts":[{"fingerprint":"0123456789abcdef","state":"FIRING","labels":{"alertname":"ServiceDown"},
             "severity":"SEV1","deliveries":3,"summary":"checkout is down"}],
  "related_releases":[{"release_id":"r-9","version":"2.4.0","commit_sha":"9fceb02d1234567890",
                       "state":"CANARY","rollback_requested":true}],
  "review":{"summary":"bad config","impact":"5% of checkouts","root_cause":"typo","author":"ana",
            "submitted_at":"2026-11-23T09:00:00Z"},
  "actions":[{"id":"act-1","incident_id":"inc-7","title":"lint config","owner":"bo",
              "due":"2026-12-01T00:00:00Z","state":"OPEN","overdue":false}]})";

class IncidentCommandsTest : public FdctlTest {
 protected:
  Outcome Run(FakeGateway& gateway, std::vector<std::string> argv) {
    argv.insert(argv.end(), {"--url", gateway.url(), "--token", kToken});
    return Fdctl(argv);
  }
};

TEST_F(IncidentCommandsTest, ListSendsFiltersAndPrintsATable) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, std::string(R"({"incidents":[)") + kIncident +
                                   R"(],"next_page_token":"p2"})"};
  });
  Outcome o = Run(gateway, {"incident", "list", "--state", "open", "--severity", "sev1",
                            "--service", "checkout"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  ASSERT_EQ(gateway.requests().size(), 1u);
  EXPECT_EQ(gateway.requests()[0].target, "/v1/incidents?state=open&severity=SEV1&service=checkout");
  EXPECT_NE(o.out.find("inc-7  SEV1  ACKNOWLEDGED  checkout  production  checkout down"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("fdctl incident list --page-token p2"), std::string::npos) << o.out;
}

TEST_F(IncidentCommandsTest, BadFiltersAreUsageErrorsAndNothingIsSent) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, "{}"}; });
  Outcome o = Run(gateway, {"incident", "list", "--severity", "SEV5"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--severity 'SEV5'"), std::string::npos) << o.err;
  o = Run(gateway, {"incident", "list", "--state", "sleeping"});
  EXPECT_EQ(o.code, kExitUsage);
  o = Run(gateway, {"incident", "report", "--week", "2026-47"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("ISO week"), std::string::npos) << o.err;
  o = Run(gateway, {"incident", "action", "add", "inc-7", "--title", "t", "--owner", "o", "--due",
                    "next week"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--due 'next week'"), std::string::npos) << o.err;
  o = Run(gateway, {"incident", "silence", "add", "--matcher", "service", "--duration", "2h"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--matcher 'service'"), std::string::npos) << o.err;
  EXPECT_TRUE(gateway.requests().empty());
}

TEST_F(IncidentCommandsTest, GetShowsTimelineAlertsReleasesReviewAndActions) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kIncident}; });
  Outcome o = Run(gateway, {"incident", "get", "inc-7"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests()[0].target, "/v1/incidents/inc-7");
  for (const char* expected :
       {"State: ACKNOWLEDGED\n", "Ack deadline: 2026-11-22T10:05:00Z (BREACHED)\n",
        "Deploy correlated: yes\n", "Alerts: 1 firing of 2\n", "ROLLBACK_REQUESTED  flightdeck",
        "0123456789abcdef  FIRING  ServiceDown", "r-9      2.4.0    9fceb02d1234  CANARY  rollback requested",
        "Root cause: typo", "act-1  inc-7     lint config  bo     2026-12-01  OPEN"}) {
    EXPECT_NE(o.out.find(expected), std::string::npos) << expected << "\n" << o.out;
  }
}

// An incident's answer carries one page of alerts and events: fdctl says how many more there
// are and where they are, and says nothing when there are none.
TEST_F(IncidentCommandsTest, GetSaysWhereTheAlertsAndEventsLeftOutAre) {
  json truncated = json::parse(kIncident);
  truncated["alert_count"] = 250;
  truncated["alerts_truncated"] = true;
  truncated["timeline_count"] = 130;
  truncated["timeline_truncated"] = true;
  FakeGateway gateway([&](const RecordedRequest&) { return CannedResponse{200, truncated.dump()}; });
  Outcome o = Run(gateway, {"incident", "get", "inc-7"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("128 earlier events: GET /v1/incidents/inc-7/events\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("249 more alerts: GET /v1/incidents/inc-7/alerts\n"), std::string::npos) << o.out;

  FakeGateway whole([](const RecordedRequest&) { return CannedResponse{200, kIncident}; });
  o = Run(whole, {"incident", "get", "inc-7"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out.find("more alerts"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("earlier events"), std::string::npos) << o.out;
}

TEST_F(IncidentCommandsTest, LifecycleCommandsPostToTheirRoutes) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.find("/actions") != std::string::npos || r.target.find("/complete") != std::string::npos) {
      return CannedResponse{200, R"({"id":"act-2","incident_id":"inc-7","title":"t","owner":"o",
                                     "due":"2026-12-01T00:00:00Z","state":"OPEN"})"};
    }
    return CannedResponse{200, kIncident};
  });
  struct Case {
    std::vector<std::string> argv;
    std::string target;
    json body;
  };
  const std::vector<Case> cases = {
      {{"incident", "declare", "--title", "db slow", "--severity", "SEV2", "--service", "db",
        "--environment", "production"},
       "/v1/incidents",
       {{"title", "db slow"}, {"severity", "SEV2"}, {"service", "db"}, {"environment", "production"}}},
      {{"incident", "ack", "inc-7", "--message", "on it"}, "/v1/incidents/inc-7/acknowledge",
       {{"message", "on it"}}},
      {{"incident", "resolve", "inc-7"}, "/v1/incidents/inc-7/resolve", json::object()},
      {{"incident", "escalate", "inc-7"}, "/v1/incidents/inc-7/escalate", json::object()},
      {{"incident", "update", "inc-7", "--message", "rolling back"}, "/v1/incidents/inc-7/updates",
       {{"message", "rolling back"}}},
      {{"incident", "review", "inc-7", "--summary", "s", "--impact", "i", "--root-cause", "r",
        "--timeline-notes", "n"},
       "/v1/incidents/inc-7/review",
       {{"summary", "s"}, {"impact", "i"}, {"root_cause", "r"}, {"timeline_notes", "n"}}},
      {{"incident", "action", "add", "inc-7", "--title", "t", "--owner", "o", "--due", "2026-12-01"},
       "/v1/incidents/inc-7/actions",
       {{"title", "t"}, {"owner", "o"}, {"due", "2026-12-01T00:00:00Z"}}},
      {{"incident", "review", "inc-7", "--summary", "s", "--impact", "i", "--root-cause", "r",
        "--action", "rotate the key|ana|2026-12-01", "--action", "add an alert|bo"},
       "/v1/incidents/inc-7/review",
       {{"summary", "s"}, {"impact", "i"}, {"root_cause", "r"},
        {"actions", {{{"title", "rotate the key"}, {"owner", "ana"}, {"due", "2026-12-01T00:00:00Z"}},
                     {{"title", "add an alert"}, {"owner", "bo"}}}}}},
      {{"incident", "close", "inc-7", "--message", "all done"}, "/v1/incidents/inc-7/close",
       {{"message", "all done"}}},
      {{"incident", "action", "complete", "act-2", "--tracking-url", "https://jira/X-1"},
       "/v1/actions/act-2/complete",
       {{"tracking_url", "https://jira/X-1"}}},
  };
  for (const Case& c : cases) {
    const size_t before = gateway.requests().size();
    Outcome o = Run(gateway, c.argv);
    ASSERT_EQ(o.code, kExitOk) << c.target << ": " << o.err;
    ASSERT_EQ(gateway.requests().size(), before + 1);
    const RecordedRequest r = gateway.requests().back();
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, c.target);
    EXPECT_EQ(json::parse(r.body), c.body) << c.target;
    EXPECT_EQ(r.headers.count("idempotency-key"), 1u) << "a retried write has one effect";
  }
}

TEST_F(IncidentCommandsTest, BadReviewActionsAreUsageErrorsNamingTheAction) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kIncident}; });
  for (const char* bad : {"rotate the key", "|ana", "rotate|", "a|b|c|d", "rotate|ana|soon"}) {
    Outcome o = Run(gateway, {"incident", "review", "inc-7", "--summary", "s", "--impact", "i",
                              "--root-cause", "r", "--action", bad});
    EXPECT_EQ(o.code, kExitUsage) << bad;
    EXPECT_NE(o.err.find(std::string("--action '") + bad + "'"), std::string::npos) << o.err;
  }
  EXPECT_TRUE(gateway.requests().empty());
}

TEST_F(IncidentCommandsTest, ReviewSaysHowToCloseAndCloseRefusalShowsWhatIsMissing) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.find("/close") != std::string::npos) {
      return CannedResponse{409, R"({"error":{"code":"FAILED_PRECONDITION",
        "message":"incident inc-7 is RESOLVED: cannot close it: 1 action is still open: act-1 \"lint config\""}})"};
    }
    return CannedResponse{200, kIncident};
  });
  Outcome o = Run(gateway, {"incident", "review", "inc-7", "--summary", "s", "--impact", "i",
                            "--root-cause", "r"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("Close it once every action is done or tracked: fdctl incident close inc-7\n"),
            std::string::npos)
      << o.out;
  o = Run(gateway, {"incident", "close", "inc-7"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.err.find("1 action is still open: act-1 \"lint config\""), std::string::npos) << o.err;
  o = Run(gateway, {"incident", "review", "--help"});
  EXPECT_NE(o.out.find("--action"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("fdctl incident close ID"), std::string::npos) << o.out;
}

TEST_F(IncidentCommandsTest, ServerRefusalIsAnError) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{409, R"({"error":{"code":"FAILED_PRECONDITION",
                                   "message":"incident inc-7 is RESOLVED"}})"};
  });
  Outcome o = Run(gateway, {"incident", "ack", "inc-7"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: FAILED_PRECONDITION: incident inc-7 is RESOLVED\n");
}

TEST_F(IncidentCommandsTest, ReportPrintsCountsMttaMttrAndOverdue) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"week":"2026-W47","from":"2026-11-16T00:00:00Z",
      "to":"2026-11-23T00:00:00Z","incidents":5,"by_severity":{"SEV1":1,"SEV2":3,"SEV3":1},
      "mtta":{"count":5,"mean_seconds":272.4,"p90_seconds":600},
      "mttr":{"count":4,"mean_seconds":5400,"p90_seconds":9000.2},
      "deploy_correlated_share":0.4,"ack_breached":["inc-1","inc-3"],"overdue_reviews":[],
      "overdue_actions":[{"id":"act-9","incident_id":"inc-1","title":"add alert","owner":"cy",
                          "due":"2026-11-20T00:00:00Z","state":"OPEN","overdue":true}]})"};
  });
  Outcome o = Run(gateway, {"incident", "report", "--week", "2026-W47"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests()[0].target, "/v1/reports/weekly?week=2026-W47");
  for (const char* expected :
       {"Incidents opened: 5 (SEV1 1, SEV2 3, SEV3 1, SEV4 0)\n",
        "MTTA over 5 acknowledged incidents: mean 4m32s, p90 10m\n",
        "MTTR over 4 resolved incidents: mean 1h30m, p90 2h30m\n",
        "Correlated with a deploy: 40% of 5 incidents (2)\n",
        "Ack deadline breached: 2 incidents (inc-1, inc-3)\n", "Overdue reviews: 0 incidents\n",
        "Overdue actions: 1 action\n",
        "act-9  inc-1     add alert  cy     2026-11-20  OPEN (OVERDUE)"}) {
    EXPECT_NE(o.out.find(expected), std::string::npos) << expected << "\n" << o.out;
  }
}

TEST_F(IncidentCommandsTest, ReportOfAQuietWeekSaysThereIsNothingToAverage) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"week":"2026-W48","incidents":1,"by_severity":{"SEV3":1},
      "mtta":{"count":1,"mean_seconds":60,"p90_seconds":60},"mttr":{}})"};
  });
  Outcome o = Run(gateway, {"incident", "report"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  for (const char* expected : {"Incidents opened: 1 (", "MTTA over 1 acknowledged incident: mean 1m, p90 1m\n",
                               "MTTR: - (no resolved incidents)\n"}) {
    EXPECT_NE(o.out.find(expected), std::string::npos) << expected << "\n" << o.out;
  }
}

TEST_F(IncidentCommandsTest, SilenceAddSendsMatchersAndATimeRange) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"id":"sil-1","matchers":[{"name":"service","value":"checkout","op":"="}],
      "active":true,"comment":"maintenance"})"};
  });
  Outcome o = Run(gateway, {"incident", "silence", "add", "--matcher", "service=checkout", "--matcher",
                            "alertname=~High.*", "--duration", "2h", "--comment", "maintenance"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  json body = json::parse(gateway.requests()[0].body);
  EXPECT_EQ(gateway.requests()[0].target, "/v1/silences");
  EXPECT_EQ(body["matchers"], json::parse(R"([{"name":"service","value":"checkout","op":"="},
                                               {"name":"alertname","value":"High.*","op":"=~"}])"));
  EXPECT_EQ(body["comment"], "maintenance");
  EXPECT_NE(o.out.find("sil-1  service=checkout"), std::string::npos) << o.out;
}

TEST_F(IncidentCommandsTest, SilenceExpireSendsThePrefixAsTyped) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"id":"3f2a9c1e-0000-4000-8000-000000000001",
      "matchers":[{"name":"service","value":"checkout","op":"="}],"active":false})"};
  });
  Outcome o = Run(gateway, {"incident", "silence", "expire", "3f2a9c1e"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests()[0].method, "POST");
  EXPECT_EQ(gateway.requests()[0].target, "/v1/silences/3f2a9c1e/expire");
  EXPECT_NE(o.out.find("3f2a9c1e-0000-4000-8000-000000000001  service=checkout"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("  no  "), std::string::npos) << o.out;
}

TEST_F(IncidentCommandsTest, ActionsAreFilteredByIncidentOwnerAndState) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, R"({"actions":[]})"}; });
  Outcome o = Run(gateway, {"incident", "actions", "--incident", "12", "--owner", "ana", "--state", "open"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests()[0].target, "/v1/actions?incident_id=12&owner=ana&state=open");
  EXPECT_EQ(o.out, "No actions.\n");
}

TEST_F(IncidentCommandsTest, IntegrationCreatePrintsTheRoutingKey) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"name":"nagios","service":"db",
                                   "routing_key":"0123456789abcdef0123456789abcdef"})"};
  });
  Outcome o = Run(gateway, {"incident", "integration", "create", "nagios", "--service", "db"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(json::parse(gateway.requests()[0].body), json::parse(R"({"name":"nagios","service":"db"})"));
  EXPECT_NE(o.out.find("Routing key: 0123456789abcdef0123456789abcdef\n"), std::string::npos) << o.out;
}

TEST(IncidentRequest, ParsesSeveritiesMatchersDurationsAndTimes) {
  EXPECT_EQ(ParseSeverity("sev2").value_or(""), "SEV2");
  EXPECT_EQ(ParseSeverity("4").value_or(""), "SEV4");
  EXPECT_FALSE(ParseSeverity("SEV0"));
  EXPECT_FALSE(ParseSeverity("critical"));
  EXPECT_EQ((*ParseMatcher("env!=staging"))["op"], "!=");
  EXPECT_EQ((*ParseMatcher("team!~ops|sre"))["value"], "ops|sre");
  EXPECT_EQ((*ParseMatcher("a=b=c"))["value"], "b=c");
  EXPECT_FALSE(ParseMatcher("=x"));
  EXPECT_EQ(ParseDurationSeconds("1h30m").value_or(0), 5400);
  EXPECT_EQ(ParseDurationSeconds("1d").value_or(0), 86400);
  EXPECT_FALSE(ParseDurationSeconds("0s"));
  EXPECT_FALSE(ParseDurationSeconds("2 hours"));
  EXPECT_EQ(Rfc3339(1795341600), "2026-11-22T10:00:00Z");
  EXPECT_TRUE(IsIsoWeek("2026-W47"));
  EXPECT_FALSE(IsIsoWeek("2026-W54"));
  EXPECT_EQ(HumanSeconds(95), "1m35s");
  EXPECT_EQ(HumanSeconds(0), "0s");
}

}  // namespace
}  // namespace flightdeck::cli
