#include "services/gateway/routes.h"

#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::gateway {

const char* UpstreamName(Upstream upstream) {
  switch (upstream) {
    case Upstream::kReleases: return "releases";
    case Upstream::kBackups: return "backups";
    case Upstream::kHealth: return "health";
    case Upstream::kIncidents: return "incidents";
  }
  return "unknown";
}

const std::vector<ProxyRoute>& ProxyRoutes() {
  // Linking a message of each proto file registers its descriptors in the generated pool,
  // where the gateway finds request and response types by method name.
  (void)v1::Release::descriptor();
  static const std::vector<ProxyRoute> routes = {
      {"POST", "/v1/releases", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.CreateRelease", true},
      {"GET", "/v1/releases", v1::Token::VIEWER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.ListReleases", false},
      {"GET", "/v1/releases/{id}", v1::Token::VIEWER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.GetRelease", false},
  };
  return routes;
}

}  // namespace flightdeck::gateway
