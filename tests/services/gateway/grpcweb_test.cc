// Integration: the gRPC-web front in front of a fake releases service, with real tokens,
// roles and audit on a fresh PostgreSQL database. Requests are framed here by hand, as the
// protocol says, so that what is checked is what a browser's client library sees.
#include <atomic>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flightdeck/v1/releases.grpc.pb.h"
#include "services/gateway/grpcweb/framing.h"
#include "tests/services/gateway/test_gateway.h"

namespace flightdeck::gateway {
namespace {

using namespace std::chrono_literals;
using test::HttpResponse;
namespace gw = grpcweb;

class FakeReleases final : public v1::ReleaseService::Service {
 public:
  grpc::Status GetRelease(grpc::ServerContext* context, const v1::GetReleaseRequest* request,
                          v1::Release* response) override {
    if (request->id() == "slow") {
      while (!context->IsCancelled()) std::this_thread::sleep_for(5ms);
      return grpc::Status::CANCELLED;
    }
    if (request->id() != "rel-1") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "release " + request->id() + ": not found (100%)");
    }
    response->set_id("rel-1");
    response->set_version("v2.4.0");
    response->set_state(v1::Release::CANARY);
    return grpc::Status::OK;
  }
  grpc::Status ApproveRelease(grpc::ServerContext*, const v1::ReleaseActionRequest* request,
                              v1::Release* response) override {
    response->set_id(request->id());
    response->set_state(v1::Release::CANARY);
    return grpc::Status::OK;
  }
  grpc::Status WatchRelease(grpc::ServerContext*, const v1::WatchReleaseRequest* request,
                            grpc::ServerWriter<v1::ReleaseEvent>* writer) override {
    for (int i = 1; i <= 3; ++i) {
      v1::ReleaseEvent e;
      e.set_id(i);
      e.set_release_id(request->id());
      writer->Write(e);
    }
    return grpc::Status::OK;
  }
};

struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::vector<gw::Frame> frames;
  // From the trailer frame, or the headers of a trailers-only answer.
  std::string grpc_status;
  std::string grpc_message;
};

class GrpcWebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = std::make_unique<testing::TestGateway>(
        std::map<api::Service, grpc::Service*>{{api::Service::kReleases, &releases_}});
    viewer_ = gateway_->CreateToken("dashboard", "VIEWER");
    deployer_ = gateway_->CreateToken("release-ui", "DEPLOYER");
  }

  Answer Post(const std::string& path, const google::protobuf::Message& request, const std::string& token,
              bool text = false, std::map<std::string, std::string> headers = {}) {
    std::string body = gw::EncodeFrame(gw::kDataFrame, request.SerializeAsString());
    if (text) body = gw::Base64Encode(body);
    headers["Content-Type"] = text ? "application/grpc-web-text" : "application/grpc-web+proto";
    headers["X-Grpc-Web"] = "1";
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    HttpResponse r = test::HttpRequest("POST", gateway_->base_url() + path, body, headers);
    Answer a;
    a.status = r.status;
    a.headers = r.headers;
    std::string raw = r.body;
    if (text) {
      auto decoded = gw::Base64Decode(raw);
      EXPECT_TRUE(decoded) << raw;
      raw = decoded.value_or("");
    }
    std::string error;
    auto frames = gw::DecodeFrames(raw, &error);
    EXPECT_TRUE(frames) << error;
    if (frames) a.frames = *frames;
    a.grpc_status = r.headers["grpc-status"];
    a.grpc_message = r.headers["grpc-message"];
    for (const gw::Frame& f : a.frames) {
      if (f.flags != gw::kTrailerFrame) continue;
      size_t s = f.payload.find("grpc-status: ");
      if (s != std::string::npos) a.grpc_status = f.payload.substr(s + 13, f.payload.find("\r\n", s) - s - 13);
      size_t m = f.payload.find("grpc-message: ");
      if (m != std::string::npos) a.grpc_message = f.payload.substr(m + 14, f.payload.find("\r\n", m) - m - 14);
    }
    return a;
  }

  FakeReleases releases_;
  std::unique_ptr<testing::TestGateway> gateway_;
  std::string viewer_;
  std::string deployer_;
};

TEST_F(GrpcWebTest, UnaryCallInBinaryAndTextModes) {
  v1::GetReleaseRequest request;
  request.set_id("rel-1");
  for (bool text : {false, true}) {
    Answer a = Post("/flightdeck.v1.ReleaseService/GetRelease", request, viewer_, text);
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(a.headers["content-type"],
              text ? "application/grpc-web-text+proto" : "application/grpc-web+proto");
    ASSERT_EQ(a.frames.size(), 2u);
    v1::Release release;
    ASSERT_TRUE(release.ParseFromString(a.frames[0].payload));
    EXPECT_EQ(release.version(), "v2.4.0");
    EXPECT_EQ(a.frames[1].flags, gw::kTrailerFrame);
    EXPECT_EQ(a.grpc_status, "0");
  }
}

TEST_F(GrpcWebTest, ErrorsAreTrailersOnlyWithAPercentEncodedMessage) {
  v1::GetReleaseRequest request;
  request.set_id("nope");
  Answer a = Post("/flightdeck.v1.ReleaseService/GetRelease", request, viewer_);
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.frames.empty());
  EXPECT_EQ(a.grpc_status, "5");
  EXPECT_EQ(a.grpc_message, "release nope: not found (100%25)");

  Answer unauthenticated = Post("/flightdeck.v1.ReleaseService/GetRelease", request, "");
  EXPECT_EQ(unauthenticated.grpc_status, "16");

  v1::ReleaseActionRequest approve;
  approve.set_id("rel-1");
  Answer denied = Post("/flightdeck.v1.ReleaseService/ApproveRelease", approve, viewer_);
  EXPECT_EQ(denied.grpc_status, "7") << denied.grpc_message;
  Answer approved = Post("/flightdeck.v1.ReleaseService/ApproveRelease", approve, deployer_);
  EXPECT_EQ(approved.grpc_status, "0") << approved.grpc_message;
  nlohmann::json audit = gateway_->AuditOf("release-ui");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["action"], "POST /flightdeck.v1.ReleaseService/ApproveRelease");
  EXPECT_EQ(gateway_->AuditOf("dashboard").size(), 1u) << "the refused approve is audited";
}

TEST_F(GrpcWebTest, MethodsOutsideTheTableAndMalformedBodiesAreRefused) {
  v1::GetReleaseRequest request;
  EXPECT_EQ(Post("/flightdeck.v1.ReleaseService/DropEverything", request, viewer_).grpc_status, "12");
  EXPECT_EQ(Post("/grpc.health.v1.Health/Check", request, viewer_).grpc_status, "12");
  HttpResponse garbage = test::HttpRequest(
      "POST", gateway_->base_url() + "/flightdeck.v1.ReleaseService/GetRelease", std::string("\0\0\0\0\x09xx", 7),
      {{"Content-Type", "application/grpc-web+proto"}, {"Authorization", "Bearer " + viewer_}});
  EXPECT_EQ(garbage.headers["grpc-status"], "3");
  HttpResponse json = test::HttpRequest("POST", gateway_->base_url() + "/flightdeck.v1.ReleaseService/GetRelease",
                                        "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(json.status, 415);
}

TEST_F(GrpcWebTest, ServerStreamsArriveAsFramesThenTrailers) {
  v1::WatchReleaseRequest request;
  request.set_id("rel-1");
  for (bool text : {false, true}) {
    Answer a = Post("/flightdeck.v1.ReleaseService/WatchRelease", request, viewer_, text);
    ASSERT_EQ(a.frames.size(), 4u);
    for (int i = 0; i < 3; ++i) {
      v1::ReleaseEvent e;
      ASSERT_TRUE(e.ParseFromString(a.frames[i].payload));
      EXPECT_EQ(e.id(), i + 1);
    }
    EXPECT_EQ(a.grpc_status, "0");
  }
}

TEST_F(GrpcWebTest, GrpcTimeoutBoundsTheCall) {
  v1::GetReleaseRequest request;
  request.set_id("slow");
  auto start = std::chrono::steady_clock::now();
  Answer a = Post("/flightdeck.v1.ReleaseService/GetRelease", request, viewer_, false, {{"grpc-timeout", "200m"}});
  EXPECT_EQ(a.grpc_status, "4");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_EQ(Post("/flightdeck.v1.ReleaseService/GetRelease", request, viewer_, false, {{"grpc-timeout", "soon"}})
                .grpc_status,
            "3");
}

TEST_F(GrpcWebTest, CorsPreflightAndOrigins) {
  HttpResponse same = test::HttpRequest(
      "OPTIONS", gateway_->base_url() + "/flightdeck.v1.ReleaseService/GetRelease", "",
      {{"Origin", gateway_->base_url()}, {"Access-Control-Request-Method", "POST"},
       {"Access-Control-Request-Headers", "authorization,content-type,x-grpc-web,grpc-timeout"}});
  EXPECT_EQ(same.status, 204);
  EXPECT_EQ(same.headers["access-control-allow-origin"], gateway_->base_url());
  EXPECT_NE(same.headers["access-control-allow-headers"].find("grpc-timeout"), std::string::npos);
  EXPECT_NE(same.headers["access-control-allow-headers"].find("idempotency-key"), std::string::npos);
  HttpResponse other = test::HttpRequest("OPTIONS", gateway_->base_url() + "/flightdeck.v1.ReleaseService/GetRelease",
                                         "", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);

  v1::GetReleaseRequest request;
  request.set_id("rel-1");
  Answer a = Post("/flightdeck.v1.ReleaseService/GetRelease", request, viewer_, false,
                  {{"Origin", gateway_->base_url()}});
  EXPECT_EQ(a.headers["access-control-expose-headers"].find("grpc-status"), 0u);
}

}  // namespace
}  // namespace flightdeck::gateway
