#pragma once

#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <nlohmann/json_fwd.hpp>

namespace flightdeck::gateway {

// The field a JSON key names: the proto name ("commit_sha") or the lowerCamel JSON name
// ("commitSha", or whatever json_name the .proto gives), as protobuf's parser accepts both.
const google::protobuf::FieldDescriptor* JsonField(const google::protobuf::Descriptor* type,
                                                   const std::string& key);

// Fills `out` from a parsed JSON object in proto3's JSON mapping, straight through reflection:
// the reading twin of AppendJson. protobuf's own parser wants the text again and walks it
// through a type resolver and an object writer, which cost the gateway more than the parse
// itself on large bodies (an Alertmanager batch of 100 alerts).
//
// It reads the values whose meaning is plain: strings, numbers in range, booleans, enums by
// name, nested messages, maps with string keys, repeated fields, wrappers and durations in
// protobuf's "1.5s" form. Anything else — bytes, timestamps, Struct/Value/Any, a number given
// for a string, an integer written as 1.0, a field given twice, two members of one oneof —
// returns false with `out` partly filled: the caller clears it and asks protobuf's parser,
// which then accepts it or names the problem exactly as before. So this never decides that a
// body is bad; it only takes the common good ones off the slow path.
bool ReadPlainJson(const nlohmann::json& object, bool ignore_unknown_fields,
                   google::protobuf::Message* out);

}  // namespace flightdeck::gateway
