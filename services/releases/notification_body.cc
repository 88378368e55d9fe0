#include "services/releases/notification_body.h"

#include <cstdio>

#include <google/protobuf/util/json_util.h>

#include "common/notify/format.h"
#include "services/releases/state_machine.h"

namespace flightdeck::releases {
namespace {

using Json = nlohmann::json;
using notify::SlackEscape;

std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100);
  return buf;
}

std::string Number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", value);
  return buf;
}

// "Release checkout v1.4.2 to production": how people name it.
std::string Title(const v1::Release& r) {
  std::string what = r.kind() == v1::Release::ROLLBACK ? "Rollback of " : "Release of ";
  return what + r.service() + " " + r.version() + " to " + r.environment();
}

std::string Headline(const std::string& kind) {
  if (kind == "started") return "started";
  if (kind == "awaiting_approval") return "awaits approval";
  if (kind == "canary_paused") return "canary paused";
  if (kind == "rolled_back") return "rolled back";
  if (kind == "succeeded") return "succeeded";
  return kind;
}

std::string ShortSha(const std::string& sha) { return sha.substr(0, 12); }

}  // namespace

std::string VerdictNumbers(const Json& v) {
  if (!v.is_object()) return "";
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (v.contains("error_rate") && v["error_rate"].is_number()) {
    std::string part = "error rate " + Percent(v["error_rate"].get<double>());
    if (v.contains("requests") && v["requests"].is_number()) {
      part += " of " + Number(v["requests"].get<double>()) + " requests";
    }
    if (v.contains("max_error_rate") && v["max_error_rate"].is_number()) {
      part += " (limit " + Percent(v["max_error_rate"].get<double>()) + ")";
    }
    add(part);
  }
  if (v.contains("p99_latency_ms") && v["p99_latency_ms"].is_number()) {
    std::string part = "p99 " + Number(v["p99_latency_ms"].get<double>()) + " ms";
    if (v.contains("max_p99_latency_ms") && v["max_p99_latency_ms"].is_number()) {
      part += " (limit " + Number(v["max_p99_latency_ms"].get<double>()) + " ms)";
    }
    add(part);
  }
  return out;
}

std::string GenericReleaseBody(const ReleaseNotification& n) {
  v1::Release summary = n.release;
  std::string release_json;
  Json release = Json::object();
  if (google::protobuf::util::MessageToJsonString(summary, &release_json).ok()) {
    release = Json::parse(release_json, nullptr, /*allow_exceptions=*/false);
    if (release.is_discarded()) release = Json::object();
  }
  Json extra = {{"actor", n.actor}};
  if (n.verdict.is_object()) extra["verdict"] = n.verdict;
  return notify::GenericBody(n.kind, n.message, "release", std::move(release), extra);
}

std::string SlackReleaseBody(const ReleaseNotification& n, bool interactive) {
  const v1::Release& r = n.release;
  notify::SlackMessage m;
  m.heading = Title(r) + " " + Headline(n.kind);
  m.message = n.message;
  m.text = m.heading + ": " + n.message;
  m.lines.push_back("*Commit:* `" + SlackEscape(ShortSha(r.commit_sha())) + "`  *Image:* `" +
                    SlackEscape(r.image()) + "`");
  if (n.kind == "rolled_back" || n.kind == "canary_paused") {
    if (!r.outcome_reason().empty()) m.lines.push_back("*Reason:* " + SlackEscape(r.outcome_reason()));
  }
  if (n.verdict.is_object()) {
    std::string line = "*Verdict:* " + SlackEscape(n.verdict.value("verdict", std::string("FAIL")));
    const std::string numbers = VerdictNumbers(n.verdict);
    if (!numbers.empty()) line += " — " + SlackEscape(numbers);
    const std::string reason = n.verdict.value("reason", std::string());
    if (!reason.empty()) line += "\n" + SlackEscape(reason);
    m.lines.push_back(line);
  }
  m.context = "*State:* " + StateName(r.state()) + "  *By:* " + SlackEscape(n.actor) + "  *Release:* " +
              SlackEscape(r.id());
  if (interactive && !r.id().empty()) {
    const std::string about = r.service() + " " + r.version() + " in " + r.environment();
    if (n.kind == "awaiting_approval") {
      m.buttons.push_back({"Approve", "approve", r.id(), "primary", ""});
      m.buttons.push_back({"Abort", "abort", r.id(), "danger", "Abort " + about + "?"});
    } else if (n.kind == "canary_paused") {
      m.buttons.push_back({"Promote", "promote", r.id(), "primary", "Promote " + about + " to all traffic?"});
      m.buttons.push_back({"Abort", "abort", r.id(), "danger", "Abort " + about + "?"});
    }
  }
  return notify::SlackBody(m);
}

std::string ReleaseBodyFor(const NotifyTarget& target, const ReleaseNotification& n) {
  return target.format == "slack" ? SlackReleaseBody(n, target.interactive) : GenericReleaseBody(n);
}

}  // namespace flightdeck::releases
