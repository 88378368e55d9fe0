#include "services/releases/timeline_tail.h"

#include "services/releases/store.h"

namespace flightdeck::releases {
namespace {

// Entries of releases nobody watches any more are dropped when the map grows past this.
constexpr size_t kMaxEntries = 4096;

}  // namespace

std::shared_ptr<TimelineTail::Entry> TimelineTail::EntryFor(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) return it->second;
  if (entries_.size() >= kMaxEntries) {
    for (auto e = entries_.begin(); e != entries_.end();) {
      e = e->second.use_count() == 1 ? entries_.erase(e) : std::next(e);  // only the map holds it
    }
  }
  return entries_.emplace(id, std::make_shared<Entry>()).first->second;
}

grpc::Status TimelineTail::Read(const std::string& id, long long after, uint64_t generation, int limit,
                                v1::Release* release, std::vector<v1::ReleaseEvent>* events, bool* more) {
  std::shared_ptr<Entry> entry = EntryFor(id);
  std::lock_guard<std::mutex> lock(entry->mu);
  const auto now = std::chrono::steady_clock::now();
  // A read serves a later `after` too, unless it was cut at its limit before reaching it.
  const bool covers = entry->valid && entry->after <= after &&
                      (!entry->more || (!entry->events.empty() && after < entry->events.back().id()));
  const bool fresh = covers && entry->generation == generation && now - entry->read_at <= max_age_;
  if (!fresh) {
    entry->valid = false;
    entry->events.clear();
    if (grpc::Status s = store_.Get(id, &entry->release); !s.ok()) return s;
    if (grpc::Status s = store_.ListEvents(id, after, limit, &entry->events, &entry->more); !s.ok()) return s;
    entry->valid = true;
    entry->generation = generation;
    entry->after = after;
    entry->read_at = now;
  }
  *release = entry->release;
  events->clear();
  for (const v1::ReleaseEvent& e : entry->events) {
    if (e.id() <= after) continue;
    if (static_cast<int>(events->size()) == limit) break;
    events->push_back(e);
  }
  *more = entry->more;
  return grpc::Status::OK;
}

}  // namespace flightdeck::releases
