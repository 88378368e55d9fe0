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
// after the header line. Widths count what the terminal shows (VisibleWidth), so painted and
// non-ASCII cells line up.
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

// A table cell: "-" for nothing, so that columns never look shifted.
std::string CellOrDash(std::string text);

std::string ShortCommit(std::string_view sha);    // the first 12 characters
std::string ShortTime(std::string_view rfc3339);  // drops fractional seconds

// Colour on a terminal. Formatters build plain strings and are called from many places, so
// whether to colour is a setting of the run rather than a parameter of each: fdctl's Run opens
// a ColorScope for the command (on when stdout is a terminal, NO_COLOR is unset, TERM is not
// "dumb" and --no-color was not given). Without a scope, which is how formatter tests call
// them, and with --json, nothing is coloured.
class ColorScope {
 public:
  explicit ColorScope(bool enabled);
  ~ColorScope();
  ColorScope(const ColorScope&) = delete;
  ColorScope& operator=(const ColorScope&) = delete;

 private:
  bool previous_;
};
bool ColorEnabled();

// A state, severity or health status as the one word it is, coloured by what it asks of the
// reader: green for done and well (SUCCEEDED, HEALTHY, PASSED, RESOLVED), red for failed or
// urgent (FAILED, ROLLED_BACK, UNHEALTHY, SEV1, SEV2, TRIGGERED, ...), yellow for under way or
// worth a look (CANARY, VERIFYING, AWAITING_APPROVAL, DEGRADED, SEV3, ACKNOWLEDGED, ...). Any
// other text, and everything when colour is off, comes back unchanged.
std::string Paint(std::string_view word);
enum class Tone { kGood, kBad, kWarn };
// `text` in the colour of `tone` when colour is on; for phrases Paint does not know
// ("MISSED", "never").
std::string Tint(std::string_view text, Tone tone);
// Characters a terminal shows: ANSI escape sequences count for nothing, a UTF-8 sequence for one.
size_t VisibleWidth(std::string_view text);

// The gateway's error shape {"error":{"code","message","details"}} as
// "error: CODE: message" plus one indented line per field violation in the details. Any other
// body (a proxy's HTML page, an empty 502) still gives one line naming the HTTP status.
std::string FormatError(long http_status, const std::string& body);

}  // namespace flightdeck::cli
