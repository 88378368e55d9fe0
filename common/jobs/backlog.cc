#include "common/jobs/backlog.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/db/detail_json.h"
#include "common/metrics/metrics.h"

namespace flightdeck::jobs {
namespace {

std::string StatementName(const std::string& schema) { return "jobs." + schema + ".backlog"; }

}  // namespace

BacklogGauges::BacklogGauges(db::Pool& pool, std::string schema, const Clock& clock,
                             metrics::Registry& registry)
    : pool_(pool),
      schema_(std::move(schema)),
      clock_(clock),
      due_(registry.AddGauge("flightdeck_jobs_due",
                             "Durable jobs due now that no live worker holds (pending and due, "
                             "or running with an expired lease), by schema and kind.",
                             {"schema", "kind"})),
      oldest_(registry.AddGauge("flightdeck_jobs_oldest_due_seconds",
                                "How long the longest waiting job counted in flightdeck_jobs_due "
                                "has waited, since its due time or its expired lease (0: none).",
                                {"schema", "kind"})) {
  // The same two conditions Queue::Claim takes jobs by, so "due" here is "claimable now". A job
  // whose lease expired has waited since then (it may have run legitimately until that point).
  pool_.Prepare(StatementName(schema_),
                "SELECT kind, count(*), (min(extract(epoch FROM"
                " CASE WHEN state = 'running' THEN lease_expires_at ELSE due_at END)) * 1000000)::bigint"
                " FROM \"" + schema_ + "\".jobs"
                " WHERE (state = 'pending' AND due_at <= " + db::MicrosParam(1) + ")"
                " OR (state = 'running' AND lease_expires_at <= " + db::MicrosParam(1) + ")"
                " GROUP BY kind");
}

grpc::Status BacklogGauges::Refresh() {
  const Clock::TimePoint now = clock_.Now();
  std::map<std::string, std::pair<long long, long long>> found;  // kind -> (count, oldest µs)
  grpc::Status status = pool_.Transact("job backlog", [&](pqxx::transaction_base& tx) {
    found.clear();
    for (const pqxx::row& row : db::Exec(tx, StatementName(schema_), ToMicros(now))) {
      found[row[0].as<std::string>()] = {row[1].as<long long>(), row[2].as<long long>()};
    }
    return grpc::Status::OK;
  });
  if (!status.ok()) return status;
  for (const auto& [kind, value] : found) kinds_.insert(kind);
  for (const std::string& kind : kinds_) {
    auto it = found.find(kind);
    double count = 0, oldest_seconds = 0;
    if (it != found.end()) {
      count = static_cast<double>(it->second.first);
      oldest_seconds = std::max(0.0, (ToMicros(now) - it->second.second) / 1e6);
    }
    due_.With({schema_, kind}).Set(count);
    oldest_.With({schema_, kind}).Set(oldest_seconds);
  }
  return grpc::Status::OK;
}

}  // namespace flightdeck::jobs
