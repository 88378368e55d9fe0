#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "common/db/db.h"

namespace flightdeck::db {

// The standby behind Pool::Read: its own small pool, and the verdict on whether reads may go
// there (reachable, replay lag within the bound), re-measured at most every read_recheck.
class ReadReplica {
 public:
  ReadReplica(const PoolOptions& primary, metrics::Registry* metrics);

  void Prepare(const std::string& name, const std::string& sql) { pool_.Prepare(name, sql); }

  // The status of fn run on the standby, or nullopt when the caller must read from the primary
  // (the reason is counted): unreachable, or lagging past the bound.
  std::optional<grpc::Status> TryRead(std::string_view what, const Pool::TxFn& fn);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { kUnknown, kUsable, kUnreachable, kLagging };

  // The verdict, measured anew when the last one is older than read_recheck.
  Verdict Current();
  Verdict Measure();
  void Remember(Verdict verdict);
  void CountFallback(const char* reason);

  PoolOptions options_;
  Pool pool_;
  metrics::Gauge* lag_gauge_ = nullptr;
  metrics::Family<metrics::Counter>* fallbacks_ = nullptr;

  std::mutex mu_;
  Verdict verdict_ = Verdict::kUnknown;
  Clock::time_point verdict_at_{};
};

}  // namespace flightdeck::db
