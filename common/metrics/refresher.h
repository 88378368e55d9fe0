#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics/metrics.h"

namespace flightdeck::metrics {

// Runs the functions that set gauges from the database (job backlog, releases by state, backup
// RPO) every `interval` on one background thread: a scrape only reads the last values, so it
// never waits for SQL, and no request runs these queries. Each replica refreshes its own copy;
// rules take max() over replicas. A function returns false (or throws) when it could not read;
// its gauges keep their last values and flightdeck_gauge_refresh_failures_total{gauges} counts
// it (the function logs why).
class Refresher {
 public:
  using Refresh = std::function<bool()>;
  Refresher(Registry& registry, std::chrono::milliseconds interval);
  ~Refresher();  // Stop()
  void Add(const std::string& name, Refresh refresh);  // before Start
  void Start();  // refreshes at once, then every interval
  void Stop();   // waits for a refresh in progress
  void RunOnce();  // every function, on the calling thread (tests, and the loop)

 private:
  Family<Counter>& failures_;
  std::chrono::milliseconds interval_;
  std::vector<std::pair<std::string, Refresh>> refreshes_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace flightdeck::metrics
