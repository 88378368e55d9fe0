#include "common/http/admin_server.h"

#include <stdexcept>

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include "common/http/router.h"
#include "common/metrics/metrics.h"

namespace flightdeck::http {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Mime::MediaType;

using AdminRouter = Router<std::function<void(Pistache::Http::ResponseWriter&)>>;

struct Shared {
  metrics::Registry* registry;
  std::function<Readiness()> readiness;
  AdminRouter router;
};

class AdminHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(AdminHandler)

  explicit AdminHandler(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override {
    auto match = shared_->router.Find(Pistache::Http::methodString(request.method()),
                                      request.resource());
    try {
      switch (match.outcome) {
        case AdminRouter::Outcome::kFound:
          (*match.handler)(response);
          return;
        case AdminRouter::Outcome::kMethodNotAllowed:
          response.send(Code::Method_Not_Allowed, "method not allowed\n");
          return;
        case AdminRouter::Outcome::kNotFound:
          response.send(Code::Not_Found, "not found: try /healthz, /readyz or /metrics\n");
          return;
      }
    } catch (const std::exception& e) {
      response.send(Code::Internal_Server_Error, std::string("error: ") + e.what() + "\n");
    }
  }

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace

struct AdminServer::Impl {
  std::string address;
  int port;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::unique_ptr<Pistache::Http::Endpoint> endpoint;
};

AdminServer::AdminServer(std::string address, int port, metrics::Registry& registry,
                         std::function<Readiness()> readiness)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->port = port;
  impl_->shared->registry = &registry;
  impl_->shared->readiness = std::move(readiness);
  Shared* shared = impl_->shared.get();
  shared->router.Add("GET", "/healthz", [](Pistache::Http::ResponseWriter& w) {
    w.send(Code::Ok, "ok\n", MediaType::fromString("text/plain"));
  });
  shared->router.Add("GET", "/readyz", [shared](Pistache::Http::ResponseWriter& w) {
    Readiness r = shared->readiness ? shared->readiness() : Readiness{true, "ok"};
    w.send(r.ok ? Code::Ok : Code::Service_Unavailable, r.detail + "\n",
           MediaType::fromString("text/plain"));
  });
  shared->router.Add("GET", "/metrics", [shared](Pistache::Http::ResponseWriter& w) {
    w.send(Code::Ok, shared->registry->Expose(),
           MediaType::fromString("text/plain; version=0.0.4; charset=utf-8"));
  });
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Start() {
  try {
    Pistache::Address addr(impl_->address, Pistache::Port(static_cast<uint16_t>(impl_->port)));
    impl_->endpoint = std::make_unique<Pistache::Http::Endpoint>(addr);
    impl_->endpoint->init(Pistache::Http::Endpoint::options().threads(1).flags(
        Pistache::Tcp::Options::ReuseAddr));
    impl_->endpoint->setHandler(std::make_shared<AdminHandler>(impl_->shared));
    impl_->endpoint->serveThreaded();
  } catch (const std::exception& e) {
    impl_->endpoint.reset();
    throw std::runtime_error("admin server: cannot listen on " + impl_->address + ":" +
                             std::to_string(impl_->port) + ": " + e.what());
  }
}

void AdminServer::Stop() {
  if (impl_->endpoint) {
    impl_->endpoint->shutdown();
    impl_->endpoint.reset();
  }
}

int AdminServer::port() const {
  return impl_->endpoint ? static_cast<int>(static_cast<uint16_t>(impl_->endpoint->getPort()))
                         : impl_->port;
}

}  // namespace flightdeck::http
