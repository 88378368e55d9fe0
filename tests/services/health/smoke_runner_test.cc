// Integration: smoke runs through SmokeServiceImpl and the durable job queue on a fresh
// database, against a local HTTP server the test starts.
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <pqxx/pqxx>

#include "common/clock/clock.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/secrets/secrets.h"
#include "common/config/config.h"
#include "common/net/egress.h"
#include "services/health/smoke/smoke.h"
#include "tests/services/health/smoke_http_server.h"
#include "tests/support/test_database.h"

namespace flightdeck::health {
namespace {

using namespace std::chrono_literals;
using testing::Reply;
using testing::SeenRequest;
using testing::SmokeHttpServer;

Reply Route(const SeenRequest& r) {
  if (r.path == "/ok") {
    return {200, R"({"status":"up","count":3,"ok":true,"data":{"items":[{"state":"ready"}]}})"};
  }
  if (r.path == "/fail") return {503, std::string("database\0unavailable: ", 22) + std::string(2000, 'x')};
  if (r.path.rfind("/slow", 0) == 0) return {200, R"({"status":"up"})", std::stoi(r.path.substr(r.path.find('=') + 1))};
  if (r.path == "/echo") return {r.method == "POST" ? 201 : 200, r.body};
  return {404, "not found"};
}

v1::SmokeCheck Check(const std::string& name, const std::string& url) {
  v1::SmokeCheck c;
  c.set_name(name);
  c.set_url(url);
  return c;
}

secrets::KeyRing TestKeys() {
  secrets::KeyRing keys;
  EXPECT_TRUE(secrets::KeyRing::Parse("smoke:" + std::string(43, 'B'), "test keys", &keys).ok());
  return keys;
}

class SmokeRunnerTest : public ::testing::Test {
 protected:
  SmokeRunnerTest()
      : pool_({db_.url(), 4, 5000ms, 4, "test"}),
        migrated_(Migrate()),
        queue_(pool_, "health", clock_),
        worker_(queue_, {"test-worker", 1, 50ms, 60000ms}),
        keys_(TestKeys()),
        service_(pool_, queue_, clock_, [this] { ++nudges_; }, &keys_),
        server_(Route) {
    service_.RegisterJobs(worker_);
  }

  bool Migrate() {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("health"));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok();
  }

  // Runs due jobs until none is left (each group schedules the next).
  void RunAll() {
    for (int i = 0; i < 200 && worker_.RunOnce() > 0; ++i) {
    }
  }

  v1::SmokeRun Start(const v1::CreateSmokeRunRequest& req) {
    grpc::ServerContext ctx;
    v1::SmokeRun run;
    grpc::Status s = service_.CreateSmokeRun(&ctx, &req, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(run.state(), v1::SmokeRun::RUNNING);
    return run;
  }

  v1::SmokeRun Get(const std::string& id) {
    grpc::ServerContext ctx;
    v1::GetSmokeRunRequest req;
    req.set_id(id);
    v1::SmokeRun run;
    grpc::Status s = service_.GetSmokeRun(&ctx, &req, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return run;
  }

  test::TestDatabase db_;
  FakeClock clock_;
  db::Pool pool_;
  bool migrated_;
  jobs::Queue queue_;
  jobs::Worker worker_;
  int nudges_ = 0;
  secrets::KeyRing keys_;
  SmokeServiceImpl service_;
  SmokeHttpServer server_;
};

TEST_F(SmokeRunnerTest, PassingAndFailingChecksAreRecordedInOrderWithTheFailingBody) {
  v1::CreateSmokeRunRequest req;
  req.set_base_url(server_.url());
  v1::SmokeCheck ok = Check("status page", "/ok");
  ok.set_body_contains("\"up\"");
  (*ok.mutable_json_path_equals())["$.status"] = "up";
  (*ok.mutable_json_path_equals())["data.items[0].state"] = "ready";
  (*ok.mutable_json_path_equals())["$.count"] = "3";
  (*ok.mutable_json_path_equals())["$.ok"] = "true";
  (*ok.mutable_headers())["X-Api-Key"] = "k-secret-1";
  *req.add_checks() = ok;
  *req.add_checks() = Check("database", server_.url() + "/fail");
  v1::SmokeCheck post = Check("create order", "echo");
  post.set_method("POST");
  post.set_body(R"({"sku":"a1"})");
  post.set_expect_status(201);
  (*post.mutable_json_path_equals())["sku"] = "a1";
  *req.add_checks() = post;

  v1::SmokeRun started = Start(req);
  EXPECT_GE(nudges_, 1);
  EXPECT_EQ(started.checks(0).headers().at("X-Api-Key"), "***");
  RunAll();

  v1::SmokeRun run = Get(started.id());
  ASSERT_EQ(run.state(), v1::SmokeRun::FAILED);
  ASSERT_EQ(run.results_size(), 3);
  EXPECT_EQ(run.passed_count(), 2);
  EXPECT_EQ(run.failed_count(), 1);
  EXPECT_TRUE(run.has_finished_at());
  EXPECT_EQ(run.results(0).name(), "status page");
  EXPECT_TRUE(run.results(0).passed()) << run.results(0).error();
  EXPECT_EQ(run.results(0).status_code(), 200);
  EXPECT_GT(run.results(0).latency_ms(), 0);
  EXPECT_TRUE(run.results(0).body_excerpt().empty());
  EXPECT_EQ(run.results(1).name(), "database");
  EXPECT_FALSE(run.results(1).passed());
  EXPECT_EQ(run.results(1).status_code(), 503);
  EXPECT_EQ(run.results(1).error(), "status 503, want 200");
  // Cut at 512 bytes; a NUL (which the stored run, jsonb, cannot hold) shown as '?'.
  EXPECT_EQ(run.results(1).body_excerpt(), ("database?unavailable: " + std::string(2000, 'x')).substr(0, 512));
  EXPECT_TRUE(run.results(2).passed()) << run.results(2).error();
  EXPECT_EQ(run.checks(0).headers().at("X-Api-Key"), "***");

  // The secret header was sent, and the POST body too.
  bool saw_key = false;
  for (const SeenRequest& r : server_.requests()) {
    for (const auto& [name, value] : r.headers) saw_key = saw_key || (name == "x-api-key" && value == "k-secret-1");
    if (r.path == "/echo") {
      EXPECT_EQ(r.body, R"({"sku":"a1"})");
    }
  }
  EXPECT_TRUE(saw_key);

  // At rest the secret header is sealed, before and after the results were recorded.
  pqxx::connection c(db_.url());
  pqxx::work tx(c);
  const std::string detail =
      tx.exec_params1("SELECT detail::text FROM health.smoke_runs WHERE id = $1::uuid", started.id())[0].as<std::string>();
  EXPECT_THAT(detail, ::testing::Not(::testing::HasSubstr("k-secret-1")));
  EXPECT_THAT(detail, ::testing::HasSubstr("fdsealed:smoke:"));
}

TEST_F(SmokeRunnerTest, SavedSuiteKeepsSecretHeadersSealedAndItsRunsSendThem) {
  v1::SmokeSuite suite;
  suite.set_name("checkout");
  suite.set_base_url(server_.url());
  v1::SmokeCheck ok = Check("status page", "/ok");
  (*ok.mutable_headers())["Authorization"] = "Bearer tok-123";
  (*ok.mutable_headers())["Accept"] = "application/json";
  *suite.add_checks() = ok;
  grpc::ServerContext ctx;
  v1::SmokeSuite saved;
  grpc::Status s = service_.PutSmokeSuite(&ctx, &suite, &saved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(saved.checks(0).headers().at("Authorization"), "***");
  {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    const std::string detail =
        tx.exec_params1("SELECT detail::text FROM health.smoke_suites WHERE name = 'checkout'")[0].as<std::string>();
    EXPECT_THAT(detail, ::testing::Not(::testing::HasSubstr("tok-123")));
    EXPECT_THAT(detail, ::testing::HasSubstr("application/json")) << "only secret-looking headers are sealed";
  }

  v1::CreateSmokeRunRequest req;
  req.set_suite("checkout");
  v1::SmokeRun started = Start(req);
  RunAll();
  EXPECT_EQ(Get(started.id()).state(), v1::SmokeRun::PASSED);
  bool saw = false;
  for (const SeenRequest& r : server_.requests()) {
    for (const auto& [name, value] : r.headers) saw = saw || (name == "authorization" && value == "Bearer tok-123");
  }
  EXPECT_TRUE(saw);
}

TEST_F(SmokeRunnerTest, PlainHeadersStoredBeforeSealingStillSendAndGetSealedWhenRewritten) {
  v1::CreateSmokeRunRequest req;
  req.set_base_url(server_.url());
  *req.add_checks() = Check("first", "/ok");
  v1::SmokeCheck second = Check("second", "/ok");
  (*second.mutable_headers())["X-Api-Key"] = "legacy-key-1";
  *req.add_checks() = second;
  v1::SmokeRun started = Start(req);
  pqxx::connection c(db_.url());
  {
    // What a release before sealing wrote: the value in plain text.
    pqxx::work tx(c);
    tx.exec_params("UPDATE health.smoke_runs SET detail = jsonb_set(detail, '{checks,1,headers,X-Api-Key}', "
                   "'\"legacy-key-1\"') WHERE id = $1::uuid", started.id());
    tx.commit();
  }
  RunAll();
  EXPECT_EQ(Get(started.id()).state(), v1::SmokeRun::PASSED);
  bool saw = false;
  for (const SeenRequest& r : server_.requests()) {
    for (const auto& [name, value] : r.headers) saw = saw || (name == "x-api-key" && value == "legacy-key-1");
  }
  EXPECT_TRUE(saw);
  pqxx::work tx(c);
  const std::string detail =
      tx.exec_params1("SELECT detail::text FROM health.smoke_runs WHERE id = $1::uuid", started.id())[0].as<std::string>();
  EXPECT_THAT(detail, ::testing::Not(::testing::HasSubstr("legacy-key-1")));
}

TEST_F(SmokeRunnerTest, WithoutAMasterKeySecretHeadersAreRefusedNamingTheField) {
  SmokeServiceImpl keyless(pool_, queue_, clock_, [] {});
  v1::CreateSmokeRunRequest req;
  req.set_base_url(server_.url());
  *req.add_checks() = Check("plain", "/ok");
  v1::SmokeCheck secret = Check("with token", "/ok");
  (*secret.mutable_headers())["X-Auth-Token"] = "t-1";
  *req.add_checks() = secret;
  grpc::ServerContext ctx;
  v1::SmokeRun run;
  grpc::Status s = keyless.CreateSmokeRun(&ctx, &req, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), ::testing::StartsWith("checks[1].headers[\"X-Auth-Token\"]: "));
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("FLIGHTDECK_MASTER_KEY"));

  // Checks without secrets run as before.
  req.mutable_checks()->RemoveLast();
  s = keyless.CreateSmokeRun(&ctx, &req, &run);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(SmokeRunnerTest, AdjacentConcurrentChecksOverlapAndKeepTheirOrder) {
  v1::CreateSmokeRunRequest req;
  req.set_base_url(server_.url());
  for (int i = 0; i < 3; ++i) {
    v1::SmokeCheck c = Check("slow-" + std::to_string(i), "/slow?ms=" + std::to_string(400 - i * 100));
    c.set_concurrent(true);
    *req.add_checks() = c;
  }
  *req.add_checks() = Check("after", "/ok");
  v1::SmokeRun started = Start(req);
  const auto t0 = std::chrono::steady_clock::now();
  RunAll();
  const auto took = std::chrono::steady_clock::now() - t0;

  v1::SmokeRun run = Get(started.id());
  ASSERT_EQ(run.state(), v1::SmokeRun::PASSED);
  ASSERT_EQ(run.results_size(), 4);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run.results(i).name(), "slow-" + std::to_string(i));
  EXPECT_EQ(run.results(3).name(), "after");
  EXPECT_EQ(server_.max_in_flight(), 3);
  EXPECT_LT(took, 900ms) << "the three slow checks (900 ms in a row) should have overlapped";
  EXPECT_GE(run.results(0).latency_ms(), 390);
}

TEST_F(SmokeRunnerTest, MissingJsonPathSlowAnswerAndTimeoutFailWithTheirReason) {
  v1::CreateSmokeRunRequest req;
  req.set_base_url(server_.url() + "/");
  v1::SmokeCheck path = Check("path", "/ok");
  (*path.mutable_json_path_equals())["$.a.b"] = "1";
  *req.add_checks() = path;
  v1::SmokeCheck slow = Check("slow", "/slow?ms=300");
  slow.set_max_latency_ms(100);
  *req.add_checks() = slow;
  v1::SmokeCheck hang = Check("hang", "/slow?ms=1500");
  hang.set_timeout_ms(200);
  *req.add_checks() = hang;
  v1::SmokeRun started = Start(req);
  RunAll();

  v1::SmokeRun run = Get(started.id());
  ASSERT_EQ(run.state(), v1::SmokeRun::FAILED);
  ASSERT_EQ(run.results_size(), 3);
  EXPECT_EQ(run.results(0).error(), "json path $.a.b: not found");
  EXPECT_EQ(run.results(0).body_excerpt().substr(0, 15), R"({"status":"up",)");
  EXPECT_EQ(run.results(1).status_code(), 200);
  EXPECT_NE(run.results(1).error().find("over the limit of 100 ms"), std::string::npos) << run.results(1).error();
  EXPECT_EQ(run.results(2).error().rfind("timeout", 0), 0u) << run.results(2).error();
  EXPECT_LT(run.results(2).latency_ms(), 1000);
  EXPECT_EQ(run.failed_count(), 3);
}

TEST_F(SmokeRunnerTest, AJobThatRunsTwiceRecordsOneResultSet) {
  v1::CreateSmokeRunRequest req;
  req.set_base_url(server_.url());
  *req.add_checks() = Check("first", "/slow?ms=200");
  *req.add_checks() = Check("second", "/ok");
  v1::SmokeRun started = Start(req);

  // Two attempts at the same group at once, as after an expired lease.
  std::thread other([&] { EXPECT_TRUE(service_.RunNextGroup(started.id()).ok()); });
  EXPECT_TRUE(service_.RunNextGroup(started.id()).ok());
  other.join();
  RunAll();
  EXPECT_TRUE(service_.RunNextGroup(started.id()).ok());  // after the end: nothing to do

  v1::SmokeRun run = Get(started.id());
  EXPECT_EQ(run.state(), v1::SmokeRun::PASSED);
  ASSERT_EQ(run.results_size(), 2);
  EXPECT_EQ(run.results(0).name(), "first");
  EXPECT_EQ(run.results(1).name(), "second");
}

TEST_F(SmokeRunnerTest, SavedSuitesRunByNameWithAnOverriddenBaseUrl) {
  grpc::ServerContext ctx;
  v1::SmokeSuite suite;
  suite.set_name("checkout-smoke");
  suite.set_base_url("http://127.0.0.1:1");  // nothing listens there
  *suite.add_checks() = Check("ok", "/ok");
  v1::SmokeSuite saved;
  ASSERT_TRUE(service_.PutSmokeSuite(&ctx, &suite, &saved).ok());
  EXPECT_EQ(saved.checks(0).method(), "GET");
  EXPECT_TRUE(saved.has_updated_at());

  suite.mutable_checks(0)->set_name("status");
  ASSERT_TRUE(service_.PutSmokeSuite(&ctx, &suite, &saved).ok());  // upsert
  v1::ListSmokeSuitesRequest list_req;
  v1::ListSmokeSuitesResponse list;
  ASSERT_TRUE(service_.ListSmokeSuites(&ctx, &list_req, &list).ok());
  ASSERT_EQ(list.suites_size(), 1);
  EXPECT_EQ(list.suites(0).checks(0).name(), "status");

  v1::CreateSmokeRunRequest req;
  req.set_suite("checkout-smoke");
  req.set_base_url(server_.url());
  v1::SmokeRun started = Start(req);
  EXPECT_EQ(started.suite(), "checkout-smoke");
  RunAll();
  v1::SmokeRun run = Get(started.id());
  EXPECT_EQ(run.state(), v1::SmokeRun::PASSED);
  ASSERT_EQ(run.results_size(), 1);
  EXPECT_EQ(run.results(0).name(), "status");

  v1::DeleteSmokeSuiteRequest del;
  del.set_name("checkout-smoke");
  v1::DeleteSmokeSuiteResponse deleted;
  ASSERT_TRUE(service_.DeleteSmokeSuite(&ctx, &del, &deleted).ok());
  v1::GetSmokeSuiteRequest get;
  get.set_name("checkout-smoke");
  EXPECT_EQ(service_.GetSmokeSuite(&ctx, &get, &saved).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::SmokeRun none;
  grpc::Status s = service_.CreateSmokeRun(&ctx, &req, &none);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "smoke suite \"checkout-smoke\" not found");
}

TEST_F(SmokeRunnerTest, BadRequestsAreRefusedNamingTheField) {
  grpc::ServerContext ctx;
  v1::SmokeRun run;
  v1::CreateSmokeRunRequest empty;
  grpc::Status s = service_.CreateSmokeRun(&ctx, &empty, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "checks: give the checks to run, or a saved suite's name in suite");

  v1::CreateSmokeRunRequest bad;
  *bad.add_checks() = Check("a", server_.url() + "/ok");
  *bad.add_checks() = Check("b", "/relative");
  s = service_.CreateSmokeRun(&ctx, &bad, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "checks[1].url: \"/relative\" is relative and the run has no base_url");

  v1::GetSmokeRunRequest get;
  get.set_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(service_.GetSmokeRun(&ctx, &get, &run).error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_id("nope");
  EXPECT_EQ(service_.GetSmokeRun(&ctx, &get, &run).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SmokeRunnerTest, ARunIsFoundByAUniquePrefixOfItsId) {
  {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    for (const char* id : {"abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002",
                           "abcd2222-9999-4000-8000-000000000003"}) {
      tx.exec_params("INSERT INTO health.smoke_runs (id, state, suite, detail, created_at) "
                     "VALUES ($1::uuid, 'PASSED', 'nightly', '{\"suite\":\"nightly\"}', now())",
                     std::string(id));
    }
    tx.commit();
  }
  EXPECT_EQ(Get("abcd1").id(), "abcd1111-0000-4000-8000-000000000001");
  EXPECT_EQ(Get("ABCD2222-9").id(), "abcd2222-9999-4000-8000-000000000003");
  EXPECT_EQ(Get("abcd2222-0000-4000-8000-000000000002").suite(), "nightly");

  grpc::ServerContext ctx;
  v1::GetSmokeRunRequest get;
  v1::SmokeRun run;
  get.set_id("abcd2222");
  grpc::Status ambiguous = service_.GetSmokeRun(&ctx, &get, &run);
  EXPECT_EQ(ambiguous.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ambiguous.error_message(),
            "id: \"abcd2222\" is ambiguous: it starts the smoke run ids abcd2222-0000-4000-8000-000000000002, "
            "abcd2222-9999-4000-8000-000000000003; give more characters");
  get.set_id("abc");
  EXPECT_EQ(service_.GetSmokeRun(&ctx, &get, &run).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  get.set_id("beef");
  EXPECT_EQ(service_.GetSmokeRun(&ctx, &get, &run).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SmokeRunnerTest, RunsAreListedNewestFirstByPageWithFilters) {
  {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    for (int i = 0; i < 5; ++i) {
      tx.exec_params("INSERT INTO health.smoke_runs (state, suite, detail, created_at) "
                     "VALUES ($1, $2, '{}', now() - make_interval(mins => $3))",
                     std::string(i % 2 == 0 ? "PASSED" : "FAILED"), std::string(i < 4 ? "nightly" : "other"), i);
    }
    tx.commit();
  }
  grpc::ServerContext ctx;
  v1::ListSmokeRunsRequest req;
  req.set_page_size(2);
  req.set_suite("nightly");
  std::vector<std::string> states;
  for (int page = 0; page < 5; ++page) {
    v1::ListSmokeRunsResponse resp;
    ASSERT_TRUE(service_.ListSmokeRuns(&ctx, &req, &resp).ok());
    for (const v1::SmokeRun& r : resp.runs()) states.push_back(v1::SmokeRun::State_Name(r.state()));
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  // Newest first: minutes 0..3 ago of "nightly".
  EXPECT_EQ(states, (std::vector<std::string>{"PASSED", "FAILED", "PASSED", "FAILED"}));

  v1::ListSmokeRunsRequest failed;
  failed.set_state("failed");
  v1::ListSmokeRunsResponse resp;
  ASSERT_TRUE(service_.ListSmokeRuns(&ctx, &failed, &resp).ok());
  EXPECT_EQ(resp.runs_size(), 2);

  v1::ListSmokeRunsRequest bad;
  bad.set_state("sleeping");
  bad.set_page_token("nonsense");
  grpc::Status s = service_.ListSmokeRuns(&ctx, &bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("state: unknown value \"sleeping\""), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("page_token:"), std::string::npos) << s.error_message();
}

TEST_F(SmokeRunnerTest, ASuiteWithSeveralMistakesIsRefusedListingThemAll) {
  grpc::ServerContext ctx;
  v1::SmokeSuite suite;
  suite.set_name("Bad Name");
  suite.set_base_url("ftp://x");
  v1::SmokeCheck check = Check("", "/health");
  check.set_method("trace");
  *suite.add_checks() = check;
  v1::SmokeSuite out;
  grpc::Status s = service_.PutSmokeSuite(&ctx, &suite, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "name: must be 1-63 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit; "
            "base_url: scheme must be http or https; checks[0].name: is required; checks[0].method: unknown "
            "value \"trace\" (one of GET, HEAD, POST, PUT, PATCH, DELETE)");
}

// The egress policy: a suite or run naming a refused address is INVALID_ARGUMENT naming the
// field and the rule; an address refused by the time the run connects fails the check with
// the reason.
TEST_F(SmokeRunnerTest, RefusedDestinationsAreRefusedAtRegistrationAndFailAtRunTime) {
  net::EgressPolicy policy = net::EgressPolicy::FromEnv(
      config::Env::FromMap({}), {{"127.0.0.1", server_.port(), "admin port (FLIGHTDECK_ADMIN_PORT)"}});
  SmokeServiceImpl guarded(pool_, queue_, clock_, [] {}, &keys_, &policy);
  grpc::ServerContext ctx;

  v1::CreateSmokeRunRequest metadata;
  metadata.set_base_url("http://169.254.169.254");
  *metadata.add_checks() = Check("credentials", "/latest/meta-data/iam/security-credentials/");
  v1::SmokeRun run;
  grpc::Status s = guarded.CreateSmokeRun(&ctx, &metadata, &run);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "checks[0].url: egress policy refuses 169.254.169.254:80: 169.254.169.254/32 is a cloud "
            "metadata address (denied by default; FLIGHTDECK_EGRESS_ALLOW=169.254.169.254/32 allows it)");

  v1::SmokeSuite suite;
  suite.set_name("own-metrics");
  suite.set_base_url("http://localhost:" + std::to_string(server_.port()));
  *suite.add_checks() = Check("metrics", "/ok");
  v1::SmokeSuite saved;
  s = guarded.PutSmokeSuite(&ctx, &suite, &saved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("base_url: localhost: egress policy refuses"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("Flightdeck's own admin port"), std::string::npos);

  // A run registered while the address was allowed (here: by a replica without the policy)
  // is checked again when it connects.
  v1::CreateSmokeRunRequest req;
  req.set_base_url(server_.url());
  *req.add_checks() = Check("status", "/ok");
  v1::SmokeRun started = Start(req);
  const int seen = server_.requests().size();
  ASSERT_TRUE(guarded.RunNextGroup(started.id()).ok());
  v1::SmokeRun done = Get(started.id());
  ASSERT_EQ(done.state(), v1::SmokeRun::FAILED);
  ASSERT_EQ(done.results_size(), 1);
  EXPECT_NE(done.results(0).error().find("egress policy refuses 127.0.0.1:" + std::to_string(server_.port())),
            std::string::npos)
      << done.results(0).error();
  EXPECT_EQ(static_cast<int>(server_.requests().size()), seen);
}

}  // namespace
}  // namespace flightdeck::health
