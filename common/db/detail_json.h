#pragma once

#include <string>

namespace google::protobuf {
class Message;
}

// Helpers the services' stores share for rows that keep a message as a jsonb "detail" document
// beside their columns, and for time parameters.
namespace flightdeck::db {

// The message as a detail document, with proto field names (a json_name change never orphans
// stored data).
std::string DetailJson(const google::protobuf::Message& message);
// Fills `message` from a detail document, ignoring fields a newer writer added; false when the
// text is not JSON for it.
bool FromDetailJson(const std::string& text, google::protobuf::Message* message);

// SQL for parameter $n, microseconds since the epoch, as a timestamptz: times come from the
// injected clock, never from the database's now().
std::string MicrosParam(int n);

}  // namespace flightdeck::db
