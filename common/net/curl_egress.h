#pragma once

#include <curl/curl.h>

#include <string>

#include "common/net/egress.h"

namespace flightdeck::net {

// Makes an easy handle check, against `policy`, the address of every socket libcurl opens for
// it, at the moment it opens it: the address checked is the address connected to, whatever the
// name resolved to earlier (no DNS rebinding), and redirects or proxies are checked too. A
// refused address fails the transfer (CURLE_COULDNT_CONNECT) and leaves the reason in
// `guard.refusal`. `guard` (and its policy) must outlive the transfer. A null policy allows
// everything.
struct CurlEgressGuard {
  const EgressPolicy* policy = nullptr;
  std::string refusal;  // set when a connection was refused
};
void CheckEgressOnConnect(CURL* easy, CurlEgressGuard* guard);

}  // namespace flightdeck::net
