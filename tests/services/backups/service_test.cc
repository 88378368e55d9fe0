// Integration: the backups service's request handling against the real PostgreSQL: ids given
// as unique prefixes, every problem of a request in one answer, enums in any case.
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "common/clock/clock.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/config/config.h"
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

class BackupServiceTest : public ::testing::Test {
 protected:
  BackupServiceTest()
      : clock_(Clock::TimePoint(std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now()))),
        pool_({db_.url(), 2, 5000ms, 2, "test"}),
        migrated_(Migrate()),
        queue_(pool_, "backups", clock_),
        store_(pool_, queue_),
        service_(store_, keys_, clock_, [] {}) {
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

}  // namespace
}  // namespace flightdeck::backups
