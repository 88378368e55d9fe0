#pragma once

// A health schema on a fresh database, the domain objects over it, and the gRPC surface served
// in-process, for the health domain's integration tests.
#include <gtest/gtest.h>

#include <memory>

#include <grpcpp/grpcpp.h>

#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/secrets/secrets.h"
#include "services/health/service.h"
#include "services/health/store.h"
#include "tests/support/env.h"
#include "tests/support/test_database.h"

namespace flightdeck::health {

// A fixed master key "test" for stores that seal target credentials.
inline secrets::KeyRing TestKeys() {
  secrets::KeyRing keys;
  grpc::Status s = secrets::KeyRing::Parse("test:" + std::string(43, 'A'), "test keys", &keys);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return keys;
}

class HealthDbTest : public ::testing::Test {
 protected:
  HealthDbTest()
      : required_((test::RequireEnv("DATABASE_URL"), true)),
        pool_(db::PoolOptions{database_.url(), 8}),
        migrated_(db::Migrate(pool_, db::EmbeddedMigrations("health"))),
        queue_(pool_, "health", clock_),
        keys_(TestKeys()),
        store_(pool_, &queue_, &keys_) {}

  void SetUp() override { ASSERT_TRUE(migrated_.ok()) << migrated_.error_message(); }

  bool required_;
  test::TestDatabase database_;
  db::Pool pool_;
  grpc::Status migrated_;
  FakeClock clock_;
  jobs::Queue queue_;
  secrets::KeyRing keys_;
  HealthStore store_;
};

// HealthServiceImpl behind a real (in-process) gRPC server, so metadata travels as it would.
class ServedHealth {
 public:
  ServedHealth(HealthStore& store, const Clock& clock)
      : service_(store, clock, HealthServiceImpl::Options{nullptr, std::chrono::milliseconds(50)}) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::HealthService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~ServedHealth() { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  v1::HealthService::Stub& stub() { return *stub_; }
  HealthServiceImpl& impl() { return service_; }

 private:
  HealthServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::HealthService::Stub> stub_;
};

}  // namespace flightdeck::health
