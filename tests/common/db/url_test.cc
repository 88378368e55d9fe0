#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "common/db/db.h"
#include "common/db/statement_names.h"

namespace flightdeck::db {
namespace {

TEST(RedactUrlTest, MasksThePasswordOfAUri) {
  EXPECT_EQ(RedactUrl("postgres://user:secret@host/db"), "postgres://user:***@host/db");
  EXPECT_EQ(RedactUrl("postgresql://u:p%40ss@db.internal:5432/app?sslmode=require"),
            "postgresql://u:***@db.internal:5432/app?sslmode=require");
}

TEST(RedactUrlTest, MasksAPasswordContainingAnAtSign) {
  EXPECT_EQ(RedactUrl("postgres://user:se@cret@host/db"), "postgres://user:***@host/db");
}

TEST(RedactUrlTest, LeavesUrlsWithoutPasswordAlone) {
  EXPECT_EQ(RedactUrl("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres");
  EXPECT_EQ(RedactUrl("postgres:///db?host=/tmp"), "postgres:///db?host=/tmp");
}

TEST(RedactUrlTest, MasksPasswordParameters) {
  EXPECT_EQ(RedactUrl("postgres://host/db?user=a&password=hunter2&sslmode=disable"),
            "postgres://host/db?user=a&password=***&sslmode=disable");
  EXPECT_EQ(RedactUrl("host=db user=app password=hunter2 dbname=x"),
            "host=db user=app password=*** dbname=x");
  EXPECT_EQ(RedactUrl("host=db password='a b c' dbname=x"), "host=db password=*** dbname=x");
}

TEST(WithDatabaseTest, ReplacesTheDatabaseOfAUri) {
  EXPECT_EQ(WithDatabase("postgres://u:p@h:5432/postgres", "fd_test_1"),
            "postgres://u:p@h:5432/fd_test_1");
  EXPECT_EQ(WithDatabase("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable");
  EXPECT_EQ(WithDatabase("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
  EXPECT_EQ(WithDatabase("postgres://u@h?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable");
}

TEST(WithDatabaseTest, ReplacesOrAddsDbnameInKeywordForm) {
  EXPECT_EQ(WithDatabase("host=h dbname=postgres user=u", "x"), "host=h dbname=x user=u");
  EXPECT_EQ(WithDatabase("host=h user=u", "x"), "host=h user=u dbname=x");
}

TEST(StatementNamesTest, FirstKeywordSkipsWhitespaceAndComments) {
  EXPECT_EQ(internal::FirstKeyword("  select 1"), "SELECT");
  EXPECT_EQ(internal::FirstKeyword("-- why\n/* note */ INSERT INTO t VALUES (1)"), "INSERT");
  EXPECT_EQ(internal::FirstKeyword("with x as (select 1) update t set a = 1"), "WITH");
  EXPECT_EQ(internal::FirstKeyword(""), "");
}

TEST(IsUniqueViolationTest, MatchesOnlyUniqueViolationsOfTheNamedConstraint) {
  pqxx::unique_violation e(
      "ERROR:  duplicate key value violates unique constraint \"jobs_key_unfinished\"\n", "",
      "23505");
  EXPECT_TRUE(IsUniqueViolation(e));
  EXPECT_TRUE(IsUniqueViolation(e, "jobs_key_unfinished"));
  EXPECT_FALSE(IsUniqueViolation(e, "jobs_key"));
  EXPECT_FALSE(IsUniqueViolation(pqxx::sql_error("syntax", "", "42601")));
  EXPECT_FALSE(IsUniqueViolation(std::runtime_error("duplicate key")));
}

int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // nothing listens there any more
  return ntohs(addr.sin_port);
}

TEST(PoolTest, UnreachableServerIsUnavailableWithTheUrlRedacted) {
  PoolOptions options;
  options.url = "postgres://flightdeck:sekret@127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  options.acquire_timeout = std::chrono::milliseconds(500);
  Pool pool(options);
  bool ran = false;
  grpc::Status status = pool.Transact("load release", [&](pqxx::transaction_base&) {
    ran = true;
    return grpc::Status::OK;
  });
  EXPECT_FALSE(ran);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(status.error_message().find("flightdeck:***@127.0.0.1"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("load release"), std::string::npos);
  EXPECT_EQ(status.error_message().find("sekret"), std::string::npos);
  EXPECT_EQ(pool.in_use(), 0);  // the failed slot was given back
  EXPECT_EQ(pool.Ping().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace flightdeck::db
