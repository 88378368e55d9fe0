// libFuzzer: REST transcoding, a JSON body and query string into request messages (the release
// create and Alertmanager's webhook, the two largest bodies the gateway reads). Differential
// too: whatever the gateway's own JSON reader accepts, protobuf's parser must read the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "common/http/router.h"
#include "common/protojson/reader.h"
#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/gateway/rest/transcode.h"

namespace {

void SameAsProtobuf(const nlohmann::json& doc, bool ignore_unknown, google::protobuf::Message* ours,
                    google::protobuf::Message* theirs) {
  if (!flightdeck::protojson::ReadPlain(doc, ignore_unknown, ours)) return;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = ignore_unknown;
  if (!google::protobuf::util::JsonStringToMessage(doc.dump(), theirs, options).ok()) std::abort();
  if (!google::protobuf::util::MessageDifferencer::Equals(*ours, *theirs)) std::abort();
}

}  // namespace

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
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    flightdeck::v1::CreateReleaseRequest ours, theirs;
    SameAsProtobuf(doc, false, &ours, &theirs);
    flightdeck::v1::AlertmanagerWebhook ours_webhook, theirs_webhook;
    SameAsProtobuf(doc, true, &ours_webhook, &theirs_webhook);
    flightdeck::v1::Release ours_release, theirs_release;  // timestamps, enums, wrappers: a stored detail
    SameAsProtobuf(doc, true, &ours_release, &theirs_release);
  }
  return 0;
}
