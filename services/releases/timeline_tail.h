#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::releases {

class ReleaseStore;

// What the WatchRelease streams of one process read after each wake-up, read once for all of
// them. A change anywhere wakes every stream; without this, a thousand streams of one release
// made two thousand identical queries per event. Streams of the same release at the same change
// generation share one read (the first to ask reads; the others wait for it and copy), and a
// read is reused for at most `max_age` (the streams' 5 s fallback then reads again, in case a
// notification was lost).
class TimelineTail {
 public:
  explicit TimelineTail(ReleaseStore& store, std::chrono::milliseconds max_age = std::chrono::milliseconds(1000))
      : store_(store), max_age_(max_age) {}

  // The release and up to `limit` events after `after`, as of change generation `generation`.
  // `more` is set when there are further events past the ones returned.
  grpc::Status Read(const std::string& id, long long after, uint64_t generation, int limit,
                    v1::Release* release, std::vector<v1::ReleaseEvent>* events, bool* more);

 private:
  struct Entry {
    std::mutex mu;  // held while one stream reads for the others
    bool valid = false;
    uint64_t generation = 0;
    long long after = 0;  // the events below are all those after this id
    std::chrono::steady_clock::time_point read_at;
    v1::Release release;
    std::vector<v1::ReleaseEvent> events;
    bool more = false;
  };
  std::shared_ptr<Entry> EntryFor(const std::string& id);

  ReleaseStore& store_;
  std::chrono::milliseconds max_age_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace flightdeck::releases
