// fdctl as a user runs it, against a fake gateway on a loopback port.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <fstream>
#include <regex>
#include <sstream>

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

// The gateway's answer to GET /v1/whoami: the principal for kToken, 401 for anything else.
CannedResponse Whoami(const RecordedRequest& r) {
  if (r.headers.count("authorization") == 0 ||
      r.headers.at("authorization") != std::string("Bearer ") + kToken) {
    return CannedResponse{401, R"({"error":{"code":"UNAUTHENTICATED","message":"unknown token"}})"};
  }
  if (r.target == "/v1/whoami") return CannedResponse{200, R"({"name":"ci-pipeline","role":"DEPLOYER"})"};
  return CannedResponse{200, R"({"releases":[]})"};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(FdctlTest, LoginChecksWhoamiSavesAPrivateConfigAndLaterCommandsUseIt) {
  FakeGateway gateway(Whoami);
  env_["FDCTL_CONFIG"] = "";  // the default place under HOME
  Outcome o = Fdctl({"login", "--url", gateway.url() + "/", "--token", kToken});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().at(0).target, "/v1/whoami");
  EXPECT_NE(o.out.find("Logged in to " + gateway.url() + " as ci-pipeline (DEPLOYER)."),
            std::string::npos)
      << o.out;

  const std::string path = dir_ + "/.config/flightdeck/fdctl.json";
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ + "/.config/flightdeck").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  o = Fdctl({"release", "list"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().back().headers.at("authorization"), std::string("Bearer ") + kToken);
  o = Fdctl({"whoami"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "ci-pipeline (DEPLOYER) at " + gateway.url() + "\n");

  // The environment overrides the file, and a flag overrides the environment.
  env_["FLIGHTDECK_TOKEN"] = "env-token";
  o = Fdctl({"release", "list"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(gateway.requests().back().headers.at("authorization"), "Bearer env-token");
  EXPECT_EQ(o.err, "error: UNAUTHENTICATED: unknown token\n");
  o = Fdctl({"release", "list", "--token", kToken});
  EXPECT_EQ(o.code, kExitOk) << o.err;
}

TEST_F(FdctlTest, LoginWithARejectedTokenSavesNothingAndKeepsTheOldConfig) {
  FakeGateway gateway(Whoami);
  ASSERT_EQ(Fdctl({"login", "--url", gateway.url(), "--token", kToken}).code, kExitOk);
  const std::string before = ReadFile(env_["FDCTL_CONFIG"]);
  ASSERT_NE(before.find(kToken), std::string::npos);

  Outcome o = Fdctl({"login", "--url", gateway.url(), "--token", "-"}, "fd_typo\n");
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.out, "") << "nothing claims to be saved";
  EXPECT_NE(o.err.find("error: " + gateway.url() + " refused the token."), std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("error: UNAUTHENTICATED: unknown token"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("Nothing was saved"), std::string::npos) << o.err;
  EXPECT_EQ(gateway.requests().back().headers.at("authorization"), "Bearer fd_typo")
      << "--token - reads the token from standard input";
  EXPECT_EQ(ReadFile(env_["FDCTL_CONFIG"]), before) << "the working login is kept";
  EXPECT_EQ(Fdctl({"whoami"}).code, kExitOk);
}

TEST_F(FdctlTest, LoginToAnUnreachableGatewaySavesNothingAndSaysItIsNotTheToken) {
  std::string url;
  {
    FakeGateway closed([](const RecordedRequest&) { return CannedResponse{}; });
    url = closed.url();
  }
  Outcome o = Fdctl({"login", "--url", url, "--token", kToken});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.err.find("could not reach " + url), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("is the gateway running?"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("refused"), std::string::npos) << "not a token problem: " << o.err;
  struct stat st {};
  EXPECT_NE(stat(env_["FDCTL_CONFIG"].c_str(), &st), 0) << "no config written";
}

TEST_F(FdctlTest, LoginToSomethingThatIsNotAGatewaySavesNothing) {
  FakeGateway other([](const RecordedRequest&) { return CannedResponse{502, "<html>Bad Gateway</html>"}; });
  Outcome o = Fdctl({"login", "--url", other.url(), "--token", kToken});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.err.find("error: HTTP 502"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("Nothing was saved"), std::string::npos) << o.err;
  struct stat st {};
  EXPECT_NE(stat(env_["FDCTL_CONFIG"].c_str(), &st), 0) << "no config written";
}

TEST_F(FdctlTest, LoginToAGatewayWithoutWhoamiChecksTheTokenWithARead) {
  FakeGateway older([](const RecordedRequest& r) {
    if (r.target == "/v1/whoami") {
      return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":"no route"}})"};
    }
    return Whoami(r);
  });
  Outcome o = Fdctl({"login", "--url", older.url(), "--token", kToken});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(older.requests().at(1).target, "/v1/releases?page_size=1");
  EXPECT_NE(o.out.find("has no /v1/whoami"), std::string::npos) << o.out;

  o = Fdctl({"login", "--url", older.url(), "--token", "fd_typo"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.err.find("refused the token"), std::string::npos) << o.err;
}

TEST_F(FdctlTest, WhoamiWithARefusedTokenExits1) {
  FakeGateway gateway(Whoami);
  Outcome o = Fdctl({"whoami", "--url", gateway.url(), "--token", "fd_typo"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: UNAUTHENTICATED: unknown token\n");
  o = Fdctl({"whoami", "--url", gateway.url(), "--token", kToken, "--json"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(o.out)["name"], "ci-pipeline");
}

TEST_F(FdctlTest, VersionFlagAndCommandPrintTheBuildsVersion) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"--version"}, {"version"}, {"--version", "--no-color"}}) {
    Outcome o = Fdctl(argv);
    EXPECT_EQ(o.code, kExitOk) << ::testing::PrintToString(argv) << o.err;
    EXPECT_TRUE(std::regex_match(o.out, std::regex(R"(fdctl 0\.1\.0( \(commit [0-9a-f]{7,40}(-dirty)?\))?\n)")))
        << o.out;
  }
  Outcome o = Fdctl({"version", "--json"});
  ASSERT_EQ(o.code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(o.out)["version"], "0.1.0");
  // release create's --version still takes a value.
  o = Fdctl({"release", "create", "--service", "api", "--env", "staging", "--commit", "abc1234",
             "--version"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--version needs a value"), std::string::npos) << o.err;
}

TEST_F(FdctlTest, HelpWorksForEveryCommandWithDashHAndDashDashHelp) {
  const CommandTable table = BuiltinCommands();
  for (const Command& command : table.commands()) {
    for (const char* flag : {"-h", "--help"}) {
      std::vector<std::string> argv = command.words;
      argv.push_back(flag);
      Outcome o = Fdctl(argv);
      EXPECT_EQ(o.code, kExitOk) << command.Name() << " " << flag << "\n" << o.err;
      EXPECT_EQ(o.out.rfind("Usage: fdctl " + command.Name(), 0), 0u) << o.out;
    }
  }
}

TEST_F(FdctlTest, EnvAndEnvironmentAreOneFlagInEveryCommand) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.rfind("/v1/incidents", 0) == 0) {
      return CannedResponse{200, R"({"incidents":[],"next_page_token":""})"};
    }
    return CannedResponse{200, R"({"releases":[],"next_page_token":""})"};
  });
  env_["FLIGHTDECK_URL"] = gateway.url();
  // A release command declared with --env, given --environment; an incident command declared
  // with --environment, given --env.
  Outcome o = Fdctl({"release", "list", "--environment", "production"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().back().target, "/v1/releases?environment=production");
  o = Fdctl({"incident", "list", "--env", "production"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(gateway.requests().back().target.find("environment=production"), std::string::npos)
      << gateway.requests().back().target;
  o = Fdctl({"release", "create", "--service", "api", "--environment", "staging", "--version", "1",
             "--commit", "abc1234", "--json"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(nlohmann::json::parse(gateway.requests().back().body)["environment"], "staging");
  o = Fdctl({"release", "create", "--help"});
  EXPECT_NE(o.out.find("--env, --environment E"), std::string::npos) << o.out;
}

TEST_F(FdctlTest, MistypedCommandsAndFlagsGetADidYouMean) {
  struct Case {
    std::vector<std::string> argv;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"relase", "list"}, "unknown command 'relase' (did you mean `fdctl release`?)"},
      {{"inc", "list"}, "unknown command 'inc' (did you mean `fdctl incident`?)"},
      {{"release", "lsit"}, "unknown command 'lsit' (did you mean `fdctl release list`?)"},
      {{"backup", "target", "craete"}, "(did you mean `fdctl backup target create`?)"},
      {{"release", "list", "--servce", "api"}, "unknown flag --servce (did you mean --service?)"},
      {{"release", "list", "--enviroment", "x"}, "(did you mean --environment?)"},
  };
  for (const Case& c : cases) {
    Outcome o = Fdctl(c.argv);
    EXPECT_EQ(o.code, kExitUsage) << ::testing::PrintToString(c.argv);
    EXPECT_NE(o.err.find(c.message), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("Usage:"), std::string::npos) << o.err;
  }
  Outcome o = Fdctl({"frobnicate"});
  EXPECT_EQ(o.err.find("did you mean"), std::string::npos) << "no wild guesses: " << o.err;
  EXPECT_NE(o.err.find("Commands: login, whoami, status, release"), std::string::npos) << o.err;
}

TEST_F(FdctlTest, ColourOnlyOnATerminalWithoutNoColor) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, std::string(R"({"releases":[)") + kRelease +
                                   R"(,{"id":"r-43","state":"FAILED"},{"id":"r-44","state":"SUCCEEDED"}]})"};
  });
  env_["FLIGHTDECK_URL"] = gateway.url();
  const std::string red_failed = "\033[31mFAILED\033[0m";
  const std::string green_succeeded = "\033[32mSUCCEEDED\033[0m";

  Outcome piped = Fdctl({"release", "list"});
  EXPECT_EQ(piped.out.find('\033'), std::string::npos) << "no colour into a pipe";

  terminal_ = true;
  Outcome tty = Fdctl({"release", "list"});
  EXPECT_NE(tty.out.find(red_failed), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find(green_succeeded), std::string::npos) << tty.out;
  // Columns line up as without colour: the same text once the escape codes are gone.
  EXPECT_EQ(std::regex_replace(tty.out, std::regex("\033\\[[0-9;]*m"), ""), piped.out);

  EXPECT_EQ(Fdctl({"release", "list", "--no-color"}).out, piped.out);
  EXPECT_EQ(Fdctl({"release", "list", "--json"}).out.find('\033'), std::string::npos);
  env_["NO_COLOR"] = "1";
  EXPECT_EQ(Fdctl({"release", "list"}).out, piped.out);
  env_["NO_COLOR"] = "";
  env_["TERM"] = "dumb";
  EXPECT_EQ(Fdctl({"release", "list"}).out, piped.out);
}

}  // namespace
}  // namespace flightdeck::cli
