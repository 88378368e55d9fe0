#pragma once

#include <memory>

#include "flightdeck/v1/incidents.grpc.pb.h"

namespace flightdeck {
class Clock;
}
namespace flightdeck::db {
class ChangeFeed;
class Pool;
}

namespace flightdeck::incidents {

class ConfigStore;
class Intake;
class Lifecycle;
class BusinessCalendar;
class IncidentStore;

// flightdeck.v1.IncidentService. The methods are defined in three files by area:
// service_intake.cc (PostAlertmanager, PostPagerDutyEvent, PostAlerts, ListAlerts),
// service_config.cc (integrations, escalation policies, silences, inhibition rules, settings)
// and service.cc (incidents, actions, reviews, watch, reports).
// The caller is read from metadata x-flightdeck-actor (common/grpc/metadata.h).
class IncidentServiceImpl final : public v1::IncidentService::Service {
 public:
  IncidentServiceImpl(db::Pool& pool, const Clock& clock, const BusinessCalendar& calendar,
                      ConfigStore& config, Intake& intake, Lifecycle& lifecycle);
  ~IncidentServiceImpl() override;
  // WatchIncidents waits on it for new events (without one it polls every 250 ms).
  void SetChangeFeed(const db::ChangeFeed* feed) { feed_ = feed; }

  // service_intake.cc
  grpc::Status PostAlertmanager(grpc::ServerContext* ctx, const v1::AlertmanagerWebhook* req,
                                v1::IngestResponse* resp) override;
  grpc::Status PostPagerDutyEvent(grpc::ServerContext* ctx, const v1::PagerDutyEvent* req,
                                  v1::PagerDutyResponse* resp) override;
  grpc::Status PostAlerts(grpc::ServerContext* ctx, const v1::PostAlertsRequest* req,
                          v1::IngestResponse* resp) override;
  grpc::Status ListAlerts(grpc::ServerContext* ctx, const v1::ListAlertsRequest* req,
                          v1::ListAlertsResponse* resp) override;

  // service.cc
  grpc::Status DeclareIncident(grpc::ServerContext* ctx, const v1::DeclareIncidentRequest* req,
                               v1::Incident* resp) override;
  grpc::Status GetIncident(grpc::ServerContext* ctx, const v1::GetIncidentRequest* req,
                           v1::Incident* resp) override;
  grpc::Status ListIncidents(grpc::ServerContext* ctx, const v1::ListIncidentsRequest* req,
                             v1::ListIncidentsResponse* resp) override;
  grpc::Status ListIncidentAlerts(grpc::ServerContext* ctx, const v1::ListIncidentAlertsRequest* req,
                                  v1::ListIncidentAlertsResponse* resp) override;
  grpc::Status ListIncidentEvents(grpc::ServerContext* ctx, const v1::ListIncidentEventsRequest* req,
                                  v1::ListIncidentEventsResponse* resp) override;
  grpc::Status AcknowledgeIncident(grpc::ServerContext* ctx, const v1::IncidentActionRequest* req,
                                   v1::Incident* resp) override;
  grpc::Status ResolveIncident(grpc::ServerContext* ctx, const v1::IncidentActionRequest* req,
                               v1::Incident* resp) override;
  grpc::Status EscalateIncident(grpc::ServerContext* ctx, const v1::IncidentActionRequest* req,
                                v1::Incident* resp) override;
  grpc::Status PostStatusUpdate(grpc::ServerContext* ctx, const v1::PostStatusUpdateRequest* req,
                                v1::Incident* resp) override;
  grpc::Status SubmitReview(grpc::ServerContext* ctx, const v1::SubmitReviewRequest* req,
                            v1::Incident* resp) override;
  grpc::Status AddAction(grpc::ServerContext* ctx, const v1::AddActionRequest* req,
                         v1::ActionItem* resp) override;
  grpc::Status ListActions(grpc::ServerContext* ctx, const v1::ListActionsRequest* req,
                           v1::ListActionsResponse* resp) override;
  grpc::Status CompleteAction(grpc::ServerContext* ctx, const v1::CompleteActionRequest* req,
                              v1::ActionItem* resp) override;
  grpc::Status CloseIncident(grpc::ServerContext* ctx, const v1::IncidentActionRequest* req,
                             v1::Incident* resp) override;
  grpc::Status WatchIncidents(grpc::ServerContext* ctx, const v1::WatchIncidentsRequest* req,
                              grpc::ServerWriter<v1::IncidentEvent>* writer) override;
  grpc::Status GetWeeklyReport(grpc::ServerContext* ctx, const v1::WeeklyReportRequest* req,
                               v1::WeeklyReport* resp) override;

  // service_config.cc
  grpc::Status CreateIntegration(grpc::ServerContext* ctx, const v1::Integration* req,
                                 v1::Integration* resp) override;
  grpc::Status GetIntegration(grpc::ServerContext* ctx, const v1::NameRequest* req,
                              v1::Integration* resp) override;
  grpc::Status ListIntegrations(grpc::ServerContext* ctx, const v1::ListIntegrationsRequest* req,
                                v1::ListIntegrationsResponse* resp) override;
  grpc::Status DeleteIntegration(grpc::ServerContext* ctx, const v1::NameRequest* req,
                                 v1::DeleteResponse* resp) override;
  grpc::Status PutEscalationPolicy(grpc::ServerContext* ctx, const v1::EscalationPolicy* req,
                                   v1::EscalationPolicy* resp) override;
  grpc::Status GetEscalationPolicy(grpc::ServerContext* ctx, const v1::NameRequest* req,
                                   v1::EscalationPolicy* resp) override;
  grpc::Status ListEscalationPolicies(grpc::ServerContext* ctx,
                                      const v1::ListEscalationPoliciesRequest* req,
                                      v1::ListEscalationPoliciesResponse* resp) override;
  grpc::Status DeleteEscalationPolicy(grpc::ServerContext* ctx, const v1::NameRequest* req,
                                      v1::DeleteResponse* resp) override;
  grpc::Status CreateSilence(grpc::ServerContext* ctx, const v1::Silence* req,
                             v1::Silence* resp) override;
  grpc::Status ListSilences(grpc::ServerContext* ctx, const v1::ListSilencesRequest* req,
                            v1::ListSilencesResponse* resp) override;
  grpc::Status ExpireSilence(grpc::ServerContext* ctx, const v1::IdRequest* req,
                             v1::Silence* resp) override;
  grpc::Status CreateInhibitionRule(grpc::ServerContext* ctx, const v1::InhibitionRule* req,
                                    v1::InhibitionRule* resp) override;
  grpc::Status ListInhibitionRules(grpc::ServerContext* ctx,
                                   const v1::ListInhibitionRulesRequest* req,
                                   v1::ListInhibitionRulesResponse* resp) override;
  grpc::Status DeleteInhibitionRule(grpc::ServerContext* ctx, const v1::IdRequest* req,
                                    v1::DeleteResponse* resp) override;
  grpc::Status GetIncidentSettings(grpc::ServerContext* ctx,
                                   const v1::GetIncidentSettingsRequest* req,
                                   v1::IncidentSettings* resp) override;
  grpc::Status PutIncidentSettings(grpc::ServerContext* ctx, const v1::IncidentSettings* req,
                                   v1::IncidentSettings* resp) override;

 private:
  db::Pool& pool_;
  const Clock& clock_;
  const BusinessCalendar& calendar_;
  ConfigStore& config_;
  Intake& intake_;
  Lifecycle& lifecycle_;
  // service.cc: the read side of incidents (incident_store.h).
  std::unique_ptr<IncidentStore> store_;
  const db::ChangeFeed* feed_ = nullptr;
};

}  // namespace flightdeck::incidents
