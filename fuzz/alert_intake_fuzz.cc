// libFuzzer: incidents' alert intake after the gateway decoded the JSON body: the first byte picks
// the format (Alertmanager webhook, PagerDuty Events v2, native alerts), the rest is the body.
// Whatever it holds, the parsers answer OK or INVALID_ARGUMENT, and an accepted alert always has
// a fingerprint and an alertname (intake and the store key on both).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/intake_parse.h"

namespace incidents = flightdeck::incidents;
namespace v1 = flightdeck::v1;

namespace {

template <typename Message>
bool FromJson(const std::string& json, Message* m) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // as the gateway's transcoder reads bodies
  return google::protobuf::util::JsonStringToMessage(json, m, options).ok();
}

void CheckAccepted(const grpc::Status& s, const std::vector<incidents::AlertInput>& alerts) {
  if (!s.ok()) {
    if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT || s.error_message().empty()) std::abort();
    return;
  }
  for (const incidents::AlertInput& a : alerts) {
    auto name = a.labels.find("alertname");
    if (a.fingerprint.empty() || name == a.labels.end() || name->second.empty()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<incidents::AlertInput> alerts;
  switch (data[0] % 3) {
    case 0: {
      v1::AlertmanagerWebhook hook;
      if (!FromJson(body, &hook)) return 0;
      CheckAccepted(incidents::ParseAlertmanager(hook, &alerts), alerts);
      break;
    }
    case 1: {
      v1::PagerDutyEvent event;
      if (!FromJson(body, &event)) return 0;
      incidents::IntegrationView integration{"fuzz", "api", "production", std::nullopt, std::nullopt};
      incidents::AlertInput alert;
      std::vector<std::string> errors;
      grpc::Status s = incidents::ParsePagerDuty(event, integration, &alert, &errors);
      if (s.ok() != errors.empty()) std::abort();
      if (s.ok()) alerts.push_back(alert);
      CheckAccepted(s, alerts);
      break;
    }
    default: {
      v1::PostAlertsRequest request;
      if (!FromJson(body, &request)) return 0;
      CheckAccepted(incidents::ParseNative(request, &alerts), alerts);
      break;
    }
  }
  return 0;
}
