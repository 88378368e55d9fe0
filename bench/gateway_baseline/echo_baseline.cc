// The path the gateway is built from, with nothing of Flightdeck's in it: an HTTP server whose
// handler makes one asynchronous gRPC call (grpc.health.v1 Check against an in-process gRPC
// server: an echo) and answers a small JSON body. bench/gateway measures the gateway's cached
// GET /v1/releases/{id} beside it, in one run, as a ratio.
//
//   bench_gateway_baseline pistache|flightdeck PORT [HTTP_THREADS]
// "pistache": Pistache 0.0.5 (the baseline the performance goals are written against);
// "flightdeck": common/http's server, to separate the HTTP layer's share from the rest.
#include <absl/synchronization/mutex.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <pistache/endpoint.h>

#include "common/http/server.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// The echo: answers every Check at once.
class EchoService final : public Health::Service {
  grpc::Status Check(grpc::ServerContext*, const HealthCheckRequest*, HealthCheckResponse* response) override {
    response->set_status(HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};

struct EchoCall {
  grpc::ClientContext context;
  HealthCheckRequest request;
  HealthCheckResponse response;
};

// One asynchronous call; `done` gets the answer's body or an empty string on failure.
template <typename Done>
void Echo(Health::Stub& stub, Done done) {
  auto call = std::make_shared<EchoCall>();
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  stub.async()->Check(&call->context, &call->request, &call->response,
                      [call, done = std::move(done)](grpc::Status status) mutable {
                        done(status.ok() ? std::string("{\"status\":\"SERVING\"}") : std::string());
                      });
}

class PistacheHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(PistacheHandler)
  explicit PistacheHandler(Health::Stub* stub) : stub_(stub) {}
  void onRequest(const Pistache::Http::Request&, Pistache::Http::ResponseWriter response) override {
    auto writer = std::make_shared<Pistache::Http::ResponseWriter>(std::move(response));
    Echo(*stub_, [writer](const std::string& body) {
      writer->setMime(Pistache::Http::Mime::MediaType::fromString("application/json"));
      writer->send(body.empty() ? Pistache::Http::Code::Service_Unavailable : Pistache::Http::Code::Ok, body);
    });
  }

 private:
  Health::Stub* stub_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s pistache|flightdeck PORT [HTTP_THREADS]\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1];
  const int port = std::atoi(argv[2]);
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // As every Flightdeck process does (rpc::DisableAbseilDeadlockDetection): Debian's Abseil
  // leaves absl::Mutex's deadlock detection on, which a release build of it would not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  EchoService echo;
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(&echo);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials());
  std::unique_ptr<Health::Stub> stub = Health::NewStub(channel);

  std::unique_ptr<Pistache::Http::Endpoint> pistache;
  std::unique_ptr<flightdeck::http::Server> ours;
  if (kind == "pistache") {
    pistache = std::make_unique<Pistache::Http::Endpoint>(
        Pistache::Address("127.0.0.1", Pistache::Port(static_cast<uint16_t>(port))));
    pistache->init(Pistache::Http::Endpoint::options().threads(threads).flags(Pistache::Tcp::Options::ReuseAddr));
    pistache->setHandler(std::make_shared<PistacheHandler>(stub.get()));
    pistache->serveThreaded();
  } else {
    flightdeck::http::Server::Options options;
    options.port = port;
    options.threads = threads;
    ours = std::make_unique<flightdeck::http::Server>(
        options, [&stub](flightdeck::http::ServerRequest, std::shared_ptr<flightdeck::http::Exchange> exchange) {
          Echo(*stub, [exchange](const std::string& body) {
            exchange->Respond({body.empty() ? 503 : 200, {{"Content-Type", "application/json"}}, body});
          });
        });
    ours->Start();
  }
  std::printf("echo baseline (%s) on 127.0.0.1:%d\n", kind.c_str(), port);
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  if (pistache) pistache->shutdown();
  if (ours) ours->Stop();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
