#pragma once

#include <chrono>
#include <string>

#include "common/net/egress.h"

// One HTTP delivery attempt of a notification. Retrying, and recording each attempt, is the
// calling service's durable job (a row per delivery in its own schema, a job per row).
//
// Delivery is at least once: a service that dies after a receiver accepted a POST and before it
// recorded that, sends it again after its restart. No sender can do better over HTTP; what it can
// do is let the receiver tell: every attempt of one notification carries the same id, and a
// receiver that must act once drops an id it has already seen (GitHub's X-GitHub-Delivery).
namespace flightdeck::notify {

inline constexpr char kDeliveryHeader[] = "X-Flightdeck-Delivery";

struct DeliveryResult {
  bool ok = false;         // 2xx
  int http_status = 0;     // 0 when no answer
  std::string error;       // "connection refused", "timeout after 10000 ms", "status 500"
  double latency_ms = 0;
};

struct DeliveryRequest {
  std::string url;
  std::string body;                  // application/json
  std::string delivery_id;           // X-Flightdeck-Delivery: the same on every attempt of one notification
  std::string secret;                // non-empty: signed (signature.h) at unix_seconds
  long long unix_seconds = 0;
  std::chrono::milliseconds timeout{10000};
  std::string user_agent = "flightdeck";
  const net::EgressPolicy* egress = nullptr;  // null: no check
};

// POSTs the body, following no redirect. Never throws; never logs, and no error text carries the
// URL or the secret (a Slack webhook URL is itself a credential). The address connected to is
// checked against the egress policy; a refused one fails the attempt with the policy's reason.
DeliveryResult Deliver(const DeliveryRequest& request);

// For configuration: "" when the egress policy lets a notification reach `url`, else why not
// (the host and address, never the URL).
std::string UrlRefusal(const net::EgressPolicy* egress, const std::string& url);

}  // namespace flightdeck::notify
