// Integration: what the incidents service shows to whom, through a real gRPC server on loopback
// with the caller's role in metadata as the gateway sends it (x-flightdeck-role).
#include <grpcpp/grpcpp.h>

#include "common/grpc/metadata.h"
#include "services/incidents/policy_document.h"
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

constexpr char kSlackUrl[] = "https://hooks.slack.example.com/services/T0/B0/XyZsecretpath";
constexpr char kPagerUrl[] = "https://ops:pw@pager.example.com:8443/hook?token=abc";

class VisibilityTest : public CoreTest {
 protected:
  VisibilityTest() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::IncidentService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }
  ~VisibilityTest() override { server_->Shutdown(std::chrono::system_clock::now() + 2s); }

  // A call's context as the gateway makes it for a caller of `role` ("" sends none).
  static std::unique_ptr<grpc::ClientContext> As(const std::string& role) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + 10s);
    ctx->AddMetadata(rpc::kActorKey, "someone");
    if (!role.empty()) ctx->AddMetadata(rpc::kRoleKey, role);
    return ctx;
  }

  v1::EscalationPolicy GetPolicy(const std::string& role) {
    v1::NameRequest req;
    req.set_name("payments.oncall");
    v1::EscalationPolicy out;
    grpc::Status s = stub_->GetEscalationPolicy(As(role).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::IncidentService::Stub> stub_;
};

v1::EscalationPolicy TwoTargets() {
  v1::EscalationPolicy p;
  p.set_name("payments.oncall");
  v1::NotificationTarget* chat = p.add_on_open();
  chat->set_name("chat");
  chat->set_url(kSlackUrl);
  chat->set_format("slack");
  v1::EscalationLevel* level = p.add_levels();
  level->mutable_delay()->set_seconds(300);
  v1::NotificationTarget* pager = level->add_targets();
  pager->set_name("pager");
  pager->set_url(kPagerUrl);
  return p;
}

TEST(UrlSchemeAndHost, KeepsSchemeAndHostOnly) {
  EXPECT_EQ(UrlSchemeAndHost(kSlackUrl), "https://hooks.slack.example.com");
  EXPECT_EQ(UrlSchemeAndHost(kPagerUrl), "https://pager.example.com");
  EXPECT_EQ(UrlSchemeAndHost("http://[::1]:9000/x"), "http://[::1]");
  EXPECT_EQ(UrlSchemeAndHost("http://example.com"), "http://example.com");
  EXPECT_EQ(UrlSchemeAndHost("http://example.com?k=v"), "http://example.com");
}

TEST_F(VisibilityTest, NotificationUrlsAreWholeForAdminsOnly) {
  ASSERT_TRUE(migrated_);
  v1::EscalationPolicy put;
  grpc::Status s = stub_->PutEscalationPolicy(As("OPERATOR").get(), TwoTargets(), &put);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(put.on_open(0).url(), "https://hooks.slack.example.com") << "an operator's own answer is shortened too";
  EXPECT_TRUE(put.on_open(0).url_redacted());

  for (const std::string role : {"VIEWER", "DEPLOYER", "OPERATOR", ""}) {
    v1::EscalationPolicy got = GetPolicy(role);
    ASSERT_EQ(got.on_open_size(), 1) << role;
    EXPECT_EQ(got.on_open(0).url(), "https://hooks.slack.example.com") << role;
    EXPECT_TRUE(got.on_open(0).url_redacted()) << role;
    EXPECT_EQ(got.levels(0).targets(0).url(), "https://pager.example.com") << role;
    v1::ListEscalationPoliciesResponse list;
    s = stub_->ListEscalationPolicies(As(role).get(), v1::ListEscalationPoliciesRequest(), &list);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(list.policies_size(), 1);
    EXPECT_EQ(list.policies(0).on_open(0).url(), "https://hooks.slack.example.com") << role;
    EXPECT_EQ(list.policies(0).levels(0).targets(0).url(), "https://pager.example.com") << role;
  }
  v1::EscalationPolicy admin = GetPolicy("ADMIN");
  EXPECT_EQ(admin.on_open(0).url(), kSlackUrl);
  EXPECT_FALSE(admin.on_open(0).url_redacted());
  EXPECT_EQ(admin.levels(0).targets(0).url(), kPagerUrl);
}

TEST_F(VisibilityTest, APolicyEditedFromItsShortenedFormKeepsItsUrls) {
  ASSERT_TRUE(migrated_);
  v1::EscalationPolicy out;
  ASSERT_TRUE(stub_->PutEscalationPolicy(As("ADMIN").get(), TwoTargets(), &out).ok());
  // An operator changes the delay of what it was shown and sends it back; a new target's url
  // is taken as sent.
  v1::EscalationPolicy edited = GetPolicy("OPERATOR");
  edited.mutable_levels(0)->mutable_delay()->set_seconds(600);
  v1::NotificationTarget* extra = edited.add_on_open();
  extra->set_name("status");
  extra->set_url("https://status.example.com");
  grpc::Status s = stub_->PutEscalationPolicy(As("OPERATOR").get(), edited, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::EscalationPolicy admin = GetPolicy("ADMIN");
  EXPECT_EQ(admin.levels(0).delay().seconds(), 600);
  EXPECT_EQ(admin.on_open(0).url(), kSlackUrl);
  EXPECT_EQ(admin.levels(0).targets(0).url(), kPagerUrl);
  ASSERT_EQ(admin.on_open_size(), 2);
  EXPECT_EQ(admin.on_open(1).url(), "https://status.example.com");
  // What is delivered to is the full url as well.
  v1::EscalationPolicy delivery;
  ASSERT_TRUE(config_.GetEscalationPolicy("payments.oncall", /*with_secrets=*/true, &delivery).ok());
  EXPECT_EQ(delivery.on_open(0).url(), kSlackUrl);
  // Another url replaces it.
  edited = GetPolicy("OPERATOR");
  edited.mutable_on_open(0)->set_url("https://hooks.slack.example.com/services/T0/B0/new");
  ASSERT_TRUE(stub_->PutEscalationPolicy(As("OPERATOR").get(), edited, &out).ok());
  EXPECT_EQ(GetPolicy("ADMIN").on_open(0).url(), "https://hooks.slack.example.com/services/T0/B0/new");
}

}  // namespace
}  // namespace flightdeck::incidents
