#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/clock/clock.h"
#include "services/incidents/model.h"

namespace flightdeck::db {
class Pool;
}

// The multi-row SQL of alert intake (incidents.alerts, migrations/incidents/0003_intake.sql):
// each function is one statement for any number of alerts, inside the caller's transaction
// (libpqxx exceptions propagate to its Pool::Transact). Rows go in as one jsonb array
// (jsonb_to_recordset), so a batch of 100 alerts costs the same round trips as a batch of one.
namespace flightdeck::incidents {

// Alerts are identified by (integration, fingerprint); ordered by fingerprint first, the order
// in which a batch locks its rows (two batches of the same alerts queue, not deadlock).
struct AlertKey {
  std::string integration;
  std::string fingerprint;
  bool operator<(const AlertKey& o) const {
    return std::tie(fingerprint, integration) < std::tie(o.fingerprint, o.integration);
  }
};

// What a delivery stores: the values of the alert as received, with severity and summary
// already decided.
struct AlertValues {
  AlertKey key;
  // The delivery's own maps (the caller's input outlives the statements): not copied per alert.
  const Labels* labels = nullptr;
  const Labels* annotations = nullptr;
  std::optional<long long> starts_us;
  std::optional<long long> ends_us;
  std::string generator_url;
  std::string source;
  std::string severity;
  std::string summary;
  // Whether some inhibition rule's source matchers match the labels: only such firing alerts
  // are in the index that inhibition looks sources up in (alerts_firing_sources).
  bool can_inhibit = true;
};

// The row one statement touched for a key: id 0 when there was none.
struct AlertRow {
  long long id = 0;
  std::string incident_id;  // "" when in no incident
  bool inserted = false;    // UpsertFiring: a new occurrence, not an update of the firing one
};

// The upsert's input: consecutive firing deliveries of one key collapse into one row of the
// statement: a new occurrence takes starts_at and source from the first, everything else
// from the last; an occurrence already firing takes the last's values; deliveries count all.
// `first` and `last` point into the caller's values, which outlive the statement.
struct FiringRun {
  const AlertValues* first;
  const AlertValues* last;
  int deliveries = 1;
  // The incident a new occurrence is inserted in ("": none), so that it is written once; an
  // occurrence already firing keeps its own (AlertRow::inserted tells which happened).
  std::string attach_to;
};

// A resolve run: consecutive resolves of one key. The first resolves the firing occurrence
// (ends_at = its endsAt, else now); the rest count as deliveries on it.
struct ResolveRun {
  const AlertValues* first;  // as in FiringRun
  int deliveries = 1;
};

// A firing alert as stored, enough to decide silences, inhibition and grouping.
struct StoredAlert {
  long long id = 0;
  std::string fingerprint;
  Labels labels;
  std::string severity;
  std::string summary;
  std::string integration;
};

// A firing alert that may inhibit others (labels matched in memory).
struct SourceAlert {
  std::string fingerprint;
  Labels labels;
};

// Why an alert is held back (stored and marked, in no incident).
struct Hold {
  long long id = 0;
  std::string silence;
  std::string inhibitor;
  std::string rule;
};

void PrepareAlertStatements(db::Pool& pool);

// INSERT ... ON CONFLICT (integration, fingerprint) WHERE state = 'firing' DO UPDATE: concurrent
// deliveries of one alert make one occurrence. Keys must be distinct.
std::map<AlertKey, AlertRow> UpsertFiring(pqxx::transaction_base& tx, const std::vector<FiringRun>& runs,
                                          Clock::TimePoint now);
// Resolves the firing occurrence of each key; keys with none are absent from the answer.
std::map<AlertKey, AlertRow> ResolveFiring(pqxx::transaction_base& tx, const std::vector<ResolveRun>& runs,
                                           Clock::TimePoint now);
// A resolve with nothing firing counts on the key's latest occurrence; keys never seen are
// absent from the answer.
std::map<AlertKey, AlertRow> CountOnLatest(pqxx::transaction_base& tx, const std::vector<ResolveRun>& runs,
                                           Clock::TimePoint now);
// Records a resolve of a never-seen key as a resolved occurrence.
std::map<AlertKey, AlertRow> InsertResolved(pqxx::transaction_base& tx, const std::vector<ResolveRun>& runs,
                                            Clock::TimePoint now);
// The firing occurrence of each key (absent when none).
std::map<AlertKey, AlertRow> FiringOf(pqxx::transaction_base& tx, const std::vector<AlertKey>& keys);

// The firing alerts that can inhibit (AlertValues::can_inhibit) whose labels contain each filter
// (a jsonb object), per filter index, in id order.
std::vector<std::vector<SourceAlert>> FiringContaining(pqxx::transaction_base& tx,
                                                       const std::vector<std::string>& filters_json);
// Firing alerts inhibited by any of `fingerprints` and in no incident, locked, in id order, with
// the fingerprint that inhibits each.
std::vector<std::pair<std::string, StoredAlert>> InhibitedBy(pqxx::transaction_base& tx,
                                                             const std::vector<std::string>& fingerprints);
void WriteHolds(pqxx::transaction_base& tx, const std::vector<Hold>& holds);
// Marks alerts grouped into their incidents (alert id, incident id), clearing holds.
void WriteGrouped(pqxx::transaction_base& tx, const std::vector<std::pair<std::string, std::string>>& alerts);
// The incidents of `incident_ids` that still have a firing alert.
std::vector<std::string> IncidentsStillFiring(pqxx::transaction_base& tx, const std::vector<std::string>& incident_ids);

std::string LabelsJson(const Labels& labels);
Labels LabelsFromJson(const std::string& text);

}  // namespace flightdeck::incidents
