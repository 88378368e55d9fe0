// flightdeck-incidents: alert intake, dedup, grouping, inhibition, incidents, escalation,
// reviews and reports (DESIGN.md §3). Wiring only.
#include <unistd.h>

#include <memory>

#include "common/config/config.h"
#include "common/db/change_feed.h"
#include "common/grpc/channel.h"
#include "common/jobs/backlog.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "common/metrics/refresher.h"
#include "common/net/egress.h"
#include "common/runtime/gauge_refresh.h"
#include "common/runtime/runtime.h"
#include "common/secrets/secrets.h"
#include "services/incidents/config_store.h"
#include "services/incidents/correlation.h"
#include "services/incidents/deadlines.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/intake.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/service.h"

namespace {

using namespace flightdeck;

std::string Owner() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

incidents::BusinessCalendar LoadCalendar(const config::Env& env) {
  std::string zone = env.String("FLIGHTDECK_INCIDENTS_TIMEZONE", "UTC");
  incidents::BusinessCalendar calendar;
  std::string error;
  if (!incidents::BusinessCalendar::Load(zone, &calendar, &error)) {
    throw config::ConfigError("FLIGHTDECK_INCIDENTS_TIMEZONE: " + error);
  }
  return calendar;
}

std::unique_ptr<incidents::ReleasesClient> MakeReleases(const config::Env& env) {
  std::string addr = env.Address("FLIGHTDECK_RELEASES_ADDR", "127.0.0.1:50051");
  return incidents::MakeReleasesClient(rpc::MakeChannel(addr, "releases"));
}

class Incidents final : public runtime::Component {
 public:
  explicit Incidents(runtime::Context& ctx)
      : db_(ctx.db),
        bind_address_(ctx.config.bind_address),
        egress_(net::EgressPolicy::FromEnv(ctx.env, net::OwnEndpointsFromEnv(ctx.env, 50054, 9104))),
        keys_(secrets::LoadServiceKeys("escalation policies with notification targets")),
        calendar_(LoadCalendar(ctx.env)),
        queue_(ctx.db, "incidents", ctx.clock),
        worker_(queue_, WorkerOptions(ctx.env)),
        releases_(MakeReleases(ctx.env)),
        config_(ctx.db, ctx.clock, &keys_),
        lifecycle_(ctx.db, queue_, ctx.clock, calendar_, config_, releases_.get()),
        intake_(ctx.db, config_, lifecycle_, ctx.clock),
        service_(ctx.db, ctx.clock, calendar_, config_, intake_, lifecycle_),
        feed_(ctx.config.database_url, "incidents_events"),
        backlog_(ctx.db, "incidents", ctx.clock, ctx.metrics),
        gauges_(ctx.metrics, runtime::kGaugeRefreshInterval) {
    gauges_.Add("jobs", runtime::LoggedRefresh("job backlog", [this] { return backlog_.Refresh(); }));
    service_.SetChangeFeed(&feed_);
    config_.SetEgressPolicy(&egress_);
    lifecycle_.SetEgressPolicy(&egress_);
    if (std::optional<std::string> text = ctx.env.Raw("FLIGHTDECK_INCIDENTS_ACK_DEADLINES")) {
      std::map<incidents::Severity, std::chrono::milliseconds> deadlines;
      std::string error;
      if (!incidents::ParseAckDeadlines(*text, &deadlines, &error)) {
        throw config::ConfigError("FLIGHTDECK_INCIDENTS_ACK_DEADLINES: " + error);
      }
      lifecycle_.SetAckDeadlines(std::move(deadlines));
    }
    lifecycle_.RegisterJobs(worker_);
  }

  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }
  void Listening(int grpc_port, int admin_port) override {
    for (const net::OwnEndpoint& e : net::OwnListeners(bind_address_, grpc_port, admin_port)) {
      egress_.DenyOwnEndpoint(e);
    }
  }
  void Start() override {
    FoldCounts();
    worker_.Start();
    gauges_.Start();
  }
  void Stop() override {
    feed_.Close();  // open Watch streams end now (UNAVAILABLE: watch again), not at the grace's end
    gauges_.Stop();
    worker_.Stop();
  }

 private:
  // The sessions of this service's last run (and of any that has lost its connection) have
  // ended: their incidents' count rows are folded into one, so that restarts add no rows for
  // good. Best-effort: a failure leaves the rows, whose sums are right, for the next start.
  void FoldCounts() {
    long long folded = 0;
    grpc::Status s = db_.Transact("fold incident counts", [&](pqxx::transaction_base& tx) {
      folded = incidents::FoldCountsOfEndedSessions(tx);
      return grpc::Status::OK;
    });
    if (!s.ok()) {
      log::Warn("folding the incident counts of ended sessions failed", {{"error", s.error_message()}});
    } else if (folded > 0) {
      log::Info("incident counts of ended sessions folded", {{"rows", std::to_string(folded)}});
    }
  }

  static jobs::Worker::Options WorkerOptions(const config::Env& env) {
    jobs::Worker::Options o;
    o.owner = Owner();
    o.threads = static_cast<int>(env.Int("FLIGHTDECK_INCIDENT_WORKERS", 2, 1, 32));
    o.poll_interval = env.Duration("FLIGHTDECK_JOBS_POLL_INTERVAL", std::chrono::milliseconds(500));
    jobs::Worker::ReadRetention(env, &o);
    return o;
  }

  db::Pool& db_;
  std::string bind_address_;
  net::EgressPolicy egress_;  // where notification webhooks may go
  secrets::KeyRing keys_;
  incidents::BusinessCalendar calendar_;
  jobs::Queue queue_;
  jobs::Worker worker_;
  std::unique_ptr<incidents::ReleasesClient> releases_;
  incidents::ConfigStore config_;
  incidents::Lifecycle lifecycle_;
  incidents::Intake intake_;
  incidents::IncidentServiceImpl service_;
  db::ChangeFeed feed_;
  jobs::BacklogGauges backlog_;
  metrics::Refresher gauges_;  // last: stops before what it reads goes
};

}  // namespace

int main() {
  runtime::ServiceSpec spec;
  spec.process_name = "flightdeck-incidents";
  spec.schema = "incidents";
  spec.default_grpc_port = 50054;
  spec.default_admin_port = 9104;
  spec.build = [](runtime::Context& ctx) { return std::make_unique<Incidents>(ctx); };
  return runtime::RunService(spec);
}
