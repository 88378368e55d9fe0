// Integration: the incidents service's configuration against the real PostgreSQL — integrations,
// escalation policies (secrets kept and never shown), silences, inhibition rules and settings,
// with validation errors that name the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <regex>

#include "common/clock/clock.h"
#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/secrets/secrets.h"
#include "common/config/config.h"
#include "common/net/egress.h"
#include "services/incidents/config_store.h"
#include "tests/support/test_database.h"

namespace flightdeck::incidents {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Rings of the master keys "k1" and "k2" ("id:base64", as FLIGHTDECK_MASTER_KEY holds them).
secrets::KeyRing Ring(const std::string& text) {
  secrets::KeyRing keys;
  grpc::Status s = secrets::KeyRing::Parse(text, "test keys", &keys);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return keys;
}
const std::string kK1 = "k1:" + std::string(43, 'A');
const std::string kK2 = "k2:" + std::string(43, 'B');

class ConfigStoreTest : public ::testing::Test {
 protected:
  ConfigStoreTest()
      : pool_({db_.url(), 4, 5000ms, 4, "test"}), migrated_(Migrate()), keys_(Ring(kK1)), config_(pool_, clock_, &keys_) {}

  bool Migrate() {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("incidents"));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok();
  }

  // The error's code is INVALID_ARGUMENT and its message starts with the field.
  static void ExpectInvalid(const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(s.error_message().rfind(field + ":", 0), 0u) << "message should name " << field << ": "
                                                           << s.error_message();
  }

  test::TestDatabase db_;
  FakeClock clock_;
  db::Pool pool_;
  bool migrated_;
  secrets::KeyRing keys_;
  ConfigStore config_;

  std::string StoredPolicy(const std::string& name) {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    return tx.exec_params1("SELECT policy::text FROM incidents.escalation_policies WHERE name = $1", name)[0]
        .as<std::string>();
  }
};

v1::EscalationPolicy SlackPolicy() {
  v1::EscalationPolicy p;
  p.set_name("payments.oncall");
  v1::NotificationTarget* chat = p.add_on_open();
  chat->set_name("chat");
  chat->set_url("https://hooks.slack.example.com/services/T0/B0/XyZsecretpath");
  chat->set_format("slack");
  chat->set_secret("hmac-s3cret");
  return p;
}

TEST_F(ConfigStoreTest, IntegrationGetsARandomRoutingKeyAndIsFoundByIt) {
  ASSERT_TRUE(migrated_);
  v1::Integration in;
  in.set_name("grafana");
  in.set_service("checkout");
  in.set_default_severity("sev4");
  v1::Integration a, b;
  ASSERT_TRUE(config_.CreateIntegration(in, &a).ok());
  EXPECT_TRUE(std::regex_match(a.routing_key(), std::regex("[0-9a-f]{32}"))) << a.routing_key();
  EXPECT_EQ(a.default_severity(), "SEV4");
  in.set_name("grafana-2");
  ASSERT_TRUE(config_.CreateIntegration(in, &b).ok());
  EXPECT_NE(a.routing_key(), b.routing_key());

  v1::Integration found;
  ASSERT_TRUE(config_.IntegrationByRoutingKey(b.routing_key(), &found).ok());
  EXPECT_EQ(found.name(), "grafana-2");
  EXPECT_EQ(config_.IntegrationByRoutingKey(std::string(32, 'z'), &found).error_code(), grpc::StatusCode::NOT_FOUND);

  in.set_name("grafana");
  EXPECT_EQ(config_.CreateIntegration(in, &found).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // Shown once: the create answer had it; reads show its last 4 characters only, and the
  // database holds its SHA-256, never the key.
  v1::Integration got;
  ASSERT_TRUE(config_.GetIntegration("grafana-2", &got).ok());
  EXPECT_EQ(got.routing_key(), "****" + b.routing_key().substr(28));
  EXPECT_EQ(found.routing_key(), got.routing_key()) << "found by key, shown masked";
  {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    pqxx::result rows = tx.exec("SELECT t::text FROM incidents.integrations t");
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& row : rows) {
      EXPECT_THAT(row[0].as<std::string>(), Not(HasSubstr(a.routing_key())));
      EXPECT_THAT(row[0].as<std::string>(), Not(HasSubstr(b.routing_key())));
    }
  }
  ASSERT_TRUE(config_.DeleteIntegration("grafana").ok());
  v1::ListIntegrationsResponse list;
  ASSERT_TRUE(config_.ListIntegrations(v1::ListIntegrationsRequest(), &list).ok());
  ASSERT_EQ(list.integrations_size(), 1);
  EXPECT_EQ(list.integrations(0).name(), "grafana-2");
  EXPECT_EQ(list.integrations(0).routing_key(), "****" + b.routing_key().substr(28));
}

// Keys stored in plain text before hashing are hashed in place by the migration: the sender
// keeps working with the key it has, and the key is no longer in the table.
TEST(RoutingKeyMigration, PlainKeysAreHashedInPlaceAndStillFindTheirIntegration) {
  test::TestDatabase db;
  db::Pool pool({db.url(), 2, 5000ms, 4, "test"});
  db::SchemaMigrations all = db::EmbeddedMigrations("incidents");
  db::SchemaMigrations before = all;
  before.migrations.clear();
  for (const db::Migration& m : all.migrations) {
    if (m.name != "routing_keys_hashed") before.migrations.push_back(m);
    else break;
  }
  ASSERT_LT(before.migrations.size(), all.migrations.size()) << "no routing_keys_hashed migration";
  grpc::Status s = db::Migrate(pool, before);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string legacy = "abcdefghijklmnopqrstuvwxyz012345";
  {
    pqxx::connection c(db.url());
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO incidents.integrations (name, routing_key, service, created_at) "
                   "VALUES ('legacy', $1, 'payments', now())", legacy);
    tx.commit();
  }
  s = db::Migrate(pool, all);
  ASSERT_TRUE(s.ok()) << s.error_message();

  FakeClock clock;
  ConfigStore config(pool, clock);
  v1::Integration found;
  s = config.IntegrationByRoutingKey(legacy, &found);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(found.name(), "legacy");
  EXPECT_EQ(found.routing_key(), "****2345");
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  EXPECT_THAT(tx.exec("SELECT t::text FROM incidents.integrations t")[0][0].as<std::string>(),
              Not(HasSubstr(legacy)));
}

// Every configuration list is paged with a maximum, like the incidents' lists.
TEST_F(ConfigStoreTest, ConfigurationListsArePagedWithAMaximum) {
  ASSERT_TRUE(migrated_);
  for (const char* name : {"a-pd", "b-pd", "c-pd"}) {
    v1::Integration in, out;
    in.set_name(name);
    in.set_service("checkout");
    ASSERT_TRUE(config_.CreateIntegration(in, &out).ok());
    v1::EscalationPolicy policy, stored;
    policy.set_name(name);
    grpc::Status s = config_.PutEscalationPolicy(policy, &stored);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::InhibitionRule rule, created;
    rule.add_source_matchers()->set_name("alertname");
    rule.mutable_source_matchers(0)->set_value(name);
    rule.add_target_matchers()->set_name("alertname");
    rule.mutable_target_matchers(0)->set_value("x");
    s = config_.CreateInhibitionRule(rule, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  v1::ListIntegrationsRequest ireq;
  ireq.set_page_size(2);
  v1::ListIntegrationsResponse integrations;
  ASSERT_TRUE(config_.ListIntegrations(ireq, &integrations).ok());
  ASSERT_EQ(integrations.integrations_size(), 2);
  EXPECT_EQ(integrations.integrations(1).name(), "b-pd");
  ireq.set_page_token(integrations.next_page_token());
  ASSERT_TRUE(config_.ListIntegrations(ireq, &integrations).ok());
  ASSERT_EQ(integrations.integrations_size(), 1);
  EXPECT_EQ(integrations.integrations(0).name(), "c-pd");
  EXPECT_TRUE(integrations.next_page_token().empty());
  ireq.set_page_size(501);
  ExpectInvalid(config_.ListIntegrations(ireq, &integrations), "page_size");

  v1::ListEscalationPoliciesRequest preq;
  preq.set_page_size(2);
  v1::ListEscalationPoliciesResponse policies;
  ASSERT_TRUE(config_.ListEscalationPolicies(preq, &policies).ok());
  EXPECT_EQ(policies.policies_size(), 2);
  EXPECT_FALSE(policies.next_page_token().empty());
  preq.set_page_token("not-a-token");
  ExpectInvalid(config_.ListEscalationPolicies(preq, &policies), "page_token");

  v1::ListInhibitionRulesRequest rreq;  // the default rule and three more
  rreq.set_page_size(3);
  v1::ListInhibitionRulesResponse rules;
  ASSERT_TRUE(config_.ListInhibitionRules(rreq, &rules).ok());
  EXPECT_EQ(rules.rules_size(), 3);
  rreq.set_page_token(rules.next_page_token());
  ASSERT_TRUE(config_.ListInhibitionRules(rreq, &rules).ok());
  EXPECT_EQ(rules.rules_size(), 1);
  EXPECT_TRUE(rules.next_page_token().empty());
  rreq.set_page_size(-1);
  ExpectInvalid(config_.ListInhibitionRules(rreq, &rules), "page_size");
}

TEST_F(ConfigStoreTest, IntegrationValidationNamesTheField) {
  ASSERT_TRUE(migrated_);
  v1::Integration out;
  v1::Integration in;
  in.set_name("Bad Name");
  in.set_service("x");
  ExpectInvalid(config_.CreateIntegration(in, &out), "name");
  in.set_name("ok");
  in.set_routing_key("short");
  ExpectInvalid(config_.CreateIntegration(in, &out), "routing_key");
  in.set_routing_key(std::string(32, 'A'));
  ExpectInvalid(config_.CreateIntegration(in, &out), "routing_key");
  in.clear_routing_key();
  in.clear_service();
  ExpectInvalid(config_.CreateIntegration(in, &out), "service");
  in.set_service("x");
  in.set_severity_override("SEV9");
  ExpectInvalid(config_.CreateIntegration(in, &out), "severity_override");
  in.clear_severity_override();
  in.set_default_severity("urgent");
  ExpectInvalid(config_.CreateIntegration(in, &out), "default_severity");
  in.clear_default_severity();
  in.set_escalation_policy("nobody");
  ExpectInvalid(config_.CreateIntegration(in, &out), "escalation_policy");
  in.clear_escalation_policy();
  in.set_routing_key("abcdefghijklmnopqrstuvwxyz012345");
  ASSERT_TRUE(config_.CreateIntegration(in, &out).ok());
  EXPECT_EQ(out.routing_key(), "abcdefghijklmnopqrstuvwxyz012345");
}

TEST_F(ConfigStoreTest, PolicySecretsAreKeptButNeverShown) {
  ASSERT_TRUE(migrated_);
  v1::EscalationPolicy p;
  p.set_name("payments.oncall");
  v1::NotificationTarget* chat = p.add_on_open();
  chat->set_name("chat");
  chat->set_url("https://hooks.example.com/T0/B0");
  chat->set_format("slack");
  chat->set_secret("s3cret");
  v1::EscalationLevel* level = p.add_levels();
  level->mutable_delay()->set_seconds(300);
  v1::NotificationTarget* pager = level->add_targets();
  pager->set_name("pager");
  pager->set_url("http://127.0.0.1:9/page");
  v1::EscalationPolicy out;
  ASSERT_TRUE(config_.PutEscalationPolicy(p, &out).ok());
  EXPECT_TRUE(out.on_open(0).secret().empty());
  EXPECT_TRUE(out.on_open(0).has_secret());
  EXPECT_FALSE(out.levels(0).targets(0).has_secret());
  EXPECT_EQ(out.levels(0).targets(0).format(), "json");

  // An edit that re-sends what the API showed (no secret) keeps the stored secret.
  v1::EscalationPolicy edit = out;
  edit.mutable_on_open(0)->set_url("https://hooks.example.com/T0/B1");
  ASSERT_TRUE(config_.PutEscalationPolicy(edit, &out).ok());
  v1::EscalationPolicy shown, with_secrets;
  ASSERT_TRUE(config_.GetEscalationPolicy("payments.oncall", false, &shown).ok());
  EXPECT_TRUE(shown.on_open(0).secret().empty());
  EXPECT_TRUE(shown.on_open(0).has_secret());
  EXPECT_EQ(shown.on_open(0).url(), "https://hooks.example.com/T0/B1");
  ASSERT_TRUE(config_.GetEscalationPolicy("payments.oncall", true, &with_secrets).ok());
  EXPECT_EQ(with_secrets.on_open(0).secret(), "s3cret");
  v1::ListEscalationPoliciesResponse list;
  ASSERT_TRUE(config_.ListEscalationPolicies(v1::ListEscalationPoliciesRequest(), &list).ok());
  ASSERT_EQ(list.policies_size(), 1);
  EXPECT_TRUE(list.policies(0).on_open(0).secret().empty());
}

TEST_F(ConfigStoreTest, PolicyUrlsAndSecretsAreSealedAtRestAndOpenForDelivery) {
  ASSERT_TRUE(migrated_);
  v1::EscalationPolicy out;
  ASSERT_TRUE(config_.PutEscalationPolicy(SlackPolicy(), &out).ok());
  EXPECT_EQ(out.on_open(0).url(), "https://hooks.slack.example.com/services/T0/B0/XyZsecretpath");

  const std::string stored = StoredPolicy("payments.oncall");
  EXPECT_THAT(stored, Not(HasSubstr("hmac-s3cret")));
  EXPECT_THAT(stored, Not(HasSubstr("XyZsecretpath")));
  EXPECT_THAT(stored, Not(HasSubstr("hooks.slack.example.com")));
  EXPECT_THAT(stored, HasSubstr("fdsealed:k1:"));

  v1::EscalationPolicy with_secrets;
  ASSERT_TRUE(config_.GetEscalationPolicy("payments.oncall", true, &with_secrets).ok());
  EXPECT_EQ(with_secrets.on_open(0).secret(), "hmac-s3cret");
  EXPECT_EQ(with_secrets.on_open(0).url(), "https://hooks.slack.example.com/services/T0/B0/XyZsecretpath");

  // After rotation (k1 kept to open, k2 sealing) it still opens; with k1 gone it cannot, and
  // says which field and key.
  secrets::KeyRing rotated = Ring(kK1 + "," + kK2);
  ConfigStore after_rotation(pool_, clock_, &rotated);
  ASSERT_TRUE(after_rotation.GetEscalationPolicy("payments.oncall", true, &with_secrets).ok());
  EXPECT_EQ(with_secrets.on_open(0).secret(), "hmac-s3cret");
  secrets::KeyRing only_new = Ring(kK2);
  ConfigStore without_old(pool_, clock_, &only_new);
  grpc::Status s = without_old.GetEscalationPolicy("payments.oncall", true, &with_secrets);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("on_open[0].url"));
  EXPECT_THAT(s.error_message(), HasSubstr("master key k1"));
}

TEST_F(ConfigStoreTest, PlainPolicyFromBeforeSealingReadsAndIsSealedWhenNextWritten) {
  ASSERT_TRUE(migrated_);
  {
    // What a release before sealing wrote.
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO incidents.escalation_policies (name, policy, updated_at) VALUES ('legacy', "
            "'{\"name\":\"legacy\",\"on_open\":[{\"name\":\"hook\",\"url\":\"https://hooks.example.com/x1\","
            "\"format\":\"json\",\"secret\":\"plain-secret\"}]}', now())");
    tx.commit();
  }
  v1::EscalationPolicy p;
  ASSERT_TRUE(config_.GetEscalationPolicy("legacy", true, &p).ok());
  EXPECT_EQ(p.on_open(0).secret(), "plain-secret");
  EXPECT_EQ(p.on_open(0).url(), "https://hooks.example.com/x1");

  // An edit through the API (which never shows the secret) keeps it, now sealed.
  ASSERT_TRUE(config_.GetEscalationPolicy("legacy", false, &p).ok());
  p.mutable_on_open(0)->set_format("slack");
  v1::EscalationPolicy out;
  ASSERT_TRUE(config_.PutEscalationPolicy(p, &out).ok());
  const std::string stored = StoredPolicy("legacy");
  EXPECT_THAT(stored, Not(HasSubstr("plain-secret")));
  EXPECT_THAT(stored, Not(HasSubstr("hooks.example.com")));
  ASSERT_TRUE(config_.GetEscalationPolicy("legacy", true, &p).ok());
  EXPECT_EQ(p.on_open(0).secret(), "plain-secret");
  EXPECT_EQ(p.on_open(0).format(), "slack");
}

TEST_F(ConfigStoreTest, WithoutAMasterKeyNotificationTargetsAreRefusedNamingTheField) {
  ASSERT_TRUE(migrated_);
  ConfigStore keyless(pool_, clock_, nullptr);
  v1::EscalationPolicy out;
  grpc::Status s = keyless.PutEscalationPolicy(SlackPolicy(), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("on_open[0].url: "));
  EXPECT_THAT(s.error_message(), HasSubstr("FLIGHTDECK_MASTER_KEY"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("XyZsecretpath")));
  EXPECT_EQ(keyless.GetEscalationPolicy("payments.oncall", false, &out).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::EscalationPolicy level_only;
  level_only.set_name("levels");
  v1::NotificationTarget* t = level_only.add_levels()->add_targets();
  t->set_name("pager");
  t->set_url("https://pager.example.com/hook");
  s = keyless.PutEscalationPolicy(level_only, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("levels[0].targets[0].url: "));

  // Everything else keeps working: a policy with no targets, integrations, settings.
  v1::EscalationPolicy empty;
  empty.set_name("nobody");
  EXPECT_TRUE(keyless.PutEscalationPolicy(empty, &out).ok());
  v1::Integration in;
  in.set_name("grafana");
  in.set_service("checkout");
  v1::Integration created;
  EXPECT_TRUE(keyless.CreateIntegration(in, &created).ok());
}

TEST_F(ConfigStoreTest, PolicyValidationNamesTheField) {
  ASSERT_TRUE(migrated_);
  v1::EscalationPolicy out;
  v1::EscalationPolicy p;
  p.set_name("-bad");
  ExpectInvalid(config_.PutEscalationPolicy(p, &out), "name");
  p.set_name("ok");
  v1::NotificationTarget* t = p.add_on_open();
  t->set_url("https://x.example.com");
  ExpectInvalid(config_.PutEscalationPolicy(p, &out), "on_open[0].name");
  t->set_name("t");
  t->set_url("ftp://x.example.com");
  ExpectInvalid(config_.PutEscalationPolicy(p, &out), "on_open[0].url");
  t->set_url("https://x.example.com");
  t->set_format("xml");
  ExpectInvalid(config_.PutEscalationPolicy(p, &out), "on_open[0].format");
  t->set_format("json");
  v1::EscalationLevel* level = p.add_levels();
  level->add_targets()->set_name("pager");
  ExpectInvalid(config_.PutEscalationPolicy(p, &out), "levels[0].targets[0].url");
  EXPECT_EQ(config_.GetEscalationPolicy("ok", false, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

// A webhook target whose address the egress policy refuses is refused with the policy,
// naming the field and the rule (and not the URL: webhook URLs are credentials).
TEST_F(ConfigStoreTest, PolicyTargetsAtRefusedAddressesAreRefusedNamingTheFieldAndRule) {
  ASSERT_TRUE(migrated_);
  net::EgressPolicy egress = net::EgressPolicy::FromEnv(
      config::Env::FromMap({{"FLIGHTDECK_EGRESS_DENY", "10.0.0.0/8"}}), {});
  config_.SetEgressPolicy(&egress);
  v1::EscalationPolicy p;
  p.set_name("guarded");
  v1::NotificationTarget* t = p.add_on_open();
  t->set_name("metadata");
  t->set_url("http://169.254.169.254/latest/meta-data?secretpath");
  v1::EscalationLevel* level = p.add_levels();
  v1::NotificationTarget* pager = level->add_targets();
  pager->set_name("pager");
  pager->set_url("https://10.1.2.3/hook");
  v1::EscalationPolicy out;
  grpc::Status s = config_.PutEscalationPolicy(p, &out);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("on_open[0].url: egress policy refuses 169.254.169.254:80: "
                                   "169.254.169.254/32 is a cloud metadata address"),
            std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("levels[0].targets[0].url: egress policy refuses 10.1.2.3:443: "
                                   "10.0.0.0/8 is denied (FLIGHTDECK_EGRESS_DENY)"),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(s.error_message().find("secretpath"), std::string::npos);
  t->set_url("https://192.0.2.10/hook");
  pager->set_url("https://192.0.2.11/hook");
  EXPECT_TRUE(config_.PutEscalationPolicy(p, &out).ok());
}

TEST_F(ConfigStoreTest, SilencesAreActiveInTheirRangeAndCanBeExpired) {
  ASSERT_TRUE(migrated_);
  v1::Silence s;
  v1::Matcher* m = s.add_matchers();
  m->set_name("service");
  m->set_value("checkout");
  SetTimestamp(s.mutable_starts_at(), clock_.Now() + 10min);
  SetTimestamp(s.mutable_ends_at(), clock_.Now() + 1h);
  v1::Silence later;
  ASSERT_TRUE(config_.CreateSilence(s, "alice", &later).ok());
  EXPECT_FALSE(later.active());
  EXPECT_EQ(later.created_by(), "alice");
  s.clear_starts_at();
  v1::Silence now;
  ASSERT_TRUE(config_.CreateSilence(s, "alice", &now).ok());
  EXPECT_TRUE(now.active());
  EXPECT_EQ(TimeOf(now.starts_at()), clock_.Now()) << "starts_at defaults to now";

  ASSERT_TRUE(pool_.Transact("test", [&](pqxx::transaction_base& w) {
    auto active = config_.ReadActiveSilences(w, clock_.Now());
    EXPECT_EQ(active.size(), 1u);
    if (active.empty()) return grpc::Status::OK;
    EXPECT_EQ(active[0].first, now.id());
    EXPECT_TRUE(MatchesAll(active[0].second, {{"service", "checkout"}}));
    EXPECT_FALSE(MatchesAll(active[0].second, {{"service", "search"}}));
    EXPECT_EQ(config_.ReadActiveSilences(w, clock_.Now() + 20min).size(), 2u);
    return grpc::Status::OK;
  }).ok());

  clock_.Advance(1min);
  v1::Silence expired;
  ASSERT_TRUE(config_.ExpireSilence(now.id(), &expired).ok());
  EXPECT_FALSE(expired.active());
  EXPECT_EQ(TimeOf(expired.ends_at()), clock_.Now());
  v1::ListSilencesResponse list;
  v1::ListSilencesRequest req;
  ASSERT_TRUE(config_.ListSilences(req, &list).ok());
  ASSERT_EQ(list.silences_size(), 1);
  EXPECT_EQ(list.silences(0).id(), later.id());
  req.set_include_expired(true);
  ASSERT_TRUE(config_.ListSilences(req, &list).ok());
  EXPECT_EQ(list.silences_size(), 2);
  EXPECT_TRUE(list.next_page_token().empty());
  // Expired silences accumulate forever: the list is paged, with a maximum.
  req.set_page_size(1);
  ASSERT_TRUE(config_.ListSilences(req, &list).ok());
  ASSERT_EQ(list.silences_size(), 1);
  EXPECT_EQ(list.silences(0).id(), now.id());
  req.set_page_token(list.next_page_token());
  ASSERT_TRUE(config_.ListSilences(req, &list).ok());
  ASSERT_EQ(list.silences_size(), 1);
  EXPECT_EQ(list.silences(0).id(), later.id());
  EXPECT_TRUE(list.next_page_token().empty());
  req.set_page_size(501);
  ExpectInvalid(config_.ListSilences(req, &list), "page_size");
  req.set_page_size(0);
  req.set_page_token("x");
  ExpectInvalid(config_.ListSilences(req, &list), "page_token");
  EXPECT_EQ(config_.ExpireSilence("no-such-id", &expired).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ConfigStoreTest, SilenceValidationNamesTheField) {
  ASSERT_TRUE(migrated_);
  v1::Silence out;
  v1::Silence s;
  SetTimestamp(s.mutable_ends_at(), clock_.Now() + 1h);
  ExpectInvalid(config_.CreateSilence(s, "a", &out), "matchers");
  v1::Matcher* m = s.add_matchers();
  m->set_name("service");
  m->set_value(".*");
  m->set_op("=~");
  ExpectInvalid(config_.CreateSilence(s, "a", &out), "matchers");  // matches everything
  m->set_value("checkout");
  m->set_op("=~");
  s.clear_ends_at();
  ExpectInvalid(config_.CreateSilence(s, "a", &out), "ends_at");
  SetTimestamp(s.mutable_starts_at(), clock_.Now() + 2h);
  SetTimestamp(s.mutable_ends_at(), clock_.Now() + 1h);
  ExpectInvalid(config_.CreateSilence(s, "a", &out), "ends_at");
}

TEST_F(ConfigStoreTest, DefaultInhibitionRuleIsSeededAndRulesAreValidated) {
  ASSERT_TRUE(migrated_);
  v1::ListInhibitionRulesResponse list;
  ASSERT_TRUE(config_.ListInhibitionRules(v1::ListInhibitionRulesRequest(), &list).ok());
  ASSERT_EQ(list.rules_size(), 1);
  EXPECT_EQ(list.rules(0).equal_size(), 2);

  ASSERT_TRUE(pool_.Transact("test", [&](pqxx::transaction_base& w) {
    std::vector<InhibitRule> rules = config_.ReadInhibitRules(w);
    EXPECT_EQ(rules.size(), 1u);
    if (rules.empty()) return grpc::Status::OK;
    Labels down{{"alertname", "ServiceDown"}, {"service", "a"}, {"environment", "prod"}};
    Labels slow{{"alertname", "HighResponseTime"}, {"service", "a"}, {"environment", "prod"}};
    Labels errors{{"alertname", "HighErrorRate"}, {"service", "a"}, {"environment", "prod"}};
    Labels other{{"alertname", "HighErrorRate"}, {"service", "b"}, {"environment", "prod"}};
    EXPECT_TRUE(Inhibits(rules[0], down, "1", slow, "2"));
    EXPECT_TRUE(Inhibits(rules[0], down, "1", errors, "3"));
    EXPECT_FALSE(Inhibits(rules[0], down, "1", other, "4"));
    EXPECT_FALSE(Inhibits(rules[0], slow, "2", down, "1")) << "the rule has a direction";
    return grpc::Status::OK;
  }).ok());

  v1::InhibitionRule rule;
  rule.add_equal("service");
  v1::Matcher* m = rule.add_source_matchers();
  m->set_name("alertname");
  m->set_value("(");
  m->set_op("=~");
  rule.add_target_matchers()->set_name("alertname");
  v1::InhibitionRule out;
  grpc::Status s = config_.CreateInhibitionRule(rule, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("source_matchers[0]"), std::string::npos) << s.error_message();
  m->set_value("NodeDown");
  ASSERT_TRUE(config_.CreateInhibitionRule(rule, &out).ok());
  EXPECT_FALSE(out.id().empty());
  ASSERT_TRUE(config_.ListInhibitionRules(v1::ListInhibitionRulesRequest(), &list).ok());
  EXPECT_EQ(list.rules_size(), 2);
  // What intake reads follows every change, though parsed rules are kept between reads.
  auto read = [&] {
    std::vector<InhibitRule> rules;
    EXPECT_TRUE(pool_.Transact("test", [&](pqxx::transaction_base& w) {
      rules = config_.ReadInhibitRules(w);
      return grpc::Status::OK;
    }).ok());
    return rules;
  };
  std::vector<InhibitRule> rules = read();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[1].id, out.id());
  ASSERT_TRUE(config_.DeleteInhibitionRule(out.id()).ok());
  EXPECT_EQ(config_.DeleteInhibitionRule(out.id()).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(read().size(), 1u);

  Labels down{{"alertname", "ServiceDown"}, {"service", "a"}, {"environment", "prod"}};
  Labels slow{{"alertname", "HighResponseTime"}, {"service", "a"}, {"environment", "prod"}};
  Labels latency{{"alertname", "HighLatency"}, {"service", "a"}, {"environment", "prod"}};
  ASSERT_TRUE(pool_.Transact("edit by hand", [&](pqxx::transaction_base& w) {
    w.exec("UPDATE incidents.inhibition_rules SET rule = jsonb_set(rule, '{target_matchers,0,value}', "
           "'\"HighLatency\"') WHERE id = 'default'");
    return grpc::Status::OK;
  }).ok());
  rules = read();
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(Inhibits(rules[0], down, "1", latency, "2"));
  EXPECT_FALSE(Inhibits(rules[0], down, "1", slow, "3")) << "the rule as stored now, not as parsed before";
}

TEST_F(ConfigStoreTest, SettingsHaveDefaultsAndAreValidated) {
  ASSERT_TRUE(migrated_);
  v1::IncidentSettings got;
  ASSERT_TRUE(config_.GetSettings(&got).ok());
  ASSERT_EQ(got.group_by_size(), 2);
  EXPECT_EQ(got.group_by(0), "service");
  EXPECT_EQ(got.critical_severity(), "SEV2");
  EXPECT_EQ(got.auto_rollback_severities_size(), 2);

  v1::IncidentSettings out;
  v1::IncidentSettings in;
  in.add_group_by("service");
  in.add_group_by("");
  ExpectInvalid(config_.PutSettings(in, &out), "group_by[1]");
  in.set_group_by(1, "team");
  in.set_critical_severity("SEV3");
  ExpectInvalid(config_.PutSettings(in, &out), "critical_severity");
  in.set_critical_severity("sev1");
  in.add_auto_rollback_severities("SEV7");
  ExpectInvalid(config_.PutSettings(in, &out), "auto_rollback_severities[0]");
  in.set_auto_rollback_severities(0, "SEV1");
  in.set_default_escalation_policy("missing");
  ExpectInvalid(config_.PutSettings(in, &out), "default_escalation_policy");
  in.clear_default_escalation_policy();
  ASSERT_TRUE(config_.PutSettings(in, &out).ok());

  ConfigStore::Settings typed;
  ASSERT_TRUE(pool_.Transact("test", [&](pqxx::transaction_base& w) {
    typed = config_.ReadSettings(w);
    return grpc::Status::OK;
  }).ok());
  EXPECT_EQ(typed.group_by, (std::vector<std::string>{"service", "team"}));
  EXPECT_EQ(typed.critical, Severity::kSev1);
  EXPECT_EQ(typed.auto_rollback, std::vector<Severity>{Severity::kSev1});
}

}  // namespace
}  // namespace flightdeck::incidents
