// The health domain against real PostgreSQL: targets over gRPC, batched results into state,
// events and the per-minute ring, window figures, and the ServiceDown evaluator (fake clock).
#include <gtest/gtest.h>

#include <thread>

#include <pqxx/pqxx>

#include "common/clock/timestamps.h"
#include "common/grpc/metadata.h"
#include "common/text/utf8.h"
#include "flightdeck/v1/incidents.grpc.pb.h"
#include "services/health/evaluator.h"
#include "services/health/recorder.h"
#include "services/health/target.h"
#include "tests/services/health/domain_fixture.h"

namespace flightdeck::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

v1::HealthTarget Target(const std::string& name, const std::string& role = "liveness") {
  v1::HealthTarget t;
  t.set_name(name);
  t.set_service("checkout");
  t.set_environment("production");
  t.set_role(role);
  t.set_kind("http");
  t.set_url("http://127.0.0.1:1/health");
  return t;
}

ProbeOutcome Outcome(bool ok, double latency_ms) {
  ProbeOutcome o;
  o.ok = ok;
  o.latency_ms = latency_ms;
  o.status_code = ok ? 200 : 503;
  if (!ok) o.error = "status 503 not in [200..399]";
  return o;
}

class HealthStoreTest : public HealthDbTest {
 protected:
  grpc::Status Create(const v1::HealthTarget& t, v1::HealthTarget* out = nullptr) {
    grpc::ClientContext ctx;
    ctx.AddMetadata(rpc::kActorKey, "ci-bot");
    v1::HealthTarget resp;
    grpc::Status s = served_.stub().CreateTarget(&ctx, t, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }
  // Starts counting a stored target's results, as the replica owning its shard does.
  void Adopt(const std::string& name) {
    TargetRecord r;
    ASSERT_TRUE(store_.GetTarget(name, &r).ok());
    TrackedTarget tt{name, r.target.service(), r.target.environment(), r.target.role(), r.target.kind(),
                     Thresholds{r.target.success_threshold(), r.target.failure_threshold()}};
    recorder_.Adopt(tt, r.state, r.recent);
  }
  bool GetTarget(const std::string& name, v1::HealthTarget* out) {
    grpc::ClientContext ctx;
    v1::GetTargetRequest get;
    get.set_name(name);
    return served_.stub().GetTarget(&ctx, get, out).ok();
  }
  std::vector<v1::HealthEvent> Events(const std::string& kind) {
    grpc::ClientContext ctx;
    v1::ListHealthEventsRequest req;
    req.set_service("checkout");
    req.set_kind(kind);
    v1::ListHealthEventsResponse resp;
    EXPECT_TRUE(served_.stub().ListHealthEvents(&ctx, req, &resp).ok());
    return {resp.events().begin(), resp.events().end()};
  }

  ServedHealth served_{store_, clock_};
  ResultRecorder recorder_{store_, ResultRecorder::Options{}};
};

TEST_F(HealthStoreTest, CreateGetListDelete) {
  v1::HealthTarget pg = Target("orders-db", "readiness");
  pg.set_kind("POSTGRES");
  pg.set_url("postgresql://fd:s3cret@db:5432/orders");
  v1::HealthTarget created;
  ASSERT_TRUE(Create(pg, &created).ok());
  EXPECT_EQ(created.url(), "postgresql://fd:***@db:5432/orders");
  EXPECT_EQ(created.created_by(), "ci-bot");
  EXPECT_EQ(created.status(), v1::UNKNOWN);
  EXPECT_EQ(created.kind(), "POSTGRES");
  EXPECT_EQ(MillisOf(created.period()), seconds(10));

  grpc::Status again = Create(pg);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(again.error_message().rfind("name:", 0), 0u);
  v1::HealthTarget bad = Target("x");
  bad.set_kind("FTP");
  EXPECT_EQ(Create(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // The prober still gets the real password.
  TargetRecord stored;
  ASSERT_TRUE(store_.GetTarget("orders-db", &stored).ok());
  EXPECT_EQ(stored.target.url(), "postgresql://fd:s3cret@db:5432/orders");

  ASSERT_TRUE(Create(Target("a-live")).ok());
  ASSERT_TRUE(Create(Target("b-live")).ok());
  v1::HealthTarget other = Target("c-live");
  other.set_service("payments");
  ASSERT_TRUE(Create(other).ok());

  std::vector<std::string> names;
  v1::ListTargetsRequest list;
  list.set_service("checkout");
  list.set_page_size(2);
  for (int page = 0; page < 3; ++page) {
    grpc::ClientContext ctx;
    v1::ListTargetsResponse resp;
    ASSERT_TRUE(served_.stub().ListTargets(&ctx, list, &resp).ok());
    for (const auto& t : resp.targets()) {
      names.push_back(t.name());
      EXPECT_EQ(t.url().find("s3cret"), std::string::npos);
    }
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a-live", "b-live", "orders-db"}));

  long long before = 0;
  ASSERT_TRUE(store_.MaxRevision(&before).ok());
  {
    grpc::ClientContext ctx;
    v1::DeleteTargetRequest del;
    del.set_name("a-live");
    v1::DeleteTargetResponse resp;
    ASSERT_TRUE(served_.stub().DeleteTarget(&ctx, del, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    v1::GetTargetRequest get;
    get.set_name("a-live");
    v1::HealthTarget resp;
    EXPECT_EQ(served_.stub().GetTarget(&ctx, get, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // Replicas see the deletion by revision.
  std::vector<TargetRecord> changed;
  long long after = before;
  ASSERT_TRUE(store_.ChangesSince(before, &changed, &after).ok());
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_TRUE(changed[0].deleted);
  EXPECT_GT(after, before);
  // The name is free again.
  EXPECT_TRUE(Create(Target("a-live")).ok());
}

TEST_F(HealthStoreTest, ReuseConnectionsRoundTripsAndDefaultsToTrue) {
  v1::HealthTarget created;
  ASSERT_TRUE(Create(Target("kept-live"), &created).ok());
  ASSERT_TRUE(created.has_reuse_connections());
  EXPECT_TRUE(created.reuse_connections());
  v1::HealthTarget fresh = Target("fresh-live");
  fresh.set_reuse_connections(false);
  ASSERT_TRUE(Create(fresh, &created).ok());
  ASSERT_TRUE(created.has_reuse_connections());
  EXPECT_FALSE(created.reuse_connections());

  auto get = [this](const std::string& name) {
    grpc::ClientContext ctx;
    v1::GetTargetRequest req;
    req.set_name(name);
    v1::HealthTarget resp;
    EXPECT_TRUE(served_.stub().GetTarget(&ctx, req, &resp).ok());
    return resp;
  };
  EXPECT_FALSE(get("fresh-live").reuse_connections());
  EXPECT_TRUE(get("kept-live").reuse_connections());
  TargetRecord stored;
  ASSERT_TRUE(store_.GetTarget("fresh-live", &stored).ok());
  EXPECT_FALSE(ToProbeSpec(stored.target).reuse_connections);

  // A row written before the field existed (or by an older replica) reads as reusing.
  {
    pqxx::connection c(database_.url());
    pqxx::work tx(c);
    tx.exec0("UPDATE health.targets SET spec = spec - 'reuse_connections' WHERE name = 'kept-live'");
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM health.targets WHERE spec ? 'reuse_connections'")[0].as<int>(), 1);
    tx.commit();
  }
  v1::HealthTarget old = get("kept-live");
  ASSERT_TRUE(old.has_reuse_connections());
  EXPECT_TRUE(old.reuse_connections());
  ASSERT_TRUE(store_.GetTarget("kept-live", &stored).ok());
  EXPECT_TRUE(ToProbeSpec(stored.target).reuse_connections);
}

TEST_F(HealthStoreTest, BatchedResultsBecomeStateEventsAndRingFigures) {
  v1::HealthTarget t = Target("checkout-live");
  t.set_failure_threshold(2);
  ASSERT_TRUE(Create(t).ok());
  Adopt("checkout-live");

  // An hour ago: 6 probes, all passing at ~10 ms. Now: 3 passing at ~10 ms, then 3 failing
  // at ~800 ms (UNKNOWN -> HEALTHY -> UNHEALTHY).
  Clock::TimePoint now = clock_.Now();
  for (int i = 0; i < 6; ++i) recorder_.Record("checkout-live", now - minutes(90) + seconds(i), Outcome(true, 10));
  ASSERT_TRUE(recorder_.Flush().ok());
  for (int i = 0; i < 3; ++i) recorder_.Record("checkout-live", now - seconds(30) + seconds(i), Outcome(true, 10));
  for (int i = 0; i < 3; ++i) recorder_.Record("checkout-live", now - seconds(20) + seconds(i), Outcome(false, 800));
  ASSERT_TRUE(recorder_.Flush().ok());

  v1::HealthTarget got;
  ASSERT_TRUE(GetTarget("checkout-live", &got));
  EXPECT_EQ(got.status(), v1::UNHEALTHY);
  EXPECT_EQ(got.consecutive_failures(), 3);
  EXPECT_EQ(MicrosOf(got.status_since()), ToMicros(now - seconds(19)));
  EXPECT_FALSE(got.last_result().ok());
  ASSERT_EQ(got.recent_results_size(), 10);  // 12 results, the newest 10, newest first
  EXPECT_EQ(MicrosOf(got.recent_results(0).at()), ToMicros(now - seconds(18)));
  EXPECT_EQ(got.stats().probes_1h(), 6);
  EXPECT_DOUBLE_EQ(got.stats().uptime_1h(), 0.5);
  EXPECT_EQ(got.stats().probes_24h(), 12);
  EXPECT_DOUBLE_EQ(got.stats().uptime_24h(), 0.75);
  EXPECT_GT(got.stats().latency_p99_1h_ms(), 500);
  EXPECT_LT(got.stats().latency_p50_24h_ms(), 15);

  std::vector<v1::HealthEvent> events = Events("TARGET");
  ASSERT_EQ(events.size(), 2u);  // newest first
  EXPECT_EQ(events[0].from(), v1::HEALTHY);
  EXPECT_EQ(events[0].to(), v1::UNHEALTHY);
  EXPECT_EQ(events[0].target(), "checkout-live");
  EXPECT_NE(events[0].reason().find("2 consecutive failures"), std::string::npos) << events[0].reason();
  EXPECT_EQ(events[1].from(), v1::UNKNOWN);
  EXPECT_EQ(events[1].to(), v1::HEALTHY);

  grpc::ClientContext sctx;
  v1::GetTargetStatsRequest stats_req;
  stats_req.set_name("checkout-live");
  stats_req.set_window_seconds(7200);
  v1::TargetWindowStats stats;
  ASSERT_TRUE(served_.stub().GetTargetStats(&sctx, stats_req, &stats).ok());
  EXPECT_EQ(stats.probes(), 12);
  EXPECT_EQ(stats.successes(), 9);
  EXPECT_DOUBLE_EQ(stats.success_ratio(), 0.75);
  EXPECT_EQ(stats.to().seconds() % 60, 0);  // widened to whole minutes
  EXPECT_GE(TimeOf(stats.to()), now);

  grpc::ClientContext bctx;
  stats_req.set_window_seconds(0);
  EXPECT_EQ(served_.stub().GetTargetStats(&bctx, stats_req, &stats).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A target's answer may hold any bytes (a gRPC status message, a Redis reply, a PostgreSQL
// server's error in its own encoding): the recorded result and the event's reason are stored
// as text, and the batch holding them is written, with each bad byte and NUL as U+FFFD.
TEST_F(HealthStoreTest, AnAnswerOfAnyBytesIsRecordedAsStorableText) {
  v1::HealthTarget t = Target("checkout-live");
  t.set_failure_threshold(1);
  ASSERT_TRUE(Create(t).ok());
  Adopt("checkout-live");
  ProbeOutcome o = Outcome(false, 5);
  using namespace std::string_literals;
  o.error = "unavailable: caf\xE9 \0 closed"s;
  o.detail = "PONG\0\xFF"s;
  recorder_.Record("checkout-live", clock_.Now(), o);
  ASSERT_TRUE(recorder_.Flush().ok());

  v1::HealthTarget got;
  ASSERT_TRUE(GetTarget("checkout-live", &got));
  EXPECT_EQ(got.status(), v1::UNHEALTHY);
  const std::string r(text::kReplacementCharacter);
  EXPECT_EQ(got.last_result().error(), "unavailable: caf" + r + " " + r + " closed");
  EXPECT_EQ(got.last_result().detail(), "PONG" + r + r);
  std::vector<v1::HealthEvent> events = Events("TARGET");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].reason().find("caf" + r + " " + r + " closed"), std::string::npos) << events[0].reason();
}

TEST_F(HealthStoreTest, RingStaysBoundedAcrossDays) {
  ASSERT_TRUE(Create(Target("ring")).ok());
  Adopt("ring");
  Clock::TimePoint now = clock_.Now();
  // The same minute of three consecutive days lands in one slot; only the newest day counts.
  for (int day = 2; day >= 0; --day) {
    recorder_.Record("ring", now - std::chrono::hours(24 * day), Outcome(day == 0, 5));
    ASSERT_TRUE(recorder_.Flush().ok());
  }
  // A late batch of an older minute never overwrites a newer one in the same slot.
  recorder_.Record("ring", now - std::chrono::hours(24), Outcome(false, 5));
  ASSERT_TRUE(recorder_.Flush().ok());
  pqxx::connection c(database_.url());
  pqxx::work tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM health.result_ring WHERE target = 'ring'")[0].as<int>(), 1);
  std::vector<MinuteRow> rows;
  long long m = MinuteOf(now);
  ASSERT_TRUE(store_.RingRows("ring", m - 3 * kRingSlots, m, &rows).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].minute, m);
  EXPECT_EQ(rows[0].probes, 1);
  EXPECT_EQ(rows[0].successes, 1);
}

TEST_F(HealthStoreTest, ServiceDownAlertAfterDownAfterAndResolveOnRecovery) {
  v1::HealthTarget live = Target("checkout-live");
  live.set_failure_threshold(1);
  ASSERT_TRUE(Create(live).ok());
  ASSERT_TRUE(Create(Target("checkout-ready", "readiness")).ok());
  Adopt("checkout-live");
  Adopt("checkout-ready");
  HealthEvaluator::Options options;
  options.down_after = minutes(1);
  options.deliver = false;  // FLIGHTDECK_INCIDENTS_ADDR=""
  HealthEvaluator evaluator(store_, clock_, options, [] { return true; });

  recorder_.Record("checkout-live", clock_.Now(), Outcome(true, 3));
  recorder_.Record("checkout-ready", clock_.Now(), Outcome(true, 3));
  ASSERT_TRUE(recorder_.Flush().ok());
  ASSERT_TRUE(evaluator.EvaluateOnce().ok());

  clock_.Advance(seconds(10));
  recorder_.Record("checkout-live", clock_.Now(), Outcome(false, 1000));
  ASSERT_TRUE(recorder_.Flush().ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(evaluator.EvaluateOnce().ok());
  EXPECT_TRUE(Events("ALERT").empty());
  std::vector<v1::HealthEvent> service = Events("SERVICE");
  ASSERT_FALSE(service.empty());
  EXPECT_EQ(service[0].to(), v1::UNHEALTHY);
  EXPECT_EQ(service[0].reason(), "liveness checkout-live failing");

  clock_.Advance(seconds(50));  // 51 s failing
  ASSERT_TRUE(evaluator.EvaluateOnce().ok());
  EXPECT_TRUE(Events("ALERT").empty());
  clock_.Advance(seconds(10));  // 61 s failing
  ASSERT_TRUE(evaluator.EvaluateOnce().ok());
  ASSERT_TRUE(evaluator.EvaluateOnce().ok());  // once only
  std::vector<v1::HealthEvent> alerts = Events("ALERT");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].alert(),
            "{\"labels\":{\"alertname\":\"ServiceDown\",\"service\":\"checkout\",\"environment\":"
            "\"production\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\"checkout is "
            "down in production: liveness checkout-live failing\"},\"status\":\"firing\"}");
  EXPECT_EQ(alerts[0].delivery(), "recorded");
  // The alert is no change of state: it says what it is, not "UNHEALTHY -> UNHEALTHY".
  EXPECT_EQ(alerts[0].reason(), "ServiceDown firing: liveness checkout-live failing");
  EXPECT_EQ(alerts[0].to(), v1::UNHEALTHY);
  EXPECT_EQ(alerts[0].from(), alerts[0].to());

  grpc::ClientContext ctx;
  v1::GetServiceHealthRequest req;
  req.set_service("checkout");
  v1::GetServiceHealthResponse health;
  ASSERT_TRUE(served_.stub().GetServiceHealth(&ctx, req, &health).ok());
  ASSERT_EQ(health.environments_size(), 1);
  EXPECT_EQ(health.environments(0).status(), v1::UNHEALTHY);
  EXPECT_EQ(health.environments(0).targets_size(), 2);

  clock_.Advance(seconds(5));
  recorder_.Record("checkout-live", clock_.Now(), Outcome(true, 3));
  ASSERT_TRUE(recorder_.Flush().ok());
  ASSERT_TRUE(evaluator.EvaluateOnce().ok());
  alerts = Events("ALERT");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_NE(alerts[0].alert().find("\"status\":\"resolved\""), std::string::npos) << alerts[0].alert();
  EXPECT_EQ(alerts[0].reason(), "ServiceDown resolved: all liveness and readiness passing");
  EXPECT_EQ(Events("SERVICE")[0].to(), v1::HEALTHY);
  // Every recorded state change is a real one.
  for (const std::string kind : {"TARGET", "SERVICE"}) {
    for (const v1::HealthEvent& e : Events(kind)) {
      EXPECT_NE(e.from(), e.to()) << kind << " event " << e.id() << ": " << e.reason();
    }
  }
}

// Stands in for flightdeck-incidents: records what PostAlerts received.
class FakeIncidents final : public v1::IncidentService::Service {
 public:
  grpc::Status PostAlerts(grpc::ServerContext*, const v1::PostAlertsRequest* req,
                          v1::IngestResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    received.push_back(*req);
    resp->set_received(req->alerts_size());
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::vector<v1::PostAlertsRequest> received;
};

TEST_F(HealthStoreTest, AlertIsDeliveredToIncidentsByAJob) {
  v1::HealthTarget live = Target("checkout-live");
  live.set_failure_threshold(1);
  ASSERT_TRUE(Create(live).ok());
  Adopt("checkout-live");
  HealthEvaluator::Options options;
  options.down_after = seconds(0);
  HealthEvaluator evaluator(store_, clock_, options, [] { return true; });
  recorder_.Record("checkout-live", clock_.Now(), Outcome(false, 3));
  ASSERT_TRUE(recorder_.Flush().ok());
  ASSERT_TRUE(evaluator.EvaluateOnce().ok());
  std::vector<v1::HealthEvent> alerts = Events("ALERT");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].delivery(), "pending");

  FakeIncidents incidents;
  grpc::ServerBuilder builder;
  builder.RegisterService(&incidents);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  AlertDelivery delivery(store_, server->InProcessChannel(grpc::ChannelArguments()));
  jobs::Worker worker(queue_, jobs::Worker::Options{"test-worker", 1, milliseconds(50), seconds(30)});
  worker.Handle(kAlertJob, [&](const jobs::Job& job) { return delivery.Handle(job); });
  EXPECT_EQ(worker.RunOnce(), 1);

  ASSERT_EQ(incidents.received.size(), 1u);
  const v1::PostAlertsRequest& sent = incidents.received[0];
  EXPECT_EQ(sent.source(), "health");
  ASSERT_EQ(sent.alerts_size(), 1);
  EXPECT_EQ(sent.alerts(0).labels().at("alertname"), "ServiceDown");
  EXPECT_EQ(sent.alerts(0).labels().at("service"), "checkout");
  EXPECT_EQ(sent.alerts(0).status(), "firing");
  EXPECT_EQ(Events("ALERT")[0].delivery(), "sent");
  server->Shutdown(std::chrono::system_clock::now() + seconds(1));
}

TEST_F(HealthStoreTest, WatchHealthStreamsNewEvents) {
  v1::HealthTarget live = Target("checkout-live");
  live.set_failure_threshold(1);
  ASSERT_TRUE(Create(live).ok());
  Adopt("checkout-live");
  // An event of another service first, so that the stream can start after a known id: what
  // follows cannot be missed, however long the stream takes to start.
  v1::HealthTarget other = Target("search-live");
  other.set_service("search");
  other.set_failure_threshold(1);
  ASSERT_TRUE(Create(other).ok());
  Adopt("search-live");
  recorder_.Record("search-live", clock_.Now(), Outcome(false, 3));
  ASSERT_TRUE(recorder_.Flush().ok());
  long long before = 0;
  ASSERT_TRUE(store_.MaxEventId(&before).ok());
  ASSERT_GT(before, 0);

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  v1::WatchHealthRequest req;
  req.set_service("checkout");
  req.set_after_id(before);
  auto reader = served_.stub().WatchHealth(&ctx, req);
  std::thread change([&] {
    recorder_.Record("checkout-live", clock_.Now(), Outcome(false, 3));
    (void)recorder_.Flush();
  });
  v1::HealthEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.kind(), "TARGET");
  EXPECT_EQ(event.target(), "checkout-live");
  EXPECT_EQ(event.to(), v1::UNHEALTHY);
  ctx.TryCancel();
  change.join();
  reader->Finish();
}

}  // namespace
}  // namespace flightdeck::health
