#pragma once

#include <string>
#include <utility>
#include <vector>

#include <grpcpp/support/status.h>
#include <pqxx/pqxx>

#include "common/clock/clock.h"
#include "common/db/db.h"
#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/model.h"

// SQL of incidents, their timeline, updates, related releases, review and actions
// (migrations/incidents/0002_incidents.sql). Functions taking a transaction run inside the
// caller's; they throw what libpqxx throws, which the caller's Pool::Transact maps.
namespace flightdeck::incidents {

class Intake;

// Runs one statement inside its trace span (db.statement.name = name, never the values).
template <typename... Args>
pqxx::result Sql(pqxx::transaction_base& tx, const char* name, const std::string& sql,
                 Args&&... args) {
  db::RefuseNul(name, args...);
  trace::Span span = db::StatementSpan(name);
  return tx.exec_params(sql, std::forward<Args>(args)...);
}

// "timestamptz 'epoch' + $n::bigint * interval '1 microsecond'": times go in as microseconds.
std::string At(int n);

std::string StateName(v1::Incident::State s);
grpc::Status NotFound(const std::string& id);
// FAILED_PRECONDITION "incident INC-3 is RESOLVED: <why>".
grpc::Status WrongState(const v1::Incident& incident, const std::string& why);

// The summary fields of one incident (no alerts, timeline, ...); false when absent.
// review_overdue is judged at `now`.
bool LoadIncident(pqxx::transaction_base& tx, const std::string& id, Clock::TimePoint now,
                  v1::Incident* out, bool for_update = false);

// LoadIncident by what a person typed (ids.h): a full id reads as LoadIncident does, and only
// a miss looks the number or prefix up. NOT_FOUND, or INVALID_ARGUMENT naming `field` when a
// prefix is ambiguous.
grpc::Status LoadIncidentByTypedId(pqxx::transaction_base& tx, const std::string& typed,
                                   const std::string& field, Clock::TimePoint now, v1::Incident* out,
                                   bool for_update = false);
// The incident or action id `typed` names (ids.h), for filters and for callers that have
// already missed the exact id.
grpc::Status ResolveIncidentId(pqxx::transaction_base& tx, const std::string& typed,
                               const std::string& field, std::string* id);
grpc::Status ResolveActionId(pqxx::transaction_base& tx, const std::string& typed,
                             const std::string& field, std::string* id);

// What closing waits for: the review, and the actions neither done nor tracked elsewhere
// ("ACT-4 \"rotate the key\"", oldest first).
bool HasReview(pqxx::transaction_base& tx, const std::string& incident_id);
std::vector<std::string> ActionsHoldingOpen(pqxx::transaction_base& tx, const std::string& incident_id);
void MarkClosed(pqxx::transaction_base& tx, const std::string& incident_id, Clock::TimePoint now);

// Appends a timeline entry with the thread's trace id; returns the event id.
// An incident's counts are kept in a row per database session that changed its alerts or events
// (migrations/incidents/0012). Folds the rows of sessions that have ended into the incident's
// row for backend 0, so that restarts and reconnects do not add rows for good; the sums do not
// change. Safe beside writers and other folds (rows another session holds are left for the next
// fold). Returns how many rows were folded.
long long FoldCountsOfEndedSessions(pqxx::transaction_base& tx);

long long InsertEvent(pqxx::transaction_base& tx, const std::string& incident_id,
                      Clock::TimePoint at, const std::string& actor, const std::string& kind,
                      const std::string& message, const std::string& detail_json = "{}");

void ActionFromRow(const pqxx::row& row, Clock::TimePoint now, v1::ActionItem* out);
extern const char kActionColumns[];

// How many alerts and timeline events GetIncident carries: the rest are paged
// (ListIncidentAlerts, ListIncidentEvents), so that one incident's answer stays far below the
// gateway's 4 MiB message limit however long it ran.
inline constexpr int kDetailPage = 100;
// The largest page any list of the service answers.
inline constexpr int kMaxPage = 500;

// Read side of the gRPC service: each call is its own transaction.
class IncidentStore {
 public:
  IncidentStore(db::Pool& pool, const Clock& clock, Intake* intake);

  // Everything: updates, related releases, review, actions, and a page (kDetailPage) of the
  // newest alerts and timeline events, with *_truncated set when there are more.
  grpc::Status Get(const std::string& id, v1::Incident* out);
  // The full id of the incident `typed` names (ids.h); NOT_FOUND or INVALID_ARGUMENT naming "id".
  grpc::Status ResolveId(const std::string& typed, std::string* id);
  // One incident's timeline, oldest first; page_size 1..kMaxPage (INVALID_ARGUMENT past it).
  grpc::Status ListEvents(const v1::ListIncidentEventsRequest& request, v1::ListIncidentEventsResponse* out);
  grpc::Status List(const v1::ListIncidentsRequest& request, v1::ListIncidentsResponse* out);
  grpc::Status ListActions(const v1::ListActionsRequest& request, v1::ListActionsResponse* out);
  grpc::Status GetAction(const std::string& id, v1::ActionItem* out);
  // Events after `after_id` (of one incident when non-empty), oldest first.
  grpc::Status EventsAfter(const std::string& incident_id, long long after_id, int limit,
                           std::vector<v1::IncidentEvent>* out);
  grpc::Status LastEventId(long long* out);

 private:
  db::Pool& pool_;
  const Clock& clock_;
  Intake* intake_;
};

}  // namespace flightdeck::incidents
