#include "services/health/service.h"

#include <algorithm>
#include <limits>
#include <map>
#include <thread>

#include "common/clock/timestamps.h"
#include "common/grpc/metadata.h"
#include "services/health/request_checks.h"
#include "services/health/rollup.h"
#include "services/health/target.h"
#include "services/health/thresholds.h"

namespace flightdeck::health {
namespace {

const std::initializer_list<const char*> kEventKinds = {"TARGET", "SERVICE", "ALERT"};

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status PageSize(int requested, int* out) {
  if (requested < 0 || requested > 500) {
    return Invalid("page_size: " + std::to_string(requested) + " is not within 1..500");
  }
  *out = requested == 0 ? 100 : requested;
  return grpc::Status::OK;
}

void FillStats(const std::vector<MinuteRow>& rows, long long now_minute, v1::TargetStats* stats) {
  WindowFigures h = Summarise(rows, now_minute - 59, now_minute);
  WindowFigures d = Summarise(rows, now_minute - (kRingSlots - 1), now_minute);
  stats->set_probes_1h(h.probes);
  stats->set_uptime_1h(h.success_ratio);
  stats->set_latency_p50_1h_ms(h.p50_ms);
  stats->set_latency_p99_1h_ms(h.p99_ms);
  stats->set_probes_24h(d.probes);
  stats->set_uptime_24h(d.success_ratio);
  stats->set_latency_p50_24h_ms(d.p50_ms);
  stats->set_latency_p99_24h_ms(d.p99_ms);
}

}  // namespace

HealthServiceImpl::HealthServiceImpl(HealthStore& store, const Clock& clock, Options options)
    : store_(store), clock_(clock), options_(options) {}

grpc::Status HealthServiceImpl::CreateTarget(grpc::ServerContext* ctx, const v1::HealthTarget* req,
                                             v1::HealthTarget* resp) {
  v1::HealthTarget target = *req;
  if (grpc::Status s = ValidateTarget(&target); !s.ok()) return s;
  if (options_.egress != nullptr) {
    if (std::string refusal = DestinationRefusal(*options_.egress, ToProbeSpec(target));
        !refusal.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, refusal);
    }
  }
  TargetRecord record;
  std::string actor = rpc::CallerActor(ctx, "");
  if (grpc::Status s = store_.CreateTarget(target, actor, clock_.Now(), &record); !s.ok()) return s;
  *resp = record.target;
  RedactTarget(resp);
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::GetTarget(grpc::ServerContext*, const v1::GetTargetRequest* req,
                                          v1::HealthTarget* resp) {
  if (req->name().empty()) return Invalid("name: required");
  TargetRecord record;
  if (grpc::Status s = store_.GetTarget(req->name(), &record); !s.ok()) return s;
  *resp = record.target;
  for (const v1::ProbeResult& r : record.recent) *resp->add_recent_results() = r;
  long long now_minute = MinuteOf(clock_.Now());
  std::vector<MinuteRow> rows;
  if (grpc::Status s = store_.RingRows(req->name(), now_minute - (kRingSlots - 1), now_minute, &rows);
      !s.ok()) {
    return s;
  }
  FillStats(rows, now_minute, resp->mutable_stats());
  RedactTarget(resp);
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::ListTargets(grpc::ServerContext*, const v1::ListTargetsRequest* req,
                                            v1::ListTargetsResponse* resp) {
  int page_size = 0;
  if (grpc::Status s = PageSize(req->page_size(), &page_size); !s.ok()) return s;
  std::vector<TargetRecord> records;
  // One extra row tells whether another page follows.
  if (grpc::Status s = store_.ListTargets(req->service(), req->environment(), req->page_token(),
                                          page_size + 1, &records);
      !s.ok()) {
    return s;
  }
  bool more = static_cast<int>(records.size()) > page_size;
  if (more) records.resize(page_size);
  for (const TargetRecord& r : records) {
    v1::HealthTarget* t = resp->add_targets();
    *t = r.target;
    RedactTarget(t);
  }
  if (more) resp->set_next_page_token(records.back().target.name());
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::DeleteTarget(grpc::ServerContext*, const v1::DeleteTargetRequest* req,
                                             v1::DeleteTargetResponse* resp) {
  if (req->name().empty()) return Invalid("name: required");
  if (grpc::Status s = store_.DeleteTarget(req->name(), clock_.Now()); !s.ok()) return s;
  resp->set_name(req->name());
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::WindowStats(const std::string& name, std::chrono::seconds window,
                                            Clock::TimePoint end, v1::TargetWindowStats* out) {
  long long to_minute = MinuteOf(end);
  long long from_minute = MinuteOf(end - window);
  // The ring holds a day: a 24h window widened to whole minutes is clipped to 1440 of them.
  from_minute = std::max(from_minute, to_minute - (kRingSlots - 1));
  std::vector<MinuteRow> rows;
  if (grpc::Status s = store_.RingRows(name, from_minute, to_minute, &rows); !s.ok()) return s;
  WindowFigures f = Summarise(rows, from_minute, to_minute);
  out->set_name(name);
  SetTimestamp(out->mutable_from(), Clock::TimePoint(std::chrono::minutes(from_minute)));
  SetTimestamp(out->mutable_to(), Clock::TimePoint(std::chrono::minutes(to_minute + 1)));
  out->set_probes(f.probes);
  out->set_successes(f.successes);
  out->set_success_ratio(f.success_ratio);
  out->set_latency_p50_ms(f.p50_ms);
  out->set_latency_p99_ms(f.p99_ms);
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::GetTargetStats(grpc::ServerContext*, const v1::GetTargetStatsRequest* req,
                                               v1::TargetWindowStats* resp) {
  FieldErrors errors;
  if (req->name().empty()) errors.Add("name", "required");
  if (req->window_seconds() < 1 || req->window_seconds() > 86400) {
    errors.Add("window_seconds", std::to_string(req->window_seconds()) + " is not within 1..86400");
  }
  if (!errors.empty()) return errors.ToStatus();
  TargetRecord record;
  if (grpc::Status s = store_.GetTarget(req->name(), &record); !s.ok()) return s;
  Clock::TimePoint end = req->has_end() ? TimeOf(req->end()) : clock_.Now();
  return WindowStats(req->name(), std::chrono::seconds(req->window_seconds()), end, resp);
}

grpc::Status HealthServiceImpl::GetServiceHealth(grpc::ServerContext*, const v1::GetServiceHealthRequest* req,
                                                 v1::GetServiceHealthResponse* resp) {
  if (req->service().empty()) return Invalid("service: required");
  std::vector<TargetRecord> targets;
  if (grpc::Status s = store_.ListTargets(req->service(), req->environment(), "", 100000, &targets);
      !s.ok()) {
    return s;
  }
  std::vector<ServiceHealthRow> stored;
  if (grpc::Status s = store_.GetServiceHealth(req->service(), req->environment(), &stored); !s.ok()) {
    return s;
  }
  // The roll-up is computed from the targets' current states, so the answer is fresh even
  // between evaluator rounds; status_since comes from the evaluator's stored verdict.
  std::map<std::string, std::vector<const TargetRecord*>> by_env;
  for (const TargetRecord& r : targets) by_env[r.target.environment()].push_back(&r);
  std::map<std::string, const ServiceHealthRow*> rows;
  for (const ServiceHealthRow& row : stored) rows[row.environment] = &row;
  if (by_env.empty() && rows.empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "service: no health targets for \"" + req->service() + "\"" +
                            (req->environment().empty() ? "" : " in " + req->environment()));
  }
  for (const auto& [env, row] : rows) by_env.emplace(env, std::vector<const TargetRecord*>{});
  resp->set_service(req->service());
  for (const auto& [env, records] : by_env) {
    std::vector<TargetView> views;
    v1::ServiceHealth* sh = resp->add_environments();
    sh->set_service(req->service());
    sh->set_environment(env);
    for (const TargetRecord* r : records) {
      views.push_back({r->target.name(), r->target.role(), r->state.status, r->state.since});
      v1::TargetHealth* th = sh->add_targets();
      th->set_name(r->target.name());
      th->set_role(r->target.role());
      th->set_status(r->state.status);
    }
    RollUpResult verdict = RollUp(views);
    sh->set_status(verdict.status);
    sh->set_reason(verdict.reason);
    auto row = rows.find(env);
    if (row != rows.end() && row->second->status == verdict.status) {
      SetTimestamp(sh->mutable_status_since(), row->second->since);
    }
  }
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::ListHealthEvents(grpc::ServerContext*, const v1::ListHealthEventsRequest* req,
                                                 v1::ListHealthEventsResponse* resp) {
  FieldErrors errors;
  int page_size = 0;
  errors.Add(PageSize(req->page_size(), &page_size));
  std::string kind;
  if (!req->kind().empty()) {
    if (std::optional<std::string> canonical = CanonicalEnum(req->kind(), kEventKinds)) {
      kind = *canonical;
    } else {
      errors.Add("kind", UnknownEnumValue(req->kind(), kEventKinds));
    }
  }
  long long before = std::numeric_limits<long long>::max();
  if (!req->page_token().empty()) {
    try {
      before = std::stoll(req->page_token());
    } catch (const std::exception&) {
      errors.Add("page_token", "not a token from this list");
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  std::vector<v1::HealthEvent> events;
  EventFilter filter{req->service(), req->environment(), kind};
  if (grpc::Status s = store_.ListEvents(filter, before, page_size + 1, &events); !s.ok()) return s;
  bool more = static_cast<int>(events.size()) > page_size;
  if (more) events.resize(page_size);
  for (v1::HealthEvent& e : events) *resp->add_events() = std::move(e);
  if (more) resp->set_next_page_token(std::to_string(resp->events().rbegin()->id()));
  return grpc::Status::OK;
}

grpc::Status HealthServiceImpl::WatchHealth(grpc::ServerContext* ctx, const v1::WatchHealthRequest* req,
                                            grpc::ServerWriter<v1::HealthEvent>* writer) {
  long long after = req->after_id();
  if (after <= 0) {
    if (grpc::Status s = store_.MaxEventId(&after); !s.ok()) return s;
  }
  while (!ctx->IsCancelled()) {
    if (db::Closed(options_.feed)) return db::FeedClosed();
    const uint64_t seen = db::Generation(options_.feed);
    std::vector<v1::HealthEvent> events;
    grpc::Status s = store_.EventsAfter(after, req->service(), req->environment(), 500, &events);
    if (!s.ok()) return s;
    for (const v1::HealthEvent& e : events) {
      if (!writer->Write(e)) return grpc::Status::OK;  // the client went away
      after = e.id();
    }
    if (events.size() < 500) db::Await(options_.feed, seen, options_.watch_poll);
  }
  return grpc::Status::OK;
}

}  // namespace flightdeck::health
