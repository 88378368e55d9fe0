#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "services/health/probe/active_probe.h"
#include "services/health/probe/grpc_probe.h"
#include "services/health/probe/http_probe.h"
#include "services/health/probe/postgres_probe.h"
#include "services/health/probe/probe.h"
#include "services/health/probe/resolver.h"
#include "services/health/probe/socket_probes.h"

namespace flightdeck::health {
namespace internal {

std::string TimeoutText(std::chrono::milliseconds timeout) {
  return "timeout after " + std::to_string(timeout.count()) + " ms";
}

std::string ErrnoText(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "connection refused";
    case ECONNRESET:
      return "connection reset";
    case ETIMEDOUT:
      return "connection timed out";
    case EHOSTUNREACH:
      return "host unreachable";
    case ENETUNREACH:
      return "network unreachable";
    default:
      break;
  }
  std::string text = strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(tolower(text[0]));
  return text;
}

std::string FirstLine(const std::string& text, size_t max) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '.')) {
    line.pop_back();
  }
  if (line.size() > max) line = line.substr(0, max) + "...";
  return line;
}

// The engine thread: owns the loop, the resolver, curl, and every probe in flight but GRPC.
class Engine final : public ProbeHost {
 public:
  Engine(int http_max_connections, const net::EgressPolicy* egress, std::atomic<int>& in_flight)
      : egress_(egress),
        resolver_(loop_, egress),
        curl_(loop_, http_max_connections),
        in_flight_(in_flight) {}

  ~Engine() override {
    // Close every handle while curl and the loop are still here.
    for (auto& [id, probe] : active_) probe->Close();
    active_.clear();
  }

  EventLoop& loop() override { return loop_; }
  Resolver& resolver() override { return resolver_; }
  CurlDriver& curl() override { return curl_; }
  const net::EgressPolicy* egress() const override { return egress_; }

  ActiveProbe* Find(uint64_t id) override {
    auto it = active_.find(id);
    return it == active_.end() ? nullptr : it->second.get();
  }

  // Engine thread.
  void Begin(ProbeSpec spec, Prober::Callback done) {
    uint64_t id = next_id_++;
    std::unique_ptr<ActiveProbe> probe;
    switch (spec.kind) {
      case ProbeKind::kHttp:
        probe = NewHttpProbe(*this, id, std::move(spec), std::move(done));
        break;
      case ProbeKind::kTcp:
        probe = NewTcpProbe(*this, id, std::move(spec), std::move(done));
        break;
      case ProbeKind::kRedis:
        probe = NewRedisProbe(*this, id, std::move(spec), std::move(done));
        break;
      case ProbeKind::kPostgres:
        probe = NewPostgresProbe(*this, id, std::move(spec), std::move(done));
        break;
      case ProbeKind::kGrpc:
        return;  // never routed here
    }
    ActiveProbe* p = probe.get();
    p->start_ = std::chrono::steady_clock::now();
    p->started_ = std::chrono::system_clock::now();
    active_.emplace(id, std::move(probe));
    if (stopping_) {
      p->Fail("prober stopped");
      return;
    }
    auto timeout = p->spec().timeout;
    p->timer_ = loop_.AddTimer(p->start_ + timeout, [this, id, timeout] {
      ActiveProbe* late = Find(id);
      if (late == nullptr) return;
      late->timer_ = 0;
      ProbeOutcome outcome;
      outcome.error = TimeoutText(timeout);
      Finish(late, std::move(outcome));
    });
    p->Begin();
  }

  void Finish(ActiveProbe* probe, ProbeOutcome outcome) override {
    if (probe->finished_) return;
    probe->finished_ = true;
    if (probe->timer_ != 0) loop_.CancelTimer(probe->timer_);
    probe->Close();
    outcome.started = probe->started_;
    outcome.latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - probe->start_)
            .count();
    // Finished before its callback runs: a caller woken by the callback sees it so.
    in_flight_.fetch_sub(1);
    try {
      probe->done_(outcome);
    } catch (...) {
      // A callback's exception must not take the engine thread down.
    }
    auto it = active_.find(probe->id());
    if (it != active_.end()) {
      loop_.DeleteLater(std::move(it->second));
      active_.erase(it);
    }
  }

  void Run(const std::atomic<bool>& stop) {
    while (!stop.load()) loop_.RunOnce(std::chrono::milliseconds(500));
    stopping_ = true;
    std::vector<uint64_t> ids;
    for (auto& [id, probe] : active_) ids.push_back(id);
    for (uint64_t id : ids) {
      if (ActiveProbe* p = Find(id)) p->Fail("prober stopped");
    }
    loop_.RunPosted();  // submissions that raced with Stop complete as stopped
  }

 private:
  EventLoop loop_;
  const net::EgressPolicy* egress_;
  Resolver resolver_;
  CurlDriver curl_;
  std::atomic<int>& in_flight_;
  std::unordered_map<uint64_t, std::unique_ptr<ActiveProbe>> active_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
};

}  // namespace internal

struct Prober::Impl {
  explicit Impl(Options o)
      : options(o),
        engine(std::make_unique<internal::Engine>(o.http_max_connections, o.egress, in_flight)),
        grpc([this] { in_flight.fetch_sub(1); }, o.egress) {}

  Options options;
  std::atomic<int> in_flight{0};
  std::unique_ptr<internal::Engine> engine;
  internal::GrpcProbes grpc;
  std::mutex mu;  // guards accepting against Stop
  bool accepting = true;
  std::atomic<bool> stop{false};
  std::thread thread;
};

namespace {

void CompleteStopped(const Prober::Callback& done) {
  ProbeOutcome outcome;
  outcome.error = "prober stopped";
  outcome.started = std::chrono::system_clock::now();
  done(outcome);
}

}  // namespace

Prober::Prober() : Prober(Options{}) {}

Prober::Prober(Options options) : impl_(std::make_unique<Impl>(options)) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Prober::~Prober() { Stop(); }

void Prober::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->thread.joinable() || !impl_->accepting) return;
  impl_->grpc.Start();
  internal::Engine* engine = impl_->engine.get();
  std::atomic<bool>* stop = &impl_->stop;
  impl_->thread = std::thread([engine, stop] { engine->Run(*stop); });
}

void Prober::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->accepting) return;
    impl_->accepting = false;
  }
  impl_->grpc.Stop();
  impl_->stop.store(true);
  impl_->engine->loop().Post([] {});  // wakes the loop so it sees `stop`
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  } else {
    impl_->engine->Run(impl_->stop);  // never started: complete what was queued
  }
}

void Prober::Submit(const ProbeSpec& spec, Callback done) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->accepting) {
      impl_->in_flight.fetch_add(1);
      if (spec.kind == ProbeKind::kGrpc) {
        if (impl_->grpc.Submit(spec, done)) return;
        impl_->in_flight.fetch_sub(1);
      } else {
        internal::Engine* engine = impl_->engine.get();
        engine->loop().Post([engine, spec, done = std::move(done)]() mutable {
          engine->Begin(std::move(spec), std::move(done));
        });
        return;
      }
    }
  }
  CompleteStopped(done);
}

int Prober::InFlight() const { return impl_->in_flight.load(); }

}  // namespace flightdeck::health
