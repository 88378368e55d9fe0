#include "common/grpc/interceptors.h"

#include <gtest/gtest.h>

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <thread>

#include "common/metrics/metrics.h"
#include "common/trace/trace.h"
#include "flightdeck/v1/releases.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/common/trace/memory_processor.h"

namespace flightdeck::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;
using trace::SpanContext;
using trace::SpanData;
using trace::SpanKind;

constexpr char kGetRelease[] = "flightdeck.v1.ReleaseService/GetRelease";
constexpr char kWatch[] = "grpc.health.v1.Health/Watch";
constexpr char kKnownTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// What the handler thread saw: the context current inside the handler and, through the probe
// interceptor that runs outside ours, the context current just before our span starts and just
// after it ends.
struct Observed {
  std::mutex mu;
  SpanContext in_handler;
  std::thread::id handler_thread;
  SpanContext before_call;
  SpanContext after_call;
  std::thread::id before_thread;
  std::thread::id after_thread;
  int after_calls = 0;

  void Reset() {
    std::lock_guard<std::mutex> lock(mu);
    in_handler = before_call = after_call = SpanContext{};
    handler_thread = before_thread = after_thread = std::thread::id();
    after_calls = 0;
  }
};

class ReleaseServiceImpl : public flightdeck::v1::ReleaseService::Service {
 public:
  explicit ReleaseServiceImpl(Observed& observed) : observed_(observed) {}

  grpc::Status GetRelease(grpc::ServerContext*, const flightdeck::v1::GetReleaseRequest* request,
                          flightdeck::v1::Release* reply) override {
    {
      std::lock_guard<std::mutex> lock(observed_.mu);
      observed_.in_handler = trace::CurrentContext();
      observed_.handler_thread = std::this_thread::get_id();
    }
    trace::Span child("handler-child");
    if (request->id() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "release missing not found");
    }
    reply->set_id(request->id());
    reply->set_trace_id(child.context().TraceIdHex());
    return grpc::Status::OK;
  }

 private:
  Observed& observed_;
};

class HealthServiceImpl : public grpc::health::v1::Health::Service {
 public:
  explicit HealthServiceImpl(Observed& observed) : observed_(observed) {}

  grpc::Status Watch(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override {
    {
      std::lock_guard<std::mutex> lock(observed_.mu);
      observed_.in_handler = trace::CurrentContext();
      observed_.handler_thread = std::this_thread::get_id();
    }
    trace::Span child("watch-child");
    grpc::health::v1::HealthCheckResponse response;
    response.set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    writer->Write(response);
    response.set_status(grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    writer->Write(response);
    return grpc::Status::OK;
  }

 private:
  Observed& observed_;
};

// The callback API runs handlers on gRPC's own threads (the default health service uses it).
class CallbackReleaseServiceImpl : public flightdeck::v1::ReleaseService::CallbackService {
 public:
  explicit CallbackReleaseServiceImpl(Observed& observed) : observed_(observed) {}

  grpc::ServerUnaryReactor* GetRelease(grpc::CallbackServerContext* context,
                                       const flightdeck::v1::GetReleaseRequest*,
                                       flightdeck::v1::Release*) override {
    {
      std::lock_guard<std::mutex> lock(observed_.mu);
      observed_.in_handler = trace::CurrentContext();
      observed_.handler_thread = std::this_thread::get_id();
    }
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "try later"));
    return reactor;
  }

 private:
  Observed& observed_;
};

// Registered after the tracing interceptor, so that it sees received metadata before it and
// the outgoing status after it (gRPC runs server post-receive hooks in reverse order).
class ProbeInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit ProbeInterceptor(Observed& observed) : observed_(observed) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::lock_guard<std::mutex> lock(observed_.mu);
      observed_.before_call = trace::CurrentContext();
      observed_.before_thread = std::this_thread::get_id();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::lock_guard<std::mutex> lock(observed_.mu);
      observed_.after_call = trace::CurrentContext();
      observed_.after_thread = std::this_thread::get_id();
      ++observed_.after_calls;
    }
    methods->Proceed();
  }

 private:
  Observed& observed_;
};

class ProbeFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ProbeFactory(Observed& observed) : observed_(observed) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new ProbeInterceptor(observed_);
  }

 private:
  Observed& observed_;
};

class InterceptorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    trace::SetProcessorForTesting(processor_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&releases_);
    builder.RegisterService(&health_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(MakeServerInterceptorFactory(&server_metrics_));
    factories.push_back(std::make_unique<ProbeFactory>(observed_));
    builder.experimental().SetInterceptorCreators(std::move(factories));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    target_ = "127.0.0.1:" + std::to_string(port);

    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> client;
    client.push_back(MakeClientInterceptorFactory());
    traced_channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
        target_, grpc::InsecureChannelCredentials(), grpc::ChannelArguments(), std::move(client));
    plain_channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    trace::SetProcessorForTesting(nullptr);
  }

  grpc::Status GetRelease(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                          const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
    auto stub = flightdeck::v1::ReleaseService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
    flightdeck::v1::GetReleaseRequest request;
    request.set_id(id);
    flightdeck::v1::Release reply;
    return stub->GetRelease(&context, request, &reply);
  }

  SpanData SpanOfKind(const std::string& name, SpanKind kind) {
    for (const auto& span : processor_->Spans()) {
      if (span.name == name && span.kind == kind) return span;
    }
    ADD_FAILURE() << "no span " << name << " of kind " << static_cast<int>(kind);
    return SpanData{};
  }

  static const trace::AttributeValue* Attribute(const SpanData& span, const std::string& key) {
    for (const auto& [k, v] : span.attributes) {
      if (k == key) return &v;
    }
    return nullptr;
  }

  void ExpectNoSpanLeftCurrentOnTheHandlerThread() {
    std::lock_guard<std::mutex> lock(observed_.mu);
    EXPECT_EQ(observed_.after_calls, 1);
    EXPECT_EQ(observed_.before_thread, observed_.handler_thread);
    EXPECT_EQ(observed_.after_thread, observed_.handler_thread);
    EXPECT_FALSE(observed_.before_call.IsValid());
    EXPECT_FALSE(observed_.after_call.IsValid()) << observed_.after_call.SpanIdHex();
  }

  std::shared_ptr<trace::testing::MemoryProcessor> processor_ =
      std::make_shared<trace::testing::MemoryProcessor>();
  metrics::Registry registry_;
  metrics::GrpcServerMetrics server_metrics_{registry_};
  Observed observed_;
  ReleaseServiceImpl releases_{observed_};
  HealthServiceImpl health_{observed_};
  std::unique_ptr<grpc::Server> server_;
  std::string target_;
  std::shared_ptr<grpc::Channel> traced_channel_;
  std::shared_ptr<grpc::Channel> plain_channel_;
};

TEST_F(InterceptorsTest, ClientServerAndHandlerSpansShareOneTraceAndChain) {
  ASSERT_TRUE(GetRelease(traced_channel_, "r-1").ok());

  const SpanData client = SpanOfKind(kGetRelease, SpanKind::kClient);
  const SpanData server = SpanOfKind(kGetRelease, SpanKind::kServer);
  const SpanData child = processor_->Only("handler-child");
  EXPECT_EQ(server.context.trace_id, client.context.trace_id);
  EXPECT_EQ(child.context.trace_id, client.context.trace_id);
  EXPECT_EQ(client.parent_span_id, (std::array<uint8_t, 8>{}));  // no caller span: a root
  EXPECT_EQ(server.parent_span_id, client.context.span_id);
  EXPECT_EQ(child.parent_span_id, server.context.span_id);

  ASSERT_NE(Attribute(server, "rpc.system"), nullptr);
  EXPECT_EQ(std::get<std::string>(*Attribute(server, "rpc.system")), "grpc");
  EXPECT_EQ(std::get<std::string>(*Attribute(server, "rpc.service")), "flightdeck.v1.ReleaseService");
  EXPECT_EQ(std::get<std::string>(*Attribute(server, "rpc.method")), "GetRelease");
  EXPECT_EQ(std::get<long long>(*Attribute(server, "rpc.grpc.status_code")), 0);
  EXPECT_EQ(std::get<long long>(*Attribute(client, "rpc.grpc.status_code")), 0);
  EXPECT_EQ(server.status, trace::StatusCode::kUnset);
  EXPECT_LE(client.start_unix_nano, server.start_unix_nano);
  EXPECT_GE(client.end_unix_nano, server.end_unix_nano);

  std::lock_guard<std::mutex> lock(observed_.mu);
  EXPECT_EQ(observed_.in_handler.span_id, server.context.span_id);
}

TEST_F(InterceptorsTest, ClientSpanIsAChildOfTheCallersCurrentSpan) {
  std::array<uint8_t, 16> trace_id;
  std::array<uint8_t, 8> caller_id;
  {
    trace::Span caller("caller");
    trace_id = caller.context().trace_id;
    caller_id = caller.context().span_id;
    ASSERT_TRUE(GetRelease(traced_channel_, "r-1").ok());
    EXPECT_EQ(trace::CurrentContext().span_id, caller_id);  // the client span was not made current
  }
  const SpanData client = SpanOfKind(kGetRelease, SpanKind::kClient);
  EXPECT_EQ(client.context.trace_id, trace_id);
  EXPECT_EQ(client.parent_span_id, caller_id);
  EXPECT_EQ(SpanOfKind(kGetRelease, SpanKind::kServer).context.trace_id, trace_id);
}

TEST_F(InterceptorsTest, ClientForwardsTracestate) {
  auto remote = trace::ParseTraceparent(kKnownTraceparent, "vendor=abc");
  ASSERT_TRUE(remote.has_value());
  {
    trace::ScopedContext scope(*remote);
    ASSERT_TRUE(GetRelease(traced_channel_, "r-1").ok());
  }
  const SpanData server = SpanOfKind(kGetRelease, SpanKind::kServer);
  EXPECT_EQ(server.context.TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(server.context.tracestate, "vendor=abc");
}

TEST_F(InterceptorsTest, ServerContinuesAKnownIncomingTraceparent) {
  ASSERT_TRUE(GetRelease(plain_channel_, "r-1",
                         {{"traceparent", kKnownTraceparent}, {"tracestate", "rojo=1"}})
                  .ok());
  const SpanData server = SpanOfKind(kGetRelease, SpanKind::kServer);
  EXPECT_EQ(server.context.TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(server.parent_span_id, trace::ParseTraceparent(kKnownTraceparent)->span_id);
  EXPECT_EQ(server.context.tracestate, "rojo=1");
  EXPECT_EQ(processor_->Only("handler-child").context.TraceIdHex(),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  ExpectNoSpanLeftCurrentOnTheHandlerThread();
}

TEST_F(InterceptorsTest, ServerStartsANewTraceForAnInvalidTraceparent) {
  const std::string zero_trace = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
  ASSERT_TRUE(GetRelease(plain_channel_, "r-1", {{"traceparent", zero_trace}}).ok());
  ASSERT_TRUE(GetRelease(plain_channel_, "r-2", {{"traceparent", "garbage"}}).ok());
  int servers = 0;
  for (const auto& span : processor_->Spans()) {
    if (span.kind != SpanKind::kServer) continue;
    ++servers;
    EXPECT_TRUE(span.context.IsValid());
    EXPECT_EQ(span.parent_span_id, (std::array<uint8_t, 8>{}));
  }
  EXPECT_EQ(servers, 2);
}

TEST_F(InterceptorsTest, UnsampledIncomingTraceIsPropagatedButNotRecorded) {
  const std::string unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
  ASSERT_TRUE(GetRelease(plain_channel_, "r-1", {{"traceparent", unsampled}}).ok());
  EXPECT_TRUE(processor_->Spans().empty());
  std::lock_guard<std::mutex> lock(observed_.mu);
  EXPECT_EQ(observed_.in_handler.TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(observed_.in_handler.sampled());
}

TEST_F(InterceptorsTest, ErrorStatusIsRecordedOnSpansAndMetrics) {
  ASSERT_TRUE(GetRelease(traced_channel_, "r-1").ok());
  const grpc::Status status = GetRelease(traced_channel_, "missing");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  auto& handled = server_metrics_.handled;
  EXPECT_EQ(handled.With({"flightdeck.v1.ReleaseService", "GetRelease", "OK"}).Value(), 1.0);
  EXPECT_EQ(handled.With({"flightdeck.v1.ReleaseService", "GetRelease", "NOT_FOUND"}).Value(), 1.0);
  auto durations = server_metrics_.durations.With({"flightdeck.v1.ReleaseService", "GetRelease"}).Snap();
  EXPECT_EQ(durations.count, 2u);
  EXPECT_GT(durations.sum, 0.0);

  bool server_error = false;
  bool client_error = false;
  for (const auto& span : processor_->Spans()) {
    if (span.name != kGetRelease || span.status != trace::StatusCode::kError) continue;
    EXPECT_EQ(span.status_message, "release missing not found");
    auto* code = Attribute(span, "rpc.grpc.status_code");
    ASSERT_NE(code, nullptr);
    EXPECT_EQ(std::get<long long>(*code), static_cast<long long>(grpc::StatusCode::NOT_FOUND));
    server_error |= span.kind == SpanKind::kServer;
    client_error |= span.kind == SpanKind::kClient;
  }
  EXPECT_TRUE(server_error);
  EXPECT_TRUE(client_error);
}

TEST_F(InterceptorsTest, UnaryCallLeavesNoCurrentSpanOnTheHandlerThread) {
  ASSERT_TRUE(GetRelease(traced_channel_, "r-1").ok());
  ExpectNoSpanLeftCurrentOnTheHandlerThread();
  observed_.Reset();
  EXPECT_EQ(GetRelease(traced_channel_, "missing").error_code(), grpc::StatusCode::NOT_FOUND);
  ExpectNoSpanLeftCurrentOnTheHandlerThread();
}

TEST_F(InterceptorsTest, StreamingCallHasOneSpanAndLeavesNoCurrentSpan) {
  auto stub = grpc::health::v1::Health::NewStub(traced_channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  auto reader = stub->Watch(&context, request);
  grpc::health::v1::HealthCheckResponse response;
  int messages = 0;
  while (reader->Read(&response)) ++messages;
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(messages, 2);

  const SpanData client = SpanOfKind(kWatch, SpanKind::kClient);
  const SpanData server = SpanOfKind(kWatch, SpanKind::kServer);
  const SpanData child = processor_->Only("watch-child");
  EXPECT_EQ(server.parent_span_id, client.context.span_id);
  EXPECT_EQ(child.parent_span_id, server.context.span_id);
  int server_spans = 0;
  for (const auto& span : processor_->Spans()) server_spans += span.kind == SpanKind::kServer;
  EXPECT_EQ(server_spans, 1);
  ExpectNoSpanLeftCurrentOnTheHandlerThread();
  EXPECT_EQ(server_metrics_.handled.With({"grpc.health.v1.Health", "Watch", "OK"}).Value(), 1.0);
}

TEST_F(InterceptorsTest, CallbackServiceGetsASpanButLeavesNothingCurrentOnGrpcThreads) {
  CallbackReleaseServiceImpl callback_service(observed_);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&callback_service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(MakeServerInterceptorFactory(&server_metrics_));
  factories.push_back(std::make_unique<ProbeFactory>(observed_));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());

  EXPECT_EQ(GetRelease(channel, "r-1", {{"traceparent", kKnownTraceparent}}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));

  const SpanData span = SpanOfKind(kGetRelease, SpanKind::kServer);
  EXPECT_EQ(span.context.TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.status, trace::StatusCode::kError);
  EXPECT_EQ(server_metrics_.handled.With({"flightdeck.v1.ReleaseService", "GetRelease", "UNAVAILABLE"})
                .Value(),
            1.0);
  std::lock_guard<std::mutex> lock(observed_.mu);
  EXPECT_FALSE(observed_.in_handler.IsValid());
  EXPECT_FALSE(observed_.after_call.IsValid());
}

TEST_F(InterceptorsTest, ClientWithoutServerStillEndsItsSpan) {
  auto dead = grpc::experimental::CreateCustomChannelWithInterceptors(
      "127.0.0.1:1", grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
      [] {
        std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> v;
        v.push_back(MakeClientInterceptorFactory());
        return v;
      }());
  auto stub = flightdeck::v1::ReleaseService::NewStub(dead);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  flightdeck::v1::GetReleaseRequest request;
  flightdeck::v1::Release reply;
  EXPECT_FALSE(stub->GetRelease(&context, request, &reply).ok());
  const SpanData client = SpanOfKind(kGetRelease, SpanKind::kClient);
  EXPECT_EQ(client.status, trace::StatusCode::kError);
}

}  // namespace
}  // namespace flightdeck::rpc
