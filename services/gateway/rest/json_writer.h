#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace flightdeck::gateway {

// Proto3 canonical JSON (the mapping protobuf's JsonPrintOptions gives with
// preserve_proto_field_names and always_print_primitive_fields), written straight from
// reflection. protobuf's own printer re-serializes the message and walks it through a type
// resolver, which made JSON the gateway's largest cost per request; this writes the same
// document at a fraction of the allocations. Well-known types (Timestamp, Duration, wrappers,
// Struct/Value/ListValue) get their special forms; anything else unusual (Any, FieldMask) falls
// back to protobuf's printer for that value.
void AppendJson(const google::protobuf::Message& message, std::string* out);

}  // namespace flightdeck::gateway
