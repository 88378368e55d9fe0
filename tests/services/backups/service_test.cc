// Integration: the backups service's request handling against the real PostgreSQL: ids given
// as unique prefixes, every problem of a request in one answer, enums in any case.
#include <grpcpp/server_context.h>
#include <grpcpp/test/server_context_test_spouse.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/clock/clock.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/grpc/metadata.h"
#include "common/jobs/jobs.h"
#include "common/config/config.h"
#include "common/secrets/secrets.h"
#include "common/clock/timestamps.h"
#include "common/metrics/metrics.h"
#include "services/backups/rpo_gauges.h"
#include "services/backups/service.h"
#include "services/backups/target_destination.h"
#include "services/backups/store.h"
#include "tests/support/test_database.h"

namespace flightdeck::backups {
namespace {

using namespace std::chrono_literals;

constexpr char kFirst[] = "abcd1111-0000-4000-8000-000000000001";
constexpr char kSecond[] = "abcd2222-0000-4000-8000-000000000002";
constexpr char kThird[] = "abcd2222-9999-4000-8000-000000000003";

// A call as the gateway makes it for an authenticated caller.
class CallAs {
 public:
  CallAs(const std::string& role, const std::string& actor) : spouse_(&context_) {
    spouse_.AddClientMetadata(rpc::kRoleKey, role);
    spouse_.AddClientMetadata(rpc::kActorKey, actor);
  }
  grpc::ServerContext* context() { return &context_; }

 private:
  grpc::ServerContext context_;
  grpc::testing::ServerContextTestSpouse spouse_;
};

class BackupServiceTest : public ::testing::Test {
 protected:
  BackupServiceTest()
      : clock_(Clock::TimePoint(std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now()))),
        pool_({db_.url(), 2, 5000ms, 2, "test"}),
        migrated_(Migrate()),
        queue_(pool_, "backups", clock_),
        store_(pool_, queue_),
        service_(store_, keys_, clock_, "/tmp", [] {}) {
    MasterKey key;
    key.id = "k1";
    for (size_t i = 0; i < key.key.size(); ++i) key.key[i] = static_cast<uint8_t>(i * 7 + 1);
    keys_.Add(key);
  }

  bool Migrate() {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("backups"));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok();
  }

  v1::BackupTarget ShopTarget() {
    v1::BackupTarget target;
    target.set_name("shop");
    target.set_database_url("postgres://fd:secret@127.0.0.1:5432/shop");
    target.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
    target.mutable_storage()->set_path("/tmp/fd-backups-service-test");
    return target;
  }

  // The shop target with three SUCCEEDED backups whose ids share prefixes.
  void SeedBackups() {
    v1::BackupTarget target = ShopTarget();
    v1::BackupTarget created;
    grpc::Status s = service_.CreateBackupTarget(&context_, &target, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    for (const char* id : {kFirst, kSecond, kThird}) {
      tx.exec_params("INSERT INTO backups.backups (id, target, state, trigger, created_at) "
                     "VALUES ($1::uuid, 'shop', 'SUCCEEDED', 'MANUAL', now())",
                     std::string(id));
    }
    tx.commit();
  }

  grpc::Status Get(const std::string& id, v1::Backup* out) {
    v1::GetBackupRequest req;
    req.set_id(id);
    return service_.GetBackup(&context_, &req, out);
  }

  grpc::Status Restore(const std::string& id, const std::string& confirm, const std::string& database,
                       v1::Backup* out) {
    v1::RestoreBackupRequest req;
    req.set_id(id);
    req.set_confirm(confirm);
    req.set_target_database(database);
    return service_.RestoreBackup(&context_, &req, out);
  }

  test::TestDatabase db_;
  FakeClock clock_;
  KeyRing keys_;
  db::Pool pool_;
  bool migrated_;
  jobs::Queue queue_;
  BackupStore store_;
  BackupServiceImpl service_;
  grpc::ServerContext context_;
};

TEST_F(BackupServiceTest, ABackupIsFoundByAUniquePrefixOfItsId) {
  SeedBackups();
  v1::Backup b;
  ASSERT_TRUE(Get("abcd1", &b).ok());
  EXPECT_EQ(b.id(), kFirst);
  ASSERT_TRUE(Get("ABCD2222-9", &b).ok());
  EXPECT_EQ(b.id(), kThird);
  ASSERT_TRUE(Get(kSecond, &b).ok());
  EXPECT_EQ(b.id(), kSecond);

  grpc::Status ambiguous = Get("abcd2222", &b);
  EXPECT_EQ(ambiguous.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ambiguous.error_message(), std::string("id: \"abcd2222\" is ambiguous: it starts the backup ids ") +
                                           kSecond + ", " + kThird + "; give more characters");
  EXPECT_EQ(Get("abc", &b).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Get("beef", &b).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::VerifyBackupRequest verify;
  verify.set_id("abcd1");
  ASSERT_TRUE(service_.VerifyBackup(&context_, &verify, &b).ok());
  EXPECT_EQ(b.id(), kFirst);
  EXPECT_EQ(b.verification().result(), v1::BackupVerification::RUNNING);
}

TEST_F(BackupServiceTest, RestoreIsConfirmedByTheIdAsGivenOrTheFullId) {
  SeedBackups();
  v1::Backup b;
  // The same prefix twice: confirmed.
  grpc::Status s = Restore("abcd1", "abcd1", "shop_copy", &b);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(b.id(), kFirst);
  EXPECT_EQ(b.last_restore().state(), "RUNNING");
  // A prefix confirmed by the full id it stands for.
  s = Restore("abcd2222-9", kThird, "shop_copy", &b);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(b.id(), kThird);
  // A full id that is another backup's is no confirmation.
  s = Restore("abcd2222-0", kThird, "shop_copy", &b);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), std::string("confirm: must equal the backup id (abcd2222-0 or ") + kSecond + ")");
  s = Restore("abcd2222-0", "abcd2", "shop_copy", &b);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BackupServiceTest, EveryProblemOfARequestIsReportedAtOnce) {
  v1::BackupTarget target;
  target.set_name("Shop DB");
  target.set_database_url("mysql://h/db");
  target.set_schedule("61 * * * *");
  target.mutable_retention()->mutable_keep_last()->set_value(-1);
  target.mutable_rpo_target()->set_seconds(-5);
  v1::BackupTarget out;
  grpc::Status s = service_.CreateBackupTarget(&context_, &target, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const std::string message = s.error_message();
  for (const char* field : {"name: ", "; database_url: ", "; schedule: ", "; storage.kind: ", "; storage.path: ",
                            "; retention.keep_last: ", "; rpo_target: "}) {
    EXPECT_NE(message.find(field), std::string::npos) << field << " in " << message;
  }

  v1::UpdateBackupTargetRequest update;
  update.set_name("shop");
  update.mutable_database_url()->set_value("http://nope");
  update.mutable_retention()->mutable_keep_days()->set_value(-3);
  update.mutable_rpo_target()->set_seconds(0);
  s = service_.UpdateBackupTarget(&context_, &update, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "database_url: must be a postgres:// or postgresql:// URL; retention.keep_days: must not be negative; "
            "rpo_target: must be positive");

  v1::Backup b;
  s = Restore("", "", "Bad Name", &b);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "id: is required; confirm: is required: repeat the backup id; target_database: must be 1-63 "
            "characters of a-z, 0-9, '_' and '-'");
}

// A target's database host is a user-given destination: registering or moving a target to an
// address the egress policy refuses is INVALID_ARGUMENT naming the field and the rule. The
// backups process's own PostgreSQL server stays allowed (backing up a neighbour database on it
// is what the walk-through does), its other listeners do not.
TEST_F(BackupServiceTest, ADatabaseAtARefusedAddressIsRefusedAtRegistration) {
  net::EgressPolicy egress = BackupsEgressPolicy(
      config::Env::FromMap({{"FLIGHTDECK_GRPC_PORT", "50052"},
                            {"DATABASE_URL", "postgres://fd:pw@127.0.0.1:5432/flightdeck"},
                            {"REDIS_URL", "redis://127.0.0.1:6390"}}),
      50052, 9102);
  service_.SetEgressPolicy(&egress);
  v1::BackupTarget target = ShopTarget();
  target.set_database_url("postgres://fd:secret@169.254.169.254:5432/shop");
  v1::BackupTarget out;
  grpc::Status s = service_.CreateBackupTarget(&context_, &target, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "database_url: egress policy refuses 169.254.169.254:5432: 169.254.169.254/32 is a cloud metadata "
            "address (denied by default; FLIGHTDECK_EGRESS_ALLOW=169.254.169.254/32 allows it)");
  EXPECT_EQ(s.error_message().find("secret"), std::string::npos);
  target.set_database_url("postgres://fd:secret@localhost:6390/shop");  // Flightdeck's Redis
  s = service_.CreateBackupTarget(&context_, &target, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("Flightdeck's own Redis (REDIS_URL)"), std::string::npos) << s.error_message();

  ASSERT_TRUE(service_.CreateBackupTarget(&context_, &(target = ShopTarget()), &out).ok());
  v1::UpdateBackupTargetRequest update;
  update.set_name("shop");
  update.mutable_database_url()->set_value("postgres://fd:secret@127.0.0.1:9102/shop");  // its admin port
  s = service_.UpdateBackupTarget(&context_, &update, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("database_url: egress policy refuses 127.0.0.1:9102"), std::string::npos)
      << s.error_message();
}

TEST_F(BackupServiceTest, TheStateFilterTakesAnyCaseAndListsTheValidStates) {
  SeedBackups();
  v1::ListBackupsRequest list;
  list.set_state("succeeded");
  v1::ListBackupsResponse answer;
  grpc::Status s = service_.ListBackups(&context_, &list, &answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(answer.backups_size(), 3);

  list.set_state("done");
  list.set_page_size(900);
  answer.Clear();
  s = service_.ListBackups(&context_, &list, &answer);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "state: unknown value \"done\" (one of PENDING, RUNNING, SUCCEEDED, FAILED, DELETED); page_size: must "
            "be between 1 and 500");
}

TEST_F(BackupServiceTest, OnlyAnAdminMovesATargetToAnotherServerAndTheMoveIsLogged) {
  v1::BackupTarget target = ShopTarget();
  v1::BackupTarget out;
  ASSERT_TRUE(service_.CreateBackupTarget(&context_, &target, &out).ok());

  v1::UpdateBackupTargetRequest moved;
  moved.set_name("shop");
  moved.mutable_database_url()->set_value("postgres://fd:stolen@attacker.example:5432/shop");
  CallAs operator_call("OPERATOR", "olga");
  grpc::Status s = service_.UpdateBackupTarget(operator_call.context(), &moved, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message().rfind("database_url: ", 0), 0u) << s.error_message();
  EXPECT_NE(s.error_message().find("ADMIN"), std::string::npos) << s.error_message();
  // Another port is another server too, and so is a host= parameter that libpq would prefer.
  moved.mutable_database_url()->set_value("postgres://fd:secret@127.0.0.1:6543/shop");
  EXPECT_EQ(service_.UpdateBackupTarget(operator_call.context(), &moved, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  moved.mutable_database_url()->set_value("postgres://fd:secret@127.0.0.1:5432/shop?host=attacker.example");
  EXPECT_EQ(service_.UpdateBackupTarget(operator_call.context(), &moved, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetBackupTargetRequest get;
  get.set_name("shop");
  ASSERT_TRUE(service_.GetBackupTarget(&context_, &get, &out).ok());
  EXPECT_EQ(out.database_url().find("attacker"), std::string::npos) << out.database_url();
  EXPECT_NE(out.database_url().find("127.0.0.1:5432"), std::string::npos) << out.database_url();

  // The same server with a new password (a rotation) stays an operator's job.
  moved.mutable_database_url()->set_value("postgres://fd:rotated@127.0.0.1:5432/shop");
  s = service_.UpdateBackupTarget(operator_call.context(), &moved, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();

  CallAs admin_call("ADMIN", "ada");
  moved.mutable_database_url()->set_value("postgres://fd:new-password@db2.internal:5433/shop");
  testing::internal::CaptureStderr();
  s = service_.UpdateBackupTarget(admin_call.context(), &moved, &out);
  fflush(stderr);
  const std::string logged = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(out.database_url().find("db2.internal:5433"), std::string::npos) << out.database_url();
  EXPECT_NE(logged.find("\"old_server\":\"127.0.0.1:5432\""), std::string::npos) << logged;
  EXPECT_NE(logged.find("\"new_server\":\"db2.internal:5433\""), std::string::npos) << logged;
  EXPECT_NE(logged.find("\"actor\":\"ada\""), std::string::npos) << logged;
  EXPECT_EQ(logged.find("new-password"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("rotated"), std::string::npos) << logged;
}

TEST_F(BackupServiceTest, OnlyAnAdminRestoresToAnotherServerThanTheBackups) {
  SeedBackups();
  v1::RestoreBackupRequest req;
  req.set_id(kFirst);
  req.set_confirm(kFirst);
  req.set_target_database("shop_copy");
  req.set_server_url("postgres://fd:stolen@attacker.example:5432/postgres");
  v1::Backup b;
  CallAs operator_call("OPERATOR", "olga");
  grpc::Status s = service_.RestoreBackup(operator_call.context(), &req, &b);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message().rfind("server_url: ", 0), 0u) << s.error_message();
  ASSERT_TRUE(Get(kFirst, &b).ok());
  EXPECT_EQ(b.last_restore().state(), "") << "nothing was queued";

  CallAs admin_call("ADMIN", "ada");
  s = service_.RestoreBackup(admin_call.context(), &req, &b);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(b.last_restore().server(), "attacker.example:5432");
  EXPECT_EQ(b.last_restore().requested_by(), "ada");
  // The job carries the server sealed, never in clear.
  pqxx::connection c(db_.url());
  pqxx::work tx(c);
  const std::string payload =
      tx.exec1("SELECT payload::text FROM backups.jobs WHERE kind = 'backup.restore'")[0].as<std::string>();
  EXPECT_EQ(payload.find("stolen"), std::string::npos) << payload;
  nlohmann::json job = nlohmann::json::parse(payload);
  std::string opened;
  ASSERT_TRUE(secrets::Open(keys_, job.at("server_url_sealed").get<std::string>(), RestoreServerBinding(b.id()), &opened).ok());
  EXPECT_EQ(opened, req.server_url());
}

TEST_F(BackupServiceTest, StoragePathsMustLieUnderTheBackupRoot) {
  char made[] = "/tmp/fd-backup-root-XXXXXX";
  const std::string base = mkdtemp(made);
  const std::string root = base + "/root";
  ASSERT_EQ(mkdir(root.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((base + "/elsewhere").c_str(), 0700), 0);
  ASSERT_EQ(symlink((base + "/elsewhere").c_str(), (root + "/link").c_str()), 0);
  BackupServiceImpl rooted(store_, keys_, clock_, root, [] {});

  int n = 0;
  for (const std::string& path : {std::string("/etc/cron.d"), root + "/../elsewhere", root + "/link",
                                  root + "/link/deeper", root + "/new/../../elsewhere", root + "-sibling"}) {
    v1::BackupTarget target = ShopTarget();
    target.set_name("outside-" + std::to_string(n++));
    target.mutable_storage()->set_path(path);
    v1::BackupTarget out;
    grpc::Status s = rooted.CreateBackupTarget(&context_, &target, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << path;
    EXPECT_EQ(s.error_message().rfind("storage.path: must lie under FLIGHTDECK_BACKUP_ROOT (" + root + ")", 0), 0u)
        << path << ": " << s.error_message();
  }

  v1::BackupTarget target = ShopTarget();
  target.mutable_storage()->set_path(root + "/./shop/../shop");
  v1::BackupTarget out;
  grpc::Status s = rooted.CreateBackupTarget(&context_, &target, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.storage().path(), root + "/shop") << "stored resolved";
  (void)!system(("rm -rf " + base).c_str());
}

// The RPO gauges (rpo_gauges.h) against the real tables: a target with no backup has been
// unprotected since its creation; a successful backup resets the clock to its snapshot time;
// the gauge agrees with the status the API answers; a deleted target's series go away.
class RpoGaugesTest : public BackupServiceTest {
 protected:
  double Gauge(const std::string& name, const std::string& target) {
    return registry_.AddGauge(name, "", {"target"}).With({target}).Value();
  }
  void Refresh() {
    grpc::Status s = gauges_.Refresh();
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // A backup of the target that succeeded, of data read at `snapshot`, whose verification (if
  // any) ended with `verification`; returns it as saved.
  v1::Backup Succeeded(const std::string& target, Clock::TimePoint snapshot,
                       v1::BackupVerification::Result verification =
                           v1::BackupVerification::RESULT_UNSPECIFIED) {
    v1::Backup b;
    b.set_target(target);
    b.set_trigger(v1::Backup::MANUAL);
    EXPECT_TRUE(store_.CreateBackup(&b, std::nullopt, clock_.Now()).ok());
    b.set_state(v1::Backup::SUCCEEDED);
    SetTimestamp(b.mutable_snapshot_time(), snapshot);
    SetTimestamp(b.mutable_finished_at(), clock_.Now());
    if (verification != v1::BackupVerification::RESULT_UNSPECIFIED) {
      b.mutable_verification()->set_result(verification);
    }
    grpc::Status s = store_.Save(b, clock_.Now());
    EXPECT_TRUE(s.ok()) << s.error_message();
    return b;
  }
  std::optional<Clock::TimePoint> VerifiedSnapshot(const std::string& target) {
    std::vector<TargetRpo> facts;
    grpc::Status s = store_.RpoFacts("", &facts);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const TargetRpo& t : facts) {
      if (t.target == target) return t.last_verified_snapshot;
    }
    ADD_FAILURE() << "no RPO facts for " << target;
    return std::nullopt;
  }

  metrics::Registry registry_;
  RpoGauges gauges_{store_, clock_, registry_};
};

TEST_F(RpoGaugesTest, RpoCountsFromTheNewestSuccessAndAgreesWithTheStatus) {
  v1::BackupTarget target = ShopTarget();
  target.mutable_rpo_target()->set_seconds(3600);
  v1::BackupTarget created;
  ASSERT_TRUE(service_.CreateBackupTarget(&context_, &target, &created).ok());

  clock_.Advance(2h);  // no backup yet: unprotected since creation
  Refresh();
  EXPECT_EQ(Gauge("flightdeck_backup_rpo_seconds", "shop"), 7200);
  EXPECT_EQ(Gauge("flightdeck_backup_rpo_target_seconds", "shop"), 3600);

  Succeeded("shop", clock_.Now() - 5min);
  clock_.Advance(10min);
  Refresh();
  EXPECT_EQ(Gauge("flightdeck_backup_rpo_seconds", "shop"), 900);
  v1::GetBackupTargetRequest get;
  get.set_name("shop");
  v1::BackupTarget status;
  ASSERT_TRUE(service_.GetBackupTarget(&context_, &get, &status).ok());
  EXPECT_EQ(status.status().achieved_rpo().seconds(), 900);

  ASSERT_TRUE(store_.DeleteTarget("shop").ok());
  Refresh();
  EXPECT_EQ(registry_.Expose().find("target=\"shop\""), std::string::npos) << registry_.Expose();
}

// The RPO alert counts only backups known to restore: a newer backup that succeeded but whose
// verification failed, one not verified (yet), or one whose verification is still running
// leaves the verified RPO (and the API's verified_rpo and rpo_met) where the last verified
// backup put it, while the plain RPO (and the API's achieved_rpo) follows the newest success.
TEST_F(RpoGaugesTest, VerifiedRpoCountsOnlyFromABackupWhoseVerificationPassed) {
  v1::BackupTarget target = ShopTarget();
  target.mutable_rpo_target()->set_seconds(3600);
  v1::BackupTarget created;
  ASSERT_TRUE(service_.CreateBackupTarget(&context_, &target, &created).ok());

  clock_.Advance(30min);
  Succeeded("shop", clock_.Now() - 1min);  // not verified: protects nothing yet
  Refresh();
  EXPECT_FALSE(VerifiedSnapshot("shop").has_value());
  EXPECT_EQ(Gauge("flightdeck_backup_verified_rpo_seconds", "shop"), 1800);  // since creation
  EXPECT_EQ(Gauge("flightdeck_backup_rpo_seconds", "shop"), 60);
  v1::GetBackupTargetRequest get;
  get.set_name("shop");
  v1::BackupTarget status;
  grpc::Status s = service_.GetBackupTarget(&context_, &get, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.status().achieved_rpo().seconds(), 60);
  EXPECT_FALSE(status.status().has_verified_rpo());
  EXPECT_FALSE(status.status().rpo_met());  // an unverified backup meets nothing

  const Clock::TimePoint good = clock_.Now() - 2min;
  v1::Backup verified = Succeeded("shop", good, v1::BackupVerification::PASSED);
  clock_.Advance(10min);
  Refresh();
  EXPECT_EQ(VerifiedSnapshot("shop"), std::optional<Clock::TimePoint>(good));
  EXPECT_EQ(Gauge("flightdeck_backup_verified_rpo_seconds", "shop"), 720);
  s = service_.GetBackupTarget(&context_, &get, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.status().verified_rpo().seconds(), 720);
  EXPECT_TRUE(status.status().rpo_met());

  // Newer backups that succeeded but are not known to restore.
  Succeeded("shop", clock_.Now() - 1min, v1::BackupVerification::FAILED);
  clock_.Advance(1min);
  Succeeded("shop", clock_.Now() - 30s, v1::BackupVerification::RUNNING);
  clock_.Advance(1min);
  Succeeded("shop", clock_.Now() - 10s);
  clock_.Advance(50min);
  Refresh();
  EXPECT_EQ(VerifiedSnapshot("shop"), std::optional<Clock::TimePoint>(good));
  EXPECT_EQ(Gauge("flightdeck_backup_verified_rpo_seconds", "shop"), 3840);  // past the RPO
  EXPECT_EQ(Gauge("flightdeck_backup_rpo_seconds", "shop"), 3010);          // within it
  s = service_.GetBackupTarget(&context_, &get, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.status().achieved_rpo().seconds(), 3010);
  EXPECT_EQ(status.status().verified_rpo().seconds(), 3840);
  EXPECT_FALSE(status.status().rpo_met());

  // A verified backup that a later re-verification found broken stops counting: the target has
  // had no backup known to restore since its creation.
  verified.mutable_verification()->set_result(v1::BackupVerification::FAILED);
  s = store_.Save(verified, clock_.Now());
  ASSERT_TRUE(s.ok()) << s.error_message();
  Refresh();
  EXPECT_FALSE(VerifiedSnapshot("shop").has_value());
  EXPECT_EQ(Gauge("flightdeck_backup_verified_rpo_seconds", "shop"), 5520);
}

// The API reads its RPO from the gauges' query, not from a window of recent backups: a
// verified backup behind more than 200 newer unverified ones still counts, in Get and List.
TEST_F(RpoGaugesTest, TheApiAndTheGaugeAgreePastManyNewerUnverifiedBackups) {
  v1::BackupTarget target = ShopTarget();
  target.mutable_rpo_target()->set_seconds(86400);
  v1::BackupTarget created;
  ASSERT_TRUE(service_.CreateBackupTarget(&context_, &target, &created).ok());
  Succeeded("shop", clock_.Now(), v1::BackupVerification::PASSED);
  for (int i = 0; i < 201; ++i) {
    clock_.Advance(1min);
    Succeeded("shop", clock_.Now());
  }
  clock_.Advance(1min);
  Refresh();
  EXPECT_EQ(Gauge("flightdeck_backup_verified_rpo_seconds", "shop"), 202 * 60);

  v1::GetBackupTargetRequest get;
  get.set_name("shop");
  v1::BackupTarget status;
  grpc::Status s = service_.GetBackupTarget(&context_, &get, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.status().verified_rpo().seconds(), 202 * 60);
  EXPECT_EQ(status.status().achieved_rpo().seconds(), 60);
  EXPECT_TRUE(status.status().rpo_met());
  EXPECT_FALSE(status.status().last_backup_verified());

  v1::ListBackupTargetsResponse list;
  s = service_.ListBackupTargets(&context_, &v1::ListBackupTargetsRequest::default_instance(), &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(list.backup_targets_size(), 1);
  EXPECT_EQ(list.backup_targets(0).status().verified_rpo().seconds(), 202 * 60);
  EXPECT_TRUE(list.backup_targets(0).status().rpo_met());
}

}  // namespace
}  // namespace flightdeck::backups
