#include "common/net/curl_egress.h"

#include <netinet/in.h>
#include <sys/socket.h>

namespace flightdeck::net {
namespace {

int PortOf(const sockaddr* a) {
  if (a->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(a)->sin_port);
  if (a->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(a)->sin6_port);
  return 0;
}

curl_socket_t OpenCheckedSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* check = static_cast<CurlEgressGuard*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    const auto* sa = reinterpret_cast<const sockaddr*>(&address->addr);
    auto ip = FromSockaddr(sa);
    std::optional<std::string> refusal;
    if (!ip) {
      refusal = "egress policy refuses a connection that is not over IPv4 or IPv6";
    } else {
      refusal = check->policy->Refusal(*ip, PortOf(sa));
    }
    if (refusal) {
      check->refusal = *refusal;
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

}  // namespace

void CheckEgressOnConnect(CURL* easy, CurlEgressGuard* guard) {
  if (guard == nullptr || guard->policy == nullptr) return;
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, OpenCheckedSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, guard);
  // Unix sockets would bypass every address check.
  curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, nullptr);
}

}  // namespace flightdeck::net
