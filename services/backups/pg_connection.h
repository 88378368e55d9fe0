#pragma once

// Connection URLs for the PostgreSQL tools: pg_dump and pg_restore get the URL without its
// password (the password goes to PGPASSWORD, never onto a command line), and every spelling of
// the password is scrubbed from text that leaves the backups runner (tool stderr, server errors).

#include <string>
#include <string_view>
#include <vector>

namespace flightdeck::backups {

struct PgConnection {
  std::string conninfo;              // the URL minus the password
  std::string password;              // decoded; empty when the URL carries none
  std::vector<std::string> secrets;  // the password as decoded and as written
};

// Splits a postgres:// or postgresql:// URL. The password may be in the userinfo
// (postgres://user:pw@host/db) or a password= query parameter, which libpq lets override it.
// Only URLs: backup targets are configured with one, and their syntax is what a password can be
// stripped from without reimplementing libpq's keyword/value parser. False with *error set for
// anything else.
bool ParseConnection(const std::string& url, PgConnection* out, std::string* error);

// The server a postgres:// URL connects to, to compare two URLs and to show in logs:
// "host:port" of its authority (port 5432 when none is given), followed by any query parameter
// that picks a server instead (host, hostaddr, port, service), as " host=...". Never the user
// or the password.
std::string ServerOf(const std::string& url);

// Every occurrence of every non-empty secret replaced with "***".
std::string Scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace flightdeck::backups
