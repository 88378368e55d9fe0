#include "tests/e2e/webhook_receiver.h"

#include <pistache/endpoint.h>

#include "tests/support/wait.h"

namespace flightdeck::test {

class WebhookReceiver::Handler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)
  explicit Handler(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  void onRequest(const Pistache::Http::Request& request, Pistache::Http::ResponseWriter response) override {
    const std::string path = request.resource();
    auto signature = request.headers().tryGetRaw("X-Flightdeck-Signature");
    auto delivery_id = request.headers().tryGetRaw("X-Flightdeck-Delivery");
    const std::string id = delivery_id ? delivery_id->value() : "";
    bool fail = false;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      std::vector<std::string>& ids = shared_->request_ids[path];
      ids.push_back(id);
      fail = path.rfind("/flaky", 0) == 0 && static_cast<int>(ids.size()) <= shared_->flaky_failures;
      if (!fail) shared_->delivered[path].push_back({request.body(), signature ? signature->value() : "", id});
    }
    response.send(fail ? Pistache::Http::Code::Internal_Server_Error : Pistache::Http::Code::Ok, fail ? "down" : "ok");
  }

 private:
  std::shared_ptr<Shared> shared_;
};

WebhookReceiver::WebhookReceiver(int flaky_failures) {
  shared_->flaky_failures = flaky_failures;
  endpoint_ = std::make_unique<Pistache::Http::Endpoint>(Pistache::Address("127.0.0.1", Pistache::Port(0)));
  // Slack blocks and release verdicts pass Pistache's default 4 KB request limit.
  endpoint_->init(Pistache::Http::Endpoint::options().threads(1).maxRequestSize(1 << 20));
  endpoint_->setHandler(std::make_shared<Handler>(shared_));
  endpoint_->serveThreaded();
}

WebhookReceiver::~WebhookReceiver() { endpoint_->shutdown(); }

std::string WebhookReceiver::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(static_cast<uint16_t>(endpoint_->getPort())) + path;
}

std::vector<WebhookReceiver::Delivery> WebhookReceiver::Deliveries(const std::string& path) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->delivered[path];
}

int WebhookReceiver::Requests(const std::string& path) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return static_cast<int>(shared_->request_ids[path].size());
}

std::vector<std::string> WebhookReceiver::RequestDeliveryIds(const std::string& path) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->request_ids[path];
}

std::vector<WebhookReceiver::Delivery> WebhookReceiver::WaitForDeliveries(const std::string& path, size_t count,
                                                                          std::chrono::milliseconds timeout) {
  return PollUntil([&] { return Deliveries(path); },
                   [&](const std::vector<Delivery>& got) { return got.size() >= count; }, timeout);
}

}  // namespace flightdeck::test
