// libFuzzer: REST transcoding, a JSON body and query string into request messages (the release
// create and Alertmanager's webhook, the two largest bodies the gateway reads).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/http/router.h"
#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/gateway/rest/transcode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  // The first line is a query string, the rest the body.
  size_t nl = input.find('\n');
  std::string query = nl == std::string::npos ? std::string() : input.substr(0, nl);
  std::string body = nl == std::string::npos ? input : input.substr(nl + 1);
  auto params = flightdeck::http::ParseQuery(query);
  flightdeck::v1::CreateReleaseRequest release;
  (void)flightdeck::gateway::BuildRequest(body, {{"id", "x"}}, params, &release);
  flightdeck::gateway::BuildOptions lenient;
  lenient.ignore_unknown_fields = true;
  flightdeck::v1::AlertmanagerWebhook webhook;
  if (flightdeck::gateway::BuildRequest(body, {}, {}, lenient, &webhook).ok()) {
    (void)flightdeck::gateway::ToJson(webhook);
  }
  return 0;
}
