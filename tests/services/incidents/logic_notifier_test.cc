#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "services/incidents/notifier.h"

namespace flightdeck::incidents {
namespace {

using Json = nlohmann::json;

struct ReceivedRequest {
  std::string head;  // request line and headers
  std::string body;
  std::string Header(const std::string& name) const {
    const std::string needle = "\r\n" + name + ": ";
    const size_t at = head.find(needle);
    if (at == std::string::npos) return {};
    const size_t begin = at + needle.size();
    return head.substr(begin, head.find("\r\n", begin) - begin);
  }
};

// A minimal HTTP/1.1 receiver on 127.0.0.1:<ephemeral>: records each request and answers
// with `status`, or never answers when `hang` is set (for the timeout test).
class WebhookReceiver {
 public:
  explicit WebhookReceiver(int status, bool hang = false) : status_(status), hang_(hang) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<ReceivedRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) continue;
      Handle(conn);
      close(conn);
    }
  }

  void Handle(int conn) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t need = 0;
    while (true) {
      pollfd p{conn, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) return;
      const ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end == std::string::npos) continue;
        ReceivedRequest probe{data.substr(0, header_end + 2), {}};
        const std::string cl = probe.Header("Content-Length");
        need = header_end + 4 + (cl.empty() ? 0 : std::stoul(cl));
      }
      if (data.size() >= need) break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back({data.substr(0, header_end + 2), data.substr(header_end + 4)});
    }
    if (hang_) {
      while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return;
    }
    const std::string reply = "HTTP/1.1 " + std::to_string(status_) +
                              " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    (void)!write(conn, reply.data(), reply.size());
  }

  int status_;
  bool hang_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

// One attempt as the incidents service makes it (notifications.cc), without a delivery id.
DeliveryResult Deliver(const std::string& url, const std::string& body, const std::string& secret,
                       long long unix_seconds, std::chrono::milliseconds timeout,
                       const net::EgressPolicy* egress = nullptr) {
  notify::DeliveryRequest request;
  request.url = url;
  request.body = body;
  request.secret = secret;
  request.unix_seconds = unix_seconds;
  request.timeout = timeout;
  request.user_agent = "flightdeck-incidents";
  request.egress = egress;
  return notify::Deliver(request);
}

NotificationEvent Event() {
  NotificationEvent e;
  e.kind = "escalated";
  e.message = "not acknowledged within 5 min; paging level 1";
  e.incident.set_id("inc-42");
  e.incident.set_title("api <down> & out");
  e.incident.set_severity(v1::Incident::SEV1);
  e.incident.set_service("api");
  e.incident.set_environment("production");
  e.incident.set_state(v1::Incident::TRIGGERED);
  e.incident.add_timeline()->set_kind("OPENED");
  e.escalation_level = 1;
  return e;
}

TEST(NotifierBodyTest, GenericBodyCarriesIncidentAsCanonicalJson) {
  const Json body = Json::parse(GenericBody(Event()));
  EXPECT_EQ(body["event"], "escalated");
  EXPECT_EQ(body["message"], "not acknowledged within 5 min; paging level 1");
  EXPECT_EQ(body["level"], 1);
  EXPECT_EQ(body["incident"]["id"], "inc-42");
  EXPECT_EQ(body["incident"]["severity"], "SEV1");
  EXPECT_EQ(body["incident"]["state"], "TRIGGERED");
  EXPECT_FALSE(body["incident"].contains("timeline")) << "bodies carry summary fields only";

  NotificationEvent opened = Event();
  opened.escalation_level = -1;
  EXPECT_FALSE(Json::parse(GenericBody(opened)).contains("level"));
}

TEST(NotifierBodyTest, SlackBodyIsAnIncomingWebhookMessage) {
  const Json body = Json::parse(SlackBody(Event()));
  const std::string text = body["text"];
  EXPECT_NE(text.find("[SEV1]"), std::string::npos);
  EXPECT_NE(text.find("api &lt;down&gt; &amp; out"), std::string::npos) << text;
  EXPECT_NE(text.find("api/production"), std::string::npos);
  ASSERT_TRUE(body["blocks"].is_array());
  EXPECT_EQ(body["blocks"][0]["type"], "section");
  EXPECT_EQ(body["blocks"][0]["text"]["type"], "mrkdwn");
  // A triggered incident offers Acknowledge and Resolve, with the ids the chat front acts on.
  const Json actions = body["blocks"].back();
  ASSERT_EQ(actions["type"], "actions");
  ASSERT_EQ(actions["elements"].size(), 2u);
  EXPECT_EQ(actions["elements"][0]["action_id"], "ack");
  EXPECT_EQ(actions["elements"][0]["value"], "inc-42");
  EXPECT_EQ(actions["elements"][1]["action_id"], "resolve");
  NotificationEvent acknowledged = Event();
  acknowledged.incident.set_state(v1::Incident::ACKNOWLEDGED);
  const Json ack_body = Json::parse(SlackBody(acknowledged));
  ASSERT_EQ(ack_body["blocks"].back()["elements"].size(), 1u);
  EXPECT_EQ(ack_body["blocks"].back()["elements"][0]["action_id"], "resolve");
  NotificationEvent resolved = Event();
  resolved.incident.set_state(v1::Incident::RESOLVED);
  EXPECT_NE(Json::parse(SlackBody(resolved))["blocks"].back()["type"], "actions") << "nothing left to press";

  v1::NotificationTarget target;
  target.set_format("slack");
  EXPECT_TRUE(Json::parse(BodyFor(target, Event())).contains("blocks"));
  target.set_format("json");
  EXPECT_TRUE(Json::parse(BodyFor(target, Event())).contains("incident"));
  target.clear_format();
  EXPECT_TRUE(Json::parse(BodyFor(target, Event())).contains("incident"));
}

TEST(SignatureTest, KnownValue) {
  // python3: hmac.new(b'whsec_test', b'1700000000.{"event":"opened"}', hashlib.sha256).hexdigest()
  EXPECT_EQ(SignatureHeader("whsec_test", R"({"event":"opened"})", 1700000000),
            "t=1700000000,v1=8ef2fec079686082bc17441b4f4e66f0fc80c79b51fbdce9b394455e63c5012f");
}

TEST(SignatureTest, VerifyRefusesTampering) {
  const std::string body = R"({"event":"opened"})";
  const std::string header = SignatureHeader("s3cret", body, 1700000000);
  EXPECT_TRUE(VerifySignature("s3cret", body, header));
  EXPECT_FALSE(VerifySignature("s3cret", body + " ", header));
  EXPECT_FALSE(VerifySignature("other", body, header));
  std::string replayed = header;
  replayed.replace(2, 10, "1700000001");
  EXPECT_FALSE(VerifySignature("s3cret", body, replayed));
  EXPECT_FALSE(VerifySignature("s3cret", body, ""));
  EXPECT_FALSE(VerifySignature("s3cret", body, header.substr(0, header.find(','))));
  // A receiver may see several v1 entries during secret rotation: one valid suffices.
  const std::string rotated =
      "t=1700000000,v1=" + std::string(64, '0') + "," + header.substr(header.find("v1="));
  EXPECT_TRUE(VerifySignature("s3cret", body, rotated));
}

TEST(DeliverTest, PostsSignedJson) {
  WebhookReceiver receiver(200);
  const std::string body = GenericBody(Event());
  DeliveryResult r = Deliver(receiver.url(), body, "s3cret", 1700000000, std::chrono::seconds(5));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.error.empty());
  EXPECT_GT(r.latency_ms, 0);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head.rfind("POST /hook HTTP/1.1", 0), 0u) << requests[0].head;
  EXPECT_EQ(requests[0].body, body);
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  const std::string sig = requests[0].Header("X-Flightdeck-Signature");
  EXPECT_EQ(sig.rfind("t=1700000000,v1=", 0), 0u);
  EXPECT_TRUE(VerifySignature("s3cret", requests[0].body, sig));
}

// Every attempt of one notification names it the same way, so that a receiver can drop a
// re-delivery (delivery is at least once); an attempt without an id sends no header.
TEST(DeliverTest, CarriesTheDeliveryIdOnEveryAttempt) {
  WebhookReceiver receiver(500);
  notify::DeliveryRequest request;
  request.url = receiver.url();
  request.body = "{}";
  request.delivery_id = "6f1c2d3e-0000-4000-8000-00000000002a";
  request.timeout = std::chrono::seconds(5);
  EXPECT_FALSE(notify::Deliver(request).ok);
  EXPECT_FALSE(notify::Deliver(request).ok);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].Header("X-Flightdeck-Delivery"), request.delivery_id);
  EXPECT_EQ(requests[1].Header("X-Flightdeck-Delivery"), request.delivery_id);
  EXPECT_EQ(Deliver(receiver.url(), "{}", "", 1700000000, std::chrono::seconds(5)).http_status, 500);
  EXPECT_EQ(receiver.requests().back().Header("X-Flightdeck-Delivery"), "");
}

TEST(DeliverTest, NoSecretNoSignature) {
  WebhookReceiver receiver(204);
  DeliveryResult r = Deliver(receiver.url(), "{}", "", 1700000000, std::chrono::seconds(5));
  EXPECT_TRUE(r.ok) << r.error;
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("X-Flightdeck-Signature"), "");
}

TEST(DeliverTest, ServerErrorIsReported) {
  WebhookReceiver receiver(500);
  DeliveryResult r = Deliver(receiver.url(), "{}", "s3cret", 1700000000, std::chrono::seconds(5));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.error, "status 500");
}

TEST(DeliverTest, ClosedPortIsRefused) {
  int port;
  {
    WebhookReceiver gone(200);
    port = std::stoi(gone.url().substr(17));
  }
  DeliveryResult r = Deliver("http://127.0.0.1:" + std::to_string(port) + "/hook", "{}", "s3cret",
                             1700000000, std::chrono::seconds(5));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.error, "connection refused");
  EXPECT_EQ(r.error.find("s3cret"), std::string::npos);
}

TEST(DeliverTest, SlowReceiverTimesOut) {
  WebhookReceiver receiver(200, /*hang=*/true);
  const auto started = std::chrono::steady_clock::now();
  DeliveryResult r =
      Deliver(receiver.url(), "{}", "", 1700000000, std::chrono::milliseconds(300));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "timeout after 300 ms");
}

// The egress policy: a webhook whose address is refused is never reached, and the delivery
// fails with the reason (naming the address and the rule, never the URL: it is a credential).
TEST(DeliverTest, ARefusedAddressFailsTheDeliveryWithTheReason) {
  WebhookReceiver receiver(200);
  const int port = std::stoi(receiver.url().substr(17));
  net::EgressPolicy policy = net::EgressPolicy::FromEnv(
      config::Env::FromMap({{"FLIGHTDECK_EGRESS_DENY", "127.0.0.0/8"}}), {});
  DeliveryResult r = Deliver("http://localhost:" + std::to_string(port) + "/hook?token=s3cret", "{}", "",
                             1700000000, std::chrono::seconds(5), &policy);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_NE(r.error.find("egress policy refuses"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("s3cret"), std::string::npos) << r.error;
  EXPECT_TRUE(receiver.requests().empty());
  EXPECT_NE(WebhookRefusal(&policy, "http://127.0.0.1:" + std::to_string(port) + "/hook")
                .find("127.0.0.0/8 is denied (FLIGHTDECK_EGRESS_DENY)"),
            std::string::npos);
  EXPECT_NE(WebhookRefusal(&policy, "http://169.254.169.254/latest").find("cloud metadata"),
            std::string::npos);
  EXPECT_EQ(WebhookRefusal(&policy, "http://10.0.0.1/hook"), "");
  EXPECT_EQ(WebhookRefusal(nullptr, "http://127.0.0.1/hook"), "");
  // An allowed address is delivered to as before.
  net::EgressPolicy open;
  EXPECT_TRUE(Deliver(receiver.url(), "{}", "", 1700000000, std::chrono::seconds(5), &open).ok);
}

TEST(DeliverTest, OnlyHttpSchemes) {
  DeliveryResult r = Deliver("file:///etc/passwd", "{}", "", 1700000000, std::chrono::seconds(1));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
}

}  // namespace
}  // namespace flightdeck::incidents
