// flightdeck-releases: release pipelines (DESIGN.md §3). Wiring only.
#include <unistd.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/cache/cache.h"
#include "common/config/config.h"
#include "common/db/change_feed.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/jobs/backlog.h"
#include "common/jobs/jobs.h"
#include "common/metrics/refresher.h"
#include "common/net/egress.h"
#include "common/runtime/gauge_refresh.h"
#include "common/runtime/runtime.h"
#include "services/releases/metric_source.h"
#include "services/releases/notification_store.h"
#include "services/releases/notifications.h"
#include "services/releases/pipeline.h"
#include "services/releases/policy.h"
#include "services/releases/release_gauges.h"
#include "services/releases/service.h"
#include "services/releases/smoke_runs.h"
#include "services/releases/store.h"
#include "services/releases/window_gate.h"

namespace {

using namespace flightdeck;

releases::PolicySet LoadPolicies(const config::Env& env) {
  std::optional<std::string> path = env.Raw("FLIGHTDECK_ENVIRONMENTS_FILE");
  if (!path) return releases::PolicySet::Defaults();
  releases::PolicySet policies;
  if (grpc::Status s = releases::PolicySet::FromFile(*path, &policies); !s.ok()) {
    throw config::ConfigError("FLIGHTDECK_ENVIRONMENTS_FILE: " + *path + ": " + s.error_message());
  }
  return policies;
}

// Extended while a step runs: it bounds how long a dead replica's step waits for another.
std::chrono::milliseconds JobLease(const config::Env& env) {
  return env.Duration("FLIGHTDECK_JOBS_LEASE", std::chrono::minutes(1));
}

jobs::Worker::Options WorkerOptions(const config::Env& env) {
  jobs::Worker::Options o;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  o.owner = std::string(host) + ":" + std::to_string(getpid());
  o.threads = static_cast<int>(env.Int("FLIGHTDECK_RELEASES_WORKERS", 4, 1, 64));
  o.poll_interval = env.Duration("FLIGHTDECK_JOBS_POLL_INTERVAL", std::chrono::milliseconds(200));
  o.lease = JobLease(env);
  jobs::Worker::ReadRetention(env, &o);
  return o;
}

class Releases final : public runtime::Component {
 public:
  explicit Releases(runtime::Context& ctx)
      : bind_address_(ctx.config.bind_address),
        egress_(net::EgressPolicy::FromEnv(ctx.env, net::OwnEndpointsFromEnv(ctx.env, 50051, 9101))),
        policies_(LoadPolicies(ctx.env)),
        queue_(ctx.db, "releases", ctx.clock),
        worker_(queue_, WorkerOptions(ctx.env)),
        prometheus_(std::chrono::seconds(10), &egress_),
        health_(rpc::MakeChannel(ctx.env.Address("FLIGHTDECK_HEALTH_ADDR", "127.0.0.1:50053"), "health")),
        alerts_(alerts::IncidentsChannel(ctx.env)),
        smoke_(releases::MakeSmokeRunsClient(
            rpc::MakeChannel(ctx.env.Address("FLIGHTDECK_HEALTH_ADDR", "127.0.0.1:50053"), "health"))),
        store_(ctx.db, queue_),
        backups_(releases::MakeBackupsClient(
            rpc::MakeChannel(ctx.env.Address("FLIGHTDECK_BACKUPS_ADDR", "127.0.0.1:50052"), "backups"))),
        pipeline_(store_, ctx.clock, policies_, ctx.metrics, releases::MakeDriver,
                  {{"prometheus", &prometheus_}, {"health", &health_}}, backups_.get()),
        window_store_(ctx.db),
        backup_facts_(releases::MakeBackupFactsClient(
            rpc::MakeChannel(ctx.env.Address("FLIGHTDECK_BACKUPS_ADDR", "127.0.0.1:50052"), "backups"))),
        checklists_(window_store_, store_, backup_facts_.get()),
        windows_(window_store_, checklists_, policies_, ctx.clock),
        notification_store_(ctx.db, queue_),
        notifier_(store_, notification_store_, policies_, ctx.clock, &egress_),
        verification_(window_store_, queue_, smoke_.get(), ctx.clock),
        service_(store_, pipeline_, ctx.cache, ctx.config.cache_ttl),
        feed_(ctx.config.database_url, "releases_events"),
        backlog_(ctx.db, "releases", ctx.clock, ctx.metrics),
        release_gauges_(store_, ctx.clock, ctx.metrics, policies_, JobLease(ctx.env)),
        gauges_(ctx.metrics, runtime::kGaugeRefreshInterval) {
    gauges_.Add("jobs", runtime::LoggedRefresh("job backlog", [this] { return backlog_.Refresh(); }));
    gauges_.Add("releases", runtime::LoggedRefresh("releases by state", [this] { return release_gauges_.Refresh(); }));
    service_.SetChangeFeed(&feed_);
    service_.SetWindows(&windows_);
    pipeline_.SetWindows(&windows_);
    windows_.SetScheduledChecks(&queue_, ctx.env.Duration("FLIGHTDECK_WINDOW_CHECK_LEAD",
                                                          std::chrono::hours(1)));
    windows_.SetVerification(&verification_);
    worker_.Handle(releases::kWindowSmokeJob,
                   [this](const jobs::Job& job) { return verification_.Run(job); });
    worker_.Handle(releases::kWindowCheckJob,
                   [this](const jobs::Job& job) { return windows_.RunScheduledCheck(job); });
    store_.SetOnChange([this](const std::string& id, long long revision) { service_.ReleaseChanged(id, revision); });
    pipeline_.SetNudge([this] { worker_.Nudge(); });
    pipeline_.SetSmokeRuns(smoke_.get());
    store_.SetNotifications([this](const std::string& environment, const std::string& kind) {
      return notifier_.Wants(environment, kind);
    });
    worker_.Handle(releases::kNotifyJob, [this](const jobs::Job& job) { return notifier_.RunFanOut(job); });
    worker_.Handle(releases::kDeliverNotificationJob,
                   [this](const jobs::Job& job) { return notifier_.RunDeliver(job); });
    worker_.Handle(alerts::kSendAlertJob, [this](const jobs::Job& job) { return alerts_.Deliver(job); });
    worker_.Handle(releases::kAdvanceJob, [this](const jobs::Job& job) {
      nlohmann::json payload = nlohmann::json::parse(job.payload, nullptr, false);
      std::string id = payload.is_object() ? payload.value("release_id", "") : "";
      if (id.empty()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "job payload has no release_id");
      }
      return pipeline_.Advance(id);
    });
  }
  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }
  void ServeOnQueues(rpc::Server& server) override {
    server.ServeOnQueue([this](grpc::ServerCompletionQueue* queue) { service_.ServeGetRelease(queue); });
  }
  void Listening(int grpc_port, int admin_port) override {
    for (const net::OwnEndpoint& e : net::OwnListeners(bind_address_, grpc_port, admin_port)) {
      egress_.DenyOwnEndpoint(e);
    }
  }
  void Start() override {
    worker_.Start();
    gauges_.Start();
  }
  void Stop() override {
    feed_.Close();  // open Watch streams end now (UNAVAILABLE: watch again), not at the grace's end
    gauges_.Stop();
    worker_.Stop();
  }

 private:
  std::string bind_address_;
  net::EgressPolicy egress_;  // where the Prometheus canary source and notifications may connect
  releases::PolicySet policies_;
  jobs::Queue queue_;
  jobs::Worker worker_;
  releases::PrometheusSource prometheus_;
  releases::HealthSource health_;
  alerts::Sender alerts_;
  std::unique_ptr<releases::SmokeRuns> smoke_;
  releases::ReleaseStore store_;
  std::unique_ptr<releases::PreDeployBackups> backups_;
  releases::Pipeline pipeline_;
  releases::WindowStore window_store_;
  std::unique_ptr<releases::BackupFacts> backup_facts_;
  releases::ChecklistEvaluator checklists_;
  releases::WindowGate windows_;
  releases::NotificationStore notification_store_;
  releases::ReleaseNotifier notifier_;
  releases::WindowVerification verification_;
  releases::ReleaseServiceImpl service_;
  db::ChangeFeed feed_;
  jobs::BacklogGauges backlog_;
  releases::ReleaseGauges release_gauges_;
  metrics::Refresher gauges_;  // last: stops before what it reads goes
};

}  // namespace

int main() {
  runtime::ServiceSpec spec;
  spec.process_name = "flightdeck-releases";
  spec.schema = "releases";
  spec.default_grpc_port = 50051;
  spec.default_admin_port = 9101;
  spec.build = [](runtime::Context& ctx) { return std::make_unique<Releases>(ctx); };
  return runtime::RunService(spec);
}
