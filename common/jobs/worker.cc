#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/config/config.h"
#include "common/grpc/status_name.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "common/trace/trace.h"

namespace flightdeck::jobs {
namespace {

// RunOnce takes what is due in one claim; the pollers take one job at a time so that a slow
// handler does not sit on leases of jobs another thread could run.
constexpr int kRunOnceLimit = 100;


}  // namespace

struct Worker::Impl {
  Queue& queue;
  Options options;

  std::mutex mu;
  std::condition_variable wake;       // the pollers: a nudge wakes one of them
  std::condition_variable heartbeat_wake;
  std::map<std::string, Handler> handlers;
  std::vector<std::thread> threads;
  std::thread heartbeat;
  bool stopping = false;            // pollers take no more jobs
  bool heartbeat_stopping = false;  // set once the pollers' last handlers have returned
  unsigned long long nudges = 0;
  std::set<long long> held;  // claimed here, outcome not recorded yet: their leases are kept

  Impl(Queue& q, Options o) : queue(q), options(std::move(o)) {}

  // Returns how many jobs ran, or -1 when claiming failed.
  int RunBatch(int limit) {
    std::vector<Job> jobs;
    grpc::Status claimed = queue.Claim(options.owner, limit, options.lease, &jobs);
    if (!claimed.ok()) {
      log::Warn("claiming jobs failed",
                {{"schema", queue.schema()}, {"owner", options.owner},
                 {"error", claimed.error_message()}});
      return -1;
    }
    {
      std::lock_guard lock(mu);
      for (const Job& job : jobs) held.insert(job.id);
    }
    for (const Job& job : jobs) Run(job);
    return static_cast<int>(jobs.size());
  }

  void Run(const Job& job) {
    trace::Span span("job " + job.kind, trace::SpanKind::kConsumer);
    if (span.recording()) {
      span.SetAttribute("job.id", job.id);
      span.SetAttribute("job.kind", job.kind);
      span.SetAttribute("job.attempt", static_cast<long long>(job.attempts));
    }
    Handler handler;
    {
      std::lock_guard lock(mu);
      auto it = handlers.find(job.kind);
      if (it != handlers.end()) handler = it->second;
    }
    std::string error;
    if (!handler) {
      error = "no handler for kind " + job.kind;
    } else {
      try {
        grpc::Status result = handler(job);
        if (!result.ok()) error = std::string(rpc::StatusCodeName(result.error_code())) + ": " +
                                  result.error_message();
      } catch (const std::exception& e) {
        error = std::string("handler threw: ") + e.what();
      } catch (...) {
        error = "handler threw a non-standard exception";
      }
    }
    grpc::Status recorded = error.empty() ? queue.Complete(job.id, options.owner)
                                          : queue.Fail(job.id, options.owner, error);
    {
      std::lock_guard lock(mu);
      held.erase(job.id);
    }
    if (!error.empty()) {
      if (span.recording()) span.SetStatus(trace::StatusCode::kError, error);
      log::Warn("job attempt failed", {{"schema", queue.schema()}, {"job_id", job.id},
                                        {"kind", job.kind}, {"attempt", job.attempts},
                                        {"max_attempts", job.max_attempts}, {"error", error}});
    }
    if (!recorded.ok()) {
      // Usually a lease that expired while the handler ran: another worker owns the job now.
      log::Warn("recording a job outcome failed",
                {{"schema", queue.schema()}, {"job_id", job.id}, {"kind", job.kind},
                 {"error", recorded.error_message()}});
    }
  }

  // Deletes finished jobs past their retention, a batch at a time, at most kPruneBatches of them
  // per pass (a table that grew for long is emptied over a few passes, not in one long stall).
  void Prune() {
    constexpr int kBatch = 1000;
    constexpr int kPruneBatches = 50;
    long long total = 0;
    for (int i = 0; i < kPruneBatches; ++i) {
      int deleted = 0;
      grpc::Status s = queue.Prune(options.keep_done, options.keep_failed, kBatch, &deleted);
      if (!s.ok()) {
        log::Warn("pruning finished jobs failed", {{"schema", queue.schema()}, {"error", s.error_message()}});
        break;
      }
      total += deleted;
      if (deleted < kBatch) break;
    }
    if (total > 0) log::Info("pruned finished jobs", {{"schema", queue.schema()}, {"deleted", total}});
  }

  // Extends the leases of held jobs every third of a lease until the pollers are done; prunes
  // finished jobs at the first beat and every prune_interval after it (the beat comes at least
  // that often: a backups lease is hours long).
  void KeepLeases() {
    const bool prunes = options.keep_done.count() > 0 || options.keep_failed.count() > 0;
    auto every = std::max(options.lease / 3, std::chrono::milliseconds(50));
    if (prunes) every = std::min(every, std::max(options.prune_interval, std::chrono::milliseconds(50)));
    std::chrono::steady_clock::time_point next_prune = std::chrono::steady_clock::now();
    std::unique_lock lock(mu);
    while (!heartbeat_wake.wait_for(lock, every, [&] { return heartbeat_stopping; })) {
      const std::vector<long long> ids(held.begin(), held.end());
      lock.unlock();
      for (long long id : ids) {
        grpc::Status s = queue.Extend(id, options.owner, options.lease);
        if (s.ok()) continue;
        // A lost lease stays lost (another worker runs the job now); a database error is tried
        // again at the next beat, while the lease still holds.
        log::Warn("extending a job lease failed", {{"schema", queue.schema()}, {"job_id", id},
                                                   {"error", s.error_message()}});
        if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          std::lock_guard relock(mu);
          held.erase(id);
        }
      }
      // After the extensions: a long pass must not make a held lease wait.
      if (prunes && std::chrono::steady_clock::now() >= next_prune) {
        Prune();
        next_prune = std::chrono::steady_clock::now() + options.prune_interval;
      }
      lock.lock();
    }
  }

  void Poll() {
    while (true) {
      unsigned long long seen;
      {
        std::lock_guard lock(mu);
        if (stopping) return;
        seen = nudges;
      }
      if (RunBatch(1) > 0) continue;
      std::unique_lock lock(mu);
      wake.wait_for(lock, options.poll_interval, [&] { return stopping || nudges != seen; });
    }
  }
};

Worker::Worker(Queue& queue, Options options)
    : impl_(std::make_unique<Impl>(queue, std::move(options))) {}

Worker::~Worker() { Stop(); }

void Worker::Handle(const std::string& kind, Handler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->handlers[kind] = std::move(handler);
}

void Worker::Start() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->threads.empty()) return;
  impl_->stopping = false;
  impl_->heartbeat_stopping = false;
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] { impl->Poll(); });
  }
  impl_->heartbeat = std::thread([impl = impl_.get()] { impl->KeepLeases(); });
}

void Worker::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    threads.swap(impl_->threads);
  }
  impl_->wake.notify_all();
  for (std::thread& t : threads) t.join();
  // Handlers still running kept their leases until they returned.
  {
    std::lock_guard lock(impl_->mu);
    impl_->heartbeat_stopping = true;
  }
  impl_->heartbeat_wake.notify_all();
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
}

void Worker::ReadRetention(const config::Env& env, Options* options) {
  options->keep_done = env.Duration("FLIGHTDECK_JOBS_KEEP_DONE", options->keep_done);
  options->keep_failed = env.Duration("FLIGHTDECK_JOBS_KEEP_FAILED", options->keep_failed);
}

int Worker::RunOnce() { return std::max(0, impl_->RunBatch(kRunOnceLimit)); }

void Worker::Nudge() {
  {
    std::lock_guard lock(impl_->mu);
    ++impl_->nudges;
  }
  // One job was enqueued: one poller claims it, and goes on claiming while it finds more. Waking
  // every poller made each of the others run an empty claim transaction per nudge (three per
  // release created, with the releases service's four pollers).
  impl_->wake.notify_one();
}

}  // namespace flightdeck::jobs
