#pragma once

#include <chrono>

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "common/clock/clock.h"

namespace flightdeck {

// Times cross into SQL as integer microseconds since the epoch: exact both ways.
inline long long ToMicros(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
inline Clock::TimePoint FromMicros(long long us) {
  return Clock::TimePoint(std::chrono::duration_cast<Clock::TimePoint::duration>(
      std::chrono::microseconds(us)));
}
inline void SetTimestamp(google::protobuf::Timestamp* ts, long long us) {
  long long seconds = us / 1000000;
  long long micros = us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int>(micros * 1000));
}
inline void SetTimestamp(google::protobuf::Timestamp* ts, Clock::TimePoint t) {
  SetTimestamp(ts, ToMicros(t));
}
inline long long MicrosOf(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}
inline Clock::TimePoint TimeOf(const google::protobuf::Timestamp& ts) {
  return FromMicros(MicrosOf(ts));
}
inline void SetDuration(google::protobuf::Duration* d, std::chrono::nanoseconds n) {
  d->set_seconds(n.count() / 1000000000);
  d->set_nanos(static_cast<int>(n.count() % 1000000000));
}
inline std::chrono::milliseconds MillisOf(const google::protobuf::Duration& d) {
  return std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1000000);
}

}  // namespace flightdeck
