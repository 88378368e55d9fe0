#include "services/releases/hot_releases.h"

#include "common/db/change_feed.h"

namespace flightdeck::releases {

HotReleases::HotReleases(const db::ChangeFeed* feed, const Clock& clock,
                         std::chrono::milliseconds max_age, size_t capacity)
    : feed_(feed), clock_(clock), max_age_(max_age), capacity_(capacity) {}

std::optional<HotReleases::Stamp> HotReleases::CurrentLocked() const {
  if (feed_ == nullptr) return std::nullopt;
  std::optional<uint64_t> generation = feed_->ListeningGeneration();
  if (!generation) return std::nullopt;
  return Stamp{*generation, local_};
}

HotReleases::Stamp HotReleases::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return CurrentLocked().value_or(Stamp{});
}

std::optional<std::string> HotReleases::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<Stamp> now = CurrentLocked();
  if (!now || *now != entries_read_at_) {
    entries_.clear();  // read before a change (or while deaf to them): all of them
    return std::nullopt;
  }
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  const Clock::TimePoint time = clock_.Now();
  if (time < it->second.stored || time - it->second.stored > max_age_) {  // or the clock stepped back
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.serialized;
}

void HotReleases::Put(const std::string& id, std::string serialized, Stamp read_at) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<Stamp> now = CurrentLocked();
  if (!now || *now != read_at) return;  // changed while it was being read: maybe stale
  if (entries_read_at_ != read_at || entries_.size() >= capacity_) {
    entries_.clear();
    entries_read_at_ = read_at;
  }
  entries_[id] = Entry{std::move(serialized), clock_.Now()};
}

void HotReleases::Changed() {
  std::lock_guard<std::mutex> lock(mu_);
  ++local_;
  entries_.clear();
}

}  // namespace flightdeck::releases
