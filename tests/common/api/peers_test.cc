// Unit: which process identity may call which RPC. The grants name real methods, AuthorizeCall
// (what every gRPC server runs before a handler) says why it refuses, and PeerAllows (what the
// gRPC-port test checks the running servers against) follows the role ladder for the gateway
// and the grants for the rest.
#include "common/api/peers.h"

#include <gtest/gtest.h>

namespace flightdeck::api {
namespace {

const Method& Find(const char* rpc) {
  const Method* m = FindMethod(rpc);
  EXPECT_NE(m, nullptr) << rpc;
  return *m;
}

TEST(Peers, EveryGrantNamesAnUpstreamMethodOfTheTable) {
  for (const PeerGrant& grant : PeerGrants()) {
    const Method* m = FindMethod(grant.rpc);
    ASSERT_NE(m, nullptr) << grant.rpc << " (granted to " << grant.identity << ") is not in the method table";
    EXPECT_NE(m->service, Service::kGateway) << grant.rpc;
    EXPECT_NE(std::string(grant.identity), "gateway") << "the gateway calls with a user's role, not a grant";
    EXPECT_NE(std::string(grant.identity), ServiceName(m->service)) << "a service never calls itself: " << grant.rpc;
  }
}

TEST(Peers, AuthorizeCallDecidesByTheTablesAndSaysWhy) {
  const std::string_view approve = "/flightdeck.v1.ReleaseService/ApproveRelease";
  EXPECT_TRUE(AuthorizeCall("gateway", approve, "DEPLOYER").ok());
  grpc::Status viewer = AuthorizeCall("gateway", approve, "VIEWER");
  EXPECT_EQ(viewer.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(viewer.error_message(),
            "not authorized: /flightdeck.v1.ReleaseService/ApproveRelease needs the role DEPLOYER, the call carries \"VIEWER\"");
  EXPECT_FALSE(AuthorizeCall("gateway", approve, std::nullopt).ok());
  EXPECT_FALSE(AuthorizeCall("gateway", approve, "deployer").ok()) << "roles are exact, as the gateway sends them";

  EXPECT_TRUE(AuthorizeCall("incidents", "/flightdeck.v1.ReleaseService/AnnotateRelease", std::nullopt).ok());
  grpc::Status borrowed = AuthorizeCall("incidents", "/flightdeck.v1.ReleaseService/AnnotateRelease", "OPERATOR");
  EXPECT_EQ(borrowed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(borrowed.error_message().find("only the gateway speaks for users"), std::string::npos);
  grpc::Status keys = AuthorizeCall("releases", "/flightdeck.v1.IncidentService/ListIntegrations", std::nullopt);
  EXPECT_EQ(keys.error_message(),
            "not authorized: releases may not call /flightdeck.v1.IncidentService/ListIntegrations "
            "(common/api/peers.cc lists what each process may call)");

  for (const char* identity : kIdentities) {
    EXPECT_TRUE(AuthorizeCall(identity, "/grpc.health.v1.Health/Check", std::nullopt).ok()) << identity;
    EXPECT_TRUE(AuthorizeCall(identity, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                              std::nullopt).ok());
  }
  EXPECT_FALSE(AuthorizeCall("gateway", "/flightdeck.v1.ReleaseService/Nonexistent", "ADMIN").ok());
  EXPECT_FALSE(AuthorizeCall("gateway", "/flightdeck.v1.GatewayService/CreateToken", "ADMIN").ok())
      << "the gateway's own methods are not served by a service";
  EXPECT_FALSE(AuthorizeCall("", "/flightdeck.v1.ReleaseService/GetRelease", std::nullopt).ok());
}

TEST(Peers, TheGatewayActsWithTheUsersRole) {
  const Method& approve = Find("flightdeck.v1.ReleaseService.ApproveRelease");
  EXPECT_TRUE(PeerAllows("gateway", approve, v1::Token::DEPLOYER));
  EXPECT_TRUE(PeerAllows("gateway", approve, v1::Token::ADMIN));
  EXPECT_FALSE(PeerAllows("gateway", approve, v1::Token::VIEWER));
  EXPECT_FALSE(PeerAllows("gateway", approve, v1::Token::INGEST));
  EXPECT_FALSE(PeerAllows("gateway", approve, v1::Token::ROLE_UNSPECIFIED));
}

TEST(Peers, ServicesMayMakeOnlyTheirGrantedCalls) {
  EXPECT_TRUE(PeerAllows("releases", Find("flightdeck.v1.BackupService.CreateBackup"), v1::Token::ROLE_UNSPECIFIED));
  EXPECT_TRUE(PeerAllows("incidents", Find("flightdeck.v1.ReleaseService.AnnotateRelease"), v1::Token::ROLE_UNSPECIFIED));
  EXPECT_TRUE(PeerAllows("health", Find("flightdeck.v1.IncidentService.PostAlerts"), v1::Token::ROLE_UNSPECIFIED));
  // The review's findings: routing keys to anyone, and a service approving a release.
  EXPECT_FALSE(PeerAllows("releases", Find("flightdeck.v1.IncidentService.ListIntegrations"), v1::Token::ADMIN));
  EXPECT_FALSE(PeerAllows("incidents", Find("flightdeck.v1.ReleaseService.ApproveRelease"), v1::Token::ADMIN));
  EXPECT_FALSE(PeerAllows("backups", Find("flightdeck.v1.BackupService.RestoreBackup"), v1::Token::ADMIN));
  EXPECT_FALSE(PeerAllows("someone", Find("flightdeck.v1.ReleaseService.GetRelease"), v1::Token::VIEWER));
}

}  // namespace
}  // namespace flightdeck::api
