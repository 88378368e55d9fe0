// End to end: the authorization matrix, generated from the one method table
// (common/api/methods.cc). Every REST route is called by every role, by a caller without a token
// and by a revoked token, through the running gateway; the answer must be 401/403 exactly where
// the table says the caller may not, and neither where it may. Each route is called with an
// empty body (allowed callers then reach the service behind it, which must agree with the
// table), and routes that take a body once more with one that is not JSON: authorization comes
// before validation, so a refused caller sees 401/403, never a 400 that would tell them what the
// route expects, and an allowed one sees exactly the 400 (and nothing reaches a service).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/api/methods.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;

// Fills the route's {parameters} with a name that exists nowhere: reads answer 404 or 400, writes
// change nothing.
std::string ProbePath(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out.push_back(pattern[i]);
      continue;
    }
    i = pattern.find('}', i);
    out += "rbac-probe";
  }
  return out;
}

struct Caller {
  std::string label;
  std::string token;                           // empty: no Authorization header
  api::Role role = v1::Token::ROLE_UNSPECIFIED;  // UNSPECIFIED: not authenticated
};

TEST(RbacMatrix, EveryRouteTimesEveryCallerIsDecidedAsTheTableSays) {
  // Rate limits off: the matrix sends a few hundred calls from one address and is about roles.
  Stack stack(std::map<std::string, std::string>{{"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"}});
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();
  auto admin_call = [&](const std::string& method, const std::string& path, const std::string& body) {
    return HttpRequest(method, stack.gateway_url() + path, body,
                       {{"Authorization", "Bearer " + stack.admin_token()}});
  };
  std::vector<Caller> callers = {{"no token", "", v1::Token::ROLE_UNSPECIFIED}};
  for (api::Role role : {v1::Token::VIEWER, v1::Token::DEPLOYER, v1::Token::OPERATOR, v1::Token::ADMIN,
                         v1::Token::INGEST}) {
    std::string name = "rbac-" + api::RoleName(role);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    HttpResponse r = admin_call("POST", "/v1/tokens", json{{"name", name}, {"role", api::RoleName(role)}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    callers.push_back({api::RoleName(role), json::parse(r.body).value("secret", ""), role});
  }
  HttpResponse revoked = admin_call("POST", "/v1/tokens", json{{"name", "rbac-revoked"}, {"role", "ADMIN"}}.dump());
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  ASSERT_EQ(admin_call("DELETE", "/v1/tokens/rbac-revoked", "").status, 200);
  callers.push_back({"revoked ADMIN token", json::parse(revoked.body).value("secret", ""),
                     v1::Token::ROLE_UNSPECIFIED});

  std::vector<std::string> wrong;
  int routes = 0;
  for (const api::Method& method : api::Methods()) {
    if (method.http_method == nullptr || method.http_path == nullptr) continue;
    ++routes;
    const std::string path = ProbePath(method.http_path);
    const std::string verb = method.http_method;
    const bool takes_body = verb == "POST" || verb == "PUT" || verb == "PATCH";
    for (const Caller& caller : callers) {
      std::map<std::string, std::string> headers;
      if (!caller.token.empty()) headers["Authorization"] = "Bearer " + caller.token;
      const bool authenticated = caller.role != v1::Token::ROLE_UNSPECIFIED;
      const bool allowed = authenticated && api::RoleAllows(caller.role, method.role);
      for (const std::string& body : {std::string(), std::string("{not json")}) {
        if (!body.empty() && !takes_body) continue;
        HttpResponse r = HttpRequest(verb, stack.gateway_url() + path, body, headers);
        std::string expected;
        bool ok = false;
        if (!authenticated) {
          expected = "401";
          ok = r.status == 401;
        } else if (!allowed) {
          expected = "403";
          ok = r.status == 403;
        } else if (!body.empty()) {
          expected = "400";
          ok = r.status == 400;
        } else {
          expected = "neither 401 nor 403";
          ok = r.status != 0 && r.status != 401 && r.status != 403;
        }
        if (!ok) {
          wrong.push_back(verb + " " + method.http_path + (body.empty() ? "" : " (body not JSON)") + " as " +
                          caller.label + " (table: " + api::RoleName(method.role) + "): got " +
                          std::to_string(r.status) + ", expected " + expected + ": " + r.body.substr(0, 160));
        }
      }
    }
  }
  EXPECT_GT(routes, 60) << "the table's REST routes";
  std::string report;
  for (const std::string& w : wrong) report += "  " + w + "\n";
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " of " << routes * callers.size()
                             << " decisions differ from the method table:\n" << report;
}

}  // namespace
}  // namespace flightdeck::test
