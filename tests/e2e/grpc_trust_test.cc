// End to end: the gRPC ports trust only the processes of the deployment, each as far as the
// one method table and the peer grants say (common/api/peers.h).
// - A client without a certificate, a plaintext client and a client whose certificate another
//   CA signed are refused on every port.
// - The RBAC matrix of the gRPC ports: every RPC of the table x every identity (the gateway
//   with each user role and with none, and each service) is let through or refused with
//   PERMISSION_DENIED exactly as api::PeerAllows says. Requests are empty: the point is the
//   authorization decision, which comes before any handler.
// - The metadata trick: another service that sends x-flightdeck-role ADMIN is refused, even
//   for a call it may make on its own authority.
// - Rotation: certificates renewed in place are served without a restart.
#include <chrono>
#include <fstream>
#include <future>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/api/methods.h"
#include "common/api/peers.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using namespace std::chrono_literals;

const std::string kServices[] = {"releases", "backups", "health", "incidents"};
const api::Role kUserRoles[] = {v1::Token::ROLE_UNSPECIFIED, v1::Token::VIEWER, v1::Token::DEPLOYER,
                                v1::Token::OPERATOR, v1::Token::ADMIN, v1::Token::INGEST};

// "flightdeck.v1.ReleaseService.GetRelease" -> "/flightdeck.v1.ReleaseService/GetRelease"
std::string GrpcPath(const std::string& rpc) {
  std::string path = "/" + rpc;
  path[path.rfind('.')] = '/';
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One unary call with an empty request on `context`; a streaming method gets its status once
// the deadline ends the stream (it is the first thing the server decides either way).
grpc::Status CallEmptyOn(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                         grpc::ClientContext* context) {
  grpc::GenericStub stub(channel);
  std::string empty;
  grpc::Slice slice(empty);
  grpc::ByteBuffer request(&slice, 1);  // an empty message: a default ByteBuffer is no message at all
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context, path, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                       const std::map<std::string, std::string>& metadata, std::chrono::milliseconds deadline = 5s) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  for (const auto& [k, v] : metadata) context.AddMetadata(k, v);
  return CallEmptyOn(channel, path, &context);
}

// The servers' authorization (api::AuthorizeCall), told apart from a handler's own
// PERMISSION_DENIED.
bool RefusedByPolicy(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::PERMISSION_DENIED && s.error_message().rfind("not authorized: ", 0) == 0;
}

class GrpcTrustE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack();
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start\n" << stack_->Logs(); }

  static Stack* stack_;
  static bool ready_;
};
Stack* GrpcTrustE2eTest::stack_ = nullptr;
bool GrpcTrustE2eTest::ready_ = false;

TEST_F(GrpcTrustE2eTest, EveryPortRefusesCallersWithoutACertificateOfTheCa) {
  char dir[] = "/tmp/fd-other-ca-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  CommandResult made = RunCommand({FD_SOURCE_DIR "/scripts/certs", dir});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  for (const std::string& service : kServices) {
    const std::string health = "/grpc.health.v1.Health/Check";
    // The gateway's own certificate works: the port is up and the call is otherwise fine.
    EXPECT_TRUE(CallEmpty(stack_->Channel(service), health, {}).ok()) << service;
    for (const std::string& who : {std::string("plaintext"), std::string()}) {
      grpc::Status s = CallEmpty(ServiceChannel(stack_->grpc_address(service), service, who), health, {}, 3s);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
          << service << " answered a client " << (who.empty() ? "without a certificate" : "in plaintext") << ": "
          << s.error_message();
    }
    // A well-formed certificate named "gateway", from a CA the deployment does not trust.
    grpc::SslCredentialsOptions foreign;
    foreign.pem_root_certs = ReadFile(TestTlsDir() + "/ca.pem");
    foreign.pem_cert_chain = ReadFile(std::string(dir) + "/gateway.pem");
    foreign.pem_private_key = ReadFile(std::string(dir) + "/gateway.key");
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(service);
    auto channel = grpc::CreateCustomChannel(stack_->grpc_address(service), grpc::SslCredentials(foreign), args);
    grpc::Status s = CallEmpty(channel, health, {}, 3s);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << service << " took another CA's certificate";
  }
  RunCommand({"/bin/rm", "-rf", dir});
}

TEST_F(GrpcTrustE2eTest, EveryRpcTimesEveryIdentityIsDecidedAsTheTableSays) {
  int checked = 0;
  for (const api::Method& method : api::Methods()) {
    if (method.service == api::Service::kGateway) continue;
    const std::string service = api::ServiceName(method.service);
    const std::string path = GrpcPath(method.rpc);
    const bool streaming = std::string(method.rpc).find(".Watch") != std::string::npos;
    const auto deadline = streaming ? 1500ms : 10000ms;
    for (api::Role role : kUserRoles) {
      std::map<std::string, std::string> md;
      if (role != v1::Token::ROLE_UNSPECIFIED) md["x-flightdeck-role"] = api::RoleName(role);
      grpc::Status s = CallEmpty(stack_->Channel(service, "gateway"), path, md, deadline);
      EXPECT_EQ(RefusedByPolicy(s), !api::PeerAllows("gateway", method, role))
          << path << " from the gateway for " << api::RoleName(role) << ": " << s.error_message();
      ++checked;
    }
    for (const char* identity : api::kIdentities) {
      if (std::string(identity) == "gateway") continue;
      grpc::Status s = CallEmpty(stack_->Channel(service, identity), path, {}, deadline);
      EXPECT_EQ(RefusedByPolicy(s), !api::PeerAllows(identity, method, v1::Token::ROLE_UNSPECIFIED))
          << path << " from " << identity << ": " << s.error_message();
      ++checked;
    }
  }
  EXPECT_GT(checked, 400);
}

TEST_F(GrpcTrustE2eTest, AServiceCannotBorrowAUsersRole) {
  // What the review did: routing keys, with no credentials at all, now with a service's
  // certificate and an admin's role in metadata.
  grpc::Status keys = CallEmpty(stack_->Channel("incidents", "releases"),
                                "/flightdeck.v1.IncidentService/ListIntegrations",
                                {{"x-flightdeck-role", "ADMIN"}, {"x-flightdeck-actor", "admin"}});
  EXPECT_TRUE(RefusedByPolicy(keys)) << keys.error_message();
  // Approving a release as someone else.
  grpc::Status approve = CallEmpty(stack_->Channel("releases", "incidents"),
                                   "/flightdeck.v1.ReleaseService/ApproveRelease",
                                   {{"x-flightdeck-role", "DEPLOYER"}, {"x-flightdeck-actor", "alice"}});
  EXPECT_TRUE(RefusedByPolicy(approve)) << approve.error_message();
  // Even a call the service may make is refused when it claims a user's role.
  grpc::Status annotate = CallEmpty(stack_->Channel("releases", "incidents"),
                                    "/flightdeck.v1.ReleaseService/AnnotateRelease",
                                    {{"x-flightdeck-role", "OPERATOR"}});
  EXPECT_TRUE(RefusedByPolicy(annotate)) << annotate.error_message();
  grpc::Status own = CallEmpty(stack_->Channel("releases", "incidents"),
                               "/flightdeck.v1.ReleaseService/AnnotateRelease", {});
  EXPECT_FALSE(RefusedByPolicy(own)) << own.error_message();
}

TEST_F(GrpcTrustE2eTest, GrpcProbesReachAFlightdeckPortWithMutualTls) {
  // Health probes releases' own gRPC port: with its certificate the probe passes; in plaintext
  // it cannot even connect.
  auto create = [&](const std::string& name, const std::string& tls) {
    nlohmann::json target = {{"name", name}, {"service", "flightdeck"}, {"environment", "self"},
                             {"role", "liveness"}, {"kind", "GRPC"}, {"address", stack_->grpc_address("releases")},
                             {"period", "1s"}, {"timeout", "1s"}, {"grpc_tls", tls}};
    if (tls == "flightdeck") target["grpc_tls_server_name"] = "releases";
    return HttpRequest("POST", stack_->gateway_url() + "/v1/health/targets", target.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()}, {"Content-Type", "application/json"}});
  };
  HttpResponse bad = create("self-bad-mode", "sometimes");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("grpc_tls"), std::string::npos) << bad.body;
  HttpResponse mtls_target = create("self-mtls", "flightdeck");
  ASSERT_EQ(mtls_target.status, 200) << mtls_target.body;
  HttpResponse plain_target = create("self-plain", "");
  ASSERT_EQ(plain_target.status, 200) << plain_target.body;
  auto status = [&](const std::string& name) {
    HttpResponse r = HttpRequest("GET", stack_->gateway_url() + "/v1/health/targets/" + name, "",
                                 {{"Authorization", "Bearer " + stack_->admin_token()}});
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("status", "UNKNOWN") : std::string("UNKNOWN");
  };
  std::string mtls, plain;
  WaitUntil([&] {
    mtls = status("self-mtls");
    plain = status("self-plain");
    return mtls == "HEALTHY" && plain == "UNHEALTHY";
  }, 30s, 500ms);
  EXPECT_EQ(mtls, "HEALTHY");
  EXPECT_EQ(plain, "UNHEALTHY");
}

TEST(GrpcTrustRotationE2eTest, RenewedCertificatesAreServedWithoutARestart) {
  // A stack of its own, on a copy of the certificates that it renews in place.
  char dir[] = "/tmp/fd-rotate-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_EQ(RunCommand({"/bin/cp", "-a", TestTlsDir() + "/.", dir}).exit_code, 0);
  Stack stack({{"FLIGHTDECK_TEST_TLS_DIR", dir}, {"FLIGHTDECK_TLS_RELOAD_INTERVAL", "1s"}});
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();
  auto served_certificate = [&] {
    auto channel = ServiceChannel(stack.grpc_address("releases"), "releases", "gateway");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    EXPECT_TRUE(CallEmptyOn(channel, "/grpc.health.v1.Health/Check", &context).ok());
    auto pem = context.auth_context()->FindPropertyValues("x509_pem_cert");
    return pem.empty() ? std::string() : std::string(pem[0].data(), pem[0].size());
  };
  auto read = [&](const std::string& name) { return ReadFile(std::string(dir) + "/" + name); };
  ASSERT_EQ(served_certificate(), read("releases.pem"));
  CommandResult renewed = RunCommand({FD_SOURCE_DIR "/scripts/certs", dir, "--renew"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.output;
  const std::string fresh = read("releases.pem");
  // The reload interval is 1 s.
  EXPECT_TRUE(WaitUntil([&] { return served_certificate() == fresh; }, 10s, 250ms))
      << "releases still presents its old certificate";
  // The rest of the stack took the new ones as well: a request crosses gateway -> releases.
  HttpResponse r = HttpRequest("GET", stack.gateway_url() + "/v1/releases",
                               "", {{"Authorization", "Bearer " + stack.admin_token()}});
  EXPECT_EQ(r.status, 200) << r.body;
  RunCommand({"/bin/rm", "-rf", dir});
}

}  // namespace
}  // namespace flightdeck::test
