// The incidents, actions, reviews, watch and report methods of IncidentService: validate, call
// the lifecycle or the store, answer with the incident as it now is.
#include "services/incidents/service.h"

#include <thread>

#include "common/clock/clock.h"
#include "common/db/change_feed.h"
#include "common/grpc/metadata.h"
#include "services/incidents/deadlines.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/intake.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/reports.h"

namespace flightdeck::incidents {
namespace {

std::string Actor(const grpc::ServerContext* ctx) {
  return rpc::CallerActor(ctx);
}

}  // namespace

IncidentServiceImpl::IncidentServiceImpl(db::Pool& pool, const Clock& clock,
                                         const BusinessCalendar& calendar, ConfigStore& config,
                                         Intake& intake, Lifecycle& lifecycle)
    : pool_(pool), clock_(clock), calendar_(calendar), config_(config), intake_(intake),
      lifecycle_(lifecycle), store_(std::make_unique<IncidentStore>(pool, clock, &intake)) {}

IncidentServiceImpl::~IncidentServiceImpl() = default;

grpc::Status IncidentServiceImpl::DeclareIncident(grpc::ServerContext* ctx,
                                                  const v1::DeclareIncidentRequest* req,
                                                  v1::Incident* resp) {
  std::string id;
  grpc::Status s = lifecycle_.Declare(*req, Actor(ctx), &id);
  if (!s.ok()) return s;
  return store_->Get(id, resp);
}

grpc::Status IncidentServiceImpl::GetIncident(grpc::ServerContext*, const v1::GetIncidentRequest* req,
                                              v1::Incident* resp) {
  return store_->Get(req->id(), resp);
}

grpc::Status IncidentServiceImpl::ListIncidents(grpc::ServerContext*, const v1::ListIncidentsRequest* req,
                                                v1::ListIncidentsResponse* resp) {
  return store_->List(*req, resp);
}

grpc::Status IncidentServiceImpl::ListIncidentAlerts(grpc::ServerContext*, const v1::ListIncidentAlertsRequest* req,
                                                     v1::ListIncidentAlertsResponse* resp) {
  if (req->page_size() < 0 || req->page_size() > kMaxPage) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "page_size: must be between 1 and " + std::to_string(kMaxPage) + " (0 for the default " +
                            std::to_string(kDetailPage) + ")");
  }
  if (req->id().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "id: required");
  v1::ListAlertsRequest list;
  if (grpc::Status s = store_->ResolveId(req->id(), list.mutable_incident_id()); !s.ok()) return s;
  list.set_page_size(req->page_size() == 0 ? kDetailPage : req->page_size());
  list.set_page_token(req->page_token());
  v1::ListAlertsResponse alerts;
  if (grpc::Status s = intake_.ListAlerts(list, &alerts); !s.ok()) return s;
  resp->mutable_alerts()->Swap(alerts.mutable_alerts());
  resp->set_next_page_token(alerts.next_page_token());
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::ListIncidentEvents(grpc::ServerContext*, const v1::ListIncidentEventsRequest* req,
                                                     v1::ListIncidentEventsResponse* resp) {
  return store_->ListEvents(*req, resp);
}

grpc::Status IncidentServiceImpl::AcknowledgeIncident(grpc::ServerContext* ctx,
                                                      const v1::IncidentActionRequest* req,
                                                      v1::Incident* resp) {
  grpc::Status s = lifecycle_.Acknowledge(req->id(), Actor(ctx), req->message());
  return s.ok() ? store_->Get(req->id(), resp) : s;
}

grpc::Status IncidentServiceImpl::ResolveIncident(grpc::ServerContext* ctx,
                                                  const v1::IncidentActionRequest* req,
                                                  v1::Incident* resp) {
  grpc::Status s = lifecycle_.Resolve(req->id(), Actor(ctx), req->message());
  return s.ok() ? store_->Get(req->id(), resp) : s;
}

grpc::Status IncidentServiceImpl::EscalateIncident(grpc::ServerContext* ctx,
                                                   const v1::IncidentActionRequest* req,
                                                   v1::Incident* resp) {
  grpc::Status s = lifecycle_.Escalate(req->id(), Actor(ctx), req->message());
  return s.ok() ? store_->Get(req->id(), resp) : s;
}

grpc::Status IncidentServiceImpl::PostStatusUpdate(grpc::ServerContext* ctx,
                                                   const v1::PostStatusUpdateRequest* req,
                                                   v1::Incident* resp) {
  grpc::Status s = lifecycle_.PostStatusUpdate(req->id(), Actor(ctx), req->message());
  return s.ok() ? store_->Get(req->id(), resp) : s;
}

grpc::Status IncidentServiceImpl::SubmitReview(grpc::ServerContext* ctx, const v1::SubmitReviewRequest* req,
                                               v1::Incident* resp) {
  grpc::Status s = lifecycle_.SubmitReview(*req, Actor(ctx));
  return s.ok() ? store_->Get(req->id(), resp) : s;
}

grpc::Status IncidentServiceImpl::AddAction(grpc::ServerContext* ctx, const v1::AddActionRequest* req,
                                            v1::ActionItem* resp) {
  return lifecycle_.AddAction(*req, Actor(ctx), resp);
}

grpc::Status IncidentServiceImpl::ListActions(grpc::ServerContext*, const v1::ListActionsRequest* req,
                                              v1::ListActionsResponse* resp) {
  return store_->ListActions(*req, resp);
}

grpc::Status IncidentServiceImpl::CompleteAction(grpc::ServerContext* ctx,
                                                 const v1::CompleteActionRequest* req,
                                                 v1::ActionItem* resp) {
  return lifecycle_.CompleteAction(*req, Actor(ctx), resp);
}

grpc::Status IncidentServiceImpl::CloseIncident(grpc::ServerContext* ctx,
                                                const v1::IncidentActionRequest* req,
                                                v1::Incident* resp) {
  grpc::Status s = lifecycle_.Close(req->id(), Actor(ctx), req->message());
  return s.ok() ? store_->Get(req->id(), resp) : s;
}

grpc::Status IncidentServiceImpl::WatchIncidents(grpc::ServerContext* ctx,
                                                 const v1::WatchIncidentsRequest* req,
                                                 grpc::ServerWriter<v1::IncidentEvent>* writer) {
  std::string incident_id;
  if (!req->incident_id().empty()) {
    v1::Incident probe;
    grpc::Status s = store_->Get(req->incident_id(), &probe);
    if (!s.ok()) return s;
    incident_id = probe.id();  // a number or prefix (ids.h) resolved once
  }
  long long after = req->after_event_id();
  if (after <= 0) {
    grpc::Status s = store_->LastEventId(&after);
    if (!s.ok()) return s;
  }
  // Any replica may have written them: the feed (LISTEN/NOTIFY) says when to look again.
  std::vector<v1::IncidentEvent> events;
  while (!ctx->IsCancelled()) {
    if (db::Closed(feed_)) return db::FeedClosed();
    const uint64_t seen = db::Generation(feed_);
    grpc::Status s = store_->EventsAfter(incident_id, after, 100, &events);
    if (!s.ok()) return s;
    for (const v1::IncidentEvent& e : events) {
      if (!writer->Write(e)) return grpc::Status::OK;
      after = e.id();
    }
    if (events.size() < 100) db::Await(feed_, seen);
  }
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::GetWeeklyReport(grpc::ServerContext*, const v1::WeeklyReportRequest* req,
                                                  v1::WeeklyReport* resp) {
  return WeeklyReport(pool_, calendar_, clock_.Now(), req->week(), resp);
}

}  // namespace flightdeck::incidents
