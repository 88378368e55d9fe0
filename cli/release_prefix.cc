#include "cli/release_prefix.h"

#include <cctype>
#include <ostream>
#include <regex>
#include <vector>

namespace flightdeck::cli {
namespace {

std::string Lower(std::string text) {
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

}  // namespace

std::optional<std::string> FormatAmbiguousPrefix(long http_status, const std::string& body,
                                                 const std::string& prefix,
                                                 const std::string& how_to_choose) {
  const Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  const Json* error = parsed.is_discarded() ? nullptr : FindField(parsed, "error");
  if (error == nullptr || !error->is_object()) return std::nullopt;
  const std::string message = OneLine(FieldText(*error, "message"), std::string::npos);
  const size_t ambiguous = Lower(message).find("ambiguous");
  if (ambiguous == std::string::npos) return std::nullopt;
  std::string code = FieldText(*error, "code");
  if (code.empty() || code.find_first_not_of("0123456789") == std::string::npos) {
    code = "HTTP " + std::to_string(http_status);
  }

  // The candidates are the commits or release ids the message names after "ambiguous".
  static const std::regex kCandidate(
      R"(\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b|\b[0-9a-fA-F]{7,40}\b)");
  std::vector<size_t> starts;
  for (auto it = std::sregex_iterator(message.begin() + ambiguous, message.end(), kCandidate);
       it != std::sregex_iterator(); ++it) {
    const std::string token = it->str();
    if (Lower(token) == Lower(prefix)) continue;
    if (token.size() < 12 && token.find_first_not_of("0123456789") == std::string::npos) continue;
    starts.push_back(ambiguous + static_cast<size_t>(it->position()));
  }
  const auto trim = [](std::string text) {
    const size_t first = text.find_first_not_of(" ,;");
    if (first == std::string::npos) return std::string();
    text.erase(0, first);
    text.erase(text.find_last_not_of(" ,;:(") + 1);
    for (const char* joiner : {" and", " or"}) {
      const std::string tail(joiner);
      if (text.size() > tail.size() &&
          text.compare(text.size() - tail.size(), tail.size(), tail) == 0) {
        text.erase(text.size() - tail.size());
        text.erase(text.find_last_not_of(" ,;") + 1);
      }
    }
    return text;
  };
  std::string out = "error: " + code + ": ";
  if (starts.empty()) {
    out += message + "\n";
  } else {
    out += trim(message.substr(0, starts.front())) + ":\n";
    for (size_t i = 0; i < starts.size(); ++i) {
      const size_t end = i + 1 < starts.size() ? starts[i + 1] : message.size();
      out += "  " + trim(message.substr(starts[i], end - starts[i])) + "\n";
    }
  }
  return out + how_to_choose + "\n";
}

std::string ChooseLongerReleaseId(const std::string& prefix) {
  return "give more characters of the release id than '" + prefix +
         "' (fdctl release list shows them)";
}

int RespondToPrefix(Context& ctx, const HttpResult& result, const std::string& prefix,
                    const std::string& how_to_choose,
                    const std::function<void(const Json&)>& render) {
  if (result.reached && result.status >= 400) {
    if (std::optional<std::string> text =
            FormatAmbiguousPrefix(result.status, result.body, prefix, how_to_choose)) {
      ctx.err() << *text;
      return kExitError;
    }
  }
  return ctx.Respond(result, render);
}

}  // namespace flightdeck::cli
