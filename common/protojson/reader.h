#pragma once

#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <nlohmann/json_fwd.hpp>

namespace flightdeck::protojson {

// The field a JSON key names: the proto name ("commit_sha") or the lowerCamel JSON name
// ("commitSha", or whatever json_name the .proto gives), as protobuf's parser accepts both.
const google::protobuf::FieldDescriptor* FieldNamed(const google::protobuf::Descriptor* type,
                                                   const std::string& key);

// Fills `out` from a parsed JSON object in proto3's JSON mapping, straight through reflection:
// the reading twin of the gateway's AppendJson. protobuf's own parser wants the text again and
// walks it through a type resolver and an object writer, which cost more than the parse itself
// (a third of the gateway's CPU on an Alertmanager batch of 100 alerts).
//
// It reads the values whose meaning is plain: strings, numbers in range, booleans, enums by
// name, nested messages, maps with string keys, repeated fields, wrappers, durations in
// protobuf's "1.5s" form and timestamps in the form protobuf writes ("...T10:00:00.5Z").
// Anything else — bytes, floats, Struct/Value/Any, a time with an offset, a number given for a
// string, an integer written as 1.0, a field given twice, two members of one oneof — returns
// false with `out` partly filled: the caller clears it and asks protobuf's parser, which then
// accepts it or names the problem exactly as before. So this never decides that a document is
// bad; it only takes the common good ones off the slow path.
bool ReadPlain(const nlohmann::json& object, bool ignore_unknown_fields, google::protobuf::Message* out);

}  // namespace flightdeck::protojson
