#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace flightdeck::cli {

// Server JSON keeps its key order when printed back (--json prints it "as is").
using Json = nlohmann::ordered_json;

// JSON text that never throws: invalid UTF-8 (from a server or a Latin-1 terminal) becomes
// U+FFFD instead of aborting the command.
std::string DumpJson(const Json& value, int indent = -1);

// Columns padded to their widest cell, two spaces apart, no trailing blanks; one line per row
// after the header line.
std::string FormatTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows);

// A field of a proto-JSON object by its proto name ("commit_sha"), also found under its
// lowerCamelCase JSON name ("commitSha"), which the canonical mapping may use. Strings as is,
// other values as compact JSON, "" when absent or null.
std::string FieldText(const Json& object, std::string_view proto_name);
// The field itself (by either name), nullptr when absent or `object` is not an object.
const Json* FindField(const Json& object, std::string_view proto_name);
std::string CamelCase(std::string_view snake);  // "commit_sha" -> "commitSha"
// Newlines and tabs as blanks, trimmed, cut to `limit` characters with "..." after.
std::string OneLine(std::string text, size_t limit);

std::string ShortCommit(std::string_view sha);    // the first 12 characters
std::string ShortTime(std::string_view rfc3339);  // drops fractional seconds

// The gateway's error shape {"error":{"code","message","details"}} as
// "error: CODE: message" plus one indented line per field violation in the details. Any other
// body (a proxy's HTML page, an empty 502) still gives one line naming the HTTP status.
std::string FormatError(long http_status, const std::string& body);

}  // namespace flightdeck::cli
