#include "services/backups/target_destination.h"

#include <cstdlib>

#include "common/config/url.h"

namespace flightdeck::backups {

std::string DatabaseDestinationRefusal(const net::EgressPolicy& policy, const std::string& database_url) {
  auto parts = config::ParseUrl(database_url);
  if (!parts || parts->host.empty()) return "";  // DatabaseUrlProblem reports it
  std::string host = parts->host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 5432;
  if (parts->port_text) port = std::atoi(parts->port_text->c_str());
  return net::HostPortRefusal(policy, host, port);
}

net::EgressPolicy BackupsEgressPolicy(const config::Env& env, int default_grpc_port, int default_admin_port) {
  std::vector<net::OwnEndpoint> own;
  for (net::OwnEndpoint& e : net::OwnEndpointsFromEnv(env, default_grpc_port, default_admin_port)) {
    if (e.what.find("DATABASE_URL") == std::string::npos) own.push_back(std::move(e));
  }
  return net::EgressPolicy::FromEnv(env, own);
}

}  // namespace flightdeck::backups
