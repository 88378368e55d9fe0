#include "common/metrics/refresher.h"

#include <exception>

namespace flightdeck::metrics {

Refresher::Refresher(Registry& registry, std::chrono::milliseconds interval)
    : failures_(registry.AddCounter("flightdeck_gauge_refresh_failures_total",
                                    "Periodic gauge refreshes that could not read their source "
                                    "(the gauges keep their last values).",
                                    {"gauges"})),
      interval_(interval) {}

Refresher::~Refresher() { Stop(); }

void Refresher::Add(const std::string& name, Refresh refresh) {
  failures_.With({name});  // exposed as 0 from the start, so that increase() sees the first one
  refreshes_.emplace_back(name, std::move(refresh));
}

void Refresher::RunOnce() {
  for (const auto& [name, refresh] : refreshes_) {
    bool ok = false;
    try {
      ok = refresh();
    } catch (const std::exception&) {
      ok = false;  // the store boundary maps its own errors; this is a last guard for the thread
    }
    if (!ok) failures_.With({name}).Inc();
  }
}

void Refresher::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      RunOnce();
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void Refresher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace flightdeck::metrics
