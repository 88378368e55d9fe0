#include "services/health/probe/grpc_probe.h"

#include <grpcpp/security/credentials.h>

#include "common/grpc/transport.h"
#include "services/health/probe/active_probe.h"
#include "services/health/probe/resolver.h"

namespace flightdeck::health::internal {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

struct GrpcProbes::Call {
  grpc::ClientContext context;
  HealthCheckResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<HealthCheckResponse>> reader;
  Prober::Callback done;
  std::chrono::milliseconds timeout;
  std::chrono::steady_clock::time_point start;
  std::chrono::system_clock::time_point started;
  std::string refusal;  // set: refused by the egress policy, delivered through `alarm`
  grpc::Alarm alarm;
};

GrpcProbes::GrpcProbes(std::function<void()> finished, const net::EgressPolicy* egress)
    : finished_(std::move(finished)), egress_(egress) {}

std::string GrpcProbes::CheckedTarget(const std::string& address, std::string* refusal) const {
  if (egress_ == nullptr) return address;
  std::string host;
  int port = 0;
  if (!SplitHostPort(address, &host, &port)) {
    *refusal = "address must be host:port";
    return "";
  }
  net::CheckedResolution r = net::ResolveChecked(*egress_, host, port);
  if (!r.error.empty()) {
    *refusal = r.error;
    return "";
  }
  const net::IpAddress& ip = r.addresses.front().ip;
  return ip.v6 ? "ipv6:[" + ip.ToString() + "]:" + std::to_string(port)
               : "ipv4:" + ip.ToString() + ":" + std::to_string(port);
}

GrpcProbes::~GrpcProbes() { Stop(); }

void GrpcProbes::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void GrpcProbes::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (Call* call : in_flight_) call->context.TryCancel();
  }
  // Every started call still delivers its tag (as CANCELLED); Next() returns false after the
  // last one.
  cq_.Shutdown();
  // Never started: the thread still has to hand the cancelled calls their outcome.
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  thread_.join();
}

grpc::health::v1::Health::Stub* GrpcProbes::StubFor(const std::string& target, const ProbeSpec& spec) {
  const std::string& authority = spec.address;
  const std::string key = target + " " + authority + " " + spec.grpc_tls + " " + spec.grpc_tls_server_name;
  auto it = stubs_.find(key);
  if (it != stubs_.end()) return it->second.get();
  grpc::ChannelArguments args;
  // A target that comes back must be seen by its next probe, not after gRPC's reconnect
  // backoff (up to two minutes by default) has run out.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (target != authority) args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, authority);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (spec.grpc_tls == "TLS" || spec.grpc_tls == "FLIGHTDECK") {
    // The certificate is checked against the name the user gave, not the checked address the
    // channel dials.
    std::string host;
    int port = 0;
    SplitHostPort(authority, &host, &port);
    args.SetSslTargetNameOverride(spec.grpc_tls_server_name.empty() ? host : spec.grpc_tls_server_name);
    credentials = spec.grpc_tls == "TLS" ? grpc::SslCredentials(grpc::SslCredentialsOptions())
                                         : rpc::MakeChannelCredentials();
  }
  auto channel = grpc::CreateCustomChannel(target, credentials, args);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  auto* raw = stub.get();
  stubs_.emplace(key, std::move(stub));
  return raw;
}

bool GrpcProbes::Submit(const ProbeSpec& spec, Prober::Callback& done) {
  std::string refusal;
  const std::string target = CheckedTarget(spec.address, &refusal);  // outside the lock: DNS
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  auto* call = new Call;
  call->done = std::move(done);
  call->timeout = spec.timeout;
  call->start = std::chrono::steady_clock::now();
  call->started = std::chrono::system_clock::now();
  call->context.set_deadline(call->started + spec.timeout);
  HealthCheckRequest request;
  request.set_service(spec.grpc_service);
  in_flight_.insert(call);
  if (target.empty()) {
    // Completed on the completion-queue thread like every other call.
    call->refusal = refusal.empty() ? "refused" : refusal;
    call->alarm.Set(&cq_, std::chrono::system_clock::now(), call);
    return true;
  }
  call->reader = StubFor(target, spec)->PrepareAsyncCheck(&call->context, request, &cq_);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
  return true;
}

void GrpcProbes::Run() {
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_.erase(call.get());
      stopping = stopping_;
    }
    ProbeOutcome outcome;
    outcome.started = call->started;
    outcome.latency_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - call->start)
                             .count();
    if (!call->refusal.empty()) {
      outcome.error = call->refusal;
    } else if (stopping && call->status.error_code() == grpc::StatusCode::CANCELLED) {
      outcome.error = "prober stopped";
    } else {
      outcome.error = GrpcError(call->status, call->response.status(), call->timeout);
      if (call->status.ok()) {
        outcome.detail = HealthCheckResponse::ServingStatus_Name(call->response.status());
      }
    }
    if (outcome.error.rfind("timeout", 0) == 0) {
      outcome.latency_ms = static_cast<double>(call->timeout.count());
    }
    outcome.ok = outcome.error.empty();
    finished_();  // before the callback, as in the engine
    try {
      call->done(outcome);
    } catch (...) {
      // A callback's exception must not take the completion thread down.
    }
  }
}

std::string GrpcError(const grpc::Status& status, int serving_status,
                      std::chrono::milliseconds timeout) {
  if (status.ok()) {
    if (serving_status == HealthCheckResponse::SERVING) return "";
    if (HealthCheckResponse::ServingStatus_IsValid(serving_status)) {
      return HealthCheckResponse::ServingStatus_Name(
          static_cast<HealthCheckResponse::ServingStatus>(serving_status));
    }
    return "serving status " + std::to_string(serving_status);
  }
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return TimeoutText(timeout);
    case grpc::StatusCode::UNAVAILABLE:
      if (message.find("Connection refused") != std::string::npos) return "connection refused";
      return "UNAVAILABLE: " + FirstLine(message, 120);
    case grpc::StatusCode::NOT_FOUND:
      return "service unknown to the health server";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "no grpc.health.v1 service";
    default:
      break;
  }
  return "gRPC status " + std::to_string(status.error_code()) + ": " + FirstLine(message, 120);
}

}  // namespace flightdeck::health::internal
