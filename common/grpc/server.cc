#include "common/grpc/server.h"

#include <algorithm>
#include <csignal>
#include <stdexcept>

#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include "common/grpc/interceptors.h"
#include "common/grpc/queued_unary.h"
#include "common/grpc/transport.h"
#include "common/metrics/metrics.h"

namespace flightdeck::rpc {

Server::Server(ServerOptions options, metrics::Registry& registry)
    : options_(std::move(options)),
      metrics_(std::make_unique<metrics::GrpcServerMetrics>(registry)) {}

Server::~Server() { Shutdown(); }

void Server::AddService(grpc::Service* service) { services_.push_back(service); }

void Server::ServeOnQueue(std::function<void(grpc::ServerCompletionQueue*)> post) {
  queued_.push_back(std::move(post));
}

void Server::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  // Reflection lets operators use grpcurl without the .proto files; it is also a synchronous
  // service, which a server with no domain service yet (only health) needs to start at all.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second process started on the same port (or handed the
  // same port by a bind to port 0) would then silently take a share of the calls. A port that
  // is taken must be an error at start-up instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // The synchronous server runs each call on a thread of its own pool, which by default keeps
  // at most 2 threads waiting for calls: a thread that finishes a call while 2 others wait
  // exits, and the next call that finds none waiting starts a new one. Under concurrent calls
  // that is a thread created and destroyed per call (a profile of cached GETs through the
  // gateway: 4,500 short-lived threads in 6 s, 43% of the machine's CPU). Threads that finish
  // a call keep waiting for the next one instead, up to idle_call_threads (idle ones beyond it
  // exit after 10 s).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS,
                              std::min(2, options_.idle_call_threads));
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, options_.idle_call_threads);
  std::string address = options_.bind_address + ":" + std::to_string(options_.port);
  builder.AddListeningPort(address, MakeServerCredentials(options_.authorize), &port_);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(MakeServerInterceptorFactory(metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  if (!queued_.empty()) queue_ = builder.AddCompletionQueue();
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    queue_.reset();
    throw std::runtime_error("gRPC server: cannot listen on " + address);
  }
  if (queue_) {
    for (const auto& post : queued_) post(queue_.get());
    for (int i = 0; i < std::max(1, options_.queue_threads); ++i) {
      queue_threads_.emplace_back([queue = queue_.get()] {
        void* tag = nullptr;
        bool ok = false;
        while (queue->Next(&tag, &ok)) static_cast<QueuedCall*>(tag)->Proceed(ok);
      });
    }
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
}

void Server::Shutdown() {
  if (!server_) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
  server_->Wait();
  // Every queued call has been answered or cancelled: what is left on the queue are their last
  // tags and the requests that will take no call now. The threads drain them, then end.
  if (queue_) {
    queue_->Shutdown();
    for (std::thread& t : queue_threads_) t.join();
    queue_threads_.clear();
  }
  server_.reset();
  queue_.reset();
}

namespace {
sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
}

void DisableAbseilDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

}  // namespace flightdeck::rpc
