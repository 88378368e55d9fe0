// fdctl's release pipeline and deploy commands as a pipeline or an operator runs them,
// against a fake gateway on a loopback port.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

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

std::string ReleaseJson(const std::string& state, const std::string& extra = "") {
  return R"({"id":"r-42","service":"api","environment":"production","version":"1.4.2",
    "commit_sha":"0123456789abcdef","image":"registry/api:1.4.2","state":")" +
         state + R"(","kind":"DEPLOY","current_step":0,"current_weight":5,"paused":false,)" +
         R"("fail_streak":0,"inconclusive_streak":0,"outcome_reason":")" +
         (state == "ROLLED_BACK" ? "analysis FAIL: error rate 0.080 > 0.050" : "") + "\"" + extra +
         "}";
}

std::string EventJson(int id, const std::string& type, const std::string& message) {
  return R"({"id":")" + std::to_string(id) + R"(","release_id":"r-42","at":"2026-03-01T12:00:0)" +
         std::to_string(id % 10) + R"(Z","type":")" + type +
         R"(","actor":"flightdeck","message":")" + message + R"(","data":{},"trace_id":""})";
}

std::string EventsPage(int first, int last, const std::string& next_token) {
  std::string events;
  for (int id = first; id <= last; ++id) {
    events +=
        (events.empty() ? "" : ",") + EventJson(id, "ANALYSIS", "event " + std::to_string(id));
  }
  return R"({"events":[)" + events + R"(],"next_page_token":")" + next_token + "\"}";
}

std::string EventLine(int id) {
  return "2026-03-01T12:00:0" + std::to_string(id % 10) + "Z  ANALYSIS       flightdeck  event " +
         std::to_string(id) + "\n";
}

const std::regex kUuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

class ReleaseCommandsTest : public FdctlTest {
 protected:
  Outcome Run(FakeGateway& gateway, std::vector<std::string> argv) {
    argv.insert(argv.end(), {"--url", gateway.url(), "--token", kToken});
    return Fdctl(argv);
  }

  // fdctl as run in a terminal `columns` wide: its standard output is a pseudo-terminal.
  Outcome RunOnATerminal(FakeGateway& gateway, std::vector<std::string> argv,
                         unsigned short columns) {
    argv.insert(argv.end(), {"--url", gateway.url(), "--token", kToken});
    int terminal = -1;
    int fdctl_side = -1;
    winsize size{};
    size.ws_col = columns;
    size.ws_row = 24;
    termios raw{};
    cfmakeraw(&raw);  // no "\r\n" for "\n"
    Outcome o;
    if (openpty(&terminal, &fdctl_side, nullptr, &raw, &size) != 0) {
      ADD_FAILURE() << "no pseudo-terminal";
      return o;
    }
    std::cout.flush();
    const int saved_stdout = dup(STDOUT_FILENO);
    dup2(fdctl_side, STDOUT_FILENO);
    std::istringstream in;
    std::ostringstream err;
    const auto env = env_;
    o.code = cli::Run(
        argv,
        [env](const std::string& name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end() || it->second.empty()) return std::nullopt;
          return it->second;
        },
        {in, std::cout, err});
    std::cout.flush();
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    close(fdctl_side);
    fcntl(terminal, F_SETFL, O_NONBLOCK);
    char buffer[4096];
    for (ssize_t n; (n = read(terminal, buffer, sizeof buffer)) > 0;) {
      o.out.append(buffer, static_cast<size_t>(n));
    }
    close(terminal);
    o.err = err.str();
    return o;
  }
};

TEST_F(ReleaseCommandsTest, CreateSendsTheCanaryPlanFromRepeatedSteps) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, ReleaseJson("AWAITING_APPROVAL")};
  });
  Outcome o = Run(gateway, {"release",
                            "create",
                            "--service",
                            "checkout",
                            "--env",
                            "production",
                            "--version",
                            "v2.4.0",
                            "--commit",
                            "9fceb02d",
                            "--require-approval",
                            "--driver",
                            "command",
                            "--step",
                            "5:10m",
                            "--step",
                            "50:5m",
                            "--interval",
                            "30s",
                            "--max-error-rate",
                            "0.02",
                            "--max-p99-ms",
                            "800",
                            "--min-requests",
                            "50",
                            "--queue"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("state: AWAITING_APPROVAL\n"), std::string::npos) << o.out;
  ASSERT_EQ(gateway.requests().size(), 1u);
  const RecordedRequest r = gateway.requests()[0];
  EXPECT_EQ(r.target, "/v1/releases");
  EXPECT_TRUE(std::regex_match(r.headers.at("idempotency-key"), kUuid4));
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"service":"checkout","environment":"production",
    "version":"v2.4.0","commit_sha":"9fceb02d","require_approval":true,
    "driver":{"kind":"command"},
    "canary":{"steps":[{"weight":5,"duration":"600s"},{"weight":50,"duration":"300s"}],
              "analysis":{"interval":"30s","max_error_rate":0.02,"max_p99_latency_ms":800.0,
                          "min_requests":50}},
    "queue":true})"));
}

TEST_F(ReleaseCommandsTest, BadCreateValuesAreUsageErrorsAndNothingIsSent) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, "{}"}; });
  const std::vector<std::string> base = {"release",  "create",  "--service", "api",
                                         "--env",    "staging", "--version", "1",
                                         "--commit", "abc1234"};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--step", "5"}, "--step '5' must be WEIGHT:DURATION"},
      {{"--step", "5:10m", "--step", "120:1m"}, "--step '120:1m'"},
      {{"--driver", "helm"}, "--driver must be external or command"},
      {{"--require-approval", "--no-approval"}, "contradict"},
      {{"--max-error-rate", "2"}, "--max-error-rate must be a fraction"},
  };
  for (const auto& [extra, message] : cases) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    Outcome o = Run(gateway, argv);
    EXPECT_EQ(o.code, kExitUsage) << message;
    EXPECT_NE(o.err.find(message), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("Usage: fdctl release create"), std::string::npos) << o.err;
  }
  EXPECT_TRUE(gateway.requests().empty());
}

TEST_F(ReleaseCommandsTest, ConflictNamesTheReleaseInFlightAndSaysToUseQueue) {
  // The releases service's words, for REST callers.
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{409, R"({"error":{"code":"ALREADY_EXISTS","message":
      "release r-41 (1.4.1) of api is in flight in production (CANARY): wait for it to finish, or create with \"queue\": true to run after it"}})"};
  });
  Outcome o = Run(gateway, {"release", "create", "--service", "api", "--env", "production",
                            "--version", "1", "--commit", "abc1234"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err,
            "error: ALREADY_EXISTS: release r-41 (1.4.1) of api is in flight in production "
            "(CANARY): wait for it to finish, or create with --queue to run after it\n");

  FakeGateway other_words([](const RecordedRequest&) {
    return CannedResponse{409, R"j({"error":{"code":"ALREADY_EXISTS","message":
      "release r-41 of api is in flight in production (CANARY)"}})j"};
  });
  o = Run(other_words, {"release", "create", "--service", "api", "--env", "production",
                        "--version", "1", "--commit", "abc1234"});
  EXPECT_EQ(o.err,
            "error: ALREADY_EXISTS: release r-41 of api is in flight in production (CANARY) "
            "(add --queue to wait behind it)\n");
}

TEST_F(ReleaseCommandsTest, ListFiltersByStateInAnyCase) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"releases":[]})"};
  });
  ASSERT_EQ(Run(gateway, {"release", "list", "--state", "rolled-back", "--env", "production"}).code,
            kExitOk);
  EXPECT_EQ(gateway.requests().at(0).target,
            "/v1/releases?environment=production&state=ROLLED_BACK");
  Outcome o = Run(gateway, {"release", "list", "--state", "running"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--state 'running' is not a release state"), std::string::npos) << o.err;
  EXPECT_EQ(gateway.requests().size(), 1u);
}

TEST_F(ReleaseCommandsTest, GetShowsCanaryProgressAndTheNewestTenEventsAcrossPages) {
  // 25 events: a first page of 10 (as release get asks), then the rest in one page.
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target == "/v1/releases/r-42/events?page_size=10") {
      return CannedResponse{200, EventsPage(1, 10, "p2")};
    }
    if (r.target == "/v1/releases/r-42/events?page_size=200&page_token=p2") {
      return CannedResponse{200, EventsPage(11, 25, "")};
    }
    if (r.target == "/v1/releases/r-42") {
      return CannedResponse{200,
                            ReleaseJson("CANARY", R"(,"next_action":{"action":"canary","weight":5,
            "image":"registry/api:1.4.2","action_id":"r-42/0"},
            "canary":{"steps":[{"weight":5,"duration":"600s"},{"weight":50,"duration":"600s"}]})")};
    }
    return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":"no route"}})"};
  });
  Outcome o = Run(gateway, {"release", "get", "r-42"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("state: CANARY\nstep: 1 of 2 at 5%\npaused: false\n"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("next_action: canary 5% registry/api:1.4.2 (action_id r-42/0)\n"),
            std::string::npos)
      << o.out;
  std::string events = "\nevents (last 10 of 25; all: fdctl release events r-42):\n";
  for (int id = 16; id <= 25; ++id) events += "  " + EventLine(id);
  ASSERT_GE(o.out.size(), events.size());
  EXPECT_EQ(o.out.substr(o.out.size() - events.size()), events) << o.out;
}

TEST_F(ReleaseCommandsTest, GetStillShowsTheReleaseWhenTheTimelineCannotBeRead) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.find("/events") != std::string::npos) {
      return CannedResponse{503, R"({"error":{"code":"UNAVAILABLE","message":"releases down"}})"};
    }
    return CannedResponse{200, ReleaseJson("SUCCEEDED")};
  });
  Outcome o = Run(gateway, {"release", "get", "r-42"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("state: SUCCEEDED\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.err, "warning: could not read the timeline: UNAVAILABLE: releases down\n");
}

TEST_F(ReleaseCommandsTest, GetWithJsonPrintsOnlyTheRelease) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, ReleaseJson("CANARY")};
  });
  Outcome o = Run(gateway, {"release", "get", "r-42", "--json"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(json::parse(o.out), json::parse(ReleaseJson("CANARY")));
  EXPECT_EQ(gateway.requests().size(), 1u);
}

TEST_F(ReleaseCommandsTest, EventsJoinsEveryPage) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target == "/v1/releases/r-42/events?page_size=200") {
      return CannedResponse{200, EventsPage(1, 2, "next")};
    }
    return CannedResponse{200, EventsPage(3, 3, "")};
  });
  Outcome o = Run(gateway, {"release", "events", "r-42"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, EventLine(1) + EventLine(2) + EventLine(3));
  EXPECT_EQ(gateway.requests().at(1).target,
            "/v1/releases/r-42/events?page_size=200&page_token=next");

  o = Run(gateway, {"release", "events", "r-42", "--json"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  const json joined = json::parse(o.out);
  ASSERT_EQ(joined["events"].size(), 3u);
  EXPECT_EQ(joined["events"][2]["id"], "3");
}

// Polling, for a gateway that cannot stream (it refuses `watch` as the gateway before
// streaming did). The fake release moves on each time fdctl sleeps between polls: CANARY with
// 2 events, then 4, then ROLLED_BACK with 6.
class WatchTest : public ReleaseCommandsTest {
 protected:
  void SetUp() override {
    ReleaseCommandsTest::SetUp();
    on_sleep_ = [this] { ++phase_; };
  }
  static bool IsWatch(const RecordedRequest& r) {
    return r.target.find("watch=true") != std::string::npos;
  }
  CannedResponse Answer(const RecordedRequest& r) {
    if (IsWatch(r)) {
      return CannedResponse{400, R"({"error":{"code":"INVALID_ARGUMENT","message":
        "query parameter watch: not supported here"}})"};
    }
    const int phase = phase_.load();
    if (r.target == "/v1/releases/r-42") {
      return CannedResponse{200, ReleaseJson(phase >= 2 ? final_state_ : "CANARY")};
    }
    return CannedResponse{200, EventsPage(1, 2 + 2 * std::min(phase, 2), "")};
  }

  std::atomic<int> phase_{0};
  std::string final_state_ = "ROLLED_BACK";
};

TEST_F(WatchTest, PrintsEachEventOnceUntilTheReleaseEndsAndFailsWhenItRolledBack) {
  FakeGateway gateway([this](const RecordedRequest& r) { return Answer(r); });
  Outcome o = Run(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitError) << "a pipeline waiting on the release must see it fail";
  std::string want;
  for (int id = 1; id <= 6; ++id) want += EventLine(id);
  want += "release r-42 is ROLLED_BACK: analysis FAIL: error rate 0.080 > 0.050\n";
  EXPECT_EQ(o.out, want);
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(sleeps_, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(2000),
                                                             std::chrono::milliseconds(2000)}));
}

TEST_F(WatchTest, StopsWhenTheReleaseWaitsForTheCallersVerification) {
  final_state_ = "VERIFYING";
  FakeGateway gateway([this](const RecordedRequest& r) { return Answer(r); });
  Outcome o = Run(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  std::string want;
  for (int id = 1; id <= 6; ++id) want += EventLine(id);
  want += "release r-42 is VERIFYING: waiting for your verification: fdctl release verify r-42 "
          "--passed|--failed [--details TEXT]\n";
  EXPECT_EQ(o.out, want);
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(WatchTest, SucceededExitsZeroAndJsonPrintsOneEventPerLine) {
  final_state_ = "SUCCEEDED";
  FakeGateway gateway([this](const RecordedRequest& r) { return Answer(r); });
  Outcome o = Run(gateway, {"release", "events", "r-42", "--watch", "--json"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  std::vector<std::string> ids;
  std::istringstream lines(o.out);
  for (std::string line; std::getline(lines, line);) {
    ids.push_back(json::parse(line)["id"].get<std::string>());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3", "4", "5", "6"}));
}

TEST_F(WatchTest, RidesOutAGatewayBlipButNotAMissingRelease) {
  // The second and third polls find the gateway restarting.
  std::atomic<int> requests{0};
  FakeGateway gateway([this, &requests](const RecordedRequest& r) {
    if (IsWatch(r)) return Answer(r);
    const int n = ++requests;
    if (n == 3 || n == 4) {
      return CannedResponse{503, R"({"error":{"code":"UNAVAILABLE","message":"restarting"}})"};
    }
    return Answer(r);
  });
  Outcome o = Run(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitError);
  std::string want;
  for (int id = 1; id <= 6; ++id) want += EventLine(id);
  want += "release r-42 is ROLLED_BACK: analysis FAIL: error rate 0.080 > 0.050\n";
  EXPECT_EQ(o.out, want);
  EXPECT_EQ(o.err, "warning: UNAVAILABLE: restarting\nwarning: UNAVAILABLE: restarting\n");
  EXPECT_EQ(sleeps_.size(), 3u);

  FakeGateway missing([](const RecordedRequest&) {
    return CannedResponse{404,
                          R"({"error":{"code":"NOT_FOUND","message":"release r-9 not found"}})"};
  });
  sleeps_.clear();
  o = Run(missing, {"release", "events", "r-9", "--watch"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: NOT_FOUND: release r-9 not found\n");
  EXPECT_TRUE(sleeps_.empty()) << "a 404 is not retried";
}

TEST_F(WatchTest, GivesUpAfterFiveFailedAttemptsInARow) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{502, "<html>bad gateway</html>"};
  });
  Outcome o = Run(gateway, {"release", "events", "r-42", "--watch"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(sleeps_.size(), 4u);
  EXPECT_EQ(gateway.requests().size(), 5u);
  EXPECT_EQ(gateway.requests().at(0).target, "/v1/releases/r-42/events?watch=true");
  EXPECT_NE(o.err.find("error: HTTP 502: <html>bad gateway</html>\n"), std::string::npos) << o.err;
}

TEST_F(ReleaseCommandsTest, ActionsPostTheirReasonToTheirSubPath) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, ReleaseJson("CANARY")};
  });
  struct Case {
    std::vector<std::string> argv;
    std::string target;
    std::string body;
  };
  const std::vector<Case> cases = {
      {{"release", "approve", "r-42", "--reason", "CAB-123 approved"},
       "/v1/releases/r-42/approve",
       R"({"reason":"CAB-123 approved"})"},
      {{"release", "approve", "r-42"}, "/v1/releases/r-42/approve", "{}"},
      {{"release", "promote", "r-42"}, "/v1/releases/r-42/promote", "{}"},
      {{"release", "abort", "r-42", "--reason", "wrong image"},
       "/v1/releases/r-42/abort",
       R"({"reason":"wrong image"})"},
      {{"release", "rollback", "r-42", "--reason", "latency"},
       "/v1/releases/r-42/rollback",
       R"({"reason":"latency"})"},
      {{"release", "observe", "r-42", "--requests", "1000", "--errors", "80", "--p99-ms", "420",
        "--window", "60s"},
       "/v1/releases/r-42/observations",
       R"({"requests":1000,"errors":80,"p99_latency_ms":420.0,"window":"60s"})"},
      {{"release", "verify", "r-42", "--passed", "--details", "smoke ok"},
       "/v1/releases/r-42/verification",
       R"({"passed":true,"details":"smoke ok"})"},
      {{"release", "verify", "r-42", "--failed"},
       "/v1/releases/r-42/verification",
       R"({"passed":false})"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    Outcome o = Run(gateway, c.argv);
    ASSERT_EQ(o.code, kExitOk) << ::testing::PrintToString(c.argv) << o.err;
    EXPECT_NE(o.out.find("state: CANARY\n"), std::string::npos) << o.out;
    ASSERT_EQ(gateway.requests().size(), i + 1);
    const RecordedRequest r = gateway.requests().back();
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, c.target);
    EXPECT_EQ(json::parse(r.body), json::parse(c.body)) << r.body;
    EXPECT_TRUE(std::regex_match(r.headers.at("idempotency-key"), kUuid4));
  }
}

TEST_F(ReleaseCommandsTest, ActionUsageErrorsSendNothing) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, "{}"}; });
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"release", "abort", "r-42"}, "--reason is required"},
      {{"release", "rollback", "r-42", "--reason="}, "--reason is required"},
      {{"release", "approve"}, "missing ID"},
      {{"release", "observe", "r-42", "--requests", "10", "--errors", "20"},
       "--errors (20) cannot exceed --requests (10)"},
      {{"release", "observe", "r-42", "--requests", "10"}, "--errors is required"},
      {{"release", "verify", "r-42"}, "give exactly one of --passed or --failed"},
      {{"release", "verify", "r-42", "--passed", "--failed"}, "exactly one"},
      {{"release", "events", "r-42", "--reason", "x"}, "has no flag --reason"},
      {{"deploy", "status", "api"}, "--env is required"},
      {{"deploy", "rollback", "api", "--env", "production"}, "--to is required"},
      {{"deploy", "rollback", "api", "--env", "production", "--to", "9fceb02d"},
       "--reason is required"},
  };
  for (const auto& [argv, message] : cases) {
    Outcome o = Run(gateway, argv);
    EXPECT_EQ(o.code, kExitUsage) << ::testing::PrintToString(argv);
    EXPECT_NE(o.err.find(message), std::string::npos) << o.err;
  }
  EXPECT_TRUE(gateway.requests().empty());
}

TEST_F(ReleaseCommandsTest, DeployStatusShowsCurrentAndInFlight) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"service":"api","environment":"production","current":)" +
                                   ReleaseJson("SUCCEEDED") + R"(,"in_flight":null,"queued":0})"};
  });
  Outcome o = Run(gateway, {"deploy", "status", "api", "--env", "production"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().at(0).method, "GET");
  EXPECT_EQ(gateway.requests().at(0).target, "/v1/services/api/environments/production");
  EXPECT_EQ(o.out,
            "service: api\n"
            "environment: production\n"
            "\n"
            "ROLE       ID    VERSION  COMMIT        STATE      WEIGHT  UPDATED\n"
            "current    r-42  1.4.2    0123456789ab  SUCCEEDED  -       -\n"
            "in flight  -     -        -             -          -       -\n"
            "\n"
            "queued: 0\n");
}

TEST_F(ReleaseCommandsTest, DeployRollbackPostsTheCommitAndSaysHowToFollowIt) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"id":"r-43","kind":"ROLLBACK","state":"PROMOTING"})"};
  });
  Outcome o = Run(gateway, {"deploy", "rollback", "api", "--env", "production", "--to", "9fceb02d",
                            "--reason", "bad deploy"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  const RecordedRequest r = gateway.requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/services/api/environments/production/rollback");
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"to_commit_sha":"9fceb02d","reason":"bad deploy"})"));
  EXPECT_EQ(o.out,
            "id: r-43\nkind: ROLLBACK\nstate: PROMOTING\n"
            "\nFollow it: fdctl release events r-43 --watch\n");
}

TEST_F(ReleaseCommandsTest, DeployRollbackToAnUnknownCommitIsAnError) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":
      "commit 9fceb02d never succeeded in production"}})"};
  });
  Outcome o = Run(gateway, {"deploy", "rollback", "api", "--env", "production", "--to", "9fceb02d",
                            "--reason", "bad deploy"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: NOT_FOUND: commit 9fceb02d never succeeded in production\n");
  EXPECT_EQ(json::parse(gateway.requests().at(0).body),
            json::parse(R"({"to_commit_sha":"9fceb02d","reason":"bad deploy"})"));
}

TEST_F(ReleaseCommandsTest, DeployStatusWhereNothingWasReleasedSaysHowToStart) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.rfind("/v1/releases?", 0) == 0) return CannedResponse{200, R"({"releases":[]})"};
    return CannedResponse{200, R"({"service":"api","environment":"staging","queued":0})"};
  });
  Outcome o = Run(gateway, {"deploy", "status", "api", "--env", "staging"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "Nothing was released of api in staging yet. Start with:\n"
            "  fdctl release create --service api --env staging --version V --commit SHA\n");
  EXPECT_EQ(gateway.requests().at(1).target,
            "/v1/releases?service=api&environment=staging&page_size=1");
}

TEST_F(ReleaseCommandsTest, DeployStatusWhereNothingSucceededNamesTheNewestRelease) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.rfind("/v1/releases?", 0) == 0) {
      return CannedResponse{200, "{\"releases\":[" + ReleaseJson("ROLLED_BACK") + "]}"};
    }
    return CannedResponse{
        200, R"({"service":"api","environment":"production","current":null,"queued":0})"};
  });
  Outcome o = Run(gateway, {"deploy", "status", "api", "--env", "production"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "No release of api has succeeded in production yet; the newest is r-42 "
            "(ROLLED_BACK): fdctl release get r-42\n");
}

TEST_F(ReleaseCommandsTest, ListShowsTheKind) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"releases":[
      {"id":"r-43","service":"api","environment":"production","kind":"ROLLBACK","version":"1.4.1",
       "commit_sha":"fedcba9876543210","state":"SUCCEEDED","created_at":"2026-03-01T13:00:00Z"},
      {"id":"r-42","service":"api","environment":"production","kind":"DEPLOY","version":"1.4.2",
       "commit_sha":"0123456789abcdef","state":"ROLLED_BACK","created_at":"2026-03-01T12:00:00Z"}]})"};
  });
  Outcome o = Run(gateway, {"release", "list", "--service", "api"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "ID    SERVICE  ENV         KIND      VERSION  COMMIT        STATE        CREATED\n"
            "r-43  api      production  ROLLBACK  1.4.1    fedcba987654  SUCCEEDED    "
            "2026-03-01T13:00:00Z\n"
            "r-42  api      production  DEPLOY    1.4.2    0123456789ab  ROLLED_BACK  "
            "2026-03-01T12:00:00Z\n");
}

TEST_F(ReleaseCommandsTest, TimelineLinesAreWholeWhenNotPrintedToATerminal) {
  const std::string reason(600, 'x');
  FakeGateway gateway([&reason](const RecordedRequest&) {
    return CannedResponse{200, R"({"events":[{"id":"1","at":"2026-03-01T12:00:00Z",
      "type":"DRIVER","actor":"flightdeck","message":"canary 5% failed: )" + reason + R"("}]})"};
  });
  Outcome o = Run(gateway, {"release", "events", "r-42"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "2026-03-01T12:00:00Z  DRIVER         flightdeck  canary 5% failed: " + reason +
                       "\n");
}

TEST_F(ReleaseCommandsTest, TimelineLinesWrapToTheTerminalsWidth) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"j({"events":[{"id":"1","at":"2026-03-01T12:00:00Z",
      "type":"STATE_CHANGED","actor":"flightdeck","message":"VERIFYING -> ROLLING_BACK: smoke suite checkout-smoke FAILED: GET /v1/cart answered 503 (want 200)"}]})j"};
  });
  Outcome o = RunOnATerminal(gateway, {"release", "events", "r-42"}, 80);
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "2026-03-01T12:00:00Z  STATE_CHANGED  flightdeck  VERIFYING -> ROLLING_BACK:\n"
            "                                                 smoke suite checkout-smoke\n"
            "                                                 FAILED: GET /v1/cart answered\n"
            "                                                 503 (want 200)\n");
  // COLUMNS says better than the terminal (a resized window, a multiplexer).
  env_["COLUMNS"] = "120";
  o = RunOnATerminal(gateway, {"release", "events", "r-42"}, 80);
  EXPECT_EQ(o.out,
            "2026-03-01T12:00:00Z  STATE_CHANGED  flightdeck  VERIFYING -> ROLLING_BACK: smoke "
            "suite checkout-smoke FAILED: GET\n"
            "                                                 /v1/cart answered 503 (want 200)\n");
}

// The releases service resolves prefixes of release ids and commits; fdctl sends them as given.
TEST_F(ReleaseCommandsTest, ShortPrefixesOfReleaseIdsAndCommitsGoThroughUnchanged) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.find("/events") != std::string::npos) return CannedResponse{200, "{}"};
    return CannedResponse{200, ReleaseJson("CANARY")};
  });
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"release", "get", "3f2a"}, "/v1/releases/3f2a"},
      {{"release", "events", "3f"}, "/v1/releases/3f/events?page_size=200"},
      {{"release", "promote", "3f2a9"}, "/v1/releases/3f2a9/promote"},
      {{"release", "verify", "3f2a9", "--passed"}, "/v1/releases/3f2a9/verification"},
      {{"deploy", "rollback", "api", "--env", "production", "--to", "a1b2c3d", "--reason", "bad"},
       "/v1/services/api/environments/production/rollback"},
  };
  for (const auto& [argv, target] : cases) {
    const size_t before = gateway.requests().size();
    Outcome o = Run(gateway, argv);
    EXPECT_EQ(o.code, kExitOk) << ::testing::PrintToString(argv) << o.err;
    ASSERT_GT(gateway.requests().size(), before);
    EXPECT_EQ(gateway.requests().at(before).target, target);
  }
  EXPECT_EQ(json::parse(gateway.requests().back().body)["to_commit_sha"], "a1b2c3d");
}

TEST_F(ReleaseCommandsTest, AnAmbiguousCommitPrefixListsTheCandidatesOnePerLine) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{400, R"j({"error":{"code":"INVALID_ARGUMENT","message":
      "to_commit_sha: a1b2c3d4 is ambiguous in production: a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 (1.4.1), a1b2c3d4ffff0718293a4b5c6d7e8f9012345678 (1.3.0)"}})j"};
  });
  Outcome o = Run(gateway, {"deploy", "rollback", "api", "--env", "production", "--to", "a1b2c3d4",
                            "--reason", "bad deploy"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err,
            "error: INVALID_ARGUMENT: to_commit_sha: a1b2c3d4 is ambiguous in production:\n"
            "  a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 (1.4.1)\n"
            "  a1b2c3d4ffff0718293a4b5c6d7e8f9012345678 (1.3.0)\n"
            "give more characters of the commit with --to, e.g. one of those above\n");
}

TEST_F(ReleaseCommandsTest, AnAmbiguousReleaseIdPrefixListsTheCandidates) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{400, R"({"error":{"code":"INVALID_ARGUMENT","message":
      "id: 3f2a is ambiguous: matches 3f2a0c1e-0000-4000-8000-000000000001 and 3f2a9b7d-0000-4000-8000-000000000002"}})"};
  });
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"release", "get", "3f2a"},
        std::vector<std::string>{"release", "abort", "3f2a", "--reason", "x"},
        std::vector<std::string>{"release", "events", "3f2a"}}) {
    Outcome o = Run(gateway, argv);
    EXPECT_EQ(o.code, kExitError);
    EXPECT_EQ(o.err,
              "error: INVALID_ARGUMENT: id: 3f2a is ambiguous: matches:\n"
              "  3f2a0c1e-0000-4000-8000-000000000001\n"
              "  3f2a9b7d-0000-4000-8000-000000000002\n"
              "give more characters of the release id than '3f2a' (fdctl release list shows "
              "them)\n")
        << ::testing::PrintToString(argv);
  }
}

}  // namespace
}  // namespace flightdeck::cli
