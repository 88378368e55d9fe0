// fdctl as a user runs it, against a fake gateway on a loopback port.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::kToken;
using testing::Outcome;
using testing::RecordedRequest;

const char* kRelease = R"({"id":"r-42","service":"api","environment":"staging","version":"1.4.2",
  "commit_sha":"0123456789abcdef0123456789abcdef01234567","image":"registry/api:1.4.2",
  "state":"PENDING","created_by":"ci-bot","created_at":"2026-03-01T12:00:00.5Z",
  "updated_at":"2026-03-01T12:00:00.5Z","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"})";

TEST_F(FdctlTest, ReleaseCreateSendsTheBodyAuthAndAFreshIdempotencyKey) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kRelease}; });
  const std::vector<std::string> argv = {"release",   "create",
                                         "--url",     gateway.url(),
                                         "--token",   kToken,
                                         "--service", "api",
                                         "--env",     "staging",
                                         "--version", "1.4.2",
                                         "--commit",  "0123456789abcdef0123456789abcdef01234567",
                                         "--image",   "registry/api:1.4.2"};
  Outcome o = Fdctl(argv);
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("id: r-42\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("state: PENDING\n"), std::string::npos) << o.out;
  ASSERT_EQ(Fdctl(argv).code, kExitOk);

  const std::vector<RecordedRequest> requests = gateway.requests();
  ASSERT_EQ(requests.size(), 2u);
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/releases");
  EXPECT_EQ(r.headers.at("authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  const std::regex uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  EXPECT_TRUE(std::regex_match(r.headers.at("idempotency-key"), uuid4))
      << r.headers.at("idempotency-key");
  EXPECT_NE(r.headers.at("idempotency-key"), requests[1].headers.at("idempotency-key"))
      << "each invocation is a new write";
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json::parse(R"({"service":"api","environment":"staging","version":"1.4.2",
              "commit_sha":"0123456789abcdef0123456789abcdef01234567",
              "image":"registry/api:1.4.2"})"));
}

TEST_F(FdctlTest, InvalidUtf8InAnArgumentIsReplacedNotACrash) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kRelease}; });
  Outcome o = Fdctl({"release", "create", "--url", gateway.url(), "--service", "caf\xe9", "--env",
                     "staging", "--version", "1", "--commit", "abc1234"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(nlohmann::json::parse(gateway.requests().at(0).body)["service"], "caf\xef\xbf\xbd");
}

TEST_F(FdctlTest, ReleaseGetPrintsKeyValueLinesAndEscapesTheId) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.find("/events") != std::string::npos) {
      return CannedResponse{200, R"({"events":[],"next_page_token":""})"};
    }
    return CannedResponse{200, kRelease};
  });
  Outcome o = Fdctl({"--url", gateway.url(), "release", "get", "r 42/x"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().at(0).target, "/v1/releases/r%2042%2Fx");
  EXPECT_EQ(gateway.requests().at(0).headers.count("authorization"), 0u)
      << "no token configured: no Authorization header";
  EXPECT_EQ(gateway.requests().at(1).target, "/v1/releases/r%2042%2Fx/events?page_size=10");
  EXPECT_EQ(o.out,
            "id: r-42\nservice: api\nenvironment: staging\nversion: 1.4.2\n"
            "commit_sha: 0123456789abcdef0123456789abcdef01234567\nimage: registry/api:1.4.2\n"
            "state: PENDING\ncreated_by: ci-bot\ncreated_at: 2026-03-01T12:00:00.5Z\n"
            "updated_at: 2026-03-01T12:00:00.5Z\ntrace_id: 4bf92f3577b34da6a3ce929d0e0e4736\n"
            "\nevents: none\n");
}

TEST_F(FdctlTest, ReleaseListPassesFiltersAndPrintsATableWithTheNextPage) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{
        200, std::string(R"({"releases":[)") + kRelease + R"(],"next_page_token":"cGFnZTI="})"};
  });
  Outcome o = Fdctl({"release", "list", "--service", "api", "--env", "staging", "--page-size", "1",
                     "--page-token", "a b&c", "--url", gateway.url()});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().at(0).target,
            "/v1/releases?service=api&environment=staging&page_size=1&page_token=a%20b%26c");
  EXPECT_EQ(o.out,
            "ID    SERVICE  ENV      KIND  VERSION  COMMIT        STATE    CREATED\n"
            "r-42  api      staging  -     1.4.2    0123456789ab  PENDING  2026-03-01T12:00:00Z\n"
            "\nMore: fdctl release list --page-token cGFnZTI=\n");
}

TEST_F(FdctlTest, JsonFlagPrintsTheServersJsonPrettyInItsOrder) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"releases":[],"next_page_token":""})"};
  });
  Outcome o = Fdctl({"release", "list", "--json", "--url", gateway.url()});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "{\n  \"releases\": [],\n  \"next_page_token\": \"\"\n}\n");
  EXPECT_EQ(Fdctl({"release", "list", "--url", gateway.url()}).out, "No releases found.\n");
}

TEST_F(FdctlTest, ServerErrorGoesToStderrWithExit1) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":"release r-9 not found",
                                   "details":[]}})"};
  });
  Outcome o = Fdctl({"release", "get", "r-9", "--url", gateway.url(), "--token", kToken});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: NOT_FOUND: release r-9 not found\n");
  EXPECT_EQ(o.out, "");
}

TEST_F(FdctlTest, UnreachableGatewayNamesTheUrl) {
  std::string url;
  {
    FakeGateway closed([](const RecordedRequest&) { return CannedResponse{}; });
    url = closed.url();
  }  // nothing listens there any more
  Outcome o = Fdctl({"release", "list", "--url", url, "--token", kToken});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err.rfind("error: could not reach " + url + ": ", 0), 0u) << o.err;
}

TEST_F(FdctlTest, NoUrlConfiguredSaysHowToConfigureOne) {
  Outcome o = Fdctl({"release", "list"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.err.find("fdctl login"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("FLIGHTDECK_URL"), std::string::npos) << o.err;
}

TEST_F(FdctlTest, UsageErrorsExit2WithUsage) {
  struct Case {
    std::vector<std::string> argv;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "Usage: fdctl"},
      {{"deploy"}, "a subcommand is required"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"release"}, "a subcommand is required"},
      {{"release", "frobnicate"}, "unknown command 'frobnicate'"},
      {{"release", "get"}, "missing ID"},
      {{"release", "get", "a", "b"}, "unexpected argument 'b'"},
      {{"release", "create", "--service", "api"}, "--env is required"},
      {{"release", "get", "r-1", "--service", "api"}, "has no flag --service"},
      {{"release", "list", "--page-size", "ten"}, "--page-size must be a positive number"},
      {{"release", "list", "--colour"}, "unknown flag --colour"},
      {{"login", "--url", "fd.example", "--token", "x"}, "--url must start with http://"},
  };
  for (const Case& c : cases) {
    Outcome o = Fdctl(c.argv);
    EXPECT_EQ(o.code, kExitUsage) << ::testing::PrintToString(c.argv);
    EXPECT_NE(o.err.find(c.message), std::string::npos) << ::testing::PrintToString(c.argv) << "\n"
                                                        << o.err;
    EXPECT_NE(o.err.find("Usage:"), std::string::npos) << o.err;
  }
}

TEST_F(FdctlTest, HelpGoesToStdoutWithExit0) {
  Outcome o = Fdctl({"--help"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("release create"), std::string::npos) << o.out;
  o = Fdctl({"release", "create", "--help"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("Usage: fdctl release create --service S --env E --version V --commit SHA "
                       "[--image I]"),
            std::string::npos)
      << o.out;
  o = Fdctl({"help", "release"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("fdctl release get ID"), std::string::npos) << o.out;
}

TEST_F(FdctlTest, LoginStoresAPrivateConfigChecksTheTokenAndLaterCommandsUseIt) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.headers.count("authorization") == 0 ||
        r.headers.at("authorization") != std::string("Bearer ") + kToken) {
      return CannedResponse{401, R"({"error":{"code":"UNAUTHENTICATED","message":"bad token"}})"};
    }
    return CannedResponse{200, R"({"releases":[]})"};
  });
  env_["FDCTL_CONFIG"] = "";  // the default place under HOME
  Outcome o = Fdctl({"login", "--url", gateway.url() + "/", "--token", kToken});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("The token works"), std::string::npos) << o.out;
  EXPECT_EQ(gateway.requests().at(0).target, "/v1/releases?page_size=1");

  const std::string path = dir_ + "/.config/flightdeck/fdctl.json";
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ + "/.config/flightdeck").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  o = Fdctl({"release", "list"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().back().headers.at("authorization"), std::string("Bearer ") + kToken);

  // The environment overrides the file, and a flag overrides the environment.
  env_["FLIGHTDECK_TOKEN"] = "env-token";
  o = Fdctl({"release", "list"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(gateway.requests().back().headers.at("authorization"), "Bearer env-token");
  EXPECT_EQ(o.err, "error: UNAUTHENTICATED: bad token\n");
  o = Fdctl({"release", "list", "--token", kToken});
  EXPECT_EQ(o.code, kExitOk) << o.err;
}

TEST_F(FdctlTest, LoginWithARejectedTokenSaysSoAndExits1) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{401, R"({"error":{"code":"UNAUTHENTICATED","message":"unknown token"}})"};
  });
  Outcome o = Fdctl({"login", "--url", gateway.url(), "--token", "-"}, std::string(kToken) + "\n");
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.err.find("The token was rejected by " + gateway.url()), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("error: UNAUTHENTICATED: unknown token"), std::string::npos) << o.err;
  EXPECT_EQ(gateway.requests().at(0).headers.at("authorization"), std::string("Bearer ") + kToken)
      << "--token - reads the token from standard input";
}

TEST_F(FdctlTest, LoginToAnUnreachableGatewayStillSavesAndSaysWhichUrlFailed) {
  std::string url;
  {
    FakeGateway closed([](const RecordedRequest&) { return CannedResponse{}; });
    url = closed.url();
  }
  Outcome o = Fdctl({"login", "--url", url, "--token", kToken});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.err.find("could not reach " + url), std::string::npos) << o.err;
  struct stat st {};
  EXPECT_EQ(stat(env_["FDCTL_CONFIG"].c_str(), &st), 0);
}

}  // namespace
}  // namespace flightdeck::cli
