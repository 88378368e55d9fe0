#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace flightdeck::metrics {
class Registry;
}

namespace flightdeck::cache {

struct CacheOptions {
  std::string url;  // redis://[[user]:password@]host[:port][/db]
  std::chrono::milliseconds connect_timeout{250};
  std::chrono::milliseconds command_timeout{250};
  int connections = 4;
  int failure_threshold = 3;                 // consecutive errors that open the breaker
  std::chrono::milliseconds open_for{5000};  // then one trial command (half-open)
};

// Redis as a cache that fails open: when Redis is down or slow, Get misses, Set and Del are
// skipped, and flightdeck_cache_operations_total{op,result} counts it; callers always go on.
// A Del or InvalidateVersion that does not reach Redis is remembered: reads of that key miss
// until it is delivered (retried before each Get), so that the entry it was meant to remove is
// not served once Redis is back (tests/chaos/redis_faults_test.cc).
// Every command gets a client span (db.system=redis, db.operation=GET...; never keys' values).
// Thread-safe.
class Cache {
 public:
  Cache(CacheOptions options, metrics::Registry* metrics = nullptr);
  ~Cache();
  std::optional<std::string> Get(const std::string& key);
  void Set(const std::string& key, const std::string& value, std::chrono::milliseconds ttl);
  void Del(const std::string& key);

  // Versioned entries, for read-through caches of rows that carry a revision. A plain Del then
  // Set lets a slow reader put back what a writer just replaced: the reader loads revision 4,
  // the writer commits 5 and deletes the key, the reader stores 4 — stale until the TTL. Here
  // the writer leaves a marker with its revision (InvalidateVersion), and a reader's entry
  // (SetVersioned) is stored only when nothing newer is there. Versions are >= 0. Fails open
  // like the rest; a skipped invalidation is remembered like a skipped Del (above).
  std::optional<std::string> GetVersioned(const std::string& key);  // markers and misses: nullopt
  void SetVersioned(const std::string& key, long long version, const std::string& value,
                    std::chrono::milliseconds ttl);
  void InvalidateVersion(const std::string& key, long long version, std::chrono::milliseconds ttl);
  // Runs a Lua script (EVAL) whose reply is an array of integers, such as a rate limiter's
  // decision. nullopt when Redis is down, slow, the breaker is open, or the reply has another
  // shape: the caller decides without Redis. Counted as op "eval".
  std::optional<std::vector<long long>> EvalIntegers(const std::string& script,
                                                     const std::vector<std::string>& keys,
                                                     const std::vector<std::string>& args);
  bool Ping();              // true when a PING answered now
  bool breaker_open() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightdeck::cache
