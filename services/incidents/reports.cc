#include "services/incidents/reports.h"

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "services/incidents/deadlines.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/report_math.h"
#include "services/incidents/severity.h"

namespace flightdeck::incidents {

grpc::Status WeeklyReport(db::Pool& pool, const BusinessCalendar& calendar, Clock::TimePoint now,
                          const std::string& week_in, v1::WeeklyReport* out) {
  std::string week = week_in.empty() ? calendar.IsoWeekOf(now) : week_in;
  Clock::TimePoint from, to;
  if (!calendar.IsoWeek(week, &from, &to)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "week: expected an ISO week such as 2026-W47, got \"" + week + "\"");
  }
  return pool.Transact("weekly report", [&](pqxx::transaction_base& tx) {
    out->Clear();
    out->set_week(week);
    SetTimestamp(out->mutable_from(), from);
    SetTimestamp(out->mutable_to(), to);
    std::vector<double> mtta, mttr;
    int correlated = 0;
    pqxx::result rows = Sql(
        tx, "incidents_report_week",
        "SELECT id, severity, extract(epoch from acknowledged_at - opened_at)::float8, "
        "extract(epoch from resolved_at - opened_at)::float8, deploy_correlated, ack_breached "
        "FROM incidents.incidents WHERE opened_at >= " + At(1) + " AND opened_at < " + At(2) +
            " ORDER BY opened_at, id",
        ToMicros(from), ToMicros(to));
    for (const pqxx::row& row : rows) {
      std::string severity = SeverityName(static_cast<Severity>(row[1].as<int>()));
      (*out->mutable_by_severity())[severity] += 1;
      if (!row[2].is_null()) mtta.push_back(row[2].as<double>());
      if (!row[3].is_null()) mttr.push_back(row[3].as<double>());
      if (row[4].as<bool>()) ++correlated;
      if (row[5].as<bool>()) out->add_ack_breached(row[0].as<std::string>());
    }
    out->set_incidents(static_cast<int>(rows.size()));
    *out->mutable_mtta() = SummariseDurations(std::move(mtta));
    *out->mutable_mttr() = SummariseDurations(std::move(mttr));
    out->set_deploy_correlated_share(rows.empty() ? 0.0 : static_cast<double>(correlated) / rows.size());
    for (const pqxx::row& row : Sql(tx, "incidents_report_overdue_reviews",
                                    "SELECT i.id FROM incidents.incidents i WHERE i.state = 'RESOLVED' "
                                    "AND i.review_due < " + At(1) + " AND NOT EXISTS (SELECT 1 FROM "
                                    "incidents.reviews r WHERE r.incident_id = i.id) ORDER BY i.review_due, i.id",
                                    ToMicros(now))) {
      out->add_overdue_reviews(row[0].as<std::string>());
    }
    for (const pqxx::row& row : Sql(tx, "incidents_report_overdue_actions",
                                    std::string("SELECT ") + kActionColumns + " FROM incidents.actions "
                                    "WHERE state = 'OPEN' AND due < " + At(1) + " ORDER BY due, id",
                                    ToMicros(now))) {
      ActionFromRow(row, now, out->add_overdue_actions());
    }
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::incidents
