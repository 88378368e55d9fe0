#pragma once

#include <string>

#include "common/config/config.h"
#include "common/net/egress.h"

// Where a backup target's database lives, against the egress policy: checked when a target is
// registered or its URL changed.
namespace flightdeck::backups {

// "" when the egress policy lets backups reach the host and port of `database_url` (a
// postgres:// URL; port 5432 by default), else why not (after "database_url: "). A host that
// does not resolve now is left to the connection, which fails on its own.
std::string DatabaseDestinationRefusal(const net::EgressPolicy& policy, const std::string& database_url);

// The backups process's policy. Its own gRPC and admin ports, Redis and the other services are
// denied as everywhere; its PostgreSQL server is not, because protecting a database on the
// server that also holds Flightdeck's (by default the walk-through protects Flightdeck's own)
// is what backups are for; a target's URL is credentials-bearing and operator-only anyway.
net::EgressPolicy BackupsEgressPolicy(const config::Env& env, int default_grpc_port, int default_admin_port);

}  // namespace flightdeck::backups
