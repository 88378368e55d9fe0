#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace google::protobuf {
class Message;
class Struct;
}

// Helpers the services' stores share for rows that keep a message as a jsonb "detail" document
// beside their columns, and for time parameters.
namespace flightdeck::db {

// The message as a detail document, with proto field names (a json_name change never orphans
// stored data).
std::string DetailJson(const google::protobuf::Message& message);
// Fills `message` from a detail document, ignoring fields a newer writer added; false when the
// text is not JSON for it. Read through reflection (common/protojson), protobuf's parser only
// for what that reader leaves to it: the same message either way, at a fraction of the cost.
bool FromDetailJson(const std::string& text, google::protobuf::Message* message);
// The same for a document already parsed (an element of a jsonb array read whole): it is written
// out again only in the rare case protobuf's parser has to judge it.
bool FromDetailDocument(const nlohmann::json& document, google::protobuf::Message* message);

// Fills `out` from a JSON object document (a jsonb column's text, such as a timeline event's
// data), as protobuf's parser would, without its cost: that parser (a type resolver and an
// object writer per call) was the largest part of reading a release's timeline. Two
// differences, neither possible in jsonb's text: a -0 reads as 0, and of a key given twice the
// last value counts (protobuf refuses). False when the text is not a JSON object.
bool StructFromJson(const std::string& text, google::protobuf::Struct* out);

// SQL for parameter $n, microseconds since the epoch, as a timestamptz: times come from the
// injected clock, never from the database's now().
std::string MicrosParam(int n);

}  // namespace flightdeck::db
