#pragma once

// Where a Flightdeck process under test posts outward (a signed JSON webhook, a Slack incoming
// webhook, a chat response_url): a Pistache server on 127.0.0.1 that keeps every POST by path.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Pistache::Http {
class Endpoint;
}

namespace flightdeck::test {

class WebhookReceiver {
 public:
  struct Delivery {
    std::string body;
    std::string signature;    // the X-Flightdeck-Signature header, "" when absent
    std::string delivery_id;  // the X-Flightdeck-Delivery header, "" when absent
  };

  // Requests to paths starting with /flaky are answered 500 `flaky_failures` times per path
  // before they are accepted, so that a test can watch the sender retry.
  explicit WebhookReceiver(int flaky_failures = 0);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::string Url(const std::string& path) const;
  // The requests to `path` answered 200, oldest first.
  std::vector<Delivery> Deliveries(const std::string& path);
  // Every request to `path`, the refused ones included.
  int Requests(const std::string& path);
  // The X-Flightdeck-Delivery header of every request to `path`, the refused ones included.
  std::vector<std::string> RequestDeliveryIds(const std::string& path);
  // The deliveries to `path` once there are at least `count`, or those there are after `timeout`.
  std::vector<Delivery> WaitForDeliveries(const std::string& path, size_t count,
                                          std::chrono::milliseconds timeout);

 private:
  class Handler;
  struct Shared {
    int flaky_failures = 0;
    std::mutex mu;
    std::map<std::string, std::vector<Delivery>> delivered;
    std::map<std::string, std::vector<std::string>> request_ids;  // every request's delivery id
  };
  // Shared with the handler, which Pistache clones for its worker thread.
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
};

}  // namespace flightdeck::test
