// Unit: the one table of RPCs. Every method of every Flightdeck service is in it exactly once
// (so that a new RPC is refused until it is given a role here), every entry names a real
// method, and the REST projection has no two routes on one method and path.
#include "common/api/methods.h"

#include <set>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "flightdeck/v1/backups.pb.h"
#include "flightdeck/v1/health.pb.h"
#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::api {
namespace {

std::vector<const google::protobuf::ServiceDescriptor*> FlightdeckServices() {
  std::vector<const google::protobuf::ServiceDescriptor*> out;
  for (const google::protobuf::FileDescriptor* file :
       {v1::Release::descriptor()->file(), v1::Backup::descriptor()->file(),
        v1::HealthTarget::descriptor()->file(), v1::Incident::descriptor()->file(),
        v1::Token::descriptor()->file()}) {
    for (int i = 0; i < file->service_count(); ++i) out.push_back(file->service(i));
  }
  return out;
}

TEST(Methods, EveryRpcOfEveryServiceIsInTheTableOnce) {
  std::set<std::string> in_table;
  for (const Method& m : Methods()) {
    EXPECT_TRUE(in_table.insert(m.rpc).second) << m.rpc << " is in the table twice";
  }
  size_t rpcs = 0;
  for (const auto* service : FlightdeckServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      ++rpcs;
      EXPECT_EQ(in_table.count(service->method(i)->full_name()), 1u)
          << service->method(i)->full_name() << " has no role in common/api/methods.cc";
    }
  }
  EXPECT_EQ(rpcs, Methods().size()) << "the table names a method that does not exist";
  EXPECT_GT(rpcs, 70u);  // the descriptors of all five services were linked in
}

TEST(Methods, EntriesNameRealMethodsAndRoutesAreUnique) {
  std::set<std::pair<std::string, std::string>> routes;
  for (const Method& m : Methods()) {
    const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(m.rpc);
    ASSERT_NE(d, nullptr) << m.rpc;
    if (m.http_method == nullptr) continue;
    EXPECT_TRUE(routes.insert({m.http_method, m.http_path}).second) << m.http_method << " " << m.http_path;
    // Reads are GETs and GETs are reads: the audit and Idempotency-Key rules follow from it.
    EXPECT_EQ(IsRead(m), std::string(m.http_method) == "GET") << m.rpc;
    if (d->server_streaming()) ADD_FAILURE() << m.rpc << ": a stream has no plain REST route";
  }
}

TEST(Methods, FindsByFullNameAndGrpcPath) {
  const Method* m = FindMethod("flightdeck.v1.ReleaseService.GetRelease");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(FindMethod("/flightdeck.v1.ReleaseService/GetRelease"), m);
  EXPECT_EQ(m->role, v1::Token::VIEWER);
  EXPECT_EQ(FindMethod("/flightdeck.v1.ReleaseService/NoSuchMethod"), nullptr);
  EXPECT_EQ(FindMethod("/grpc.health.v1.Health/Check"), nullptr);
  EXPECT_EQ(FindMethod("/flightdeck.v1.ReleaseService/GetRelease/x"), nullptr);
  EXPECT_EQ(FindMethod(""), nullptr);
}

TEST(Methods, RolesFollowTheLadderAndIngestStandsOutside) {
  EXPECT_TRUE(RoleAllows(v1::Token::ADMIN, v1::Token::DEPLOYER));
  EXPECT_FALSE(RoleAllows(v1::Token::VIEWER, v1::Token::DEPLOYER));
  EXPECT_TRUE(RoleAllows(v1::Token::OPERATOR, v1::Token::INGEST));
  EXPECT_FALSE(RoleAllows(v1::Token::INGEST, v1::Token::VIEWER));
  // ROLE_UNSPECIFIED as a need: any valid token; as a principal's role: nothing.
  EXPECT_TRUE(RoleAllows(v1::Token::INGEST, v1::Token::ROLE_UNSPECIFIED));
  EXPECT_TRUE(RoleAllows(v1::Token::VIEWER, v1::Token::ROLE_UNSPECIFIED));
  EXPECT_FALSE(RoleAllows(v1::Token::ROLE_UNSPECIFIED, v1::Token::VIEWER));
  // Integrations carry routing keys: no viewer reads them.
  EXPECT_EQ(FindMethod("flightdeck.v1.IncidentService.ListIntegrations")->role, v1::Token::OPERATOR);
}

}  // namespace
}  // namespace flightdeck::api
