// A unary method served on the server's completion queue (queued_unary.h, Server::ServeOnQueue):
// answered like a synchronous one, interceptors included, and shut down without a hang.
#include "common/grpc/queued_unary.h"

#include <gtest/gtest.h>

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/grpc/interceptors.h"
#include "common/grpc/server.h"
#include "common/metrics/metrics.h"
#include "common/trace/trace.h"
#include "flightdeck/v1/releases.grpc.pb.h"
#include "tests/common/trace/memory_processor.h"

namespace flightdeck::rpc {
namespace {

using Releases = v1::ReleaseService::WithAsyncMethod_GetRelease<v1::ReleaseService::Service>;

class QueuedReleases final : public Releases {
 public:
  grpc::Status GetRelease(grpc::ServerContext*, const v1::GetReleaseRequest* request,
                          v1::Release* response) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      in_handler.push_back(trace::CurrentContext());
    }
    if (request->id() == "missing") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no release missing");
    if (request->id() == "throw") throw std::runtime_error("the handler failed");
    response->set_id(request->id());
    return grpc::Status::OK;
  }

  std::mutex mu;
  std::vector<trace::SpanContext> in_handler;
};

class QueuedUnaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    trace::SetProcessorForTesting(processor_);
    server_.AddService(&service_);
    server_.ServeOnQueue([this](grpc::ServerCompletionQueue* queue) {
      QueuedUnary<QueuedReleases, v1::GetReleaseRequest, v1::Release>::Serve(
          &service_, &QueuedReleases::RequestGetRelease,
          [this](grpc::ServerContext* context, const v1::GetReleaseRequest* request, v1::Release* response) {
            return service_.GetRelease(context, request, response);
          },
          queue);
    });
    server_.Start();
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> client;
    client.push_back(MakeClientInterceptorFactory());
    channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
        "127.0.0.1:" + std::to_string(server_.port()), grpc::InsecureChannelCredentials(),
        grpc::ChannelArguments(), std::move(client));
  }
  void TearDown() override {
    server_.Shutdown();
    trace::SetProcessorForTesting(nullptr);
  }

  grpc::Status Get(const std::string& id, v1::Release* reply) {
    auto stub = v1::ReleaseService::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetReleaseRequest request;
    request.set_id(id);
    return stub->GetRelease(&context, request, reply);
  }

  std::vector<trace::SpanData> SpansOfKind(trace::SpanKind kind) {
    std::vector<trace::SpanData> out;
    for (const auto& span : processor_->Spans()) {
      if (span.kind == kind) out.push_back(span);
    }
    return out;
  }

  std::shared_ptr<trace::testing::MemoryProcessor> processor_ =
      std::make_shared<trace::testing::MemoryProcessor>();
  metrics::Registry registry_;
  QueuedReleases service_;
  Server server_{ServerOptions{}, registry_};
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(QueuedUnaryTest, ACallIsAnsweredWithTheServersInterceptorsAroundIt) {
  for (const char* id : {"r-1", "r-2"}) {
    v1::Release reply;
    ASSERT_TRUE(Get(id, &reply).ok());
    EXPECT_EQ(reply.id(), id);
  }
  const std::vector<trace::SpanData> clients = SpansOfKind(trace::SpanKind::kClient);
  const std::vector<trace::SpanData> servers = SpansOfKind(trace::SpanKind::kServer);
  ASSERT_EQ(clients.size(), 2u);
  ASSERT_EQ(servers.size(), 2u);
  std::lock_guard<std::mutex> lock(service_.mu);
  ASSERT_EQ(service_.in_handler.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    // Each call's server span is the child of its own client span (the first call's span did
    // not stay current on the queue's thread) and current while the handler ran.
    EXPECT_EQ(servers[i].parent_span_id, clients[i].context.span_id) << i;
    EXPECT_EQ(service_.in_handler[i].span_id, servers[i].context.span_id) << i;
  }
  EXPECT_NE(registry_.Expose().find(
                "grpc_server_handled_total{grpc_service=\"flightdeck.v1.ReleaseService\","
                "grpc_method=\"GetRelease\",grpc_code=\"OK\"} 2"),
            std::string::npos)
      << registry_.Expose();
}

TEST_F(QueuedUnaryTest, ErrorsAndAThrowingHandlerAreAnswered) {
  v1::Release reply;
  grpc::Status missing = Get("missing", &reply);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), "no release missing");
  EXPECT_EQ(Get("throw", &reply).error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_TRUE(Get("r-1", &reply).ok()) << "the queue still serves after a throw";
}

TEST_F(QueuedUnaryTest, MoreCallsAtOnceThanRequestsWaitingAreAllAnswered) {
  constexpr int kCalls = 64;  // four times the requests posted at a time
  std::atomic<int> answered{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([this, i, &answered] {
      v1::Release reply;
      if (Get("r-" + std::to_string(i), &reply).ok() && reply.id() == "r-" + std::to_string(i)) {
        ++answered;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(answered.load(), kCalls);
}

TEST_F(QueuedUnaryTest, AfterShutdownCallsAreRefusedAndNothingHangs) {
  v1::Release reply;
  ASSERT_TRUE(Get("r-1", &reply).ok());
  server_.Shutdown();  // requests still waiting for calls: drained, the threads end
  EXPECT_EQ(Get("r-2", &reply).error_code(), grpc::StatusCode::UNAVAILABLE);
  server_.Shutdown();  // a second time is nothing
}

}  // namespace
}  // namespace flightdeck::rpc
