#include "common/config/url.h"

#include <algorithm>
#include <cctype>

namespace flightdeck::config {
namespace {

// Length of a valid "scheme:" prefix's scheme, or 0.
size_t SchemeLength(std::string_view url) {
  if (url.empty() || !std::isalpha(static_cast<unsigned char>(url[0]))) return 0;
  size_t i = 1;
  while (i < url.size() && (std::isalnum(static_cast<unsigned char>(url[i])) || url[i] == '+' ||
                            url[i] == '-' || url[i] == '.')) {
    ++i;
  }
  return url.substr(i, 3) == "://" ? i : 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte of the escape at text[i] ('%' and two hex digits), or -1.
int EscapeAt(std::string_view text, size_t i) {
  if (text[i] != '%' || i + 2 >= text.size()) return -1;
  const int hi = HexValue(text[i + 1]);
  const int lo = HexValue(text[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (const int byte = EscapeAt(text, i); byte >= 0) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(plus_is_space && text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

std::optional<std::string> PercentDecodeStrict(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int byte = EscapeAt(text, i);
    if (byte < 0) return std::nullopt;
    out.push_back(static_cast<char>(byte));
    i += 2;
  }
  return out;
}

std::optional<UrlParts> ParseUrl(std::string_view url) {
  const size_t scheme_length = SchemeLength(url);
  if (scheme_length == 0) return std::nullopt;
  UrlParts parts;
  parts.scheme = std::string(url.substr(0, scheme_length));
  std::transform(parts.scheme.begin(), parts.scheme.end(), parts.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view rest = url.substr(scheme_length + 3);

  // Userinfo ends at the last '@' so that an unencoded '@', '/', '?' or ':' in a password still
  // parses (and MaskUrlPassword masks the same span).
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    parts.userinfo = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
  }
  const size_t fragment = rest.find('#');
  if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
  const size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    parts.query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) parts.path = std::string(rest.substr(slash));

  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    parts.host = std::string(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      parts.port_text = std::string(after.substr(1));
    }
  } else {
    const size_t colon = authority.find(':');
    parts.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) parts.port_text = std::string(authority.substr(colon + 1));
  }
  if (parts.host.find_first_of(" \t\r\n") != std::string::npos) return std::nullopt;
  return parts;
}

std::string MaskUrlPassword(std::string_view url) {
  const size_t scheme_length = SchemeLength(url);
  if (scheme_length == 0) return std::string(url);
  const size_t start = scheme_length + 3;
  // The last '@' rather than the first: passwords with an unencoded '@' are common in practice.
  const size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

}  // namespace flightdeck::config
