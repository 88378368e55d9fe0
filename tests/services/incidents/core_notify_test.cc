// Notifications reach a real HTTP receiver on loopback, signed, retried with backoff when it
// answers 500, every attempt recorded; a receiver that is down never blocks intake.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "services/incidents/notifier.h"
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

// A webhook receiver: answers each request with the next scripted status (then 200) and keeps
// what it received.
class Receiver {
 public:
  struct Request {
    std::string signature;
    std::string delivery_id;  // X-Flightdeck-Delivery
    std::string body;
  };

  explicit Receiver(std::deque<int> statuses) : statuses_(std::move(statuses)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stopping_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string data;
      char buf[4096];
      size_t header_end = std::string::npos;
      size_t length = 0;
      while (true) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
          std::string headers = data.substr(0, header_end);
          for (auto& ch : headers) ch = static_cast<char>(tolower(ch));
          size_t cl = headers.find("content-length:");
          if (cl != std::string::npos) length = std::stoul(headers.substr(cl + 15));
        }
        if (header_end != std::string::npos && data.size() >= header_end + 4 + length) break;
      }
      Request r;
      if (header_end != std::string::npos) {
        r.body = data.substr(header_end + 4, length);
        std::string headers = data.substr(0, header_end);
        std::string lower = headers;
        for (auto& ch : lower) ch = static_cast<char>(tolower(ch));
        auto header = [&](const std::string& name) {  // lower-case name, colon included
          size_t at = lower.find(name);
          if (at == std::string::npos) return std::string();
          size_t start = headers.find_first_not_of(' ', at + name.size());
          return headers.substr(start, headers.find("\r\n", start) - start);
        };
        r.signature = header("x-flightdeck-signature:");
        r.delivery_id = header("x-flightdeck-delivery:");
      }
      int status = 200;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(r);
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
      }
      std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!write(c, answer.data(), answer.size());
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::deque<int> statuses_;
  std::vector<Request> requests_;
  std::thread thread_;
};

v1::EscalationPolicy OnOpen(const std::string& url, const std::string& secret) {
  v1::EscalationPolicy p;
  p.set_name("checkout");
  auto* t = p.add_on_open();
  t->set_name("ops-channel");
  t->set_url(url);
  t->set_secret(secret);
  return p;
}

TEST_F(CoreTest, OpeningIsDeliveredSignedAndRetriedUntilTheReceiverAccepts) {
  Receiver receiver({500, 500});
  PutPolicy(OnOpen(receiver.url(), "s3cret"));
  lifecycle_.SetDeliveryRetry({5, 1000ms, 60000ms});
  std::string id = Alert("ServiceDown", Severity::kSev2, "checkout", "production", "checkout");
  RunDue();
  ASSERT_EQ(receiver.requests().size(), 1u);
  Advance(1s);  // first backoff
  ASSERT_EQ(receiver.requests().size(), 2u);
  Advance(1s);
  EXPECT_EQ(receiver.requests().size(), 2u);  // second backoff is 2s
  Advance(1s);
  ASSERT_EQ(receiver.requests().size(), 3u);

  for (const auto& r : receiver.requests()) {
    EXPECT_TRUE(VerifySignature("s3cret", r.body, r.signature)) << r.signature;
    EXPECT_FALSE(VerifySignature("other", r.body, r.signature));
    nlohmann::json body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["event"], "opened");
    EXPECT_NE(r.body.find(id), std::string::npos);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM incidents.notification_attempts"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM incidents.notification_attempts WHERE http_status = 500 AND NOT ok"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM incidents.notifications WHERE state = 'delivered' AND attempts = 3"), 1);
  ASSERT_EQ(Events(id, "NOTIFIED").size(), 1u);
  EXPECT_TRUE(Events(id, "NOTIFY_FAILED").empty());
  // The three attempts named the notification the same way; the timeline names it too.
  pqxx::connection c(db_.url());
  pqxx::work w(c);
  const std::string delivery_id = w.exec1("SELECT delivery_id::text FROM incidents.notifications")[0].as<std::string>();
  for (const auto& r : receiver.requests()) EXPECT_EQ(r.delivery_id, delivery_id);
  const nlohmann::json detail = nlohmann::json::parse(Events(id, "NOTIFIED")[0].detail());
  EXPECT_EQ(detail.value("delivery_id", ""), delivery_id) << detail.dump();
}

TEST_F(CoreTest, UrlAndSecretAreSealedAtRestAndDeliveryStillSignsWithTheSecret) {
  Receiver receiver({});
  PutPolicy(OnOpen(receiver.url(), "hmac-k3y-9"));
  std::string id = Alert("ServiceDown", Severity::kSev2, "checkout", "production", "checkout");
  RunDue();
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_TRUE(VerifySignature("hmac-k3y-9", receiver.requests()[0].body, receiver.requests()[0].signature));

  // Neither the policy nor the notification's own copy of the url holds them in plain text.
  const std::string port = ":" + receiver.url().substr(receiver.url().rfind(':') + 1);
  pqxx::connection c(db_.url());
  pqxx::work w(c);
  const std::string policy = w.exec1("SELECT policy::text FROM incidents.escalation_policies")[0].as<std::string>();
  EXPECT_EQ(policy.find("hmac-k3y-9"), std::string::npos) << policy;
  EXPECT_EQ(policy.find(port), std::string::npos) << policy;
  const std::string copy = w.exec1("SELECT url FROM incidents.notifications")[0].as<std::string>();
  EXPECT_EQ(copy.find(port), std::string::npos) << copy;
  EXPECT_EQ(copy.rfind("fdsealed:core:", 0), 0u) << copy;
  EXPECT_EQ(Events(id, "NOTIFIED").size(), 1u);
}

TEST_F(CoreTest, ReceiverThatIsDownNeverBlocksIntakeAndFinallyFails) {
  PutPolicy(OnOpen("http://127.0.0.1:9/hook", ""));
  lifecycle_.SetDeliveryRetry({2, 1000ms, 1000ms});
  std::string id = Alert("ServiceDown", Severity::kSev2, "checkout", "production", "checkout");
  EXPECT_EQ(Get(id).state(), v1::Incident::TRIGGERED);  // opened before any delivery ran
  RunDue();
  EXPECT_TRUE(Events(id, "NOTIFY_FAILED").empty());
  Advance(1s);
  ASSERT_EQ(Events(id, "NOTIFY_FAILED").size(), 1u);
  EXPECT_NE(Events(id, "NOTIFY_FAILED")[0].message().find("ops-channel"), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM incidents.notification_attempts WHERE NOT ok AND error <> ''"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM incidents.notifications WHERE state = 'failed'"), 1);
}

TEST_F(CoreTest, EscalationLevelTargetsAreNotifiedAtTheDeadline) {
  Receiver primary({});
  v1::EscalationPolicy p;
  p.set_name("payments");
  auto* t = p.add_levels()->add_targets();
  t->set_name("oncall-primary");
  t->set_url(primary.url());
  t->set_secret("k");
  PutPolicy(p);
  std::string id = Alert("ServiceDown", Severity::kSev1, "checkout", "production", "payments");
  Advance(4min);
  EXPECT_TRUE(primary.requests().empty());  // on_open is empty: nobody paged yet
  Advance(1min);
  ASSERT_EQ(primary.requests().size(), 1u);
  nlohmann::json body = nlohmann::json::parse(primary.requests()[0].body);
  EXPECT_EQ(body["event"], "escalated");
  EXPECT_TRUE(VerifySignature("k", primary.requests()[0].body, primary.requests()[0].signature));
}

}  // namespace
}  // namespace flightdeck::incidents
