// flightdeck-backups: streaming, encrypted, verified PostgreSQL backups (DESIGN.md §3).
// Wiring only.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/config/config.h"
#include "common/jobs/backlog.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "common/metrics/refresher.h"
#include "common/runtime/gauge_refresh.h"
#include "common/runtime/runtime.h"
#include "common/secrets/secrets.h"
#include "services/backups/chunked_cipher.h"
#include "services/backups/rpo_gauges.h"
#include "services/backups/runner.h"
#include "services/backups/service.h"
#include "services/backups/storage_root.h"
#include "services/backups/store.h"
#include "services/backups/target_destination.h"

namespace {

using namespace flightdeck;

// pg_dump must be at least as new as the server it dumps: operators point these at the right
// PostgreSQL version's tools.
backups::Runner::Tools ToolsFrom(const config::Env& env) {
  backups::Runner::Tools tools;
  tools.pg_dump = env.String("FLIGHTDECK_PG_DUMP", tools.pg_dump);
  tools.pg_restore = env.String("FLIGHTDECK_PG_RESTORE", tools.pg_restore);
  return tools;
}

std::string Host() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

std::string PayloadString(const jobs::Job& job, const char* field) {
  nlohmann::json p = nlohmann::json::parse(job.payload, nullptr, false);
  return p.is_object() && p.contains(field) && p[field].is_string() ? p[field].get<std::string>() : "";
}

class Backups final : public runtime::Component {
 public:
  explicit Backups(runtime::Context& ctx)
      : bind_address_(ctx.config.bind_address),
        egress_(backups::BackupsEgressPolicy(ctx.env, 50052, 9102)),
        keys_(secrets::LoadServiceKeys("backups")),
        host_(Host()),
        runner_id_(host_ + ":" + std::to_string(getpid())),
        queue_(ctx.db, "backups", ctx.clock),
        worker_(queue_, WorkerOptions(ctx.env)),
        store_(ctx.db, queue_),
        runner_(store_, keys_, ctx.clock, ctx.metrics, host_, runner_id_, ToolsFrom(ctx.env)),
        backup_root_(ctx.env.String("FLIGHTDECK_BACKUP_ROOT", backups::kDefaultBackupRoot)),
        service_(store_, keys_, ctx.clock, backup_root_, [this] { worker_.Nudge(); }),
        stale_after_(ctx.env.Duration("FLIGHTDECK_BACKUP_STALE_AFTER", std::chrono::minutes(2))),
        alerts_(alerts::IncidentsChannel(ctx.env)),
        backlog_(ctx.db, "backups", ctx.clock, ctx.metrics),
        rpo_(store_, ctx.clock, ctx.metrics),
        gauges_(ctx.metrics, runtime::kGaugeRefreshInterval) {
    gauges_.Add("jobs", runtime::LoggedRefresh("job backlog", [this] { return backlog_.Refresh(); }));
    gauges_.Add("backup_rpo", runtime::LoggedRefresh("backup RPO", [this] { return rpo_.Refresh(); }));
    service_.SetEgressPolicy(&egress_);
    runner_.SetStaleAfter(stale_after_);
    worker_.Handle(alerts::kSendAlertJob, [this](const jobs::Job& j) { return alerts_.Deliver(j); });
    worker_.Handle(backups::kRunJob, [this](const jobs::Job& j) { return runner_.RunBackup(PayloadString(j, "backup_id")); });
    worker_.Handle(backups::kVerifyJob, [this](const jobs::Job& j) { return runner_.Verify(PayloadString(j, "backup_id")); });
    worker_.Handle(backups::kRetentionJob, [this](const jobs::Job& j) { return runner_.ApplyRetention(PayloadString(j, "target")); });
    worker_.Handle(backups::kRestoreJob, [this](const jobs::Job& j) {
      nlohmann::json p = nlohmann::json::parse(j.payload, nullptr, false);
      return runner_.Restore(PayloadString(j, "backup_id"), PayloadString(j, "database"),
                             p.is_object() && p.value("overwrite", false), PayloadString(j, "server_url_sealed"));
    });
    worker_.Handle(backups::kScheduleJob, [this](const jobs::Job& j) {
      nlohmann::json p = nlohmann::json::parse(j.payload, nullptr, false);
      return runner_.RunSchedule(PayloadString(j, "target"), p.is_object() ? p.value("due_us", 0LL) : 0LL);
    });
  }

  std::vector<grpc::Service*> GrpcServices() override { return {&service_}; }
  void Listening(int grpc_port, int admin_port) override {
    for (const net::OwnEndpoint& e : net::OwnListeners(bind_address_, grpc_port, admin_port)) {
      egress_.DenyOwnEndpoint(e);
    }
  }

  void Start() override {
    log::Info("backup storage root", {{"FLIGHTDECK_BACKUP_ROOT", backups::ResolvePath(backup_root_)}});
    WarnAboutTargetsOutsideTheRoot();
    // A run interrupted by a crash of this host's previous process is failed now, not later.
    runner_.RecoverAbandoned(stale_after_);
    worker_.Start();
    housekeeping_ = std::thread([this] { Housekeeping(); });
    gauges_.Start();
  }

  void Stop() override {
    gauges_.Stop();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (housekeeping_.joinable()) housekeeping_.join();
    worker_.Stop();
  }

 private:
  static jobs::Worker::Options WorkerOptions(const config::Env& env) {
    jobs::Worker::Options o;
    o.owner = Host() + ":" + std::to_string(getpid());
    o.threads = static_cast<int>(env.Int("FLIGHTDECK_BACKUP_WORKERS", 2, 1, 16));
    o.poll_interval = env.Duration("FLIGHTDECK_JOBS_POLL_INTERVAL", std::chrono::milliseconds(500));
    // A backup may take hours; a dead runner is detected by its heartbeat, not by this lease.
    o.lease = env.Duration("FLIGHTDECK_BACKUP_JOB_LEASE", std::chrono::hours(12));
    jobs::Worker::ReadRetention(env, &o);
    return o;
  }

  // Targets made before the root was enforced keep working; their owners are told to move them.
  void WarnAboutTargetsOutsideTheRoot() {
    std::vector<backups::TargetRecord> targets;
    if (!store_.ListTargets(&targets).ok()) return;
    for (const auto& t : targets) {
      std::string resolved;
      if (grpc::Status s = backups::CheckStoragePath(backup_root_, t.target.storage().path(), &resolved); !s.ok()) {
        log::Warn("backup target stores outside FLIGHTDECK_BACKUP_ROOT",
                  {{"target", t.target.name()}, {"error", s.error_message()}});
      }
    }
  }

  // Every minute, or every stale window when that is shorter (so that a run or restore whose
  // runner died on another host is failed within two stale windows): fail abandoned work; and
  // run retention daily.
  void Housekeeping() {
    const std::chrono::milliseconds period = std::min<std::chrono::milliseconds>(std::chrono::minutes(1), stale_after_);
    auto next_retention = std::chrono::steady_clock::now() + std::chrono::hours(24);
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      runner_.RecoverAbandoned(stale_after_);
      if (std::chrono::steady_clock::now() >= next_retention) {
        next_retention += std::chrono::hours(24);
        std::vector<backups::TargetRecord> targets;
        if (store_.ListTargets(&targets).ok()) {
          for (const auto& t : targets) runner_.ApplyRetention(t.target.name());
        }
      }
      lock.lock();
    }
  }

  std::string bind_address_;
  net::EgressPolicy egress_;  // where backup targets' databases may be
  backups::KeyRing keys_;
  std::string host_;
  std::string runner_id_;
  jobs::Queue queue_;
  jobs::Worker worker_;
  backups::BackupStore store_;
  backups::Runner runner_;
  std::string backup_root_;
  backups::BackupServiceImpl service_;
  std::chrono::milliseconds stale_after_;
  alerts::Sender alerts_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread housekeeping_;
  jobs::BacklogGauges backlog_;
  backups::RpoGauges rpo_;
  metrics::Refresher gauges_;  // last: stops before what it reads goes
};

}  // namespace

int main() {
  runtime::ServiceSpec spec;
  spec.process_name = "flightdeck-backups";
  spec.schema = "backups";
  spec.default_grpc_port = 50052;
  spec.default_admin_port = 9102;
  spec.build = [](runtime::Context& ctx) { return std::make_unique<Backups>(ctx); };
  return runtime::RunService(spec);
}
