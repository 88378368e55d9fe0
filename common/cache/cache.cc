#include "common/cache/cache.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cache/circuit_breaker.h"
#include "common/cache/redis_url.h"
#include "common/metrics/metrics.h"
#include "common/trace/trace.h"

namespace flightdeck::cache {
namespace {

using Clock = std::chrono::steady_clock;

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval ToTimeval(std::chrono::milliseconds d) {
  // A zero timeval means "no timeout" to hiredis: never let a spent budget become that.
  const long long ms = std::max<long long>(1, d.count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

std::chrono::milliseconds Remaining(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

// hiredis writes with write(2): a peer that closed the socket would raise SIGPIPE and kill the
// process. Block it on this thread for the duration of a command and swallow one we caused.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{0, 0};
        sigtimedwait(&pipe_set_, nullptr, &no_wait);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_{};
  sigset_t old_mask_{};
  bool was_pending_ = false;
};

enum class Op { kGet, kSet, kDel, kEval };
enum class Result { kHit, kMiss, kOk, kError, kSkipped };
constexpr std::array<const char*, 4> kOpNames = {"get", "set", "del", "eval"};
constexpr std::array<const char*, 5> kResultNames = {"hit", "miss", "ok", "error", "skipped"};

// Versioned entries are "<version>:<value>", invalidation markers "<version>!". Both scripts
// run atomically in Redis, so a check and its write cannot interleave with another writer's.
constexpr char kSetVersionedScript[] = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)'))
  local entry = string.sub(cur, #ARGV[1] + 1, #ARGV[1] + 1) == ':'
  if v and (v > tonumber(ARGV[1]) or (v == tonumber(ARGV[1]) and entry)) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
)lua";
constexpr char kInvalidateScript[] = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^(%d+)'))
  if v and v > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '!', 'PX', ARGV[2])
return 1
)lua";

}  // namespace

struct Cache::Impl {
  // One connection. Only the caller that leased it (busy) touches context and read_timeout.
  struct Slot {
    bool busy = false;                          // guarded by pool_mu
    redisContext* context = nullptr;            // null until first use and after any failure
    std::chrono::milliseconds read_timeout{0};  // what the context's socket is set to now
  };

  // Exclusive use of one slot for one command; gives it back to the pool when destroyed.
  class Lease {
   public:
    Lease(Impl& impl, Slot* slot) : impl_(impl), slot_(slot) {}
    ~Lease() {
      if (slot_ == nullptr) return;
      {
        std::lock_guard<std::mutex> lock(impl_.pool_mu);
        slot_->busy = false;
      }
      impl_.pool_cv.notify_one();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Slot* get() const { return slot_; }

   private:
    Impl& impl_;
    Slot* slot_;
  };

  // What one command came back with: a reply (possibly a Redis error reply) or a failure
  // to talk to Redis at all, or nothing because the breaker refused it.
  struct Outcome {
    enum Kind { kReply, kFailed, kSkipped } kind = kFailed;
    ReplyPtr reply;
  };

  Impl(CacheOptions opts, metrics::Registry* registry)
      : options(std::move(opts)),
        breaker(options.failure_threshold, options.open_for, [this](bool open) {
          if (breaker_gauge != nullptr) breaker_gauge->Set(open ? 1 : 0);
        }) {
    std::string error;
    std::optional<RedisEndpoint> parsed = ParseRedisUrl(options.url, &error);
    if (!parsed) throw std::invalid_argument("cache: " + error);
    endpoint = std::move(*parsed);
    const int n = std::max(1, options.connections);
    for (int i = 0; i < n; ++i) slots.push_back(std::make_unique<Slot>());
    if (registry != nullptr) RegisterMetrics(*registry);
  }

  ~Impl() {
    for (auto& slot : slots) {
      if (slot->context != nullptr) redisFree(slot->context);
    }
  }

  void RegisterMetrics(metrics::Registry& registry) {
    auto& ops = registry.AddCounter("flightdeck_cache_operations_total",
                                    "Redis cache operations by outcome; skipped means the "
                                    "circuit breaker was open and Redis was not asked.",
                                    {"op", "result"});
    // Created up front so that every series exists (at 0) before the first event.
    const std::array<std::vector<Result>, 4> valid = {
        std::vector<Result>{Result::kHit, Result::kMiss, Result::kError, Result::kSkipped},
        std::vector<Result>{Result::kOk, Result::kError, Result::kSkipped},
        std::vector<Result>{Result::kOk, Result::kError, Result::kSkipped},
        std::vector<Result>{Result::kOk, Result::kError, Result::kSkipped}};
    for (size_t op = 0; op < valid.size(); ++op) {
      for (Result r : valid[op]) {
        counters[op][static_cast<size_t>(r)] =
            &ops.With({kOpNames[op], kResultNames[static_cast<size_t>(r)]});
      }
    }
    breaker_gauge = &registry
                         .AddGauge("flightdeck_cache_breaker_open",
                                   "1 while the Redis cache circuit breaker is open.")
                         .With({});
    breaker_gauge->Set(breaker.open() ? 1 : 0);
  }

  void Count(Op op, Result result) {
    metrics::Counter* counter = counters[static_cast<size_t>(op)][static_cast<size_t>(result)];
    if (counter != nullptr) counter->Inc();
  }

  // Counts a write (SET, DEL, EVAL) by how it ended; its reply's value is not needed.
  void CountWrite(Op op, const Outcome& outcome) {
    if (outcome.kind == Outcome::kSkipped) {
      Count(op, Result::kSkipped);
    } else if (outcome.kind == Outcome::kFailed || outcome.reply->type == REDIS_REPLY_ERROR) {
      Count(op, Result::kError);
    } else {
      Count(op, Result::kOk);
    }
  }

  // Connects, authenticates and selects the database, all within connect_timeout.
  redisContext* Connect(std::string* error) {
    const Clock::time_point deadline = Clock::now() + options.connect_timeout;
    redisContext* c = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port,
                                              ToTimeval(options.connect_timeout));
    if (c == nullptr) {
      *error = "connect " + endpoint.Describe() + ": out of memory";
      return nullptr;
    }
    if (c->err != 0) {
      *error = "connect " + endpoint.Describe() + ": " + c->errstr;
      redisFree(c);
      return nullptr;
    }
    redisSetTimeout(c, ToTimeval(Remaining(deadline)));
    if (!endpoint.password.empty()) {
      std::vector<std::string_view> auth = {"AUTH"};
      if (!endpoint.user.empty()) auth.push_back(endpoint.user);
      auth.push_back(endpoint.password);
      if (!Handshake(c, auth, "AUTH", error)) return nullptr;
    }
    if (endpoint.db != 0) {
      const std::string db = std::to_string(endpoint.db);
      redisSetTimeout(c, ToTimeval(Remaining(deadline)));
      if (!Handshake(c, {"SELECT", db}, "SELECT", error)) return nullptr;
    }
    redisSetTimeout(c, ToTimeval(options.command_timeout));
    return c;
  }

  // Runs one set-up command; on failure frees the context. The error never quotes the
  // command's arguments (AUTH carries the password).
  bool Handshake(redisContext* c, const std::vector<std::string_view>& args, const char* what,
                 std::string* error) {
    ReplyPtr reply = Send(c, args);
    if (reply != nullptr && reply->type != REDIS_REPLY_ERROR) return true;
    *error = std::string(what) + " on " + endpoint.Describe() + " failed: " +
             (reply != nullptr ? std::string(reply->str, reply->len) : std::string(c->errstr));
    redisFree(c);
    return false;
  }

  static ReplyPtr Send(redisContext* c, const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    return ReplyPtr(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  }

  // Runs a command on a pooled connection. A reused connection that turns out to have been
  // closed by the server (Redis restarted, idle timeout) is replaced and the command retried
  // once, so that a restart does not show up as errors; a timeout is never retried.
  ReplyPtr RunOnSlot(Slot& slot, const std::vector<std::string_view>& args,
                     std::chrono::milliseconds timeout, std::string* error) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool fresh = slot.context == nullptr;
      if (fresh) {
        slot.context = Connect(error);
        if (slot.context == nullptr) return nullptr;
        slot.read_timeout = options.command_timeout;
      }
      if (slot.read_timeout != timeout) {
        redisSetTimeout(slot.context, ToTimeval(timeout));
        slot.read_timeout = timeout;
      }
      ReplyPtr reply = Send(slot.context, args);
      if (reply != nullptr) return reply;
      const int saved_errno = errno;
      const int err = slot.context->err;
      const bool timed_out =
          err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK);
      *error = std::string(args.front()) + " on " + endpoint.Describe() + ": " +
               (timed_out ? "no answer within " + std::to_string(timeout.count()) + " ms"
                          : std::string(slot.context->errstr[0] != '\0' ? slot.context->errstr
                                                                        : "connection failed"));
      redisFree(slot.context);
      slot.context = nullptr;
      const bool closed_by_peer =
          err == REDIS_ERR_EOF ||
          (err == REDIS_ERR_IO && (saved_errno == ECONNRESET || saved_errno == EPIPE));
      if (fresh || !closed_by_peer) return nullptr;
    }
    return nullptr;
  }

  // A free connection, or nullptr when none came free by the deadline.
  Slot* AcquireSlot(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(pool_mu);
    for (;;) {
      for (auto& slot : slots) {
        if (!slot->busy) {
          slot->busy = true;
          return slot.get();
        }
      }
      if (pool_cv.wait_until(lock, deadline) == std::cv_status::timeout &&
          Clock::now() >= deadline) {
        return nullptr;
      }
    }
  }

  // One traced command. Through the breaker unless `bypass_breaker` (a health check must
  // report what Redis does now, not what the breaker remembers).
  Outcome Execute(const char* operation, const std::vector<std::string_view>& args,
                  bool bypass_breaker = false) {
    Outcome outcome;
    if (!bypass_breaker && !breaker.Allow()) {
      outcome.kind = Outcome::kSkipped;
      return outcome;
    }
    trace::Span span(std::string("redis ") + operation, trace::SpanKind::kClient);
    span.SetAttribute("db.system", std::string("redis"));
    span.SetAttribute("db.operation", std::string(operation));
    span.SetAttribute("db.redis.database_index", static_cast<long long>(endpoint.db));
    span.SetAttribute("net.peer.name", endpoint.host);
    span.SetAttribute("net.peer.port", static_cast<long long>(endpoint.port));

    std::string error;
    {
      ScopedSigpipeBlock no_sigpipe;
      // Waiting for a busy connection spends the command's time budget, so that a caller
      // queued behind a stuck command still returns within about command_timeout.
      const Clock::time_point deadline = Clock::now() + options.command_timeout;
      const Lease lease(*this, AcquireSlot(deadline));
      if (lease.get() != nullptr) {
        const auto budget = std::max(Remaining(deadline), std::chrono::milliseconds(1));
        outcome.reply = RunOnSlot(*lease.get(), args, budget, &error);
      } else {
        error = "no free Redis connection within the command timeout";
      }
    }
    if (outcome.reply == nullptr) {
      outcome.kind = Outcome::kFailed;
      span.SetStatus(trace::StatusCode::kError, error);
      if (!bypass_breaker) breaker.OnFailure();
      return outcome;
    }
    outcome.kind = Outcome::kReply;
    if (outcome.reply->type == REDIS_REPLY_ERROR) {
      // Redis answered, so it is reachable: the breaker guards against an absent or slow
      // Redis, not against a command it refused.
      span.SetStatus(trace::StatusCode::kError,
                     std::string(outcome.reply->str, outcome.reply->len));
    }
    if (!bypass_breaker) breaker.OnSuccess();
    return outcome;
  }

  // --- Invalidations that did not reach Redis ---------------------------------------------
  // A write commits, its invalidation fails (Redis down, hung, or the breaker open): the entry
  // it was meant to replace may still be in Redis when Redis answers again (a hung or
  // persistent Redis keeps it), and would be served until its TTL. So the key is remembered
  // here; reads of it skip the cache until the invalidation is delivered, which is retried
  // before each read once Redis answers. Past kMaxPending keys, every read skips the cache
  // until the longest TTL seen has passed: by then every entry written before has expired.
  // (Per process: another replica reading the same key before this one retries can still
  // see the old entry for that moment.)
  struct PendingInvalidation {
    long long version = -1;  // -1: a plain DEL
    std::chrono::milliseconds ttl{0};
  };
  static constexpr size_t kMaxPending = 10000;

  void RememberInvalidation(const std::string& key, long long version, std::chrono::milliseconds ttl) {
    std::lock_guard<std::mutex> lock(pending_mu);
    if (pending.size() >= kMaxPending && pending.count(key) == 0) {
      pending.clear();
      distrust_all_until = std::max(distrust_all_until, Clock::now() + std::max(ttl, max_ttl_seen));
      return;
    }
    PendingInvalidation& p = pending[key];
    p.version = std::max(p.version, version);
    p.ttl = std::max(p.ttl, ttl);
    max_ttl_seen = std::max(max_ttl_seen, ttl);
  }

  void ForgetInvalidation(const std::string& key, long long delivered_version) {
    std::lock_guard<std::mutex> lock(pending_mu);
    auto it = pending.find(key);
    if (it != pending.end() && it->second.version <= delivered_version) pending.erase(it);
  }

  // True when reads of `key` must not trust Redis now.
  bool Distrusted(const std::string& key) {
    std::lock_guard<std::mutex> lock(pending_mu);
    return pending.count(key) > 0 || Clock::now() < distrust_all_until;
  }

  // Delivers remembered invalidations, stopping at the first one Redis does not take.
  void RetryInvalidations();

  // Sends one invalidation; true when Redis took it. A retry the breaker skipped is not
  // counted again (the first attempt was).
  bool SendInvalidation(const std::string& key, long long version, std::chrono::milliseconds ttl,
                        bool retry = false);

  std::mutex pending_mu;
  std::map<std::string, PendingInvalidation> pending;
  std::chrono::milliseconds max_ttl_seen{0};
  Clock::time_point distrust_all_until{};

  CacheOptions options;
  RedisEndpoint endpoint;
  metrics::Gauge* breaker_gauge = nullptr;  // set before any command can change the breaker
  CircuitBreaker breaker;
  std::vector<std::unique_ptr<Slot>> slots;
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::array<std::array<metrics::Counter*, 5>, 4> counters{};
};

bool Cache::Impl::SendInvalidation(const std::string& key, long long version,
                                   std::chrono::milliseconds ttl, bool retry) {
  Outcome outcome;
  if (version < 0 || ttl.count() <= 0) {
    outcome = Execute("DEL", {"DEL", key});
  } else {
    const std::string v = std::to_string(version);
    const std::string px = std::to_string(ttl.count());
    outcome = Execute("EVAL", {"EVAL", kInvalidateScript, "1", key, v, px});
  }
  if (!(retry && outcome.kind == Outcome::kSkipped)) CountWrite(Op::kDel, outcome);
  return outcome.kind == Outcome::kReply && outcome.reply->type != REDIS_REPLY_ERROR;
}

void Cache::Impl::RetryInvalidations() {
  std::vector<std::pair<std::string, PendingInvalidation>> todo;
  {
    std::lock_guard<std::mutex> lock(pending_mu);
    if (pending.empty()) return;
    todo.assign(pending.begin(), pending.end());
  }
  for (const auto& [key, p] : todo) {
    if (!SendInvalidation(key, p.version, p.ttl, /*retry=*/true)) return;  // still unreachable
    ForgetInvalidation(key, p.version);
  }
}

Cache::Cache(CacheOptions options, metrics::Registry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

Cache::~Cache() = default;

std::optional<std::string> Cache::Get(const std::string& key) {
  impl_->RetryInvalidations();
  if (impl_->Distrusted(key)) {
    impl_->Count(Op::kGet, Result::kSkipped);
    return std::nullopt;
  }
  Impl::Outcome outcome = impl_->Execute("GET", {"GET", key});
  switch (outcome.kind) {
    case Impl::Outcome::kSkipped:
      impl_->Count(Op::kGet, Result::kSkipped);
      return std::nullopt;
    case Impl::Outcome::kFailed:
      impl_->Count(Op::kGet, Result::kError);
      return std::nullopt;
    case Impl::Outcome::kReply:
      break;
  }
  const redisReply& reply = *outcome.reply;
  if (reply.type == REDIS_REPLY_STRING) {
    impl_->Count(Op::kGet, Result::kHit);
    return std::string(reply.str, reply.len);
  }
  impl_->Count(Op::kGet, reply.type == REDIS_REPLY_NIL ? Result::kMiss : Result::kError);
  return std::nullopt;
}

void Cache::Set(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) {
  // A cache entry without an expiry would outlive any invalidation it misses: a non-positive
  // TTL is a caller error and stores nothing rather than forever.
  if (ttl.count() <= 0) {
    impl_->Count(Op::kSet, Result::kError);
    return;
  }
  const std::string px = std::to_string(ttl.count());
  impl_->CountWrite(Op::kSet, impl_->Execute("SET", {"SET", key, value, "PX", px}));
}

void Cache::Del(const std::string& key) {
  if (impl_->SendInvalidation(key, -1, std::chrono::milliseconds(0))) {
    impl_->ForgetInvalidation(key, -1);
  } else {
    impl_->RememberInvalidation(key, -1, std::chrono::milliseconds(0));
  }
}

std::optional<std::string> Cache::GetVersioned(const std::string& key) {
  std::optional<std::string> stored = Get(key);
  if (!stored) return std::nullopt;
  const size_t digits = stored->find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string::npos || (*stored)[digits] != ':') return std::nullopt;
  return stored->substr(digits + 1);
}

void Cache::SetVersioned(const std::string& key, long long version, const std::string& value,
                         std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0 || version < 0) {
    impl_->Count(Op::kSet, Result::kError);
    return;
  }
  const std::string v = std::to_string(version);
  const std::string px = std::to_string(ttl.count());
  impl_->CountWrite(Op::kSet,
                    impl_->Execute("EVAL", {"EVAL", kSetVersionedScript, "1", key, v, value, px}));
}

void Cache::InvalidateVersion(const std::string& key, long long version, std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0 || version < 0) {
    Del(key);
    return;
  }
  if (impl_->SendInvalidation(key, version, ttl)) {
    impl_->ForgetInvalidation(key, version);
  } else {
    impl_->RememberInvalidation(key, version, ttl);
  }
}

std::optional<std::vector<long long>> Cache::EvalIntegers(const std::string& script,
                                                          const std::vector<std::string>& keys,
                                                          const std::vector<std::string>& args) {
  const std::string key_count = std::to_string(keys.size());
  std::vector<std::string_view> command = {"EVAL", script, key_count};
  for (const std::string& k : keys) command.push_back(k);
  for (const std::string& a : args) command.push_back(a);
  Impl::Outcome outcome = impl_->Execute("EVAL", command);
  impl_->CountWrite(Op::kEval, outcome);
  if (outcome.kind != Impl::Outcome::kReply || outcome.reply->type != REDIS_REPLY_ARRAY) {
    return std::nullopt;
  }
  std::vector<long long> values;
  values.reserve(outcome.reply->elements);
  for (size_t i = 0; i < outcome.reply->elements; ++i) {
    const redisReply* element = outcome.reply->element[i];
    if (element->type != REDIS_REPLY_INTEGER) return std::nullopt;
    values.push_back(element->integer);
  }
  return values;
}

bool Cache::Ping() {
  Impl::Outcome outcome = impl_->Execute("PING", {"PING"}, /*bypass_breaker=*/true);
  return outcome.kind == Impl::Outcome::kReply && outcome.reply->type == REDIS_REPLY_STATUS;
}

bool Cache::breaker_open() const { return impl_->breaker.open(); }

}  // namespace flightdeck::cache
