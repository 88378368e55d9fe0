#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flightdeck::config {

// The parts of scheme://[userinfo@]host[:port][/path][?query][#fragment] that configuration
// validation needs. Not a general URL parser: no percent-decoding.
struct UrlParts {
  std::string scheme;  // lower-cased
  std::string userinfo;
  std::string host;  // brackets kept for IPv6 literals
  std::optional<std::string> port_text;  // as written, when a ':' follows the host
  std::string path;   // "" or starting with '/'
  std::string query;  // without '?'
};

// nullopt when there is no "scheme://" or the authority is malformed (e.g. an unclosed '[').
std::optional<UrlParts> ParseUrl(std::string_view url);

// "postgres://fd:s3cret@db/x" -> "postgres://fd:***@db/x". Errors quote URLs through this so that
// a password never reaches a log; it errs towards masking too much when '@' appears unencoded.
std::string MaskUrlPassword(std::string_view url);

// Percent-decoding of a URL component. Lenient: a '%' not followed by two hex digits is kept as
// it is; with plus_is_space, '+' is a space (query strings).
std::string PercentDecode(std::string_view text, bool plus_is_space = false);
// Strict, for configuration values: nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> PercentDecodeStrict(std::string_view text);

}  // namespace flightdeck::config
