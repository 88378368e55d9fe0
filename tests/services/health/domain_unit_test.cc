// Pure rules of the health domain: target validation, threshold counting, initial delay,
// roll-up, the result ring's arithmetic and the ServiceDown alert text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/net/egress.h"
#include "services/health/evaluator.h"
#include "services/health/request_checks.h"
#include "services/health/result_ring.h"
#include "services/health/rollup.h"
#include "services/health/target.h"
#include "services/health/thresholds.h"

namespace flightdeck::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

v1::HealthTarget HttpTarget() {
  v1::HealthTarget t;
  t.set_name("checkout-live");
  t.set_service("checkout");
  t.set_environment("production");
  t.set_role("liveness");
  t.set_kind("HTTP");
  t.set_url("http://10.0.3.7:8080/health");
  return t;
}

std::string ErrorOf(v1::HealthTarget t) {
  grpc::Status s = ValidateTarget(&t);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  return s.error_message();
}

TEST(ValidateTarget, FillsKubernetesDefaults) {
  v1::HealthTarget t = HttpTarget();
  t.set_role("LiveNess");
  t.set_kind("http");
  ASSERT_TRUE(ValidateTarget(&t).ok());
  EXPECT_EQ(t.role(), "liveness");
  EXPECT_EQ(t.kind(), "HTTP");
  EXPECT_EQ(t.method(), "GET");
  EXPECT_EQ(MillisOf(t.initial_delay()), milliseconds(0));
  EXPECT_EQ(MillisOf(t.period()), seconds(10));
  EXPECT_EQ(MillisOf(t.timeout()), seconds(1));
  EXPECT_EQ(t.success_threshold(), 1);
  EXPECT_EQ(t.failure_threshold(), 3);
  ProbeSpec spec = ToProbeSpec(t);
  EXPECT_EQ(spec.kind, ProbeKind::kHttp);
  EXPECT_TRUE(spec.expect_status.empty());  // 200..399
  EXPECT_EQ(spec.timeout, seconds(1));
}

TEST(ValidateTarget, NamesTheFieldOfEachMistake) {
  v1::HealthTarget t = HttpTarget();
  t.set_name("");
  EXPECT_EQ(ErrorOf(t), "name: required");
  t = HttpTarget();
  t.set_name("Checkout Live");
  EXPECT_EQ(ErrorOf(t).rfind("name:", 0), 0u);
  t = HttpTarget();
  t.set_service("");
  EXPECT_EQ(ErrorOf(t), "service: required");
  t = HttpTarget();
  t.set_environment("");
  EXPECT_EQ(ErrorOf(t), "environment: required");
  t = HttpTarget();
  t.set_role("startup");
  EXPECT_EQ(ErrorOf(t).rfind("role:", 0), 0u);
  t = HttpTarget();
  t.set_kind("FTP");
  EXPECT_EQ(ErrorOf(t), "kind: unknown value \"FTP\" (one of HTTP, GRPC, TCP, POSTGRES, REDIS)");
  t = HttpTarget();
  t.set_url("not a url");
  EXPECT_EQ(ErrorOf(t).rfind("url:", 0), 0u);
  t = HttpTarget();
  t.set_url("ftp://host/x");
  EXPECT_EQ(ErrorOf(t).rfind("url:", 0), 0u);
  t = HttpTarget();
  SetDuration(t.mutable_period(), milliseconds(500));
  EXPECT_EQ(ErrorOf(t).rfind("period:", 0), 0u);
  t = HttpTarget();
  SetDuration(t.mutable_period(), seconds(2));
  SetDuration(t.mutable_timeout(), seconds(3));
  EXPECT_EQ(ErrorOf(t), "period: 2s is below timeout 3s");
  t = HttpTarget();
  t.set_success_threshold(-1);
  EXPECT_EQ(ErrorOf(t).rfind("success_threshold:", 0), 0u);
  t = HttpTarget();
  t.set_failure_threshold(-2);
  EXPECT_EQ(ErrorOf(t).rfind("failure_threshold:", 0), 0u);
  t = HttpTarget();
  t.add_expect_status(600);
  EXPECT_EQ(ErrorOf(t).rfind("expect_status:", 0), 0u);
}

TEST(ValidateTarget, ReportsEveryProblemAtOnce) {
  v1::HealthTarget t;
  t.set_name("Bad Name");
  t.set_role("startup");
  t.set_kind("http");
  t.set_url("ftp://host/x");
  t.set_method("POST");
  t.add_expect_status(42);
  t.set_failure_threshold(-1);
  EXPECT_EQ(ErrorOf(t),
            "name: \"Bad Name\" must be 1-63 characters of a-z, 0-9, '.', '_', '-' starting with a letter or "
            "digit; service: required; environment: required; role: unknown value \"startup\" (one of liveness, "
            "readiness, canary); url: \"ftp://host/x\" must be http:// or https:// for kind HTTP; method: unknown "
            "value \"POST\" (one of GET, HEAD); expect_status: 42 is not an HTTP status (100..599); "
            "failure_threshold: -1 must be at least 1");
  v1::HealthTarget empty;
  EXPECT_EQ(ErrorOf(empty),
            "name: required; service: required; environment: required; role: required (one of liveness, "
            "readiness, canary); kind: required (one of HTTP, GRPC, TCP, POSTGRES, REDIS)");
}

TEST(ValidateTarget, EnumsInAnyCaseAnswerOneSpelling) {
  for (const char* kind : {"tcp", "Tcp", "TCP"}) {
    v1::HealthTarget t = HttpTarget();
    t.set_kind(kind);
    t.clear_url();
    t.set_address("db:5432");
    t.set_role("READINESS");
    ASSERT_TRUE(ValidateTarget(&t).ok()) << kind;
    EXPECT_EQ(t.kind(), "TCP");
    EXPECT_EQ(t.role(), "readiness");
  }
  v1::HealthTarget head = HttpTarget();
  head.set_method("head");
  ASSERT_TRUE(ValidateTarget(&head).ok());
  EXPECT_EQ(head.method(), "HEAD");
}

TEST(ResolveIdPrefix, AFullIdCostsNoQueryAndAUniquePrefixResolves) {
  int queries = 0;
  const std::vector<std::string> stored = {"abcd1111-0000-4000-8000-000000000001",
                                           "abcd2222-0000-4000-8000-000000000002",
                                           "abcd2222-9999-4000-8000-000000000003"};
  IdRangeLookup lookup = [&](const UuidRange& range, int limit, std::vector<std::string>* ids) {
    ++queries;
    ids->clear();
    for (const std::string& id : stored) {
      if (id >= range.low && id <= range.high && static_cast<int>(ids->size()) < limit) ids->push_back(id);
    }
    return grpc::Status::OK;
  };
  std::string full;
  ASSERT_TRUE(ResolveIdPrefix("id", "backup", "ABCD1111-0000-4000-8000-000000000001", lookup, &full).ok());
  EXPECT_EQ(full, stored[0]);
  EXPECT_EQ(queries, 0);
  ASSERT_TRUE(ResolveIdPrefix("id", "backup", "abcd1", lookup, &full).ok());
  EXPECT_EQ(full, stored[0]);
  ASSERT_TRUE(ResolveIdPrefix("id", "backup", "ABCD2222-9", lookup, &full).ok());
  EXPECT_EQ(full, stored[2]);

  grpc::Status ambiguous = ResolveIdPrefix("id", "backup", "abcd2222", lookup, &full);
  EXPECT_EQ(ambiguous.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ambiguous.error_message(),
            "id: \"abcd2222\" is ambiguous: it starts the backup ids abcd2222-0000-4000-8000-000000000002, "
            "abcd2222-9999-4000-8000-000000000003; give more characters");
  grpc::Status none = ResolveIdPrefix("id", "backup", "ffff", lookup, &full);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(none.error_message(), "no backup id starts with ffff");

  queries = 0;
  for (const char* bad : {"abc", "abcdefgh", "abcd1111x", "abcd11110", ""}) {
    EXPECT_EQ(ResolveIdPrefix("id", "backup", bad, lookup, &full).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  EXPECT_EQ(queries, 0);
}

TEST(ValidateTarget, PeriodBelowTimeoutQuotesBoth) {
  v1::HealthTarget t = HttpTarget();
  SetDuration(t.mutable_period(), milliseconds(1500));
  SetDuration(t.mutable_timeout(), seconds(2));
  EXPECT_EQ(ErrorOf(t), "period: 1500ms is below timeout 2s");
}

TEST(ValidateTarget, KindsNeedTheirOwnAddressing) {
  v1::HealthTarget t = HttpTarget();
  t.set_kind("TCP");
  t.clear_url();
  EXPECT_EQ(ErrorOf(t).rfind("address:", 0), 0u);
  t.set_address("db.internal");
  EXPECT_EQ(ErrorOf(t).rfind("address:", 0), 0u);
  t.set_address("db.internal:5432");
  EXPECT_TRUE(ValidateTarget(&t).ok());

  v1::HealthTarget pg = HttpTarget();
  pg.set_kind("postgres");
  pg.set_url("http://db:5432/x");
  EXPECT_EQ(ErrorOf(pg).rfind("url:", 0), 0u);
  pg.set_url("postgresql://fd:s3cret@db:5432/app");
  ASSERT_TRUE(ValidateTarget(&pg).ok());

  v1::HealthTarget redis = HttpTarget();
  redis.set_kind("REDIS");
  redis.set_url("redis://:hunter2@cache:6379/0");
  ASSERT_TRUE(ValidateTarget(&redis).ok());
}

TEST(ValidateTarget, ReuseConnectionsDefaultsToTrueForHttpOnly) {
  v1::HealthTarget t = HttpTarget();
  ASSERT_TRUE(ValidateTarget(&t).ok());
  ASSERT_TRUE(t.has_reuse_connections());
  EXPECT_TRUE(t.reuse_connections());
  EXPECT_TRUE(ToProbeSpec(t).reuse_connections);

  v1::HealthTarget fresh = HttpTarget();
  fresh.set_reuse_connections(false);
  ASSERT_TRUE(ValidateTarget(&fresh).ok());
  ASSERT_TRUE(fresh.has_reuse_connections());
  EXPECT_FALSE(fresh.reuse_connections());
  EXPECT_FALSE(ToProbeSpec(fresh).reuse_connections);

  v1::HealthTarget tcp = HttpTarget();
  tcp.set_kind("TCP");
  tcp.clear_url();
  tcp.set_address("db.internal:5432");
  ASSERT_TRUE(ValidateTarget(&tcp).ok());
  EXPECT_FALSE(tcp.has_reuse_connections());  // absent: TCP connects anew every time anyway
  tcp.set_reuse_connections(false);
  EXPECT_EQ(ErrorOf(tcp), "reuse_connections: only for kind HTTP");
}

TEST(DefaultAddedFields, AnHttpTargetStoredWithoutReuseConnectionsReusesThem) {
  v1::HealthTarget stored = HttpTarget();  // as read from a row written before the field
  EXPECT_TRUE(ToProbeSpec(stored).reuse_connections);
  DefaultAddedFields(&stored);
  ASSERT_TRUE(stored.has_reuse_connections());
  EXPECT_TRUE(stored.reuse_connections());
}

TEST(ValidateTarget, PasswordsNeverLeaveInUrlsOrMessages) {
  v1::HealthTarget pg = HttpTarget();
  pg.set_kind("POSTGRES");
  pg.set_url("postgresql://fd:s3cret@db:5432/app");
  ASSERT_TRUE(ValidateTarget(&pg).ok());
  RedactTarget(&pg);
  EXPECT_EQ(pg.url(), "postgresql://fd:***@db:5432/app");

  v1::HealthTarget bad = HttpTarget();
  bad.set_kind("POSTGRES");
  bad.set_url("redis://fd:s3cret@db:5432/app");
  std::string message = ErrorOf(bad);
  EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
}

TEST(Shards, AreStableAndSpread) {
  EXPECT_EQ(ShardOf("checkout-live"), ShardOf("checkout-live"));
  EXPECT_EQ(Fnv1a64(""), 14695981039346656037ull);
  std::set<int> seen;
  for (int i = 0; i < 1000; ++i) {
    int shard = ShardOf("t" + std::to_string(i));
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, kShardCount);
    seen.insert(shard);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kShardCount));
}

TEST(Thresholds, UnknownUntilEnoughConsecutiveResults) {
  FakeClock clock;
  Thresholds th{2, 3};
  ThresholdState s;
  EXPECT_FALSE(ApplyResult(th, true, clock.Now(), &s));
  EXPECT_EQ(s.status, v1::UNKNOWN);
  clock.Advance(seconds(10));
  EXPECT_TRUE(ApplyResult(th, true, clock.Now(), &s));
  EXPECT_EQ(s.status, v1::HEALTHY);
  EXPECT_EQ(s.since, clock.Now());
  EXPECT_EQ(s.consecutive_successes, 2);
}

TEST(Thresholds, FailuresMustBeConsecutive) {
  FakeClock clock;
  Thresholds th{1, 3};
  ThresholdState s;
  ApplyResult(th, true, clock.Now(), &s);
  ASSERT_EQ(s.status, v1::HEALTHY);
  Clock::TimePoint healthy_since = s.since;
  // fail, fail, pass, fail, fail: never three in a row.
  for (bool ok : {false, false, true, false, false}) {
    clock.Advance(seconds(10));
    EXPECT_FALSE(ApplyResult(th, ok, clock.Now(), &s));
  }
  EXPECT_EQ(s.status, v1::HEALTHY);
  EXPECT_EQ(s.since, healthy_since);
  EXPECT_EQ(s.consecutive_failures, 2);
  clock.Advance(seconds(10));
  EXPECT_TRUE(ApplyResult(th, false, clock.Now(), &s));
  EXPECT_EQ(s.status, v1::UNHEALTHY);
  EXPECT_EQ(s.since, clock.Now());
  // Back needs success_threshold (1) success.
  clock.Advance(seconds(10));
  EXPECT_TRUE(ApplyResult(th, true, clock.Now(), &s));
  EXPECT_EQ(s.status, v1::HEALTHY);
  EXPECT_EQ(s.consecutive_failures, 0);
}

TEST(Thresholds, UnknownGoesStraightToUnhealthyAfterFailureThreshold) {
  FakeClock clock;
  Thresholds th{1, 2};
  ThresholdState s;
  EXPECT_FALSE(ApplyResult(th, false, clock.Now(), &s));
  EXPECT_EQ(s.status, v1::UNKNOWN);
  EXPECT_TRUE(ApplyResult(th, false, clock.Now(), &s));
  EXPECT_EQ(s.status, v1::UNHEALTHY);
}

TEST(InitialDelay, NoProbeBeforeCreatedPlusDelay) {
  FakeClock clock;
  Clock::TimePoint created = clock.Now();
  EXPECT_TRUE(MayProbe(created, seconds(0), clock.Now()));
  EXPECT_FALSE(MayProbe(created, seconds(30), clock.Now()));
  clock.Advance(seconds(29));
  EXPECT_FALSE(MayProbe(created, seconds(30), clock.Now()));
  clock.Advance(seconds(1));
  EXPECT_TRUE(MayProbe(created, seconds(30), clock.Now()));
  EXPECT_EQ(EarliestProbe(created, seconds(30)), created + seconds(30));
}

TargetView View(const std::string& name, const std::string& role, v1::HealthStatus status) {
  return TargetView{name, role, status, Clock::TimePoint(seconds(1000))};
}

TEST(RollUp, AllPassingIsHealthy) {
  RollUpResult r = RollUp({View("live", "liveness", v1::HEALTHY), View("ready", "readiness", v1::HEALTHY)});
  EXPECT_EQ(r.status, v1::HEALTHY);
  EXPECT_EQ(r.reason, "all liveness and readiness passing");
  EXPECT_FALSE(r.liveness_failing);
}

TEST(RollUp, SomeReadinessFailingIsDegraded) {
  RollUpResult r = RollUp({View("live", "liveness", v1::HEALTHY), View("r1", "readiness", v1::UNHEALTHY),
                           View("r2", "readiness", v1::HEALTHY)});
  EXPECT_EQ(r.status, v1::DEGRADED);
  EXPECT_EQ(r.reason, "readiness r1 failing");
}

TEST(RollUp, AllReadinessFailingIsUnhealthy) {
  RollUpResult r = RollUp({View("live", "liveness", v1::HEALTHY), View("r1", "readiness", v1::UNHEALTHY),
                           View("r2", "readiness", v1::UNHEALTHY)});
  EXPECT_EQ(r.status, v1::UNHEALTHY);
  EXPECT_EQ(r.reason, "all readiness failing: r1, r2");
  EXPECT_FALSE(r.liveness_failing);
}

TEST(RollUp, AnyLivenessFailingIsUnhealthyAndCountsFromItsChange) {
  std::vector<TargetView> views = {View("l1", "liveness", v1::UNHEALTHY), View("l2", "liveness", v1::HEALTHY),
                                   View("r1", "readiness", v1::HEALTHY)};
  views[0].since = Clock::TimePoint(seconds(500));
  RollUpResult r = RollUp(views);
  EXPECT_EQ(r.status, v1::UNHEALTHY);
  EXPECT_EQ(r.reason, "liveness l1 failing");
  EXPECT_TRUE(r.liveness_failing);
  EXPECT_EQ(r.liveness_failing_since, Clock::TimePoint(seconds(500)));
}

TEST(RollUp, CanariesDoNotCount) {
  RollUpResult r = RollUp({View("live", "liveness", v1::HEALTHY), View("c", "canary", v1::UNHEALTHY)});
  EXPECT_EQ(r.status, v1::HEALTHY);
  RollUpResult only_canary = RollUp({View("c", "canary", v1::UNHEALTHY)});
  EXPECT_EQ(only_canary.status, v1::UNKNOWN);
  EXPECT_EQ(only_canary.reason, "no liveness or readiness targets");
}

TEST(RollUp, NoResultsYetIsUnknown) {
  RollUpResult r = RollUp({View("live", "liveness", v1::UNKNOWN), View("ready", "readiness", v1::HEALTHY)});
  EXPECT_EQ(r.status, v1::UNKNOWN);
  EXPECT_EQ(r.reason, "no results yet from live");
  EXPECT_EQ(RollUp({}).status, v1::UNKNOWN);
}

TEST(ResultRing, BucketsAndQuantilesTrackLatency) {
  LatencyHistogram h{};
  for (int i = 0; i < 98; ++i) ++h[LatencyBucket(10.0)];
  ++h[LatencyBucket(900.0)];
  ++h[LatencyBucket(950.0)];
  double p50 = Quantile(h, 0.5);
  double p99 = Quantile(h, 0.99);
  EXPECT_GT(p50, 10.0 / 1.5);
  EXPECT_LT(p50, 10.0 * 1.5);
  EXPECT_GT(p99, 900.0 / 1.5);
  EXPECT_LT(p99, 950.0 * 1.5);
  EXPECT_EQ(Quantile(LatencyHistogram{}, 0.5), 0);
  EXPECT_EQ(ParseHistogramLiteral(HistogramLiteral(h)), h);
}

TEST(ResultRing, WindowsSumOnlyTheirMinutes) {
  std::vector<MinuteRow> rows(3);
  rows[0].minute = 100;
  rows[0].probes = 6;
  rows[0].successes = 6;
  rows[1].minute = 101;
  rows[1].probes = 6;
  rows[1].successes = 3;
  rows[2].minute = 100 - kRingSlots;  // a stale slot from yesterday
  rows[2].probes = 50;
  WindowFigures f = Summarise(rows, 90, 101);
  EXPECT_EQ(f.probes, 12);
  EXPECT_EQ(f.successes, 9);
  EXPECT_DOUBLE_EQ(f.success_ratio, 0.75);
  EXPECT_EQ(SlotOf(100), SlotOf(100 + kRingSlots));
  EXPECT_EQ(MinuteOf(Clock::TimePoint(seconds(125))), 2);
}

TEST(ServiceDownAlert, IsTheDocumentedJson) {
  EXPECT_EQ(ServiceDownAlert("checkout", "production", "liveness checkout-live failing", true),
            "{\"labels\":{\"alertname\":\"ServiceDown\",\"service\":\"checkout\",\"environment\":"
            "\"production\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\"checkout is "
            "down in production: liveness checkout-live failing\"},\"status\":\"firing\"}");
  nlohmann::json resolved = nlohmann::json::parse(ServiceDownAlert("a", "b", "ok", false));
  EXPECT_EQ(resolved["status"], "resolved");
}

TEST(TargetDestination, RefusedAddressesNameTheFieldAndTheRule) {
  net::EgressPolicy policy = net::EgressPolicy::FromEnv(
      config::Env::FromMap({}), {{"127.0.0.1", 9103, "admin port (FLIGHTDECK_ADMIN_PORT)"},
                                 {"127.0.0.1", 5432, "PostgreSQL (DATABASE_URL)"}});
  ProbeSpec http;
  http.kind = ProbeKind::kHttp;
  http.url = "http://127.0.0.1:9103/metrics";
  EXPECT_EQ(DestinationRefusal(policy, http),
            "url: egress policy refuses 127.0.0.1:9103: 127.0.0.0/8 port 9103 is Flightdeck's own "
            "admin port (FLIGHTDECK_ADMIN_PORT) (denied by default; FLIGHTDECK_EGRESS_ALLOW=127.0.0.0/8 "
            "allows it)");
  http.url = "http://127.0.0.1:8081/healthz";  // loopback in general stays allowed
  EXPECT_EQ(DestinationRefusal(policy, http), "");
  ProbeSpec tcp;
  tcp.kind = ProbeKind::kTcp;
  tcp.address = "[fe80::1]:22";
  EXPECT_EQ(DestinationRefusal(policy, tcp).rfind("address: egress policy refuses [fe80::1]:22", 0), 0u);
  ProbeSpec pg;
  pg.kind = ProbeKind::kPostgres;
  pg.url = "postgres://fd:pw@localhost/fd";  // the default port, by name
  EXPECT_NE(DestinationRefusal(policy, pg).find("PostgreSQL (DATABASE_URL)"), std::string::npos);
  ProbeSpec redis;
  redis.kind = ProbeKind::kRedis;
  redis.url = "redis://169.254.169.254:6379";
  EXPECT_NE(DestinationRefusal(policy, redis).find("cloud metadata"), std::string::npos);
  // A name that does not resolve now is left to the probe's own check.
  http.url = "http://no-such-host.invalid/";
  EXPECT_EQ(DestinationRefusal(policy, http), "");
}

}  // namespace
}  // namespace flightdeck::health
