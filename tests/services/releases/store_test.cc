// Integration: what ReleaseStore's one-statement admit and change write, against the real
// schema: the release, its timeline events in order with their data, and its advance job as
// common/jobs would have enqueued it; event data that is not JSON refuses the whole write, and
// text that is not UTF-8 is mended rather than refused.
#include <google/protobuf/util/message_differencer.h>
#include <pqxx/pqxx>

#include "tests/services/releases/store_fixture.h"

namespace flightdeck::releases {
namespace {

using namespace std::chrono_literals;

TEST_F(ReleaseStoreTest, AdmitWritesTheEventsInOrderAndTheAdvanceJobAsTheQueueWould) {
  R r = NewRelease("checkout");
  Changes changes;
  changes.now = clock_.Now();
  changes.trace_id = "trace-1";
  changes.events.push_back({"created", "ci", "release created", R"({"version": "v1", "n": [1, 2]})"});
  changes.events.push_back({"note", "ci", "second", "{}"});
  changes.events.push_back({"note", "ci", "not UTF-8: \xff", R"({"why": "a byte \u00ff"})"});
  ASSERT_TRUE(store_.Admit(&r, false, changes).ok());

  const std::vector<v1::ReleaseEvent> events = Events(r.id());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].message(), "not UTF-8: \xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(events[2].data().fields().at("why").string_value(), "a byte \xc3\xbf");
  EXPECT_EQ(events[0].type(), "created");
  EXPECT_EQ(events[0].data().fields().at("version").string_value(), "v1");
  EXPECT_EQ(events[0].data().fields().at("n").list_value().values_size(), 2);
  EXPECT_EQ(events[0].trace_id(), "trace-1");
  EXPECT_EQ(events[1].type(), "note");
  EXPECT_LT(events[0].id(), events[1].id());

  std::vector<jobs::Job> due;
  ASSERT_TRUE(queue_.Claim("test", 10, 60s, &due).ok());
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].kind, kAdvanceJob);
  EXPECT_EQ(due[0].payload, R"({"release_id": ")" + r.id() + R"("})");
  EXPECT_EQ(due[0].max_attempts, kAdvanceRetry.max_attempts);
  EXPECT_EQ(due[0].due_at, changes.now);
  EXPECT_EQ(due[0].attempts, 1);
}

TEST_F(ReleaseStoreTest, EventDataThatIsNotJsonRefusesTheWholeAdmit) {
  R r = NewRelease("payments");
  Changes changes;
  changes.now = clock_.Now();
  changes.events.push_back({"created", "ci", "release created", "{not json"});
  grpc::Status s = store_.Admit(&r, false, changes);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(s.error_message().find("json"), std::string::npos) << s.error_message();

  R in_flight;
  int queued = 0;
  EXPECT_EQ(store_.InFlight("payments", "production", &in_flight, &queued).error_code(),
            grpc::StatusCode::NOT_FOUND);
  std::vector<jobs::Job> due;
  ASSERT_TRUE(queue_.Claim("test", 10, 60s, &due).ok());
  EXPECT_TRUE(due.empty());
}

TEST_F(ReleaseStoreTest, AChangeWritesItsEventsAndNextJobOrNothingAtAll) {
  R r = NewRelease("search");
  Changes created;
  created.now = clock_.Now();
  ASSERT_TRUE(store_.Admit(&r, false, created).ok());
  std::vector<jobs::Job> due;
  ASSERT_TRUE(queue_.Claim("test", 10, 60s, &due).ok());
  ASSERT_EQ(due.size(), 1u);

  clock_.Advance(5s);
  R updated;
  ASSERT_TRUE(store_
                  .Update(r.id(), -1, clock_.Now(), "trace-2",
                          [&](R& release, Changes& c) {
                            release.set_state(R::CANARY);
                            c.events.push_back({"canary", "pipeline", "canary at 10%", R"({"step": 1})"});
                            c.advance_at = clock_.Now() + 30s;
                            return grpc::Status::OK;
                          },
                          &updated)
                  .ok());
  EXPECT_EQ(updated.revision(), r.revision() + 1);
  std::vector<v1::ReleaseEvent> events = Events(r.id());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data().fields().at("step").number_value(), 1);
  clock_.Advance(30s);
  ASSERT_TRUE(queue_.Claim("test", 10, 60s, &due).ok());
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].kind, kAdvanceJob);

  grpc::Status s = store_.Update(r.id(), -1, clock_.Now(), "",
                                 [&](R& release, Changes& c) {
                                   release.set_state(R::FAILED);
                                   c.events.push_back({"failed", "pipeline", "failed", "not json"});
                                   c.advance_at = clock_.Now();
                                   return grpc::Status::OK;
                                 },
                                 nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  R after;
  ASSERT_TRUE(store_.Get(r.id(), &after).ok());
  EXPECT_EQ(after.state(), R::CANARY);
  EXPECT_EQ(after.revision(), updated.revision());
  EXPECT_EQ(Events(r.id()).size(), 1u);
  ASSERT_TRUE(queue_.Claim("test", 10, 60s, &due).ok());
  EXPECT_TRUE(due.empty());
}

}  // namespace
TEST_F(ReleaseStoreTest, TheDetailIsReadFromItsBinaryCopyOrFromTheDocumentWhenThereIsNone) {
  R r = NewRelease("payments");
  Changes created;
  created.now = clock_.Now();
  ASSERT_TRUE(store_.Admit(&r, false, created).ok());
  R changed;
  ASSERT_TRUE(store_
                  .Update(r.id(), -1, clock_.Now(), "",
                          [](R& release, Changes&) {
                            release.set_outcome_reason("written by the service");
                            release.set_current_weight(25);
                            return grpc::Status::OK;
                          },
                          &changed)
                  .ok());
  auto sql = [&](const std::string& statement) {
    pqxx::connection c(database_.url());
    pqxx::nontransaction w(c);
    return w.exec(statement);
  };
  auto get = [&] {
    R out;
    EXPECT_TRUE(store_.Get(r.id(), &out).ok());
    return out;
  };
  const std::string row = "FROM releases.releases WHERE id = '" + r.id() + "'";
  EXPECT_FALSE(sql("SELECT detail_pb " + row)[0][0].is_null());
  const R from_binary = get();
  EXPECT_EQ(from_binary.outcome_reason(), "written by the service");
  EXPECT_EQ(from_binary.revision(), changed.revision());

  // A row written before the binary copy existed is read from its document, to the same release.
  sql("UPDATE releases.releases SET detail_pb = NULL WHERE id = '" + r.id() + "'");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(get(), from_binary))
      << get().DebugString() << "\n" << from_binary.DebugString();

  // The document edited alone (a person, an older version after a downgrade) is what is read:
  // the stale binary copy is dropped by the database.
  ASSERT_TRUE(store_
                  .Update(r.id(), -1, clock_.Now(), "",
                          [](R& release, Changes&) {
                            release.set_outcome_reason("written by the service again");
                            return grpc::Status::OK;
                          },
                          nullptr)
                  .ok());
  EXPECT_FALSE(sql("SELECT detail_pb " + row)[0][0].is_null());
  sql("UPDATE releases.releases SET detail = jsonb_set(detail, '{outcome_reason}', "
      "'\"edited by hand\"') WHERE id = '" + r.id() + "'");
  EXPECT_TRUE(sql("SELECT detail_pb " + row)[0][0].is_null());
  EXPECT_EQ(get().outcome_reason(), "edited by hand");
  EXPECT_EQ(get().current_weight(), 25);
}

}  // namespace flightdeck::releases
