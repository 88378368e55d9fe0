// Credentials in POSTGRES/REDIS target URLs are sealed at rest with the master key: not in the
// stored row, still used by the probe; rows stored before sealing existed still probe; with no
// key, a URL with a password is refused and one without is not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "services/health/probe/probe.h"
#include "services/health/target.h"
#include "services/health/target_secrets.h"
#include "tests/services/health/domain_fixture.h"
#include "tests/services/health/probe_support/probe_test_util.h"

namespace flightdeck::health {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kPassword[] = "pr0be-s3cret-pw";

// The test database's URL with kPassword as the password (servers that trust loopback ignore
// it; one that asks for passwords gets the one DATABASE_URL already holds).
std::string UrlWithPassword(const std::string& url) {
  size_t scheme_end = url.find("://") + 3;
  size_t at = url.find('@', scheme_end);
  if (at == std::string::npos) return url.substr(0, scheme_end) + "postgres:" + kPassword + "@" + url.substr(scheme_end);
  std::string userinfo = url.substr(scheme_end, at - scheme_end);
  if (userinfo.find(':') != std::string::npos) return url;
  return url.substr(0, at) + ":" + kPassword + url.substr(at);
}

std::string PasswordOf(const std::string& url) {
  size_t scheme_end = url.find("://") + 3;
  size_t at = url.find('@', scheme_end);
  size_t colon = url.find(':', scheme_end);
  return colon < at ? url.substr(colon + 1, at - colon - 1) : "";
}

v1::HealthTarget PostgresTarget(const std::string& name, const std::string& url) {
  v1::HealthTarget t;
  t.set_name(name);
  t.set_service("orders");
  t.set_environment("production");
  t.set_role("readiness");
  t.set_kind("POSTGRES");
  t.set_url(url);
  t.mutable_timeout()->set_seconds(3);
  return t;
}

class HealthSecretsTest : public HealthDbTest {
 protected:
  void SetUp() override {
    HealthDbTest::SetUp();
    prober_.Start();
  }
  void TearDown() override { prober_.Stop(); }

  std::string StoredSpec(const std::string& name) {
    pqxx::connection c(database_.url());
    pqxx::work tx(c);
    return tx.exec_params1("SELECT spec::text FROM health.targets WHERE name = $1", name)[0].as<std::string>();
  }

  ProbeOutcome ProbeStored(const std::string& name) {
    TargetRecord r;
    grpc::Status s = store_.GetTarget(name, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return test::RunProbe(prober_, ToProbeSpec(r.target));
  }

  grpc::Status Create(HealthStore& store, v1::HealthTarget t) {
    grpc::Status s = ValidateTarget(&t);
    if (!s.ok()) return s;
    return store.CreateTarget(t, "test", clock_.Now(), nullptr);
  }

  Prober prober_;
};

TEST_F(HealthSecretsTest, PasswordIsNotInTheStoredRowAndTheProbeStillConnects) {
  const std::string url = UrlWithPassword(database_.url());
  const std::string password = PasswordOf(url);
  ASSERT_FALSE(password.empty());
  ASSERT_TRUE(Create(store_, PostgresTarget("orders-db", url)).ok());

  const std::string spec = StoredSpec("orders-db");
  EXPECT_THAT(spec, Not(HasSubstr(password)));
  EXPECT_THAT(spec, Not(HasSubstr(database_.name())));  // the whole URL is sealed, not just the password
  EXPECT_THAT(spec, HasSubstr("fdsealed:test:"));

  TargetRecord r;
  ASSERT_TRUE(store_.GetTarget("orders-db", &r).ok());
  EXPECT_EQ(r.target.url(), url);
  ProbeOutcome outcome = ProbeStored("orders-db");
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_THAT(outcome.error, Not(HasSubstr(password)));
}

TEST_F(HealthSecretsTest, PlainTextRowFromBeforeSealingStillProbes) {
  const std::string url = UrlWithPassword(database_.url());
  ASSERT_TRUE(Create(store_, PostgresTarget("legacy-db", "postgresql://x:y@127.0.0.1:1/x")).ok());
  {
    // What a release before sealing wrote: the URL in plain text inside the spec.
    pqxx::connection c(database_.url());
    pqxx::work tx(c);
    tx.exec_params("UPDATE health.targets SET spec = jsonb_set(spec, '{url}', to_jsonb($2::text)) WHERE name = $1",
                   "legacy-db", url);
    tx.commit();
  }
  ASSERT_THAT(StoredSpec("legacy-db"), HasSubstr(PasswordOf(url)));

  TargetRecord r;
  ASSERT_TRUE(store_.GetTarget("legacy-db", &r).ok());
  EXPECT_EQ(r.target.url(), url);
  ProbeOutcome outcome = ProbeStored("legacy-db");
  EXPECT_TRUE(outcome.ok) << outcome.error;

  // The shard loader (what the replicas probe from) reads it the same way.
  std::vector<TargetRecord> in_shard;
  ASSERT_TRUE(store_.TargetsInShards({ShardOf("legacy-db")}, &in_shard).ok());
  bool found = false;
  for (const TargetRecord& t : in_shard) found = found || (t.target.name() == "legacy-db" && t.target.url() == url);
  EXPECT_TRUE(found);
}

TEST_F(HealthSecretsTest, WithoutAMasterKeyAPasswordIsRefusedNamingTheFieldAndVariable) {
  HealthStore keyless(pool_, &queue_, nullptr);
  grpc::Status s = Create(keyless, PostgresTarget("pw-db", UrlWithPassword(database_.url())));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("url: "));
  EXPECT_THAT(s.error_message(), HasSubstr("FLIGHTDECK_MASTER_KEY"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr(kPassword)));
  TargetRecord r;
  EXPECT_EQ(store_.GetTarget("pw-db", &r).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::HealthTarget redis = PostgresTarget("cache", "redis://:hunter2@127.0.0.1:6379");
  redis.set_kind("REDIS");
  s = Create(keyless, redis);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("url: "));

  // Nothing secret: stored as before, in plain text.
  ASSERT_TRUE(Create(keyless, PostgresTarget("open-db", "postgresql://app@db.internal:5432/app")).ok());
  EXPECT_THAT(StoredSpec("open-db"), HasSubstr("postgresql://app@db.internal:5432/app"));
  v1::HealthTarget http = PostgresTarget("web", "http://127.0.0.1:1/health");
  http.set_kind("HTTP");
  EXPECT_TRUE(Create(keyless, http).ok());
}

TEST_F(HealthSecretsTest, ASealedUrlWhoseKeyIsGoneFailsItsProbeWithoutLeakingCiphertext) {
  ASSERT_TRUE(Create(store_, PostgresTarget("orphan-db", UrlWithPassword(database_.url()))).ok());
  HealthStore other_key(pool_, &queue_, nullptr);
  TargetRecord r;
  ASSERT_TRUE(other_key.GetTarget("orphan-db", &r).ok());
  EXPECT_EQ(r.target.url(), "");
  ProbeOutcome outcome = test::RunProbe(prober_, ToProbeSpec(r.target));
  EXPECT_FALSE(outcome.ok);
}

TEST(UrlHasPasswordTest, FindsPasswordsWhereverAUrlCarriesThem) {
  EXPECT_TRUE(UrlHasPassword("postgresql://app:pw@db/app"));
  EXPECT_TRUE(UrlHasPassword("redis://:pw@cache:6379"));
  EXPECT_TRUE(UrlHasPassword("redis://pw@cache:6379"));
  EXPECT_TRUE(UrlHasPassword("postgresql://db/app?user=app&password=pw"));
  EXPECT_FALSE(UrlHasPassword("postgresql://app@db/app"));
  EXPECT_FALSE(UrlHasPassword("postgresql://db/app?sslmode=require"));
  EXPECT_FALSE(UrlHasPassword("redis://cache:6379/0"));
}

}  // namespace
}  // namespace flightdeck::health
