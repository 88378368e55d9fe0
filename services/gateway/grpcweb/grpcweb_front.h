#pragma once

#include <memory>
#include <string>
#include <vector>

namespace flightdeck::gateway {

class Core;
class HttpCall;

// The gRPC-web front (grpc/grpc PROTOCOL-WEB.md, as Envoy's grpc_web filter speaks it), for
// browsers: `POST /flightdeck.v1.<Service>/<Method>` with application/grpc-web(+proto) or
// application/grpc-web-text(+proto) (base64 both ways). One request frame in; the answer is
// message frames then a trailer frame with grpc-status and grpc-message, or a trailers-only
// answer (status in the HTTP headers) for a call that fails before its first message. Server
// streams (WatchRelease, WatchHealth, WatchIncidents) go out as chunks while they happen.
// The same bearer tokens, roles, audit (the gRPC path), Idempotency-Key, traceparent and body
// limit as REST; grpc-timeout bounds the call. CORS for the allowed origins.
class GrpcWebFront {
 public:
  // `allowed_origins`: origins a browser may call from besides the gateway's own ("*": any).
  GrpcWebFront(Core& core, std::vector<std::string> allowed_origins);

  // gRPC-web requests and their CORS preflights: a path of the form "/package.Service/Method".
  static bool Serves(const std::string& path);
  void Handle(const std::shared_ptr<HttpCall>& call);

 private:
  // CORS response headers for this request's Origin; empty when none or not allowed.
  std::vector<std::pair<std::string, std::string>> CorsHeaders(const HttpCall& call) const;
  void Preflight(const std::shared_ptr<HttpCall>& call);

  Core& core_;
  std::vector<std::string> allowed_origins_;
};

}  // namespace flightdeck::gateway
