// End to end: the foundation's vertical slice driven over REST the way a pipeline would, with
// all five processes running against the test PostgreSQL and Redis.
#include <chrono>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;

class ReleasesSliceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    receiver_ = new OtlpReceiver();
    stack_ = new Stack({{"OTEL_EXPORTER_OTLP_ENDPOINT", receiver_->endpoint()},
                        {"OTEL_BSP_SCHEDULE_DELAY", "100"},
                        {"OTEL_TRACES_SAMPLER", "parentbased_always_on"}});
    ready_ = stack_->WaitReady();
    if (!ready_) return;
    deployer_ = CreateToken("ci-pipeline", "DEPLOYER");
    viewer_ = CreateToken("dashboard", "VIEWER");
  }
  static void TearDownTestSuite() {
    delete stack_;
    delete receiver_;
    stack_ = nullptr;
    receiver_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start"; }

  static std::string CreateToken(const std::string& name, const std::string& role) {
    HttpResponse r = Call("POST", "/v1/tokens", stack_->admin_token(),
                          json{{"name", name}, {"role", role}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("secret", "");
  }

  static HttpResponse Call(const std::string& method, const std::string& path,
                           const std::string& token, const std::string& body = "",
                           std::map<std::string, std::string> headers = {}) {
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return HttpRequest(method, stack_->gateway_url() + path, body, headers);
  }

  static json CreateRelease(const std::string& service, const std::string& sha,
                            std::map<std::string, std::string> headers = {},
                            const std::string& environment = "staging") {
    HttpResponse r = Call("POST", "/v1/releases", deployer_,
                          json{{"service", service},
                               {"environment", environment},
                               {"version", "v1.0." + sha.substr(0, 3)},
                               {"commit_sha", sha},
                               {"image", "registry.example/" + service + ":" + sha}}
                              .dump(),
                          headers);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  static OtlpReceiver* receiver_;
  static Stack* stack_;
  static bool ready_;
  static std::string deployer_;
  static std::string viewer_;
};

OtlpReceiver* ReleasesSliceTest::receiver_ = nullptr;
Stack* ReleasesSliceTest::stack_ = nullptr;
bool ReleasesSliceTest::ready_ = false;
std::string ReleasesSliceTest::deployer_;
std::string ReleasesSliceTest::viewer_;

TEST_F(ReleasesSliceTest, CreateGetAndListWithATokenOverRest) {
  json created = CreateRelease("checkout", "9fceb02d0ae598e95dc970b74767f19372d61af8");
  ASSERT_TRUE(created.is_object());
  EXPECT_EQ(created["service"], "checkout");
  EXPECT_EQ(created["environment"], "staging");
  EXPECT_EQ(created["state"], "PENDING");
  EXPECT_EQ(created["created_by"], "ci-pipeline");
  EXPECT_EQ(created["commit_sha"], "9fceb02d0ae598e95dc970b74767f19372d61af8");
  std::string id = created["id"];
  ASSERT_EQ(id.size(), 36u);

  HttpResponse got = Call("GET", "/v1/releases/" + id, viewer_);
  ASSERT_EQ(got.status, 200) << got.body;
  json read = json::parse(got.body);
  // The pipeline has moved on (PENDING -> CANARY); what the client created is unchanged.
  for (const char* field : {"id", "service", "environment", "version", "commit_sha", "image",
                            "created_by", "created_at", "trace_id"}) {
    EXPECT_EQ(read[field], created[field]) << field;
  }
  // Served again (from the cache this time, unless the pipeline changed it) with the same id.
  HttpResponse again = Call("GET", "/v1/releases/" + id, viewer_);
  EXPECT_EQ(json::parse(again.body)["id"], id);

  CreateRelease("checkout", "abcdef1", {}, "qa");
  CreateRelease("payments", "1234567");
  HttpResponse list = Call("GET", "/v1/releases?service=checkout&page_size=1", viewer_);
  ASSERT_EQ(list.status, 200) << list.body;
  json page1 = json::parse(list.body);
  ASSERT_EQ(page1["releases"].size(), 1u);
  EXPECT_EQ(page1["releases"][0]["commit_sha"], "abcdef1");  // newest first
  std::string token = page1["next_page_token"];
  ASSERT_FALSE(token.empty());
  json page2 = json::parse(
      Call("GET", "/v1/releases?service=checkout&page_size=1&page_token=" + token, viewer_).body);
  ASSERT_EQ(page2["releases"].size(), 1u);
  EXPECT_EQ(page2["releases"][0]["id"], id);
  json all = json::parse(Call("GET", "/v1/releases?environment=staging&page_size=500", viewer_).body);
  std::set<std::string> services;
  for (const json& r : all["releases"]) services.insert(r["service"].get<std::string>());
  EXPECT_TRUE(services.count("payments"));
  EXPECT_EQ(all["next_page_token"], "");
}

TEST_F(ReleasesSliceTest, RequestsWithoutATokenAre401) {
  HttpResponse r = Call("GET", "/v1/releases", "");
  EXPECT_EQ(r.status, 401);
  json body = json::parse(r.body, nullptr, false);
  EXPECT_EQ(body["error"]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(r.headers["www-authenticate"].rfind("Bearer", 0), 0u);
  EXPECT_EQ(Call("GET", "/v1/releases", "fd_not_a_real_token").status, 401);
}

TEST_F(ReleasesSliceTest, AViewerCreatingIs403AndAudited) {
  HttpResponse r = Call("POST", "/v1/releases", viewer_,
                        R"({"service":"checkout","environment":"staging","version":"v1","commit_sha":"abcdef1"})",
                        {{"X-Request-Id", "viewer-tries-to-deploy"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(r.headers["x-request-id"], "viewer-tries-to-deploy");

  HttpResponse audit = Call("GET", "/v1/audit?actor=dashboard", stack_->admin_token());
  ASSERT_EQ(audit.status, 200) << audit.body;
  json entries = json::parse(audit.body)["entries"];
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries[0]["action"], "POST /v1/releases");
  EXPECT_EQ(entries[0]["status"], 403);
  EXPECT_EQ(entries[0]["request_id"], "viewer-tries-to-deploy");
  // Only an admin reads the audit log.
  EXPECT_EQ(Call("GET", "/v1/audit", deployer_).status, 403);
}

TEST_F(ReleasesSliceTest, BadCommitShaIs400NamingTheField) {
  HttpResponse r = Call("POST", "/v1/releases", deployer_,
                        R"({"service":"checkout","environment":"staging","version":"v1","commit_sha":"not-hex!"})");
  EXPECT_EQ(r.status, 400);
  json body = json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("commit_sha"), std::string::npos);

  HttpResponse bad_name = Call("POST", "/v1/releases", deployer_,
                               R"({"service":"Check_Out","environment":"staging","version":"v1","commit_sha":"abcdef1"})");
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_NE(bad_name.body.find("service"), std::string::npos);
  HttpResponse unknown_field = Call("POST", "/v1/releases", deployer_, R"({"servise":"x"})");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_NE(unknown_field.body.find("servise"), std::string::npos);
  HttpResponse not_json = Call("POST", "/v1/releases", deployer_, "{not json");
  EXPECT_EQ(not_json.status, 400);
  HttpResponse bad_page = Call("GET", "/v1/releases?page_size=abc", viewer_);
  EXPECT_EQ(bad_page.status, 400);
  EXPECT_NE(bad_page.body.find("page_size"), std::string::npos);
  HttpResponse bad_id = Call("GET", "/v1/releases/nope", viewer_);
  EXPECT_EQ(bad_id.status, 400);
  HttpResponse missing = Call("GET", "/v1/releases/00000000-0000-4000-8000-000000000000", viewer_);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "NOT_FOUND");
}

TEST_F(ReleasesSliceTest, RoutingErrorsUseTheErrorShape) {
  HttpResponse not_found = Call("GET", "/v1/nothing-here", viewer_);
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(json::parse(not_found.body)["error"]["code"], "NOT_FOUND");
  HttpResponse wrong_method = Call("DELETE", "/v1/releases", deployer_);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(json::parse(wrong_method.body)["error"]["message"].get<std::string>().find("GET"),
            std::string::npos);
  EXPECT_NE(wrong_method.headers["allow"].find("POST"), std::string::npos);
  std::string huge(100 * 1024, 'x');
  HttpResponse too_big = Call("POST", "/v1/releases", deployer_, "{\"version\":\"" + huge + "\"}");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(json::parse(too_big.body, nullptr, false)["error"]["code"], "RESOURCE_EXHAUSTED");
}

TEST_F(ReleasesSliceTest, OpenEndpointsNeedNoToken) {
  EXPECT_EQ(Call("GET", "/healthz", "").status, 200);
  HttpResponse ready = Call("GET", "/readyz", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(json::parse(ready.body)["checks"]["releases"], "ok");
  HttpResponse metrics = Call("GET", "/metrics", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("flightdeck_http_requests_total"), std::string::npos);
  for (const char* service : {"releases", "backups", "health", "incidents"}) {
    EXPECT_EQ(HttpRequest("GET", stack_->admin_url(service) + "/healthz").status, 200) << service;
    EXPECT_EQ(HttpRequest("GET", stack_->admin_url(service) + "/readyz").status, 200) << service;
    HttpResponse m = HttpRequest("GET", stack_->admin_url(service) + "/metrics");
    EXPECT_EQ(m.status, 200) << service;
  }
  HttpResponse releases_metrics = HttpRequest("GET", stack_->admin_url("releases") + "/metrics");
  EXPECT_NE(releases_metrics.body.find("grpc_server_handled_total"), std::string::npos);
}

TEST_F(ReleasesSliceTest, AdminManagesTokens) {
  std::string temp = CreateToken("short-lived", "VIEWER");
  EXPECT_EQ(Call("GET", "/v1/releases", temp).status, 200);
  HttpResponse dup = Call("POST", "/v1/tokens", stack_->admin_token(),
                          R"({"name":"short-lived","role":"VIEWER"})");
  EXPECT_EQ(dup.status, 409);
  HttpResponse list = Call("GET", "/v1/tokens", stack_->admin_token());
  EXPECT_NE(list.body.find("short-lived"), std::string::npos);
  EXPECT_EQ(list.body.find(temp), std::string::npos) << "secrets are shown once only";
  EXPECT_EQ(Call("DELETE", "/v1/tokens/short-lived", stack_->admin_token()).status, 200);
  EXPECT_EQ(Call("GET", "/v1/releases", temp).status, 401);
  EXPECT_EQ(Call("POST", "/v1/tokens", deployer_, R"({"name":"x","role":"ADMIN"})").status, 403);
  HttpResponse bad_role = Call("POST", "/v1/tokens", stack_->admin_token(), R"({"name":"x"})");
  EXPECT_EQ(bad_role.status, 400);
  EXPECT_NE(bad_role.body.find("role"), std::string::npos);
}

// One trace from the caller's traceparent through the gateway, gRPC and SQL.
TEST_F(ReleasesSliceTest, OneTraceFromRestToSql) {
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller_span = "00f067aa0ba902b7";
  json created = CreateRelease("traced", "abc1234",
                               {{"traceparent", "00-" + trace_id + "-" + caller_span + "-01"}});
  EXPECT_EQ(created["trace_id"], trace_id);

  struct Span {
    std::string service, name, id, parent;
    int kind;
    bool sql;
  };
  std::vector<Span> spans;
  auto collect = [&] {
    spans.clear();
    for (const std::string& body : receiver_->Bodies()) {
      json doc = json::parse(body, nullptr, false);
      if (!doc.is_object()) continue;
      for (const json& rs : doc["resourceSpans"]) {
        std::string service;
        for (const json& a : rs["resource"]["attributes"]) {
          if (a["key"] == "service.name") service = a["value"]["stringValue"];
        }
        for (const json& ss : rs["scopeSpans"]) {
          for (const json& s : ss["spans"]) {
            if (s["traceId"] != trace_id) continue;
            bool sql = false;
            for (const json& a : s.value("attributes", json::array())) {
              if (a["key"] == "db.system" && a["value"].value("stringValue", "") == "postgresql") sql = true;
            }
            spans.push_back({service, s["name"], s["spanId"], s.value("parentSpanId", ""),
                             s["kind"].get<int>(), sql});
          }
        }
      }
    }
  };
  auto find = [&](const std::string& service, int kind, const std::string& parent) -> const Span* {
    for (const Span& s : spans) {
      if (s.service == service && s.kind == kind && s.parent == parent) return &s;
    }
    return nullptr;
  };
  const Span* gw_server = nullptr;
  const Span* gw_client = nullptr;
  const Span* rel_server = nullptr;
  bool sql_under_releases = false;
  WaitUntil([&] {
    collect();
    gw_server = find("flightdeck-gateway", 2, caller_span);
    gw_client = gw_server ? find("flightdeck-gateway", 3, gw_server->id) : nullptr;
    rel_server = gw_client ? find("flightdeck-releases", 2, gw_client->id) : nullptr;
    sql_under_releases = false;
    if (rel_server) {
      // SQL spans may sit under intermediate spans (a transaction span): walk up to the server.
      for (const Span& s : spans) {
        if (!s.sql || s.service != "flightdeck-releases") continue;
        std::string p = s.parent;
        for (int depth = 0; depth < 5 && !p.empty(); ++depth) {
          if (p == rel_server->id) sql_under_releases = true;
          const Span* up = nullptr;
          for (const Span& c : spans) if (c.id == p) up = &c;
          p = up ? up->parent : "";
        }
      }
    }
    return sql_under_releases;
  }, std::chrono::seconds(15), std::chrono::milliseconds(200));
  ASSERT_NE(gw_server, nullptr) << "no gateway server span continuing the caller's span";
  ASSERT_NE(gw_client, nullptr) << "no gateway client span under the server span";
  ASSERT_NE(rel_server, nullptr) << "no releases server span under the gateway client span";
  EXPECT_TRUE(sql_under_releases) << "no SQL span in the releases service under its server span";
  EXPECT_EQ(gw_server->name, "POST /v1/releases");
}

}  // namespace
}  // namespace flightdeck::test
