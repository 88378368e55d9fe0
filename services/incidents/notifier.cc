#include "services/incidents/notifier.h"

#include <cstdio>
#include <mutex>
#include <vector>

#include <curl/curl.h>

#include "common/net/curl_egress.h"
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace flightdeck::incidents {
namespace {

using Json = nlohmann::json;

std::string SeverityText(const v1::Incident& incident) {
  return incident.severity() == v1::Incident::SEVERITY_UNSPECIFIED
             ? "SEV?"
             : v1::Incident::Severity_Name(incident.severity());
}

std::string Where(const v1::Incident& incident) {
  std::string where = incident.service();
  if (!incident.environment().empty()) where += (where.empty() ? "" : "/") + incident.environment();
  return where;
}

// Slack mrkdwn treats &, < and > as control characters.
std::string SlackEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string HmacHex(const std::string& secret, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr) {
    return {};
  }
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", mac[i]);
    hex += buf;
  }
  return hex;
}

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string GenericBody(const NotificationEvent& e) {
  v1::Incident summary = e.incident;
  summary.clear_timeline();
  summary.clear_alerts();
  summary.clear_updates();
  std::string incident_json;
  Json incident = Json::object();
  if (google::protobuf::util::MessageToJsonString(summary, &incident_json).ok()) {
    incident = Json::parse(incident_json, nullptr, /*allow_exceptions=*/false);
    if (incident.is_discarded()) incident = Json::object();
  }
  Json body = {{"event", e.kind}, {"message", e.message}, {"incident", std::move(incident)}};
  if (e.escalation_level >= 0) body["level"] = e.escalation_level;
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string SlackBody(const NotificationEvent& e) {
  const v1::Incident& inc = e.incident;
  const std::string head = "[" + SeverityText(inc) + "] " + inc.title();
  const std::string where = Where(inc);
  std::string text = head + (where.empty() ? "" : " (" + where + ")") + ": " + e.message;
  std::string details = "*State:* " + v1::Incident::State_Name(inc.state());
  if (!where.empty()) details += "  *Service:* " + SlackEscape(where);
  if (e.escalation_level >= 0) details += "  *Escalation level:* " + std::to_string(e.escalation_level);
  if (!inc.id().empty()) details += "  *Incident:* " + SlackEscape(inc.id());
  Json blocks = Json::array({
      {{"type", "section"},
       {"text", {{"type", "mrkdwn"}, {"text", "*" + SlackEscape(head) + "*\n" + SlackEscape(e.message)}}}},
      {{"type", "context"}, {"elements", Json::array({{{"type", "mrkdwn"}, {"text", details}}})}},
  });
  // Acknowledge / Resolve from the message itself: when the webhook belongs to a Slack app whose
  // interactivity points at the gateway, a press arrives at /v1/chatops/slack/interactions with
  // these action ids ("ack", "resolve") and runs as the presser's linked principal.
  Json buttons = Json::array();
  auto button = [&](const char* label, const char* action, const char* style) {
    Json b = {{"type", "button"}, {"text", {{"type", "plain_text"}, {"text", label}}}, {"action_id", action},
              {"value", inc.id()}};
    if (*style) b["style"] = style;
    buttons.push_back(std::move(b));
  };
  if (!inc.id().empty() && inc.state() == v1::Incident::TRIGGERED) button("Acknowledge", "ack", "primary");
  if (!inc.id().empty() && (inc.state() == v1::Incident::TRIGGERED || inc.state() == v1::Incident::ACKNOWLEDGED)) {
    button("Resolve", "resolve", "");
  }
  if (!buttons.empty()) {
    blocks.push_back({{"type", "actions"}, {"block_id", "flightdeck_actions"}, {"elements", buttons}});
  }
  Json body = {{"text", SlackEscape(text)}, {"blocks", blocks}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string BodyFor(const v1::NotificationTarget& target, const NotificationEvent& e) {
  return target.format() == "slack" ? SlackBody(e) : GenericBody(e);
}

std::string SignatureHeader(const std::string& secret, const std::string& body, long long unix_seconds) {
  const std::string t = std::to_string(unix_seconds);
  return "t=" + t + ",v1=" + HmacHex(secret, t + "." + body);
}

bool VerifySignature(const std::string& secret, const std::string& body, const std::string& header) {
  std::string t;
  std::vector<std::string> signatures;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string::npos) comma = header.size();
    const std::string part = header.substr(pos, comma - pos);
    if (part.rfind("t=", 0) == 0) t = part.substr(2);
    if (part.rfind("v1=", 0) == 0) signatures.push_back(part.substr(3));
    pos = comma + 1;
  }
  if (t.empty() || signatures.empty()) return false;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
  }
  const std::string expected = HmacHex(secret, t + "." + body);
  if (expected.empty()) return false;
  for (const std::string& s : signatures) {
    if (s.size() == expected.size() && CRYPTO_memcmp(s.data(), expected.data(), s.size()) == 0) {
      return true;
    }
  }
  return false;
}

DeliveryResult Deliver(const std::string& url, const std::string& body, const std::string& secret,
                       long long unix_seconds, std::chrono::milliseconds timeout,
                       const net::EgressPolicy* egress) {
  DeliveryResult result;
  const auto started = std::chrono::steady_clock::now();
  GlobalInitCurl();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    result.error = "could not create an HTTP client";
    return result;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: flightdeck-incidents");
  // libcurl adds "Expect: 100-continue" for larger bodies; receivers need not support it.
  headers = curl_slist_append(headers, "Expect:");
  if (!secret.empty()) {
    const std::string sig = "X-Flightdeck-Signature: " + SignatureHeader(secret, body, unix_seconds);
    headers = curl_slist_append(headers, sig.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // signals and threads do not mix
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  net::CurlEgressGuard guard{egress, {}};
  net::CheckEgressOnConnect(curl, &guard);

  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  // Error texts never include the URL: webhook URLs (Slack's) are themselves secrets.
  if (rc == CURLE_OK) {
    result.ok = status >= 200 && status < 300;
    if (!result.ok) result.error = "status " + std::to_string(status);
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    result.error = "timeout after " + std::to_string(timeout.count()) + " ms";
  } else if (!guard.refusal.empty()) {
    result.error = guard.refusal;
  } else if (rc == CURLE_COULDNT_CONNECT) {
    result.error = "connection refused";
  } else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
    result.error = "could not resolve host";
  } else {
    result.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  result.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return result;
}

std::string WebhookRefusal(const net::EgressPolicy* egress, const std::string& url) {
  return egress == nullptr ? "" : net::HttpUrlRefusal(*egress, url);
}

}  // namespace flightdeck::incidents
