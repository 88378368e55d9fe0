#include "services/gateway/core/overview.h"

#include <set>
#include <tuple>

#include <grpcpp/grpcpp.h>

#include "common/grpc/channel.h"
#include "common/grpc/metadata.h"
#include "flightdeck/v1/backups.grpc.pb.h"
#include "flightdeck/v1/health.grpc.pb.h"
#include "flightdeck/v1/incidents.grpc.pb.h"
#include "flightdeck/v1/releases.grpc.pb.h"

namespace flightdeck::gateway {
namespace {

// Bounds on what one overview reads, so that it stays one cheap call.
constexpr int kMaxPages = 20;
constexpr int kPageSize = 500;

using Key = std::pair<std::string, std::string>;  // service, environment

}  // namespace

OverviewBuilder::OverviewBuilder(std::map<api::Service, std::shared_ptr<grpc::Channel>> upstreams,
                                 std::chrono::milliseconds timeout)
    : upstreams_(std::move(upstreams)), timeout_(timeout) {}

v1::Overview OverviewBuilder::Build(const std::string& actor, const std::string& request_id) const {
  v1::Overview overview;
  std::map<Key, v1::OverviewEntry> entries;
  auto entry = [&](const std::string& service, const std::string& environment) -> v1::OverviewEntry& {
    v1::OverviewEntry& e = entries[{service, environment}];
    e.set_service(service);
    e.set_environment(environment);
    return e;
  };
  auto context = [&](grpc::ClientContext* c) {
    c->set_deadline(rpc::DeadlineAfter(timeout_));
    c->AddMetadata(rpc::kActorKey, actor);
    c->AddMetadata(rpc::kRoleKey, "VIEWER");
    c->AddMetadata(rpc::kRequestIdKey, request_id);
  };
  auto channel = [&](api::Service s) -> std::shared_ptr<grpc::Channel> {
    auto it = upstreams_.find(s);
    return it == upstreams_.end() ? nullptr : it->second;
  };
  auto unavailable = [&](api::Service s) { overview.add_unavailable(api::ServiceName(s)); };

  if (auto ch = channel(api::Service::kReleases)) {
    auto stub = v1::ReleaseService::NewStub(ch);
    grpc::ClientContext c;
    context(&c);
    v1::ListServiceEnvironmentsResponse response;
    if (stub->ListServiceEnvironments(&c, v1::ListServiceEnvironmentsRequest(), &response).ok()) {
      for (v1::ServiceEnvironment& se : *response.mutable_environments()) {
        v1::OverviewEntry& e = entry(se.service(), se.environment());
        if (se.has_current()) *e.mutable_current() = std::move(*se.mutable_current());
        if (se.has_in_flight()) *e.mutable_in_flight() = std::move(*se.mutable_in_flight());
        e.set_queued(se.queued());
      }
    } else {
      unavailable(api::Service::kReleases);
    }
  }

  if (auto ch = channel(api::Service::kHealth)) {
    auto stub = v1::HealthService::NewStub(ch);
    std::set<std::string> services;
    bool ok = true;
    std::string page_token;
    for (int page = 0; page < kMaxPages && ok; ++page) {
      grpc::ClientContext c;
      context(&c);
      v1::ListTargetsRequest request;
      request.set_page_size(kPageSize);
      request.set_page_token(page_token);
      v1::ListTargetsResponse response;
      ok = stub->ListTargets(&c, request, &response).ok();
      if (!ok) break;
      for (const v1::HealthTarget& t : response.targets()) services.insert(t.service());
      page_token = response.next_page_token();
      if (page_token.empty()) break;
    }
    for (const std::string& service : services) {
      if (!ok) break;
      grpc::ClientContext c;
      context(&c);
      v1::GetServiceHealthRequest request;
      request.set_service(service);
      v1::GetServiceHealthResponse response;
      ok = stub->GetServiceHealth(&c, request, &response).ok();
      for (v1::ServiceHealth& h : *response.mutable_environments()) {
        *entry(service, h.environment()).mutable_health() = std::move(h);
      }
    }
    if (!ok) unavailable(api::Service::kHealth);
  }

  if (auto ch = channel(api::Service::kIncidents)) {
    auto stub = v1::IncidentService::NewStub(ch);
    bool ok = true;
    std::string page_token;
    for (int page = 0; page < kMaxPages; ++page) {
      grpc::ClientContext c;
      context(&c);
      v1::ListIncidentsRequest request;
      request.set_state("open");
      request.set_page_size(kPageSize);
      request.set_page_token(page_token);
      v1::ListIncidentsResponse response;
      ok = stub->ListIncidents(&c, request, &response).ok();
      if (!ok) break;
      for (v1::Incident& incident : *response.mutable_incidents()) {
        // A summary: the detail is one GET away.
        incident.clear_alerts();
        incident.clear_timeline();
        incident.clear_updates();
        if (incident.service().empty()) {
          *overview.add_other_incidents() = std::move(incident);
        } else {
          *entry(incident.service(), incident.environment()).add_open_incidents() = std::move(incident);
        }
      }
      page_token = response.next_page_token();
      if (page_token.empty()) break;
    }
    if (!ok) unavailable(api::Service::kIncidents);
  }

  if (auto ch = channel(api::Service::kBackups)) {
    auto stub = v1::BackupService::NewStub(ch);
    grpc::ClientContext c;
    context(&c);
    v1::ListBackupTargetsResponse response;
    if (stub->ListBackupTargets(&c, v1::ListBackupTargetsRequest(), &response).ok()) {
      for (v1::BackupTarget& t : *response.mutable_backup_targets()) *overview.add_backups() = std::move(t);
    } else {
      unavailable(api::Service::kBackups);
    }
  }

  for (auto& [key, e] : entries) *overview.add_entries() = std::move(e);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  overview.mutable_generated_at()->set_seconds(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  return overview;
}

}  // namespace flightdeck::gateway
