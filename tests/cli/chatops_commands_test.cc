// fdctl chatops link|list|unlink against a fake gateway.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::Outcome;
using testing::RecordedRequest;

class ChatOpsCommandsTest : public FdctlTest {
 protected:
  ChatOpsCommandsTest()
      : gateway_([](const RecordedRequest& r) {
          if (r.method == "POST" && r.target == "/v1/chatops/identities") {
            nlohmann::json body = nlohmann::json::parse(r.body);
            body["created_by"] = "bootstrap-admin";
            body["created_at"] = "2026-12-05T01:00:00Z";
            return CannedResponse{200, body.dump()};
          }
          if (r.method == "GET" && r.target.rfind("/v1/chatops/identities", 0) == 0) {
            return CannedResponse{200, R"({"identities":[
              {"platform":"slack","team_id":"T1","user_id":"U2CERLKJA","name":"alice","role":"DEPLOYER",
               "created_by":"bootstrap-admin","created_at":"2026-12-05T01:00:00.5Z"}]})"};
          }
          if (r.method == "DELETE" && r.target == "/v1/chatops/identities?platform=slack&team_id=T1&user_id=U2CERLKJA") {
            return CannedResponse{200, "{}"};
          }
          return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":"slack user U9 of team T1 is not linked"}})"};
        }) {
    env_["FLIGHTDECK_URL"] = gateway_.url();
  }

  FakeGateway gateway_;
};

TEST_F(ChatOpsCommandsTest, LinkSendsTheChatUserAndTheRole) {
  Outcome o = Fdctl({"chatops", "link", "Slack", "T1", "U2CERLKJA", "alice", "--role", "deployer"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(nlohmann::json::parse(gateway_.requests().at(0).body),
            nlohmann::json::parse(
                R"({"platform":"slack","team_id":"T1","user_id":"U2CERLKJA","name":"alice","role":"DEPLOYER"})"));
  EXPECT_EQ(o.out, "Linked slack user U2CERLKJA (team T1) to alice (DEPLOYER): their chat commands now act as alice.\n");
  o = Fdctl({"chatops", "link", "slack", "T1", "U2CERLKJA", "alice"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--role is required"), std::string::npos) << o.err;
}

TEST_F(ChatOpsCommandsTest, ListShowsATableAndFiltersByPlatform) {
  Outcome o = Fdctl({"chatops", "list", "--platform", "slack"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway_.requests().at(0).target, "/v1/chatops/identities?platform=slack");
  EXPECT_NE(o.out.find("PLATFORM"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("U2CERLKJA"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("alice"), std::string::npos) << o.out;
}

TEST_F(ChatOpsCommandsTest, UnlinkDeletesByPlatformTeamAndUser) {
  Outcome o = Fdctl({"chatops", "unlink", "slack", "T1", "U2CERLKJA"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway_.requests().at(0).method, "DELETE");
  EXPECT_EQ(o.out, "Unlinked slack user U2CERLKJA (team T1): their chat commands are refused from now on.\n");
  o = Fdctl({"chatops", "unlink", "slack", "T1", "U9"});
  EXPECT_NE(o.code, kExitOk);
  EXPECT_NE(o.err.find("is not linked"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace flightdeck::cli
