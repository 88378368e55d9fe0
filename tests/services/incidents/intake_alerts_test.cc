// Integration: alert intake against the real PostgreSQL — dedup (repeated and concurrent
// deliveries), resolve and re-trigger, silences, inhibition, grouping into incidents, PagerDuty.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "common/clock/clock.h"
#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "services/incidents/config_store.h"
#include "services/incidents/deadlines.h"
#include "services/incidents/fingerprint.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/intake.h"
#include "services/incidents/intake_parse.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/service.h"
#include "tests/support/test_database.h"

namespace flightdeck::incidents {
namespace {

using namespace std::chrono_literals;

AlertInput Firing(Labels labels, std::string summary = "") {
  AlertInput a;
  a.fingerprint = FingerprintHex(labels);
  a.labels = std::move(labels);
  a.source = "native";
  a.summary = std::move(summary);
  return a;
}

AlertInput Resolved(Labels labels) {
  AlertInput a = Firing(std::move(labels));
  a.firing = false;
  return a;
}

const Labels kCheckoutLatency{{"alertname", "HighResponseTime"}, {"service", "checkout"},
                              {"environment", "production"}, {"severity", "warning"}};
const Labels kCheckoutDown{{"alertname", "ServiceDown"}, {"service", "checkout"},
                           {"environment", "production"}, {"severity", "critical"}};

class IntakeTest : public ::testing::Test {
 protected:
  IntakeTest()
      : pool_({db_.url(), 8, 5000ms, 4, "test"}),
        migrated_(Migrate()),
        queue_(pool_, "incidents", clock_),
        config_(pool_, clock_),
        lifecycle_(pool_, queue_, clock_, calendar_, config_, nullptr),
        intake_(pool_, config_, lifecycle_, clock_) {}

  bool Migrate() {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("incidents"));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok();
  }

  v1::IngestResponse Ingest(const std::vector<AlertInput>& alerts) {
    v1::IngestResponse out;
    grpc::Status s = intake_.Ingest(alerts, "alertmanager", &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::vector<v1::Alert> Alerts(const std::string& fingerprint = "") {
    v1::ListAlertsRequest req;
    req.set_fingerprint(fingerprint);
    req.set_page_size(500);
    v1::ListAlertsResponse resp;
    grpc::Status s = intake_.ListAlerts(req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.alerts().begin(), resp.alerts().end()};
  }

  v1::Alert Latest(const Labels& labels) {
    std::vector<v1::Alert> all = Alerts(FingerprintHex(labels));
    EXPECT_FALSE(all.empty()) << "no alert stored for " << FingerprintHex(labels);
    return all.empty() ? v1::Alert() : all.front();
  }

  // (id, state, group_key) of every incident, oldest first.
  std::vector<std::tuple<std::string, std::string, std::string>> Incidents() {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    for (const auto& row : w.exec("SELECT id, state, coalesce(group_key, '') FROM incidents.incidents ORDER BY opened_at, id")) {
      out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>());
    }
    return out;
  }

  std::string IncidentState(const std::string& id) {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    pqxx::result r = w.exec_params("SELECT state FROM incidents.incidents WHERE id = $1", id);
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  // Whether the latest occurrence of `labels` is marked as a possible inhibitor.
  bool CanInhibit(const Labels& labels) {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    pqxx::result r = w.exec_params("SELECT can_inhibit FROM incidents.alerts WHERE fingerprint = $1 "
                                   "ORDER BY id DESC LIMIT 1", FingerprintHex(labels));
    EXPECT_FALSE(r.empty()) << "no alert stored for " << FingerprintHex(labels);
    return !r.empty() && r[0][0].as<bool>();
  }

  // A silence of the alerts whose label `name` is `value`, for the next hour; its id.
  std::string Silence(const std::string& name, const std::string& value) {
    v1::Silence silence;
    v1::Matcher* m = silence.add_matchers();
    m->set_name(name);
    m->set_value(value);
    SetTimestamp(silence.mutable_ends_at(), clock_.Now() + 1h);
    v1::Silence created;
    grpc::Status s = config_.CreateSilence(silence, "alice", &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return created.id();
  }

  // Timeline events of the incident, counted by kind.
  std::map<std::string, int> EventCounts(const std::string& incident_id) {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    std::map<std::string, int> out;
    for (const auto& row : w.exec_params("SELECT kind, count(*) FROM incidents.events WHERE incident_id = $1 "
                                         "GROUP BY kind", incident_id)) {
      out[row[0].as<std::string>()] = row[1].as<int>();
    }
    return out;
  }

  test::TestDatabase db_;
  FakeClock clock_;
  BusinessCalendar calendar_;
  db::Pool pool_;
  bool migrated_;
  jobs::Queue queue_;
  ConfigStore config_;
  Lifecycle lifecycle_;
  Intake intake_;
};

TEST_F(IntakeTest, RepeatedDeliveriesOfAnAlertmanagerBatchUpdateOneAlert) {
  ASSERT_TRUE(migrated_);
  v1::AlertmanagerWebhook hook;
  hook.set_version("4");
  hook.set_status("firing");
  v1::AlertmanagerAlert* a = hook.add_alerts();
  a->set_status("firing");
  for (const auto& [k, v] : kCheckoutLatency) (*a->mutable_labels())[k] = v;
  (*a->mutable_annotations())["summary"] = "p99 above 2s";
  a->set_starts_at("2026-11-22T10:00:00Z");
  a->set_fingerprint("0123456789abcdef");
  std::vector<AlertInput> batch;
  ASSERT_TRUE(ParseAlertmanager(hook, &batch).ok());

  v1::IngestResponse first = Ingest(batch);
  clock_.Advance(30s);
  (*hook.mutable_alerts(0)->mutable_annotations())["summary"] = "p99 above 3s";
  batch.clear();
  ASSERT_TRUE(ParseAlertmanager(hook, &batch).ok());
  v1::IngestResponse second = Ingest(batch);
  Ingest(batch);

  ASSERT_EQ(first.alert_ids_size(), 1);
  EXPECT_EQ(second.alert_ids(0), first.alert_ids(0));
  std::vector<v1::Alert> stored = Alerts();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].fingerprint(), "0123456789abcdef");
  EXPECT_EQ(stored[0].deliveries(), 3);
  EXPECT_EQ(stored[0].annotations().at("summary"), "p99 above 3s");
  EXPECT_EQ(stored[0].state(), v1::Alert::FIRING);
  EXPECT_EQ(TimeOf(stored[0].last_received_at()) - TimeOf(stored[0].first_received_at()), 30s);
  EXPECT_EQ(Incidents().size(), 1u);
}

TEST_F(IntakeTest, ConcurrentDuplicateDeliveriesMakeOneAlertAndOneIncident) {
  ASSERT_TRUE(migrated_);
  std::vector<AlertInput> batch;
  for (int i = 0; i < 5; ++i) {
    batch.push_back(Firing({{"alertname", "HighErrorRate"}, {"service", "api"}, {"environment", "production"},
                            {"instance", "api-" + std::to_string(i)}}));
  }
  constexpr int kSenders = 6;
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      v1::IngestResponse out;
      if (!intake_.Ingest(batch, "alertmanager", &out).ok()) failures++;
    });
  }
  go = true;
  for (std::thread& t : senders) t.join();

  EXPECT_EQ(failures.load(), 0);
  std::vector<v1::Alert> stored = Alerts();
  ASSERT_EQ(stored.size(), 5u);
  int deliveries = 0;
  for (const v1::Alert& a : stored) deliveries += a.deliveries();
  EXPECT_EQ(deliveries, 5 * kSenders);
  ASSERT_EQ(Incidents().size(), 1u) << "one group (service, environment): one incident";
  for (const v1::Alert& a : stored) EXPECT_EQ(a.incident_id(), std::get<0>(Incidents()[0]));
}

// An Alertmanager HA pair (or a retry) resolves the same alerts at once, in any order.
TEST_F(IntakeTest, ConcurrentDuplicateResolvesResolveEachAlertOnceAndCountEveryDelivery) {
  ASSERT_TRUE(migrated_);
  std::vector<AlertInput> firing;
  for (int i = 0; i < 5; ++i) {
    firing.push_back(Firing({{"alertname", "HighErrorRate"}, {"service", "api"}, {"environment", "production"},
                             {"instance", "api-" + std::to_string(i)}}));
  }
  v1::IngestResponse opened = Ingest(firing);
  ASSERT_EQ(opened.incident_ids_size(), 1);
  std::vector<AlertInput> resolves;
  for (const AlertInput& a : firing) resolves.push_back(Resolved(a.labels));
  constexpr int kSenders = 6;
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      std::vector<AlertInput> batch = resolves;
      if (t % 2 == 1) std::reverse(batch.begin(), batch.end());
      while (!go.load()) std::this_thread::yield();
      v1::IngestResponse out;
      if (!intake_.Ingest(batch, "alertmanager", &out).ok()) failures++;
    });
  }
  go = true;
  for (std::thread& t : senders) t.join();

  EXPECT_EQ(failures.load(), 0);
  std::vector<v1::Alert> stored = Alerts();
  ASSERT_EQ(stored.size(), 5u) << "a resolve of a resolved alert is no new occurrence";
  for (const v1::Alert& a : stored) {
    EXPECT_EQ(a.state(), v1::Alert::RESOLVED);
    EXPECT_EQ(a.deliveries(), 1 + kSenders);
  }
  EXPECT_EQ(IncidentState(opened.incident_ids(0)), "RESOLVED");
}

TEST_F(IntakeTest, ResolveClosesTheOccurrenceAndARetriggerIsANewOne) {
  ASSERT_TRUE(migrated_);
  std::string first = Ingest({Firing(kCheckoutLatency)}).alert_ids(0);
  std::string incident = Latest(kCheckoutLatency).incident_id();
  ASSERT_FALSE(incident.empty());

  clock_.Advance(1min);
  v1::IngestResponse resolved = Ingest({Resolved(kCheckoutLatency)});
  EXPECT_EQ(resolved.alert_ids(0), first);
  v1::Alert closed = Latest(kCheckoutLatency);
  EXPECT_EQ(closed.state(), v1::Alert::RESOLVED);
  EXPECT_EQ(TimeOf(closed.ends_at()), clock_.Now());
  EXPECT_EQ(IncidentState(incident), "RESOLVED") << "its only alert resolved";

  // A repeated resolve is a no-op, not an error and not a new row.
  Ingest({Resolved(kCheckoutLatency)});
  EXPECT_EQ(Alerts(FingerprintHex(kCheckoutLatency)).size(), 1u);

  clock_.Advance(1min);
  std::string second = Ingest({Firing(kCheckoutLatency)}).alert_ids(0);
  EXPECT_NE(second, first);
  std::vector<v1::Alert> occurrences = Alerts(FingerprintHex(kCheckoutLatency));
  ASSERT_EQ(occurrences.size(), 2u);
  EXPECT_EQ(occurrences[0].id(), second);
  EXPECT_EQ(occurrences[0].state(), v1::Alert::FIRING);
  EXPECT_EQ(occurrences[1].state(), v1::Alert::RESOLVED);
  EXPECT_NE(occurrences[0].incident_id(), incident) << "a resolved incident does not absorb new alerts";
}

// The batch reaches PostgreSQL as JSON text written by hand (alert_store.cc): every character a
// label may hold comes back as it was sent, firing (upsert) and resolved (insert) alike.
TEST_F(IntakeTest, LabelsAndTextsWithCharactersJsonEscapesAreStoredAsSent) {
  ASSERT_TRUE(migrated_);
  const std::string odd = "quote \" backslash \\ slash / newline \n tab \t cr \r \x01 del \x7f é ✓ 🚀";
  Labels labels{{"alertname", "Odd"}, {"service", "checkout"}, {"note", odd}, {odd, "key"}};
  AlertInput firing = Firing(labels, odd);
  firing.annotations = {{"description", odd}};
  firing.generator_url = "http://prometheus/graph?g0.expr=up%7Bjob%3D%22x%22%7D&\"" + odd;
  Labels other = labels;
  other["alertname"] = "OddResolved";
  AlertInput resolved = Resolved(other);
  resolved.annotations = {{"description", odd}};
  Ingest({firing, resolved});
  for (const auto& [sent, state] : {std::pair{firing, v1::Alert::FIRING}, std::pair{resolved, v1::Alert::RESOLVED}}) {
    const v1::Alert stored = Latest(sent.labels);
    EXPECT_EQ(stored.state(), state);
    EXPECT_EQ(Labels(stored.labels().begin(), stored.labels().end()), sent.labels);
    EXPECT_EQ(Labels(stored.annotations().begin(), stored.annotations().end()), sent.annotations);
    EXPECT_EQ(stored.generator_url(), sent.generator_url);
  }
  // A second delivery updates the firing row (the upsert's update path) with the same text.
  Ingest({firing});
  EXPECT_EQ(Latest(labels).deliveries(), 2);
  EXPECT_EQ(Labels(Latest(labels).labels().begin(), Latest(labels).labels().end()), labels);
}

TEST_F(IntakeTest, AResolveForAnUnknownAlertIsRecordedNotAnError) {
  ASSERT_TRUE(migrated_);
  v1::IngestResponse out = Ingest({Resolved(kCheckoutLatency)});
  ASSERT_EQ(out.alert_ids_size(), 1);
  v1::Alert a = Latest(kCheckoutLatency);
  EXPECT_EQ(a.state(), v1::Alert::RESOLVED);
  EXPECT_TRUE(a.incident_id().empty());
  EXPECT_TRUE(Incidents().empty());
}

TEST_F(IntakeTest, SilencedAlertIsStoredAndMarkedButOpensNoIncident) {
  ASSERT_TRUE(migrated_);
  const std::string silence = Silence("service", "checkout");
  ASSERT_FALSE(silence.empty());

  Ingest({Firing(kCheckoutLatency), Firing({{"alertname", "HighErrorRate"}, {"service", "search"}})});
  v1::Alert silenced = Latest(kCheckoutLatency);
  EXPECT_TRUE(silenced.silenced());
  EXPECT_EQ(silenced.silenced_by(), silence);
  EXPECT_TRUE(silenced.incident_id().empty());
  ASSERT_EQ(Incidents().size(), 1u) << "only the unsilenced alert opens an incident";
  EXPECT_EQ(std::get<2>(Incidents()[0]), "service=search,environment=");

  // Once the silence is expired, the next delivery groups the alert.
  v1::Silence expired;
  ASSERT_TRUE(config_.ExpireSilence(silence, &expired).ok());
  clock_.Advance(1s);
  Ingest({Firing(kCheckoutLatency)});
  EXPECT_FALSE(Latest(kCheckoutLatency).silenced());
  EXPECT_FALSE(Latest(kCheckoutLatency).incident_id().empty());
}

TEST_F(IntakeTest, DefaultRuleInhibitsLatencyOfADownServiceInTheSameBatch) {
  ASSERT_TRUE(migrated_);
  Labels other_env = kCheckoutLatency;
  other_env["environment"] = "staging";
  // Target first: the source later in the same batch still counts.
  Ingest({Firing(kCheckoutLatency), Firing(other_env), Firing(kCheckoutDown)});

  v1::Alert inhibited = Latest(kCheckoutLatency);
  EXPECT_TRUE(inhibited.inhibited());
  EXPECT_EQ(inhibited.inhibited_by(), FingerprintHex(kCheckoutDown));
  EXPECT_TRUE(inhibited.incident_id().empty());
  v1::Alert staging = Latest(other_env);
  EXPECT_FALSE(staging.inhibited()) << "equal environment is required";
  EXPECT_FALSE(staging.incident_id().empty());
  EXPECT_FALSE(Latest(kCheckoutDown).inhibited());
  EXPECT_EQ(Incidents().size(), 2u) << "checkout/production (ServiceDown) and checkout/staging";
}

TEST_F(IntakeTest, InhibitedAlertIsGroupedWhenItsSourceResolves) {
  ASSERT_TRUE(migrated_);
  Ingest({Firing(kCheckoutDown)});
  Ingest({Firing(kCheckoutLatency)});
  ASSERT_TRUE(Latest(kCheckoutLatency).inhibited());
  std::string down_incident = Latest(kCheckoutDown).incident_id();

  clock_.Advance(2min);
  v1::IngestResponse out = Ingest({Resolved(kCheckoutDown)});
  v1::Alert released = Latest(kCheckoutLatency);
  EXPECT_FALSE(released.inhibited());
  ASSERT_FALSE(released.incident_id().empty());
  EXPECT_EQ(released.incident_id(), down_incident) << "same group, incident still open";
  EXPECT_EQ(IncidentState(down_incident), "TRIGGERED") << "the released alert still fires";
  EXPECT_NE(std::find(out.incident_ids().begin(), out.incident_ids().end(), down_incident), out.incident_ids().end());
}

// Only firing alerts that some rule's source matchers match are in the index that inhibition
// looks sources up in (alerts.can_inhibit, migration 0010_inhibition_sources).
TEST_F(IntakeTest, OnlyAlertsThatARulesSourceMatchesAreMarkedAsPossibleInhibitors) {
  ASSERT_TRUE(migrated_);
  Ingest({Firing(kCheckoutLatency), Firing(kCheckoutDown)});  // the default rule: ServiceDown inhibits
  EXPECT_FALSE(CanInhibit(kCheckoutLatency));
  EXPECT_TRUE(CanInhibit(kCheckoutDown));
  EXPECT_TRUE(Latest(kCheckoutLatency).inhibited()) << "inhibition still finds its source";
}

TEST_F(IntakeTest, ARuleCreatedWhileItsSourceFiresInhibitsLaterTargets) {
  ASSERT_TRUE(migrated_);
  const Labels node_down{{"alertname", "NodeDown"}, {"service", "search"}, {"environment", "production"},
                         {"severity", "critical"}};
  const Labels disk_full{{"alertname", "DiskFull"}, {"service", "search"}, {"environment", "production"}};
  Ingest({Firing(node_down)});
  EXPECT_FALSE(CanInhibit(node_down)) << "no rule's source matches it yet";

  v1::InhibitionRule rule, created;
  rule.add_source_matchers()->set_name("alertname");
  rule.mutable_source_matchers(0)->set_value("NodeDown");
  rule.add_target_matchers()->set_name("alertname");
  rule.mutable_target_matchers(0)->set_value("DiskFull");
  rule.add_equal("service");
  grpc::Status s = config_.CreateInhibitionRule(rule, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(CanInhibit(node_down)) << "creating the rule marks the firing alerts its source matches";

  Ingest({Firing(disk_full)});
  EXPECT_EQ(Latest(disk_full).inhibited_by(), FingerprintHex(node_down));
  EXPECT_TRUE(Latest(disk_full).incident_id().empty());
}

// A batch reads the rules under a shared lock that a rule's creation takes exclusively: a batch
// that starts while a rule is being created waits for it, and marks its alerts with it.
TEST_F(IntakeTest, ABatchWaitsForARuleBeingCreatedAndMarksItsSources) {
  ASSERT_TRUE(migrated_);
  const Labels node_down{{"alertname", "NodeDown"}, {"service", "search"}, {"environment", "production"}};
  pqxx::connection c(db_.url());
  pqxx::work creating(c);
  creating.exec("SELECT pg_advisory_xact_lock(hashtextextended('incidents.inhibition_rules', 0))");
  creating.exec(R"(INSERT INTO incidents.inhibition_rules (rule) VALUES ('{"source_matchers": )"
                R"([{"name": "alertname", "value": "NodeDown", "op": "="}], "target_matchers": )"
                R"([{"name": "alertname", "value": "DiskFull", "op": "="}]}'))");
  std::atomic<bool> stored{false};
  std::thread batch([&] {
    Ingest({Firing(node_down)});
    stored = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(stored) << "the batch did not wait for the rule being created";
  creating.commit();
  batch.join();
  EXPECT_TRUE(CanInhibit(node_down));
}

TEST_F(IntakeTest, AlertsAreGroupedByTheConfiguredLabels) {
  ASSERT_TRUE(migrated_);
  Ingest({Firing({{"alertname", "HighErrorRate"}, {"service", "checkout"}, {"environment", "production"}}),
          Firing({{"alertname", "DiskFull"}, {"service", "checkout"}, {"environment", "production"}}),
          Firing({{"alertname", "HighErrorRate"}, {"service", "search"}, {"environment", "production"}})});
  auto incidents = Incidents();
  ASSERT_EQ(incidents.size(), 2u);
  std::vector<std::string> keys{std::get<2>(incidents[0]), std::get<2>(incidents[1])};
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys[0], "service=checkout,environment=production");
  EXPECT_EQ(keys[1], "service=search,environment=production");

  // Grouping by service only puts a staging alert of checkout into checkout's incident.
  v1::IncidentSettings settings;
  settings.add_group_by("service");
  v1::IncidentSettings stored;
  ASSERT_TRUE(config_.PutSettings(settings, &stored).ok());
  Ingest({Firing({{"alertname", "HighErrorRate"}, {"service", "checkout"}, {"environment", "staging"}})});
  EXPECT_EQ(Incidents().size(), 3u) << "new group key service=checkout";
  EXPECT_EQ(std::get<2>(Incidents()[2]), "service=checkout");
}

TEST_F(IntakeTest, AlertsOfOneGroupInOneBatchOpenOneIncidentAndRecordEachAlert) {
  ASSERT_TRUE(migrated_);
  auto alert = [](const std::string& instance, const std::string& severity) {
    return Firing({{"alertname", "DiskFull"}, {"service", "search"}, {"environment", "production"},
                   {"instance", instance}, {"severity", severity}});
  };
  const std::vector<AlertInput> batch = {alert("i1", "warning"), alert("i2", "critical"), alert("i3", "warning"),
                                         Firing({{"alertname", "DiskFull"}, {"service", "cart"},
                                                 {"environment", "production"}})};
  v1::IngestResponse out = Ingest(batch);
  ASSERT_EQ(out.incident_ids_size(), 2);
  for (const AlertInput& a : batch) {
    EXPECT_FALSE(Latest(a.labels).incident_id().empty()) << a.labels.at("service");
  }
  const std::string search = Latest(batch[0].labels).incident_id();
  EXPECT_EQ(Latest(batch[1].labels).incident_id(), search);
  EXPECT_EQ(Latest(batch[2].labels).incident_id(), search);

  auto kinds = [&] {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    std::map<std::string, int> out;
    for (const auto& row : w.exec_params("SELECT kind, count(*) FROM incidents.events WHERE incident_id = $1 "
                                         "GROUP BY kind", search)) {
      out[row[0].as<std::string>()] = row[1].as<int>();
    }
    return out;
  };
  // One alert opened it, the two others are on its timeline, the critical one raised it once.
  std::map<std::string, int> events = kinds();
  EXPECT_EQ(events["OPENED"], 1);
  EXPECT_EQ(events["ALERT_ATTACHED"], 2);
  EXPECT_EQ(events["SEVERITY_CHANGED"], 1);
  pqxx::connection c(db_.url());
  pqxx::work w(c);
  EXPECT_EQ(w.exec_params("SELECT severity FROM incidents.incidents WHERE id = $1", search)[0][0].as<int>(),
            static_cast<int>(Severity::kSev2));
  w.commit();

  Ingest(batch);  // delivered again (Alertmanager repeats): nothing new on the timeline
  EXPECT_EQ(kinds(), events);
}

// Alerts and timeline events name their incident without a foreign key (migration
// 0009_intake_references): an incident deleted by hand still takes its timeline with it and
// leaves its alerts in no incident, as the foreign keys did.
TEST_F(IntakeTest, AnIncidentDeletedByHandTakesItsTimelineAndLeavesItsAlertsUnattached) {
  ASSERT_TRUE(migrated_);
  const Labels errors{{"alertname", "ErrorRate"}, {"service", "checkout"}, {"environment", "production"},
                      {"severity", "critical"}};
  Ingest({Firing(kCheckoutDown), Firing(errors)});
  const std::string incident = Latest(kCheckoutDown).incident_id();
  ASSERT_FALSE(incident.empty());
  ASSERT_FALSE(EventCounts(incident).empty());
  Ingest({Firing({{"alertname", "DiskFull"}, {"service", "cart"}, {"environment", "production"}})});
  const std::string other = Latest({{"alertname", "DiskFull"}, {"service", "cart"}, {"environment", "production"}})
                                .incident_id();
  ASSERT_FALSE(other.empty());
  const std::map<std::string, int> other_events = EventCounts(other);

  pqxx::connection c(db_.url());
  pqxx::work w(c);
  w.exec_params("DELETE FROM incidents.incidents WHERE id = $1", incident);
  w.commit();

  EXPECT_TRUE(EventCounts(incident).empty());
  EXPECT_EQ(Latest(kCheckoutDown).incident_id(), "");
  EXPECT_EQ(Latest(errors).incident_id(), "");
  EXPECT_EQ(EventCounts(other), other_events);
  EXPECT_EQ(Latest({{"alertname", "DiskFull"}, {"service", "cart"}, {"environment", "production"}}).incident_id(),
            other);
}

// (fingerprint label, state, deliveries, silenced_by, incident id or "") of every stored
// occurrence, by alertname then id.
using Row = std::tuple<std::string, std::string, int, std::string, std::string>;

TEST_F(IntakeTest, DuplicatesOfOneFingerprintInOneBatchCountOnceAndTheLastWins) {
  ASSERT_TRUE(migrated_);
  auto disk = [](const std::string& instance) {
    return Labels{{"alertname", "DiskFull"}, {"service", "search"}, {"environment", "production"},
                  {"instance", instance}};
  };
  AlertInput first = Firing(disk("i1"), "80% full");
  AlertInput again = Firing(disk("i1"), "95% full");
  again.labels["severity"] = "critical";
  again.fingerprint = first.fingerprint;  // a changed label, same alert (Alertmanager's fingerprint)
  v1::IngestResponse out = Ingest({first, Firing(disk("i2")), again});

  ASSERT_EQ(out.alert_ids_size(), 3);
  EXPECT_EQ(out.alert_ids(0), out.alert_ids(2));
  EXPECT_NE(out.alert_ids(0), out.alert_ids(1));
  std::vector<v1::Alert> stored = Alerts(first.fingerprint);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].deliveries(), 2);
  EXPECT_EQ(stored[0].summary(), "95% full");
  EXPECT_EQ(stored[0].labels().at("severity"), "critical");
  EXPECT_EQ(stored[0].severity(), "SEV2");
  ASSERT_EQ(out.incident_ids_size(), 1);
  EXPECT_EQ(stored[0].incident_id(), out.incident_ids(0));
  EXPECT_EQ(Alerts().size(), 2u);

  pqxx::connection c(db_.url());
  pqxx::work w(c);
  std::map<std::string, int> kinds;
  for (const auto& row : w.exec_params("SELECT kind, count(*) FROM incidents.events WHERE incident_id = $1 "
                                       "GROUP BY kind", out.incident_ids(0))) {
    kinds[row[0].as<std::string>()] = row[1].as<int>();
  }
  // One alert opened the incident, the other is attached: the duplicate adds nothing.
  EXPECT_EQ(kinds["OPENED"], 1);
  EXPECT_EQ(kinds["ALERT_ATTACHED"], 1);
}

TEST_F(IntakeTest, ABatchMixingNewRepeatedResolvedAndSilencedAlertsStoresEachOccurrence) {
  ASSERT_TRUE(migrated_);
  auto alert = [](const std::string& name, const std::string& service) {
    return Labels{{"alertname", name}, {"service", service}, {"environment", "production"}};
  };
  const Labels repeated = alert("Repeated", "search");
  const Labels resolved = alert("Resolved", "billing");
  Ingest({Firing(repeated), Firing(resolved)});
  const std::string search = Latest(repeated).incident_id();
  const std::string billing = Latest(resolved).incident_id();
  ASSERT_FALSE(search.empty());
  ASSERT_FALSE(billing.empty());
  const std::string silence = Silence("service", "muted");
  ASSERT_FALSE(silence.empty());

  clock_.Advance(1min);
  const Labels fresh = alert("New", "search");
  const Labels silenced = alert("Silenced", "muted");
  const Labels unknown = alert("Unknown", "cart");
  const Labels flapping = alert("Flapping", "queue");
  v1::IngestResponse out = Ingest({Firing(fresh), Firing(repeated), Resolved(resolved), Firing(silenced),
                                   Resolved(unknown), Firing(flapping), Resolved(flapping), Firing(flapping)});
  ASSERT_EQ(out.alert_ids_size(), 8);
  EXPECT_EQ(out.alert_ids(5), out.alert_ids(6)) << "the resolve closes the occurrence the batch opened";
  EXPECT_NE(out.alert_ids(7), out.alert_ids(5)) << "firing again after a resolve is a new occurrence";

  pqxx::connection c(db_.url());
  pqxx::work w(c);
  std::string queue;
  for (const auto& row : w.exec("SELECT id FROM incidents.incidents WHERE group_key = "
                                "'service=queue,environment=production'")) {
    queue = row[0].as<std::string>();
  }
  ASSERT_FALSE(queue.empty()) << "the flapping alert's second occurrence opens an incident";
  std::vector<Row> rows;
  for (const auto& row : w.exec("SELECT labels->>'alertname', state, deliveries, silenced_by, "
                                "coalesce(incident_id, '') FROM incidents.alerts ORDER BY 1, id")) {
    rows.emplace_back(row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int>(),
                      row[3].as<std::string>(), row[4].as<std::string>());
  }
  const std::vector<Row> expected = {
      {"Flapping", "resolved", 2, "", ""},
      {"Flapping", "firing", 1, "", queue},
      {"New", "firing", 1, "", search},
      {"Repeated", "firing", 2, "", search},
      {"Resolved", "resolved", 2, "", billing},
      {"Silenced", "firing", 1, silence, ""},
      {"Unknown", "resolved", 1, "", ""},
  };
  EXPECT_EQ(rows, expected);
  std::map<std::string, std::string> states;
  for (const auto& row : w.exec("SELECT id, state FROM incidents.incidents")) {
    states[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  EXPECT_EQ(states[billing], "RESOLVED") << "its only alert resolved";
  EXPECT_EQ(states[search], "TRIGGERED");
  EXPECT_EQ(states[queue], "TRIGGERED");
  EXPECT_EQ(states.size(), 3u);
  for (const auto& row : w.exec("SELECT (extract(epoch from ends_at) * 1000000)::bigint FROM incidents.alerts "
                                "WHERE state = 'resolved' AND labels->>'alertname' <> 'Unknown'")) {
    EXPECT_EQ(row[0].as<long long>(), ToMicros(clock_.Now())) << "a resolve without endsAt ends now";
  }
}

// Batches of one group attach to its open incident side by side (a share lock) while one that
// raises the severity takes it alone: every alert attached once, one raise, one incident.
TEST_F(IntakeTest, ConcurrentBatchesOfOneGroupAttachEveryAlertAndRaiseTheSeverityOnce) {
  ASSERT_TRUE(migrated_);
  auto alert = [](const std::string& instance, const std::string& severity) {
    return Firing({{"alertname", "HighLoad"}, {"service", "search"}, {"environment", "production"},
                   {"instance", instance}, {"severity", severity}});
  };
  v1::IngestResponse opened = Ingest({alert("first", "warning")});
  ASSERT_EQ(opened.incident_ids_size(), 1);
  const std::string incident = opened.incident_ids(0);

  constexpr int kSenders = 6;
  constexpr int kPerBatch = 10;
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      std::vector<AlertInput> batch;
      for (int i = 0; i < kPerBatch; ++i) {
        // Every other sender carries a critical alert: several want to raise at once.
        bool critical = t % 2 == 0 && i == 0;
        batch.push_back(alert(std::to_string(t) + "-" + std::to_string(i), critical ? "critical" : "warning"));
      }
      while (!go.load()) std::this_thread::yield();
      v1::IngestResponse out;
      grpc::Status s = intake_.Ingest(batch, "alertmanager", &out);
      if (!s.ok() || out.incident_ids_size() != 1 || out.incident_ids(0) != incident) failures++;
    });
  }
  go = true;
  for (std::thread& t : senders) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Incidents().size(), 1u);
  pqxx::connection c(db_.url());
  pqxx::work w(c);
  std::map<std::string, int> kinds;
  for (const auto& row : w.exec_params("SELECT kind, count(*) FROM incidents.events WHERE incident_id = $1 "
                                       "GROUP BY kind", incident)) {
    kinds[row[0].as<std::string>()] = row[1].as<int>();
  }
  EXPECT_EQ(kinds["ALERT_ATTACHED"], kSenders * kPerBatch);
  EXPECT_EQ(kinds["SEVERITY_CHANGED"], 1);
  EXPECT_EQ(w.exec_params("SELECT severity FROM incidents.incidents WHERE id = $1", incident)[0][0].as<int>(),
            static_cast<int>(Severity::kSev2));
  EXPECT_EQ(w.exec_params("SELECT count(*) FROM incidents.alerts WHERE incident_id = $1", incident)[0][0].as<int>(),
            1 + kSenders * kPerBatch);
}

// An incident's alert counts are kept by triggers as its alerts change (0012_incident_counts.sql):
// new occurrences from concurrent sessions, resolves, re-triggers, silenced alerts, an incident
// that resolves and the next one, and a deletion by hand.
TEST_F(IntakeTest, AnIncidentsAlertCountsFollowEveryChangeOfItsAlerts) {
  ASSERT_TRUE(migrated_);
  auto search = [](const std::string& instance) {
    return Labels{{"alertname", "HighLoad"}, {"service", "search"}, {"environment", "production"},
                  {"instance", instance}};
  };
  // (alert_count, firing_alert_count) as the incident is read, and as counted from its alerts.
  auto counts = [&](const std::string& id) {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    v1::Incident incident;
    EXPECT_TRUE(LoadIncident(w, id, clock_.Now(), &incident)) << id;
    pqxx::row counted = w.exec_params1(
        "SELECT count(*), count(*) FILTER (WHERE state = 'firing') FROM incidents.alerts WHERE incident_id = $1", id);
    return std::make_pair(std::make_pair(incident.alert_count(), incident.firing_alert_count()),
                          std::make_pair(counted[0].as<int>(), counted[1].as<int>()));
  };
  v1::IngestResponse opened = Ingest({Firing(search("first"))});
  ASSERT_EQ(opened.incident_ids_size(), 1);
  const std::string incident = opened.incident_ids(0);

  constexpr int kSenders = 4;
  constexpr int kBatches = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<AlertInput> batch;
        for (int i = 0; i < 10; ++i) batch.push_back(Firing(search(std::to_string(t) + "-" + std::to_string(i))));
        // From the second batch on, each sender resolves one of its alerts and re-triggers another.
        if (b > 0) batch.push_back(Resolved(search(std::to_string(t) + "-" + std::to_string(b))));
        if (b > 1) batch.push_back(Firing(search(std::to_string(t) + "-" + std::to_string(b - 1))));
        v1::IngestResponse out;
        if (!intake_.Ingest(batch, "alertmanager", &out).ok()) failures++;
      }
    });
  }
  for (std::thread& t : senders) t.join();
  ASSERT_EQ(failures.load(), 0);
  auto [read, counted] = counts(incident);
  EXPECT_EQ(read, counted);
  // Each sender's ten, and a new occurrence of each alert it resolved but the last.
  EXPECT_EQ(counted.first, 1 + kSenders * (10 + kBatches - 2));
  EXPECT_EQ(counted.second, 1 + kSenders * (10 - 1));

  // A silenced alert is stored in no incident; resolving the rest leaves nothing firing.
  const std::string silence = Silence("instance", "silenced");
  ASSERT_FALSE(silence.empty());
  std::vector<AlertInput> resolve_all{Firing(search("silenced")), Resolved(search("first"))};
  for (int t = 0; t < kSenders; ++t) {
    for (int i = 0; i < 10; ++i) resolve_all.push_back(Resolved(search(std::to_string(t) + "-" + std::to_string(i))));
  }
  Ingest(resolve_all);
  std::tie(read, counted) = counts(incident);
  EXPECT_EQ(read, counted);
  EXPECT_EQ(counted.second, 0);

  // The incident resolved with its last alert: a new alert of the group opens the next one.
  v1::IngestResponse next = Ingest({Firing(search("later"))});
  ASSERT_EQ(next.incident_ids_size(), 1);
  ASSERT_NE(next.incident_ids(0), incident);
  EXPECT_EQ(counts(next.incident_ids(0)).first, std::make_pair(1, 1));
  EXPECT_EQ(counts(incident).first, read);

  pqxx::connection c(db_.url());
  pqxx::work w(c);
  w.exec_params("DELETE FROM incidents.incidents WHERE id = $1", incident);
  EXPECT_EQ(w.exec_params1("SELECT count(*) FROM incidents.incident_counts WHERE incident_id = $1", incident)[0].as<int>(), 0);
}

// Count rows of sessions that have ended fold into one per incident, and the counts stay.
TEST_F(IntakeTest, CountsOfEndedSessionsFoldIntoOneRowPerIncident) {
  ASSERT_TRUE(migrated_);
  v1::IngestResponse opened = Ingest({Firing({{"alertname", "Fold"}, {"service", "ledger"}})});
  ASSERT_EQ(opened.incident_ids_size(), 1);
  const std::string incident = opened.incident_ids(0);
  // Two sessions that change the incident's alerts and end.
  std::vector<int> ended;
  for (const char* fingerprint : {"by-hand-1", "by-hand-2"}) {
    pqxx::connection c(db_.url());
    ended.push_back(c.backendpid());
    pqxx::work w(c);
    w.exec_params("INSERT INTO incidents.alerts (fingerprint, state, incident_id, first_received_at, last_received_at)"
                  " VALUES ($1, 'firing', $2, now(), now())",
                  fingerprint, incident);
    w.commit();
  }
  pqxx::connection c(db_.url());
  auto sessions_gone = [&] {
    pqxx::work w(c);
    return w.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid IN ($1, $2)", ended[0], ended[1])[0]
               .as<int>() == 0;
  };
  for (int i = 0; i < 100 && !sessions_gone(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(sessions_gone());
  auto counts = [&] {
    pqxx::work w(c);
    v1::Incident read;
    EXPECT_TRUE(LoadIncident(w, incident, clock_.Now(), &read));
    return std::make_tuple(read.alert_count(), read.firing_alert_count(), read.timeline_count());
  };
  auto rows = [&](const std::string& which) {
    pqxx::work w(c);
    return w.exec_params1("SELECT count(*) FROM incidents.incident_counts WHERE incident_id = $1 AND " + which, incident)[0]
        .as<int>();
  };
  const auto before = counts();
  EXPECT_EQ(std::get<0>(before), 3);
  EXPECT_EQ(rows("backend IN (" + std::to_string(ended[0]) + ", " + std::to_string(ended[1]) + ")"), 2);
  const int live = rows("backend <> ALL (ARRAY[0, " + std::to_string(ended[0]) + ", " + std::to_string(ended[1]) + "])");

  long long folded = 0;
  {
    pqxx::work w(c);
    folded = FoldCountsOfEndedSessions(w);
    w.commit();
  }
  EXPECT_GE(folded, 2);
  EXPECT_EQ(counts(), before);
  EXPECT_EQ(rows("backend <> 0"), live) << "the rows of the pool's open sessions stay";
  EXPECT_EQ(rows("backend = 0"), 1);
  {
    pqxx::work w(c);
    EXPECT_EQ(FoldCountsOfEndedSessions(w), 0) << "nothing left to fold";
  }
  // The pool's sessions go on counting into their own rows.
  Ingest({Firing({{"alertname", "Fold"}, {"service", "ledger"}, {"instance", "2"}})});
  EXPECT_EQ(std::get<0>(counts()), 4);
}

// A batch that only fires inserts each new alert of a group with an open incident straight into
// it; silences, inhibition and a severity raise still take the decision after the upsert.
TEST_F(IntakeTest, NewAlertsOfAnOpenIncidentAreStoredInItUnlessHeldBackOrRaisingIt) {
  ASSERT_TRUE(migrated_);
  auto checkout = [](const std::string& name, const std::string& severity) {
    return Labels{{"alertname", name}, {"service", "checkout"}, {"environment", "production"}, {"severity", severity}};
  };
  v1::IngestResponse opened = Ingest({Firing(checkout("DiskFull", "warning"))});
  ASSERT_EQ(opened.incident_ids_size(), 1);
  const std::string incident = opened.incident_ids(0);
  const std::string silence = Silence("alertname", "Muted");
  ASSERT_FALSE(silence.empty());

  // ServiceDown is new in the same batch as the latency alert it inhibits, and at SEV3 it does
  // not raise the incident.
  const std::vector<AlertInput> batch = {Firing(checkout("CpuHigh", "warning")), Firing(checkout("Muted", "warning")),
                                         Firing(checkout("HighResponseTime", "warning")),
                                         Firing(checkout("ServiceDown", "warning"))};
  v1::IngestResponse out = Ingest(batch);
  ASSERT_EQ(out.incident_ids_size(), 1);
  EXPECT_EQ(out.incident_ids(0), incident);
  EXPECT_EQ(Latest(checkout("CpuHigh", "warning")).incident_id(), incident);
  EXPECT_EQ(Latest(checkout("ServiceDown", "warning")).incident_id(), incident);
  v1::Alert muted = Latest(checkout("Muted", "warning"));
  EXPECT_EQ(muted.silenced_by(), silence);
  EXPECT_TRUE(muted.incident_id().empty());
  v1::Alert latency = Latest(checkout("HighResponseTime", "warning"));
  EXPECT_EQ(latency.inhibited_by(), FingerprintHex(checkout("ServiceDown", "warning")));
  EXPECT_TRUE(latency.incident_id().empty());
  std::map<std::string, int> events = EventCounts(incident);
  EXPECT_EQ(events["OPENED"], 1);
  EXPECT_EQ(events["ALERT_ATTACHED"], 2) << "CpuHigh and ServiceDown";

  Ingest(batch);  // delivered again: nothing new on the timeline
  EXPECT_EQ(EventCounts(incident), events);

  Ingest({Firing(checkout("Errors", "critical"))});
  EXPECT_EQ(Latest(checkout("Errors", "critical")).incident_id(), incident);
  events = EventCounts(incident);
  EXPECT_EQ(events["ALERT_ATTACHED"], 3);
  EXPECT_EQ(events["SEVERITY_CHANGED"], 1);
}

// The open incident a batch inserts its new alerts in is read without a lock: when it resolves
// before the batch locks it, the alerts go to the group's next incident instead.
TEST_F(IntakeTest, AlertsInsertedInAnIncidentThatResolvesMeanwhileOpenTheNextOne) {
  ASSERT_TRUE(migrated_);
  auto search = [](const std::string& name) {
    return Labels{{"alertname", name}, {"service", "search"}, {"environment", "production"}};
  };
  v1::IngestResponse opened = Ingest({Firing(search("DiskFull"))});
  ASSERT_EQ(opened.incident_ids_size(), 1);
  const std::string first = opened.incident_ids(0);

  pqxx::connection person(db_.url());
  pqxx::work resolving(person);
  resolving.exec_params("UPDATE incidents.incidents SET state = 'RESOLVED', resolved_at = now() WHERE id = $1", first);
  v1::IngestResponse out;
  grpc::Status status;
  std::thread sender([&] { status = intake_.Ingest({Firing(search("CpuHigh"))}, "alertmanager", &out); });
  // Until the batch waits for the incident's lock (it has stored the alert by then).
  pqxx::connection watcher(db_.url());
  bool waiting = false;
  for (int i = 0; i < 1000 && !waiting; ++i) {
    pqxx::nontransaction n(watcher);
    waiting = n.exec("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
                     "'%FROM incidents.incidents WHERE id = %'").size() > 0;
    if (!waiting) std::this_thread::sleep_for(10ms);
  }
  resolving.commit();
  sender.join();
  ASSERT_TRUE(waiting) << "the batch never waited for the incident being resolved";
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(out.incident_ids_size(), 1);
  const std::string next = out.incident_ids(0);
  EXPECT_NE(next, first);
  EXPECT_EQ(IncidentState(next), "TRIGGERED");
  EXPECT_EQ(Latest(search("CpuHigh")).incident_id(), next);
  EXPECT_EQ(EventCounts(first)["ALERT_ATTACHED"], 0);
  EXPECT_EQ(EventCounts(next)["OPENED"], 1);
}

TEST_F(IntakeTest, ServiceRejectsAMalformedWebhookNamingTheFieldAndStoresAValidOne) {
  ASSERT_TRUE(migrated_);
  IncidentServiceImpl service(pool_, clock_, calendar_, config_, intake_, lifecycle_);
  v1::AlertmanagerWebhook hook;
  hook.set_version("4");
  v1::AlertmanagerAlert* a = hook.add_alerts();
  for (const auto& [k, v] : kCheckoutDown) (*a->mutable_labels())[k] = v;
  a->set_status("burning");
  v1::IngestResponse out;
  grpc::Status s = service.PostAlertmanager(nullptr, &hook, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("alerts[0].status"), std::string::npos) << s.error_message();
  EXPECT_TRUE(Alerts().empty());

  a->set_status("firing");
  s = service.PostAlertmanager(nullptr, &hook, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.received(), 1);
  ASSERT_EQ(out.incident_ids_size(), 1);
  EXPECT_EQ(Latest(kCheckoutDown).incident_id(), out.incident_ids(0));
  EXPECT_EQ(Latest(kCheckoutDown).severity(), "SEV2");
}

TEST_F(IntakeTest, ADatabaseFailureIsUnavailableSoTheSenderRetries) {
  ASSERT_TRUE(migrated_);
  {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    w.exec("ALTER TABLE incidents.alerts RENAME TO alerts_away");
    w.commit();
  }
  v1::IngestResponse out;
  grpc::Status s = intake_.Ingest({Firing(kCheckoutLatency)}, "alertmanager", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(out.alert_ids_size(), 0);
  EXPECT_TRUE(Incidents().empty()) << "nothing of the batch is kept";
}

TEST_F(IntakeTest, ListAlertsPagesAndFilters) {
  ASSERT_TRUE(migrated_);
  std::vector<AlertInput> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(Firing({{"alertname", "A" + std::to_string(i)}, {"service", "x"}}));
  Ingest(batch);
  Ingest({Resolved({{"alertname", "A0"}, {"service", "x"}})});

  v1::ListAlertsRequest req;
  req.set_page_size(3);
  std::set<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    v1::ListAlertsResponse resp;
    ASSERT_TRUE(intake_.ListAlerts(req, &resp).ok());
    for (const auto& a : resp.alerts()) EXPECT_TRUE(seen.insert(a.id()).second) << "seen twice: " << a.id();
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen.size(), 7u);

  v1::ListAlertsRequest firing;
  firing.set_state("RESOLVED");
  v1::ListAlertsResponse resp;
  ASSERT_TRUE(intake_.ListAlerts(firing, &resp).ok());
  ASSERT_EQ(resp.alerts_size(), 1);
  EXPECT_EQ(resp.alerts(0).labels().at("alertname"), "A0");

  // Every combination of filters has a statement of its own; each must keep the others' rows out
  // and page through its own.
  const std::string incident = resp.alerts(0).incident_id();
  ASSERT_FALSE(incident.empty());
  v1::ListAlertsRequest of_incident;
  of_incident.set_incident_id(incident);
  of_incident.set_state("FIRING");
  of_incident.set_page_size(4);
  std::set<std::string> firing_ids;
  for (int page = 0; page < 5; ++page) {
    ASSERT_TRUE(intake_.ListAlerts(of_incident, &resp).ok());
    for (const auto& a : resp.alerts()) {
      EXPECT_EQ(a.state(), v1::Alert::FIRING);
      EXPECT_EQ(a.incident_id(), incident);
      EXPECT_TRUE(firing_ids.insert(a.id()).second) << "seen twice: " << a.id();
    }
    if (resp.next_page_token().empty()) break;
    of_incident.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(firing_ids.size(), 6u);
  std::vector<v1::Alert> all = Alerts();
  const v1::Alert& a3 = *std::find_if(all.begin(), all.end(),
                                      [](const v1::Alert& a) { return a.labels().at("alertname") == "A3"; });
  v1::ListAlertsRequest by_fingerprint;
  by_fingerprint.set_fingerprint(a3.fingerprint());
  by_fingerprint.set_incident_id(incident);
  by_fingerprint.set_state("RESOLVED");
  ASSERT_TRUE(intake_.ListAlerts(by_fingerprint, &resp).ok());
  EXPECT_EQ(resp.alerts_size(), 0) << "A3 is firing";
  by_fingerprint.set_state("FIRING");
  ASSERT_TRUE(intake_.ListAlerts(by_fingerprint, &resp).ok());
  ASSERT_EQ(resp.alerts_size(), 1);
  EXPECT_EQ(resp.alerts(0).id(), a3.id());

  v1::ListAlertsRequest bad;
  bad.set_page_size(501);
  grpc::Status s = intake_.ListAlerts(bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("page_size"), std::string::npos);
  bad.set_page_size(10);
  bad.set_page_token("bogus");
  s = intake_.ListAlerts(bad, &resp);
  EXPECT_NE(s.error_message().find("page_token"), std::string::npos);
}

TEST_F(IntakeTest, PagerDutyUnknownRoutingKeyIsAnInvalidArgument) {
  ASSERT_TRUE(migrated_);
  v1::PagerDutyEvent event;
  event.set_routing_key("0123456789abcdef0123456789abcdef");
  event.set_event_action("trigger");
  event.mutable_payload()->set_summary("disk full");
  event.mutable_payload()->set_source("db-1");
  event.mutable_payload()->set_severity("critical");
  v1::PagerDutyResponse out;
  grpc::Status s = intake_.PagerDuty(event, "pd", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "routing_key: no integration has this routing key");
  EXPECT_TRUE(Alerts().empty());
}

TEST_F(IntakeTest, PagerDutyTriggerAcknowledgeResolveByDedupKey) {
  ASSERT_TRUE(migrated_);
  v1::Integration integration;
  integration.set_name("datadog");
  integration.set_service("payments");
  integration.set_environment("production");
  v1::Integration created;
  ASSERT_TRUE(config_.CreateIntegration(integration, &created).ok());

  v1::PagerDutyEvent event;
  event.set_routing_key(created.routing_key());
  event.set_event_action("trigger");
  event.set_dedup_key("payments-latency-1");
  event.mutable_payload()->set_summary("payments p99 above 2s");
  event.mutable_payload()->set_source("payments-1");
  event.mutable_payload()->set_severity("critical");
  v1::PagerDutyResponse out;
  grpc::Status s = intake_.PagerDuty(event, "pd", &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.status(), "success");
  EXPECT_EQ(out.message(), "Event processed");
  EXPECT_EQ(out.dedup_key(), "payments-latency-1");
  std::vector<v1::Alert> alerts = Alerts("payments-latency-1");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].integration(), "datadog");
  EXPECT_EQ(alerts[0].severity(), "SEV2") << "critical maps to SEV2 by default";
  std::string incident = alerts[0].incident_id();
  ASSERT_FALSE(incident.empty());
  EXPECT_EQ(IncidentState(incident), "TRIGGERED");

  event.set_event_action("acknowledge");
  ASSERT_TRUE(intake_.PagerDuty(event, "pd", &out).ok());
  EXPECT_EQ(IncidentState(incident), "ACKNOWLEDGED");

  event.set_event_action("resolve");
  ASSERT_TRUE(intake_.PagerDuty(event, "pd", &out).ok());
  alerts = Alerts("payments-latency-1");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state(), v1::Alert::RESOLVED);
  EXPECT_EQ(IncidentState(incident), "RESOLVED");
}

// A dedup_key names an alert within its integration only: another integration's routing key
// neither acknowledges, resolves nor updates it, and is answered as PagerDuty answers an
// unknown dedup_key (success; nothing of the other integration changes).
TEST_F(IntakeTest, PagerDutyEventsActOnlyOnTheirOwnIntegrationsAlerts) {
  ASSERT_TRUE(migrated_);
  auto create = [&](const std::string& name) {
    v1::Integration in;
    in.set_name(name);
    in.set_service(name);
    in.set_environment("production");
    v1::Integration created;
    grpc::Status s = config_.CreateIntegration(in, &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return created.routing_key();
  };
  const std::string payments_key = create("payments-pd");
  const std::string intruder_key = create("intruder-pd");

  v1::PagerDutyEvent event;
  event.set_routing_key(payments_key);
  event.set_event_action("trigger");
  event.set_dedup_key("payments-latency-1");
  event.mutable_payload()->set_summary("payments p99 above 2s");
  event.mutable_payload()->set_source("payments-1");
  event.mutable_payload()->set_severity("critical");
  v1::PagerDutyResponse out;
  ASSERT_TRUE(intake_.PagerDuty(event, "pd", &out).ok());
  std::vector<v1::Alert> alerts = Alerts("payments-latency-1");
  ASSERT_EQ(alerts.size(), 1u);
  const std::string incident = alerts[0].incident_id();
  ASSERT_FALSE(incident.empty());

  v1::PagerDutyEvent foreign = event;
  foreign.set_routing_key(intruder_key);
  foreign.clear_payload();
  for (const char* action : {"acknowledge", "resolve"}) {
    foreign.set_event_action(action);
    grpc::Status s = intake_.PagerDuty(foreign, "pd", &out);
    ASSERT_TRUE(s.ok()) << action << ": " << s.error_message();
    EXPECT_EQ(out.status(), "success") << action;
    EXPECT_EQ(out.dedup_key(), "payments-latency-1") << action;
    EXPECT_EQ(IncidentState(incident), "TRIGGERED") << "another integration's " << action << " changed it";
  }
  // A trigger with the same dedup_key is the intruder's own alert, not an update of payments'.
  foreign = event;
  foreign.set_routing_key(intruder_key);
  foreign.mutable_payload()->set_summary("overwritten");
  ASSERT_TRUE(intake_.PagerDuty(foreign, "pd", &out).ok());

  std::map<std::string, v1::Alert> by_integration;
  for (const v1::Alert& a : Alerts("payments-latency-1")) {
    if (a.state() == v1::Alert::FIRING) by_integration[a.integration()] = a;
  }
  ASSERT_EQ(by_integration.count("payments-pd"), 1u) << "payments' alert must still fire";
  EXPECT_EQ(by_integration["payments-pd"].summary(), "payments p99 above 2s");
  EXPECT_EQ(by_integration["payments-pd"].deliveries(), 1);
  EXPECT_EQ(by_integration["payments-pd"].incident_id(), incident);
  ASSERT_EQ(by_integration.count("intruder-pd"), 1u);
  EXPECT_NE(by_integration["intruder-pd"].incident_id(), incident);

  // Its own integration still acknowledges and resolves it.
  event.clear_payload();
  event.set_event_action("acknowledge");
  ASSERT_TRUE(intake_.PagerDuty(event, "pd", &out).ok());
  EXPECT_EQ(IncidentState(incident), "ACKNOWLEDGED");
  event.set_event_action("resolve");
  ASSERT_TRUE(intake_.PagerDuty(event, "pd", &out).ok());
  EXPECT_EQ(IncidentState(incident), "RESOLVED");
}

}  // namespace
}  // namespace flightdeck::incidents
