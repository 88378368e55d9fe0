#pragma once

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/trace/trace.h"

namespace flightdeck::trace::testing {

// Captures ended spans in memory, in the order they ended.
class MemoryProcessor : public SpanProcessor {
 public:
  void OnEnd(SpanData span) override {
    std::lock_guard<std::mutex> lock(mu_);
    spans_.push_back(std::move(span));
  }
  void Shutdown() override {}

  std::vector<SpanData> Spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_;
  }

  // The ended span with this name; fails the test when there is not exactly one.
  SpanData Only(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    const SpanData* found = nullptr;
    int count = 0;
    for (const auto& span : spans_) {
      if (span.name == name) {
        found = &span;
        ++count;
      }
    }
    if (count != 1) {
      throw std::runtime_error("expected one span named " + name + ", found " +
                               std::to_string(count));
    }
    return *found;
  }

 private:
  mutable std::mutex mu_;
  std::vector<SpanData> spans_;
};

}  // namespace flightdeck::trace::testing
