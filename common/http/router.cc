#include "common/http/router.h"

#include "common/config/url.h"

namespace flightdeck::http {

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  size_t i = 0;
  while (i < query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(i, amp - i);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string_view key = part.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
      out.emplace_back(config::PercentDecode(key, true), config::PercentDecode(value, true));
    }
    i = amp + 1;
  }
  return out;
}

}  // namespace flightdeck::http
