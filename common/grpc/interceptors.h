#pragma once

#include <memory>

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

namespace flightdeck::metrics {
struct GrpcServerMetrics;
}

namespace flightdeck::rpc {

// Server side: for every call, a SERVER span named after the method ("flightdeck.v1.
// ReleaseService/GetRelease", rpc.system=grpc, rpc.service, rpc.method, rpc.grpc.status_code),
// child of the `traceparent`/`tracestate` metadata when valid, made current on the handler's
// thread (sync API) so that handler code, SQL and Redis spans and log lines join it; RED metrics
// recorded into `metrics` when given. Streaming calls get one span for the whole stream.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeServerInterceptorFactory(metrics::GrpcServerMetrics* metrics);

// Client side: a CLIENT span per call, child of the calling thread's current span (at the
// moment the call starts), and the `traceparent` (+ `tracestate`) metadata injected from it.
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeClientInterceptorFactory();

}  // namespace flightdeck::rpc
