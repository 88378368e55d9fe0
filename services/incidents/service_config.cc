// IncidentServiceImpl: the configuration methods (service.h says which file holds which methods).
#include <string>

#include "common/grpc/metadata.h"
#include "services/incidents/config_store.h"
#include "services/incidents/policy_document.h"
#include "services/incidents/service.h"

namespace flightdeck::incidents {
namespace {

// Notification URLs are credentials (a Slack webhook URL is one): shown whole to ADMIN callers
// only, as scheme and host to the rest. The gateway passes the user's role.
bool ShowsNotificationUrls(const grpc::ServerContext* ctx) {
  return rpc::CallerRole(ctx) == "ADMIN";
}

}  // namespace

grpc::Status IncidentServiceImpl::CreateIntegration(grpc::ServerContext*, const v1::Integration* req,
                                                    v1::Integration* resp) {
  return config_.CreateIntegration(*req, resp);
}

grpc::Status IncidentServiceImpl::GetIntegration(grpc::ServerContext*, const v1::NameRequest* req,
                                                 v1::Integration* resp) {
  return config_.GetIntegration(req->name(), resp);
}

grpc::Status IncidentServiceImpl::ListIntegrations(grpc::ServerContext*, const v1::ListIntegrationsRequest* req,
                                                   v1::ListIntegrationsResponse* resp) {
  return config_.ListIntegrations(*req, resp);
}

grpc::Status IncidentServiceImpl::DeleteIntegration(grpc::ServerContext*, const v1::NameRequest* req,
                                                    v1::DeleteResponse* resp) {
  if (grpc::Status s = config_.DeleteIntegration(req->name()); !s.ok()) return s;
  resp->set_id(req->name());
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::PutEscalationPolicy(grpc::ServerContext* ctx, const v1::EscalationPolicy* req,
                                                      v1::EscalationPolicy* resp) {
  grpc::Status s = config_.PutEscalationPolicy(*req, resp);
  if (s.ok() && !ShowsNotificationUrls(ctx)) RedactUrls(resp);
  return s;
}

grpc::Status IncidentServiceImpl::GetEscalationPolicy(grpc::ServerContext* ctx, const v1::NameRequest* req,
                                                      v1::EscalationPolicy* resp) {
  grpc::Status s = config_.GetEscalationPolicy(req->name(), /*with_secrets=*/false, resp);
  if (s.ok() && !ShowsNotificationUrls(ctx)) RedactUrls(resp);
  return s;
}

grpc::Status IncidentServiceImpl::ListEscalationPolicies(grpc::ServerContext* ctx,
                                                         const v1::ListEscalationPoliciesRequest* req,
                                                         v1::ListEscalationPoliciesResponse* resp) {
  grpc::Status s = config_.ListEscalationPolicies(*req, resp);
  if (s.ok() && !ShowsNotificationUrls(ctx)) {
    for (v1::EscalationPolicy& p : *resp->mutable_policies()) RedactUrls(&p);
  }
  return s;
}

grpc::Status IncidentServiceImpl::DeleteEscalationPolicy(grpc::ServerContext*, const v1::NameRequest* req,
                                                         v1::DeleteResponse* resp) {
  if (grpc::Status s = config_.DeleteEscalationPolicy(req->name()); !s.ok()) return s;
  resp->set_id(req->name());
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::CreateSilence(grpc::ServerContext* ctx, const v1::Silence* req,
                                                v1::Silence* resp) {
  std::string actor = rpc::CallerActor(ctx);
  return config_.CreateSilence(*req, actor, resp);
}

grpc::Status IncidentServiceImpl::ListSilences(grpc::ServerContext*, const v1::ListSilencesRequest* req,
                                               v1::ListSilencesResponse* resp) {
  return config_.ListSilences(*req, resp);
}

grpc::Status IncidentServiceImpl::ExpireSilence(grpc::ServerContext*, const v1::IdRequest* req,
                                                v1::Silence* resp) {
  return config_.ExpireSilence(req->id(), resp);
}

grpc::Status IncidentServiceImpl::CreateInhibitionRule(grpc::ServerContext*, const v1::InhibitionRule* req,
                                                       v1::InhibitionRule* resp) {
  return config_.CreateInhibitionRule(*req, resp);
}

grpc::Status IncidentServiceImpl::ListInhibitionRules(grpc::ServerContext*,
                                                      const v1::ListInhibitionRulesRequest* req,
                                                      v1::ListInhibitionRulesResponse* resp) {
  return config_.ListInhibitionRules(*req, resp);
}

grpc::Status IncidentServiceImpl::DeleteInhibitionRule(grpc::ServerContext*, const v1::IdRequest* req,
                                                       v1::DeleteResponse* resp) {
  if (grpc::Status s = config_.DeleteInhibitionRule(req->id()); !s.ok()) return s;
  resp->set_id(req->id());
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::GetIncidentSettings(grpc::ServerContext*, const v1::GetIncidentSettingsRequest*,
                                                      v1::IncidentSettings* resp) {
  return config_.GetSettings(resp);
}

grpc::Status IncidentServiceImpl::PutIncidentSettings(grpc::ServerContext*, const v1::IncidentSettings* req,
                                                      v1::IncidentSettings* resp) {
  return config_.PutSettings(*req, resp);
}

}  // namespace flightdeck::incidents
