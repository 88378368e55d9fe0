// IncidentServiceImpl: the intake methods (service.h says which file holds which methods).
#include <string>
#include <vector>

#include "common/grpc/metadata.h"
#include "services/incidents/intake.h"
#include "services/incidents/intake_parse.h"
#include "services/incidents/service.h"

namespace flightdeck::incidents {
namespace {

std::string Actor(const grpc::ServerContext* ctx, const std::string& fallback) {
  return rpc::CallerActor(ctx, fallback);
}

}  // namespace

grpc::Status IncidentServiceImpl::PostAlertmanager(grpc::ServerContext* ctx, const v1::AlertmanagerWebhook* req,
                                                   v1::IngestResponse* resp) {
  std::vector<AlertInput> alerts;
  if (grpc::Status s = ParseAlertmanager(*req, &alerts); !s.ok()) return s;
  return intake_.Ingest(alerts, Actor(ctx, "alertmanager"), resp);
}

grpc::Status IncidentServiceImpl::PostPagerDutyEvent(grpc::ServerContext* ctx, const v1::PagerDutyEvent* req,
                                                     v1::PagerDutyResponse* resp) {
  return intake_.PagerDuty(*req, Actor(ctx, "pagerduty"), resp);
}

grpc::Status IncidentServiceImpl::PostAlerts(grpc::ServerContext* ctx, const v1::PostAlertsRequest* req,
                                             v1::IngestResponse* resp) {
  std::vector<AlertInput> alerts;
  if (grpc::Status s = ParseNative(*req, &alerts); !s.ok()) return s;
  return intake_.Ingest(alerts, Actor(ctx, req->source().empty() ? "native" : req->source()), resp);
}

grpc::Status IncidentServiceImpl::ListAlerts(grpc::ServerContext*, const v1::ListAlertsRequest* req,
                                             v1::ListAlertsResponse* resp) {
  return intake_.ListAlerts(*req, resp);
}

}  // namespace flightdeck::incidents
