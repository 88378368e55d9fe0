// Redact(): masks secrets in free text before it reaches a log line. Every rule errs towards
// masking too much: a mangled log line is a nuisance, a leaked password is an incident.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "common/log/log.h"

namespace flightdeck::log {
namespace {

constexpr char kMask[] = "***";

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool IsSchemeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

bool IsKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// `needle` is lower-case.
size_t FindCaseless(const std::string& text, std::string_view needle, size_t from) {
  auto it = std::search(text.begin() + static_cast<std::ptrdiff_t>(std::min(from, text.size())),
                        text.end(), needle.begin(), needle.end(), [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) == b;
                        });
  return it == text.end() ? std::string::npos : static_cast<size_t>(it - text.begin());
}

// Where the scheme of the "://" at `sep` starts, or npos when there is no scheme before it.
size_t SchemeStart(const std::string& text, size_t sep) {
  size_t start = sep;
  while (start > 0 && IsSchemeChar(text[start - 1])) --start;
  while (start < sep && !std::isalpha(static_cast<unsigned char>(text[start]))) ++start;
  return start < sep ? start : std::string::npos;
}

// scheme://user:password@host -> scheme://user:***@host. The userinfo ends at the last '@'
// before the next whitespace (or the next URL), so unencoded '@', ':' or '/' in a password are
// masked too.
void MaskUrlPasswords(std::string& text) {
  size_t search = 0;
  while (true) {
    const size_t sep = text.find("://", search);
    if (sep == std::string::npos) return;
    search = sep + 3;
    if (SchemeStart(text, sep) == std::string::npos) continue;
    size_t end = search;
    while (end < text.size() && !IsSpace(text[end])) ++end;
    const size_t next_sep = text.find("://", search);
    if (next_sep != std::string::npos && next_sep < end) {
      const size_t next_scheme = SchemeStart(text, next_sep);
      if (next_scheme != std::string::npos && next_scheme >= search) end = next_scheme;
    }
    const size_t at = text.rfind('@', end - 1);
    if (at == std::string::npos || at < search) continue;
    const size_t colon = text.find(':', search);
    if (colon == std::string::npos || colon > at) continue;  // no password, only a user
    text.replace(colon + 1, at - colon - 1, kMask);
    search = colon + 1 + sizeof(kMask) - 1;
  }
}

// "Bearer <token>" -> "Bearer [REDACTED]", whatever the case of "bearer".
void MaskBearerTokens(std::string& text) {
  constexpr char kRedacted[] = "[REDACTED]";
  size_t search = 0;
  while (true) {
    const size_t word = FindCaseless(text, "bearer", search);
    if (word == std::string::npos) return;
    search = word + 6;
    if (word > 0 && std::isalnum(static_cast<unsigned char>(text[word - 1]))) continue;
    size_t token = search;
    while (token < text.size() && (text[token] == ' ' || text[token] == '\t')) ++token;
    if (token == search) continue;  // "bearer" as part of a longer word
    size_t end = token;
    while (end < text.size() && !IsSpace(text[end]) && text[end] != '"' && text[end] != '\'' &&
           text[end] != ',' && text[end] != ';') {
      ++end;
    }
    if (end == token) continue;
    text.replace(token, end - token, kRedacted);
    search = token + sizeof(kRedacted) - 1;
  }
}

bool KeyNamesSecret(std::string_view key) {
  const std::string lower = Lower(key);
  for (const char* word : {"password", "passwd", "secret", "token", "api_key", "apikey"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// password=x, ?token=x&..., client_secret='x y' (libpq conninfo quoting).
void MaskKeyValues(std::string& text) {
  size_t search = 0;
  while (true) {
    const size_t eq = text.find('=', search);
    if (eq == std::string::npos) return;
    search = eq + 1;
    size_t key_start = eq;
    while (key_start > 0 && IsKeyChar(text[key_start - 1])) --key_start;
    if (key_start == eq || !KeyNamesSecret(std::string_view(text).substr(key_start, eq - key_start))) {
      continue;
    }
    const size_t value = eq + 1;
    size_t end = value;
    if (value < text.size() && text[value] == '\'') {
      end = value + 1;
      while (end < text.size() && text[end] != '\'') end += text[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text.size());
    } else {
      // In a URL query a raw '&' separates parameters; in conninfo only whitespace does.
      const bool in_query = key_start > 0 && (text[key_start - 1] == '?' || text[key_start - 1] == '&');
      while (end < text.size() && !IsSpace(text[end]) && text[end] != '"' &&
             !(in_query && (text[end] == '&' || text[end] == '#'))) {
        ++end;
      }
    }
    if (end == value) continue;
    text.replace(value, end - value, kMask);
    search = value + sizeof(kMask) - 1;
  }
}

// "password": "x" inside JSON text that ends up in a message.
void MaskJsonMembers(std::string& text) {
  size_t search = 0;
  while (true) {
    const size_t colon = text.find(':', search);
    if (colon == std::string::npos) return;
    search = colon + 1;
    size_t key_end = colon;
    while (key_end > 0 && IsSpace(text[key_end - 1])) --key_end;
    if (key_end < 2 || text[key_end - 1] != '"') continue;
    const size_t key_open = text.rfind('"', key_end - 2);
    if (key_open == std::string::npos) continue;
    if (!KeyNamesSecret(std::string_view(text).substr(key_open + 1, key_end - key_open - 2))) {
      continue;
    }
    size_t value = colon + 1;
    while (value < text.size() && IsSpace(text[value])) ++value;
    if (value >= text.size() || text[value] != '"') continue;
    size_t end = value + 1;
    while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
    end = std::min(end, text.size());
    text.replace(value + 1, end - value - 1, kMask);
    search = value + 1 + sizeof(kMask) - 1;
  }
}

}  // namespace

std::string Redact(std::string_view text) {
  std::string out(text);
  MaskUrlPasswords(out);
  MaskBearerTokens(out);
  MaskKeyValues(out);
  MaskJsonMembers(out);
  return out;
}

}  // namespace flightdeck::log
