#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flightdeck::protojson {

// `s` as a JSON string, quotes included, appended to `out`: the escapes RFC 8259 requires (and
// DEL as \u007f), everything else copied in runs. `s` must be UTF-8 (protobuf strings and parsed
// JSON are); nothing is checked here. The gateway's JSON writer and the services' hand-written
// statement parameters share it.
void AppendJsonString(std::string_view s, std::string* out);

// A JSON array of flat objects written as text, for a statement's jsonb_to_recordset parameter:
// building an nlohmann tree of a batch and dumping it took about 12% of the incidents service's
// CPU at alert intake. Names are the caller's literals (nothing in them is escaped).
//
//   JsonRows rows;
//   for (...) { rows.Row(); rows.Add("id", id); rows.Add("labels", labels); rows.EndRow(); }
//   db::Exec(tx, "statement", rows.Done());
class JsonRows {
 public:
  void Row();
  void EndRow() { text_ += '}'; }
  void Add(const char* name, std::string_view value);
  void Add(const char* name, long long value);
  void Add(const char* name, const std::optional<long long>& value);  // null when absent
  void Add(const char* name, const std::map<std::string, std::string>& object);
  // Not an Add overload: a string literal would convert to bool before string_view.
  void AddBool(const char* name, bool value);
  // The array, closed: call once, after the last row.
  const std::string& Done() { return text_ += ']'; }

 private:
  std::string* Key(const char* name);

  std::string text_ = "[";
  bool first_ = true;
};

}  // namespace flightdeck::protojson
