// flightdeck-health: active probes, aggregate health, smoke suites (DESIGN.md §3, issue 4).
// Wiring only.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "common/config/config.h"
#include "common/db/change_feed.h"
#include "common/grpc/channel.h"
#include "common/jobs/backlog.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/metrics/refresher.h"
#include "common/net/egress.h"
#include "common/runtime/gauge_refresh.h"
#include "common/runtime/runtime.h"
#include "common/secrets/secrets.h"
#include "services/health/coordinator.h"
#include "services/health/evaluator.h"
#include "services/health/probe/probe.h"
#include "services/health/probe/scheduler.h"
#include "services/health/recorder.h"
#include "services/health/service.h"
#include "services/health/smoke/smoke.h"
#include "services/health/store.h"

namespace {

using namespace flightdeck;
using namespace flightdeck::health;

constexpr int kGrpcPort = 50053;
constexpr int kAdminPort = 9103;

std::string Owner() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

class Health final : public runtime::Component {
 public:
  explicit Health(runtime::Context& ctx)
      : bind_address_(ctx.config.bind_address),
        egress_(net::EgressPolicy::FromEnv(ctx.env, net::OwnEndpointsFromEnv(ctx.env, kGrpcPort, kAdminPort))),
        keys_(secrets::LoadServiceKeys(
          "POSTGRES/REDIS targets with a password in their url and smoke checks with secret headers")),
        owner_(Owner()),
        queue_(ctx.db, "health", ctx.clock),
        worker_(queue_, WorkerOptions(ctx.env, owner_)),
        store_(ctx.db, &queue_, &keys_),
        recorder_(store_, RecorderOptions(ctx.env), &ctx.metrics),
        lateness_(ctx.metrics.AddHistogram("flightdeck_health_probe_lateness_seconds",
                                           "How late probes started after their due time.")),
        prober_(ProberOptions(&egress_)),
        scheduler_(prober_, [this](const std::string& name, Clock::TimePoint due, Clock::TimePoint started,
                                   const ProbeOutcome& outcome) {
          lateness_.With({}).Observe(std::chrono::duration<double>(started - due).count());
          recorder_.Record(name, started, outcome);
        }),
        coordinator_(store_, scheduler_, recorder_, ctx.clock, CoordinatorOptions(ctx.env, owner_)),
        evaluator_(store_, ctx.clock, EvaluatorOptions(ctx.env), [this] { return coordinator_.Owns(0); },
                   [this] { worker_.Nudge(); }),
        feed_(ctx.config.database_url, "health_events"),
        service_(store_, ctx.clock, ServiceOptions(&feed_, &egress_)),
        smoke_(ctx.db, queue_, ctx.clock, [this] { worker_.Nudge(); }, &keys_, &egress_),
        backlog_(ctx.db, "health", ctx.clock, ctx.metrics),
        gauges_(ctx.metrics, runtime::kGaugeRefreshInterval) {
    gauges_.Add("jobs", runtime::LoggedRefresh("job backlog", [this] { return backlog_.Refresh(); }));
    if (!IncidentsDisabled()) {
      std::string address = ctx.env.Address("FLIGHTDECK_INCIDENTS_ADDR", "127.0.0.1:50054");
      delivery_ = std::make_unique<AlertDelivery>(store_, rpc::MakeChannel(address, "incidents"));
      worker_.Handle(kAlertJob, [this](const jobs::Job& job) { return delivery_->Handle(job); });
    }
    smoke_.RegisterJobs(worker_);
  }

  std::vector<grpc::Service*> GrpcServices() override { return {&service_, &smoke_}; }
  void Listening(int grpc_port, int admin_port) override {
    for (const net::OwnEndpoint& e : net::OwnListeners(bind_address_, grpc_port, admin_port)) {
      egress_.DenyOwnEndpoint(e);
    }
  }

  void Start() override {
    prober_.Start();
    scheduler_.Start();
    recorder_.Start();
    coordinator_.Start();
    evaluator_.Start();
    worker_.Start();
    gauges_.Start();
  }

  void Stop() override {
    feed_.Close();  // open Watch streams end now (UNAVAILABLE: watch again), not at the grace's end
    gauges_.Stop();
    evaluator_.Stop();
    coordinator_.Stop();  // gives the leases back so that other replicas take over at once
    scheduler_.Stop();
    prober_.Stop();
    recorder_.Stop();  // flushes the last results
    worker_.Stop();
  }

 private:
  // config::Env::Raw treats an empty value as unset, so "set to the empty string" is read from
  // the process environment directly.
  static bool IncidentsDisabled() {
    const char* v = std::getenv("FLIGHTDECK_INCIDENTS_ADDR");
    return v != nullptr && *v == '\0';
  }

  static Prober::Options ProberOptions(const net::EgressPolicy* egress) {
    Prober::Options o;
    o.egress = egress;
    return o;
  }
  static HealthServiceImpl::Options ServiceOptions(const db::ChangeFeed* feed,
                                                   const net::EgressPolicy* egress) {
    HealthServiceImpl::Options o;
    o.feed = feed;
    o.egress = egress;
    return o;
  }
  static jobs::Worker::Options WorkerOptions(const config::Env& env, const std::string& owner) {
    jobs::Worker::Options o;
    o.owner = owner;
    o.threads = static_cast<int>(env.Int("FLIGHTDECK_HEALTH_WORKERS", 2, 1, 16));
    o.poll_interval = env.Duration("FLIGHTDECK_JOBS_POLL_INTERVAL", std::chrono::milliseconds(500));
    o.lease = std::chrono::minutes(5);
    jobs::Worker::ReadRetention(env, &o);
    return o;
  }
  static ResultRecorder::Options RecorderOptions(const config::Env& env) {
    ResultRecorder::Options o;
    o.flush_interval = env.Duration("FLIGHTDECK_HEALTH_FLUSH_INTERVAL", o.flush_interval);
    if (o.flush_interval.count() <= 0) {
      throw config::ConfigError("FLIGHTDECK_HEALTH_FLUSH_INTERVAL: must be above 0");
    }
    return o;
  }
  static Coordinator::Options CoordinatorOptions(const config::Env& env, const std::string& owner) {
    Coordinator::Options o;
    o.owner = owner;
    o.lease = env.Duration("FLIGHTDECK_HEALTH_LEASE", o.lease);
    if (o.lease < std::chrono::seconds(1)) {
      throw config::ConfigError("FLIGHTDECK_HEALTH_LEASE: must be at least 1s");
    }
    return o;
  }
  static HealthEvaluator::Options EvaluatorOptions(const config::Env& env) {
    HealthEvaluator::Options o;
    o.down_after = env.Duration("FLIGHTDECK_HEALTH_DOWN_AFTER", o.down_after);
    o.interval = env.Duration("FLIGHTDECK_HEALTH_EVALUATE_INTERVAL", o.interval);
    o.deliver = !IncidentsDisabled();
    return o;
  }

  std::string bind_address_;
  net::EgressPolicy egress_;  // every probe's and smoke check's destination is checked against it
  secrets::KeyRing keys_;
  std::string owner_;
  jobs::Queue queue_;
  jobs::Worker worker_;
  HealthStore store_;
  ResultRecorder recorder_;
  metrics::Family<metrics::Histogram>& lateness_;
  Prober prober_;
  Scheduler scheduler_;
  Coordinator coordinator_;
  HealthEvaluator evaluator_;
  db::ChangeFeed feed_;
  HealthServiceImpl service_;
  SmokeServiceImpl smoke_;
  std::unique_ptr<AlertDelivery> delivery_;
  jobs::BacklogGauges backlog_;
  metrics::Refresher gauges_;  // last: stops before what it reads goes
};

}  // namespace

int main() {
  runtime::ServiceSpec spec;
  spec.process_name = "flightdeck-health";
  spec.schema = "health";
  spec.default_grpc_port = kGrpcPort;
  spec.default_admin_port = kAdminPort;
  spec.build = [](runtime::Context& ctx) { return std::make_unique<Health>(ctx); };
  return runtime::RunService(spec);
}
