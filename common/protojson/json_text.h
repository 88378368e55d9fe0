#pragma once

#include <string>
#include <string_view>

namespace flightdeck::protojson {

// `s` as a JSON string, quotes included, appended to `out`: the escapes RFC 8259 requires (and
// DEL as \u007f), everything else copied in runs. `s` must be UTF-8 (protobuf strings and parsed
// JSON are); nothing is checked here. The gateway's JSON writer and the services' hand-written
// statement parameters share it.
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace flightdeck::protojson
