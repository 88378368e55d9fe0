#pragma once

#include <set>
#include <string>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"

namespace flightdeck::db {
class Pool;
}
namespace flightdeck::metrics {
class Registry;
class Gauge;
template <typename T>
class Family;
}  // namespace flightdeck::metrics

namespace flightdeck::jobs {

// The backlog of one schema's jobs table as gauges, for the FlightdeckJobBacklog and
// FlightdeckJobStuck alerts (monitoring/prometheus/rules/flightdeck.yml):
//   flightdeck_jobs_due{schema,kind}              jobs a worker could take now and none holds:
//                                                 pending and due, or running with an expired
//                                                 lease (its worker died)
//   flightdeck_jobs_oldest_due_seconds{schema,kind}  how long the longest waiting of them has
//                                                 waited (since its due time, or since its
//                                                 lease expired)
// Refresh() runs one grouped query over the (state, due_at) index; it is meant for a
// metrics::Refresher, never for a request. Times come from the injected clock, like the queue's.
// A kind seen once stays exposed (0 when nothing of it is due): kinds are the code's job names,
// a bounded set.
class BacklogGauges {
 public:
  BacklogGauges(db::Pool& pool, std::string schema, const Clock& clock,
                metrics::Registry& registry);
  grpc::Status Refresh();

 private:
  db::Pool& pool_;
  std::string schema_;
  const Clock& clock_;
  metrics::Family<metrics::Gauge>& due_;
  metrics::Family<metrics::Gauge>& oldest_;
  std::set<std::string> kinds_;  // every kind exposed so far (Refresh runs on one thread)
};

}  // namespace flightdeck::jobs
