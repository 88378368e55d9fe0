// Tracing and RED-metrics interceptors for gRPC (experimental interceptor API of gRPC 1.51).

#include "common/grpc/interceptors.h"

#include <chrono>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>

#include "common/grpc/queued_unary.h"
#include "common/grpc/status_name.h"
#include "common/metrics/metrics.h"
#include "common/trace/trace.h"

namespace flightdeck::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;

constexpr char kTraceparent[] = "traceparent";
constexpr char kTracestate[] = "tracestate";


// "/flightdeck.v1.ReleaseService/GetRelease" -> span name without the leading slash, plus the
// rpc.service and rpc.method attributes of the OpenTelemetry RPC conventions.
struct MethodName {
  std::string full;     // as gRPC gives it
  std::string span;     // "flightdeck.v1.ReleaseService/GetRelease"
  std::string service;  // "flightdeck.v1.ReleaseService"
  std::string method;   // "GetRelease"

  explicit MethodName(const char* raw) : full(raw != nullptr && *raw != '\0' ? raw : "/unknown") {
    span = full[0] == '/' ? full.substr(1) : full;
    size_t slash = span.rfind('/');
    service = slash == std::string::npos ? span : span.substr(0, slash);
    method = slash == std::string::npos ? span : span.substr(slash + 1);
  }
};

void SetRpcAttributes(trace::Span& span, const MethodName& name) {
  span.SetAttribute("rpc.system", std::string("grpc"));
  span.SetAttribute("rpc.service", name.service);
  span.SetAttribute("rpc.method", name.method);
}

void RecordStatus(trace::Span& span, const grpc::Status& status) {
  span.SetAttribute("rpc.grpc.status_code", static_cast<long long>(status.error_code()));
  if (status.ok()) return;
  span.SetStatus(trace::StatusCode::kError, status.error_message().empty()
                                                ? std::string(rpc::StatusCodeName(status.error_code()))
                                                : status.error_message());
}

// Metadata keys arrive lowercase; a header may be repeated, and repeated tracestate headers
// combine into one list (W3C Trace Context, section 3.3.1.1).
template <typename Map>
std::optional<trace::SpanContext> ContextFromMetadata(const Map& metadata) {
  auto parent = metadata.find(kTraceparent);
  if (parent == metadata.end() || metadata.count(kTraceparent) != 1) return std::nullopt;
  std::string tracestate;
  auto [begin, end] = metadata.equal_range(kTracestate);
  for (auto it = begin; it != end; ++it) {
    if (!tracestate.empty()) tracestate += ',';
    tracestate.append(it->second.data(), it->second.size());
  }
  return trace::ParseTraceparent(
      std::string_view(parent->second.data(), parent->second.size()), tracestate);
}

class ServerInterceptor : public grpc::experimental::Interceptor {
 public:
  ServerInterceptor(grpc::experimental::ServerRpcInfo* info, metrics::GrpcServerMetrics* metrics)
      : name_(info->method()),
        metrics_(metrics),
        queued_(dynamic_cast<QueuedServerContext*>(info->server_context())),
        // With the callback API, hooks run on gRPC's threads, never on the reactor's; a queued
        // call's handler may run on another thread of the queue than its hooks (queued_unary.h).
        // A span made current on such a thread would describe whatever that thread does next.
        activation_(dynamic_cast<grpc::CallbackServerContext*>(info->server_context()) != nullptr ||
                            queued_ != nullptr
                        ? trace::Span::Activation::kDetached
                        : trace::Span::Activation::kActivate) {}

  ~ServerInterceptor() override {
    if (span_ && span_->recording()) {
      span_->SetStatus(trace::StatusCode::kError, "call ended without a status");
    }
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Start(*methods->GetRecvInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finish(methods->GetSendStatus());
    }
    // For the sync API, Proceed() runs the rest of the call (the handler included) before it
    // returns, so the span must be current before this line and ended above it.
    methods->Proceed();
  }

 private:
  void Start(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    if (span_) return;
    started_ = std::chrono::steady_clock::now();
    // An invalid or missing traceparent starts a new trace, never a child of whatever happens
    // to be current on the thread that runs this hook.
    const trace::SpanContext parent = ContextFromMetadata(metadata).value_or(trace::SpanContext{});
    span_.emplace(name_.span, trace::SpanKind::kServer, parent, activation_);
    SetRpcAttributes(*span_, name_);
    if (queued_ != nullptr) queued_->server_span = span_->context();
  }

  void Finish(const grpc::Status& status) {
    if (metrics_ != nullptr && !recorded_) {
      recorded_ = true;
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started_;
      metrics_->Record(name_.full, rpc::StatusCodeName(status.error_code()), elapsed.count());
    }
    if (!span_) return;
    RecordStatus(*span_, status);
    // Ends on the handler's thread (sync API), so the span leaves that thread's context stack.
    span_->End();
  }

  const MethodName name_;
  metrics::GrpcServerMetrics* const metrics_;
  QueuedServerContext* const queued_;  // null unless the call is a queued one
  const trace::Span::Activation activation_;
  std::optional<trace::Span> span_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool recorded_ = false;
};

class ServerInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerInterceptorFactory(metrics::GrpcServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new ServerInterceptor(info, metrics_);
  }

 private:
  metrics::GrpcServerMetrics* const metrics_;
};

class ClientInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit ClientInterceptor(grpc::experimental::ClientRpcInfo* info) : name_(info->method()) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      Start(*methods->GetSendInitialMetadata());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS) && span_) {
      RecordStatus(*span_, *methods->GetRecvStatus());
      span_->End();
    }
    methods->Proceed();
  }

 private:
  void Start(std::multimap<std::string, std::string>& metadata) {
    if (span_) return;
    trace::SpanContext parent = trace::CurrentContext();
    if (!parent.IsValid()) {
      // A caller that forwards a traceparent by hand (no span current) still gets one trace.
      auto given = metadata.find(kTraceparent);
      if (given != metadata.end()) {
        auto state = metadata.find(kTracestate);
        parent = trace::ParseTraceparent(given->second, state != metadata.end()
                                                            ? std::string_view(state->second)
                                                            : std::string_view())
                     .value_or(trace::SpanContext{});
      }
    }
    // Detached: the call may complete on a completion-queue thread.
    span_.emplace(name_.span, trace::SpanKind::kClient, parent, trace::Span::Activation::kDetached);
    SetRpcAttributes(*span_, name_);
    metadata.erase(kTraceparent);
    metadata.erase(kTracestate);
    const trace::SpanContext& context = span_->context();
    metadata.emplace(kTraceparent, trace::FormatTraceparent(context));
    if (!context.tracestate.empty()) metadata.emplace(kTracestate, context.tracestate);
  }

  const MethodName name_;
  std::optional<trace::Span> span_;
};

class ClientInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    return new ClientInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeServerInterceptorFactory(metrics::GrpcServerMetrics* metrics) {
  return std::make_unique<ServerInterceptorFactory>(metrics);
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeClientInterceptorFactory() {
  return std::make_unique<ClientInterceptorFactory>();
}

}  // namespace flightdeck::rpc
