#include "services/backups/pg_connection.h"

#include "common/config/url.h"

namespace flightdeck::backups {
namespace {

void RememberSecret(PgConnection* c, const std::string& raw) {
  c->password = config::PercentDecode(raw);
  for (const std::string& s : {c->password, raw}) {
    if (!s.empty()) c->secrets.push_back(s);
  }
}

// postgres://user:password@host/db?password=...: libpq ends the userinfo at the first '@' before
// any '/', and a password= query parameter overrides it.
PgConnection SplitUri(const std::string& url) {
  PgConnection c;
  size_t start = url.find("://") + 3;
  size_t p = start;
  while (p < url.size() && url[p] != '@' && url[p] != '/') ++p;
  std::string rest = url;
  if (p < url.size() && url[p] == '@') {
    size_t colon = url.find(':', start);
    if (colon < p) {
      RememberSecret(&c, url.substr(colon + 1, p - colon - 1));
      rest = url.substr(0, colon) + url.substr(p);
    }
  }
  size_t query = rest.find('?');
  if (query == std::string::npos) {
    c.conninfo = rest;
    return c;
  }
  std::string kept;
  size_t pos = query + 1;
  while (pos <= rest.size()) {
    size_t end = rest.find('&', pos);
    if (end == std::string::npos) end = rest.size();
    std::string param = rest.substr(pos, end - pos);
    if (param.rfind("password=", 0) == 0) {
      RememberSecret(&c, param.substr(9));
    } else if (!param.empty()) {
      kept += (kept.empty() ? "" : "&") + param;
    }
    pos = end + 1;
  }
  c.conninfo = rest.substr(0, query) + (kept.empty() ? "" : "?" + kept);
  return c;
}

}  // namespace

bool ParseConnection(const std::string& url, PgConnection* out, std::string* error) {
  if (url.rfind("postgres://", 0) != 0 && url.rfind("postgresql://", 0) != 0) {
    *error = "must be a postgres:// or postgresql:// URL";
    return false;
  }
  *out = SplitUri(url);
  return true;
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t pos = 0; (pos = text.find(secret, pos)) != std::string::npos; pos += 3) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

std::string ServerOf(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const std::string rest = scheme_end == std::string::npos ? url : url.substr(scheme_end + 3);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  // A port follows the last ':' unless that ':' is inside an IPv6 literal ("[::1]").
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  const bool has_port = colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
  std::string server = authority + (has_port || authority.find(',') != std::string::npos ? "" : ":5432");
  const size_t query = rest.find('?');
  if (query == std::string::npos) return server;
  std::string params = rest.substr(query + 1, rest.find('#', query) - query - 1);
  size_t start = 0;
  while (start <= params.size()) {
    size_t amp = params.find('&', start);
    if (amp == std::string::npos) amp = params.size();
    const std::string param = params.substr(start, amp - start);
    const std::string key = param.substr(0, param.find('='));
    if (key == "host" || key == "hostaddr" || key == "port" || key == "service") server += " " + param;
    start = amp + 1;
  }
  return server;
}

}  // namespace flightdeck::backups
