#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>

#include "common/db/db.h"

namespace flightdeck::db {
namespace {

bool IsUri(std::string_view url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

// Masks the value of every password=... parameter, whether in a URI query (ends at '&') or a
// keyword/value string (ends at whitespace, or is a single-quoted value).
std::string MaskPasswordParameters(std::string text) {
  static constexpr std::string_view kKey = "password=";
  size_t pos = 0;
  while ((pos = text.find(kKey, pos)) != std::string::npos) {
    if (pos > 0 && text[pos - 1] != '?' && text[pos - 1] != '&' && text[pos - 1] != ' ' &&
        text[pos - 1] != '\t') {
      pos += kKey.size();
      continue;
    }
    size_t begin = pos + kKey.size();
    size_t end = begin;
    if (end < text.size() && text[end] == '\'') {
      ++end;
      while (end < text.size() && text[end] != '\'') {
        if (text[end] == '\\') ++end;
        ++end;
      }
      if (end < text.size()) ++end;
    } else {
      while (end < text.size() && text[end] != '&' && text[end] != ' ' && text[end] != '\t' &&
             text[end] != '#') {
        ++end;
      }
    }
    text.replace(begin, end - begin, "***");
    pos = begin + 3;
  }
  return text;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  size_t scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    size_t authority = scheme_end + 3;
    size_t authority_end = out.find_first_of("/?#", authority);
    if (authority_end == std::string::npos) authority_end = out.size();
    // The last '@' ends the userinfo: a password may itself contain '@' when not encoded.
    size_t at = out.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority) {
      size_t colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  return MaskPasswordParameters(std::move(out));
}

std::string WithDatabase(std::string_view url, std::string_view database) {
  std::string out(url);
  if (IsUri(url)) {
    size_t authority = out.find("://") + 3;
    size_t path = out.find_first_of("/?#", authority);
    if (path == std::string::npos) return out + "/" + std::string(database);
    size_t path_end = out.find_first_of("?#", path);
    if (path_end == std::string::npos) path_end = out.size();
    if (out[path] != '/') path_end = path;  // no path: insert one before the query
    out.replace(path, path_end - path, "/" + std::string(database));
    return out;
  }
  // Keyword/value form: replace dbname=..., or add it.
  size_t pos = 0;
  while ((pos = out.find("dbname=", pos)) != std::string::npos) {
    if (pos == 0 || out[pos - 1] == ' ' || out[pos - 1] == '\t') break;
    pos += 7;
  }
  if (pos == std::string::npos) {
    if (!out.empty()) out += ' ';
    return out + "dbname=" + std::string(database);
  }
  size_t begin = pos + 7;
  size_t end = begin;
  if (end < out.size() && out[end] == '\'') {
    end = out.find('\'', end + 1);
    end = end == std::string::npos ? out.size() : end + 1;
  } else {
    end = out.find_first_of(" \t", begin);
    if (end == std::string::npos) end = out.size();
  }
  out.replace(begin, end - begin, std::string(database));
  return out;
}

bool IsUniqueViolation(const std::exception& e, std::string_view constraint) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  if (sql == nullptr) return false;
  if (sql->sqlstate() != "23505" && dynamic_cast<const pqxx::unique_violation*>(&e) == nullptr) {
    return false;
  }
  if (constraint.empty()) return true;
  // libpqxx 6.4 does not expose the constraint name; PostgreSQL's message quotes it:
  // duplicate key value violates unique constraint "jobs_key_unfinished".
  std::string quoted = "\"" + std::string(constraint) + "\"";
  return std::string_view(e.what()).find(quoted) != std::string_view::npos;
}

std::string WithConnectTimeout(const std::string& url, std::chrono::milliseconds bound) {
  if (url.find("connect_timeout=") != std::string::npos) return url;
  long long seconds = std::max<long long>(2, (bound.count() + 999) / 1000);
  std::string param = "connect_timeout=" + std::to_string(seconds);
  if (IsUri(url)) {
    size_t fragment = url.find('#');
    std::string base = url.substr(0, fragment);
    std::string rest = fragment == std::string::npos ? "" : url.substr(fragment);
    return base + (base.find('?') == std::string::npos ? "?" : "&") + param + rest;
  }
  return url.empty() ? param : url + " " + param;
}

}  // namespace flightdeck::db
