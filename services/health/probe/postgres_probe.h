#pragma once

#include <memory>

#include "services/health/probe/active_probe.h"

// POSTGRES: libpq's non-blocking connect (PQconnectStartParams / PQconnectPoll) and
// PQsendQuery("SELECT 1"), driven by the engine's epoll.
namespace flightdeck::health::internal {

std::unique_ptr<ActiveProbe> NewPostgresProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                              Prober::Callback done);

// libpq's connection failure text cut to what an operator needs: "connection refused",
// "password authentication failed for user \"app\"", ...
std::string ShortPostgresError(const std::string& message);

}  // namespace flightdeck::health::internal
