#include "services/releases/service.h"

#include "common/cache/cache.h"
#include "common/grpc/metadata.h"
#include "common/grpc/queued_unary.h"
#include "common/log/log.h"
#include "common/trace/trace.h"
#include "services/releases/state_machine.h"
#include "services/releases/validation.h"

#include <thread>

#include <google/protobuf/util/json_util.h>

namespace flightdeck::releases {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

constexpr int kMaxListedCandidates = 10;
// How long a release kept in memory may be served without a notification to say it changed:
// the bound on staleness should the change feed's connection die unnoticed.
constexpr std::chrono::milliseconds kHotReleaseMaxAge{1000};

}  // namespace

grpc::Status ReleaseServiceImpl::ResolveId(const std::string& given, std::string* id,
                                           v1::Release* found) {
  // A full id costs nothing more: no query here.
  if (IsUuid(given)) {
    id->clear();
    for (char c : given) id->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return grpc::Status::OK;
  }
  if (given.empty()) return Invalid("id: is required");
  std::string lowest, highest;
  if (!IdPrefixBounds(given, &lowest, &highest)) {
    return Invalid("id: \"" + given + "\" is not a release id (a UUID, or a unique prefix of at least " +
                   std::to_string(kMinIdPrefix) + " hex characters of one)");
  }
  std::vector<v1::Release> candidates;
  if (grpc::Status s = store_.IdsBetween(lowest, highest, kMaxListedCandidates + 1, &candidates); !s.ok()) {
    return s;
  }
  if (candidates.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no release id starts with " + given);
  if (candidates.size() > 1) {
    std::string listed;
    for (size_t i = 0; i < candidates.size() && i < static_cast<size_t>(kMaxListedCandidates); ++i) {
      const v1::Release& r = candidates[i];
      listed += (listed.empty() ? "" : ", ") + r.id() + " (" + r.service() + "/" + r.environment() +
                " " + r.version() + ")";
    }
    if (candidates.size() > static_cast<size_t>(kMaxListedCandidates)) listed += ", ...";
    return Invalid("id: \"" + given + "\" is ambiguous: it starts " + listed + "; give more characters");
  }
  *id = candidates.front().id();
  if (found != nullptr) *found = std::move(candidates.front());
  return grpc::Status::OK;
}

ReleaseServiceImpl::ReleaseServiceImpl(ReleaseStore& store, Pipeline& pipeline,
                                       cache::Cache& cache, std::chrono::milliseconds cache_ttl)
    : store_(store), pipeline_(pipeline), cache_(cache), cache_ttl_(cache_ttl), tail_(store) {}

namespace {

Actor ActorOf(const grpc::ServerContext& context) {
  Actor actor;
  actor.name = rpc::CallerActor(&context);
  actor.role = rpc::CallerRole(&context);
  trace::SpanContext span = trace::CurrentContext();
  if (span.IsValid()) actor.trace_id = span.TraceIdHex();
  return actor;
}

}  // namespace

grpc::Status ReleaseServiceImpl::CreateRelease(grpc::ServerContext* context,
                                               const v1::CreateReleaseRequest* request,
                                               v1::Release* response) {
  return pipeline_.Create(*request, ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::GetRelease(grpc::ServerContext*, const v1::GetReleaseRequest* request,
                                            v1::Release* response) {
  std::string id;
  v1::Release found;
  if (grpc::Status s = ResolveId(request->id(), &id, &found); !s.ok()) return s;
  if (!found.id().empty()) {  // a prefix: the lookup read the release already
    *response = std::move(found);
    return grpc::Status::OK;
  }
  HotReleases::Stamp read_at;
  if (hot_) {
    if (std::optional<std::string> hot = hot_->Get(id); hot && response->ParseFromString(*hot)) {
      return grpc::Status::OK;
    }
    read_at = hot_->Now();  // before the read: a change meanwhile keeps it out of memory
  }
  const std::string key = CacheKey(id);
  if (std::optional<std::string> cached = cache_.GetVersioned(key)) {
    if (response->ParseFromString(*cached)) {
      if (hot_) hot_->Put(id, std::move(*cached), read_at);
      return grpc::Status::OK;
    }
    cache_.Del(key);  // unreadable entry (older format): fall through to the database
  }
  if (grpc::Status s = store_.Get(id, response); !s.ok()) return s;
  std::string serialized = response->SerializeAsString();
  // Stored only if no writer committed a newer revision meanwhile (cache.h, SetVersioned).
  cache_.SetVersioned(key, response->revision(), serialized, cache_ttl_);
  if (hot_) hot_->Put(id, std::move(serialized), read_at);
  return grpc::Status::OK;
}

void ReleaseServiceImpl::ServeGetRelease(grpc::ServerCompletionQueue* queue) {
  rpc::QueuedUnary<ReleaseServiceImpl, v1::GetReleaseRequest, v1::Release>::Serve(
      this, &ReleaseServiceImpl::RequestGetRelease,
      [this](grpc::ServerContext* context, const v1::GetReleaseRequest* request, v1::Release* response) {
        return GetRelease(context, request, response);
      },
      queue);
}

void ReleaseServiceImpl::SetChangeFeed(const db::ChangeFeed* feed) {
  feed_ = feed;
  if (feed != nullptr) hot_.emplace(feed, pipeline_.clock(), kHotReleaseMaxAge);
}

void ReleaseServiceImpl::ReleaseChanged(const std::string& id, long long revision) {
  // Redis first: a read that starts after Changed() must not find the old revision there and
  // keep it in memory until the notification arrives.
  cache_.InvalidateVersion(CacheKey(id), revision, cache_ttl_);
  if (hot_) hot_->Changed();
}

grpc::Status ReleaseServiceImpl::ListReleases(grpc::ServerContext*,
                                              const v1::ListReleasesRequest* request,
                                              v1::ListReleasesResponse* response) {
  ListQuery query;
  if (!request->service().empty() && !IsDnsLabel(request->service())) {
    return Invalid("service: \"" + request->service() + "\" is not a valid service name");
  }
  if (!request->environment().empty() && !IsDnsLabel(request->environment())) {
    return Invalid("environment: \"" + request->environment() +
                   "\" is not a valid environment name");
  }
  if (request->page_size() < 0 || request->page_size() > kMaxPageSize) {
    return Invalid("page_size: must be between 1 and " + std::to_string(kMaxPageSize) +
                   " (0 for the default of " + std::to_string(kDefaultPageSize) + ")");
  }
  if (!request->state().empty()) {
    v1::Release::State state;
    if (!v1::Release::State_Parse(request->state(), &state) || state == v1::Release::STATE_UNSPECIFIED) {
      return Invalid("state: \"" + request->state() + "\" is not a release state (PENDING, "
                     "AWAITING_APPROVAL, CANARY, PROMOTING, VERIFYING, BAKING, SUCCEEDED, "
                     "ROLLING_BACK, ROLLED_BACK, ABORTED, FAILED)");
    }
  }
  query.service = request->service();
  query.environment = request->environment();
  query.state = request->state();
  query.limit = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  if (!request->page_token().empty()) {
    ListCursor cursor;
    if (!DecodePageToken(request->page_token(), &cursor)) {
      return Invalid("page_token: not a token returned by a previous list call");
    }
    query.after = cursor;
  }

  query.stale_ok = true;  // a page for people: the read replica may serve it
  std::vector<v1::Release> releases;
  bool more = false;
  if (grpc::Status s = store_.List(query, &releases, &more); !s.ok()) return s;
  for (v1::Release& r : releases) *response->add_releases() = std::move(r);
  if (more && response->releases_size() > 0) {
    const v1::Release& last = response->releases(response->releases_size() - 1);
    ListCursor cursor{last.created_at().seconds() * 1000000 + last.created_at().nanos() / 1000,
                      last.id()};
    response->set_next_page_token(EncodePageToken(cursor));
  }
  return grpc::Status::OK;
}

grpc::Status ReleaseServiceImpl::ListReleaseEvents(grpc::ServerContext*,
                                                   const v1::ListReleaseEventsRequest* request,
                                                   v1::ListReleaseEventsResponse* response) {
  FieldErrors errors;
  if (request->page_size() < 0 || request->page_size() > 1000) {
    errors.Add("page_size", "must be between 1 and 1000 (0 for the default of 200)");
  }
  long long after = 0;
  if (!request->page_token().empty()) {
    const std::string& t = request->page_token();
    if (t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos) {
      errors.Add("page_token", "not a token returned by a previous list call");
    } else {
      after = std::stoll(t);
    }
  }
  std::string id;
  grpc::Status resolved = ResolveId(request->id(), &id);
  if (!resolved.ok() && resolved.error_code() != grpc::StatusCode::INVALID_ARGUMENT) return resolved;
  errors.Add(resolved);
  if (!errors.empty()) return errors.ToStatus();
  v1::Release release;
  if (grpc::Status s = store_.Get(id, &release); !s.ok()) return s;
  std::vector<v1::ReleaseEvent> events;
  bool more = false;
  int limit = request->page_size() == 0 ? 200 : request->page_size();
  if (grpc::Status s = store_.ListEvents(id, after, limit, &events, &more); !s.ok()) return s;
  for (v1::ReleaseEvent& e : events) *response->add_events() = std::move(e);
  if (more && response->events_size() > 0) {
    response->set_next_page_token(std::to_string(response->events(response->events_size() - 1).id()));
  }
  return grpc::Status::OK;
}

grpc::Status ReleaseServiceImpl::ApproveRelease(grpc::ServerContext* context,
                                                const v1::ReleaseActionRequest* request,
                                                v1::Release* response) {
  std::string id;
  if (grpc::Status s = ResolveId(request->id(), &id); !s.ok()) return s;
  return pipeline_.Approve(id, request->reason(), ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::PromoteRelease(grpc::ServerContext* context,
                                                const v1::ReleaseActionRequest* request,
                                                v1::Release* response) {
  std::string id;
  if (grpc::Status s = ResolveId(request->id(), &id); !s.ok()) return s;
  return pipeline_.Promote(id, request->reason(), ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::AbortRelease(grpc::ServerContext* context,
                                              const v1::ReleaseActionRequest* request,
                                              v1::Release* response) {
  std::string id;
  if (grpc::Status s = ResolveId(request->id(), &id); !s.ok()) return s;
  return pipeline_.Abort(id, request->reason(), ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::RollbackRelease(grpc::ServerContext* context,
                                                 const v1::ReleaseActionRequest* request,
                                                 v1::Release* response) {
  std::string id;
  if (grpc::Status s = ResolveId(request->id(), &id); !s.ok()) return s;
  return pipeline_.RollBack(id, request->reason(), ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::PostObservations(grpc::ServerContext* context,
                                                  const v1::PostObservationsRequest* request,
                                                  v1::Release* response) {
  v1::PostObservationsRequest resolved = *request;
  if (grpc::Status s = ResolveId(request->id(), resolved.mutable_id()); !s.ok()) return s;
  return pipeline_.Observe(resolved, ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::PostVerification(grpc::ServerContext* context,
                                                  const v1::PostVerificationRequest* request,
                                                  v1::Release* response) {
  v1::PostVerificationRequest resolved = *request;
  if (grpc::Status s = ResolveId(request->id(), resolved.mutable_id()); !s.ok()) return s;
  return pipeline_.Verify(resolved, ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::GetServiceEnvironment(grpc::ServerContext*,
                                                       const v1::GetServiceEnvironmentRequest* request,
                                                       v1::ServiceEnvironment* response) {
  FieldErrors errors;
  if (!IsDnsLabel(request->service())) {
    errors.Add("service", "\"" + request->service() + "\" is not a valid service name");
  }
  if (!IsDnsLabel(request->environment())) {
    errors.Add("environment", "\"" + request->environment() + "\" is not a valid environment name");
  }
  if (!errors.empty()) return errors.ToStatus();
  response->set_service(request->service());
  response->set_environment(request->environment());
  grpc::Status s = store_.CurrentGood(request->service(), request->environment(), response->mutable_current());
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    response->clear_current();
  } else if (!s.ok()) {
    return s;
  }
  int queued = 0;
  s = store_.InFlight(request->service(), request->environment(), response->mutable_in_flight(), &queued);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    response->clear_in_flight();
  } else if (!s.ok()) {
    return s;
  }
  response->set_queued(queued);
  return grpc::Status::OK;
}

grpc::Status ReleaseServiceImpl::ListServiceEnvironments(
    grpc::ServerContext*, const v1::ListServiceEnvironmentsRequest* request,
    v1::ListServiceEnvironmentsResponse* response) {
  if (!request->service().empty() && !IsDnsLabel(request->service())) {
    return Invalid("service: \"" + request->service() + "\" is not a valid service name");
  }
  std::vector<v1::ServiceEnvironment> environments;
  if (grpc::Status s = store_.ListEnvironments(request->service(), &environments); !s.ok()) return s;
  for (v1::ServiceEnvironment& e : environments) *response->add_environments() = std::move(e);
  return grpc::Status::OK;
}

grpc::Status ReleaseServiceImpl::AnnotateRelease(grpc::ServerContext* context,
                                                 const v1::AnnotateReleaseRequest* request,
                                                 v1::ReleaseEvent* response) {
  FieldErrors errors;
  std::string id;
  grpc::Status resolved = ResolveId(request->id(), &id);
  if (!resolved.ok() && resolved.error_code() != grpc::StatusCode::INVALID_ARGUMENT) return resolved;
  errors.Add(resolved);
  if (request->message().empty()) {
    errors.Add("message", "is required");
  }
  errors.AddIfLonger("message", request->message(), kMaxNoteCharacters);
  if (!errors.empty()) return errors.ToStatus();
  std::string data = "{}";
  if (request->has_data()) {
    (void)google::protobuf::util::MessageToJsonString(request->data(), &data);
  }
  const Actor actor = ActorOf(*context);
  return store_.AppendEvent(id, pipeline_.Now(), actor.trace_id,
                            {"NOTE", actor.name, request->message(), data}, response);
}

grpc::Status ReleaseServiceImpl::RollbackServiceEnvironment(
    grpc::ServerContext* context, const v1::RollbackServiceEnvironmentRequest* request,
    v1::Release* response) {
  return pipeline_.RollBackTo(request->service(), request->environment(), request->to_commit_sha(),
                              request->reason(), ActorOf(*context), response);
}

grpc::Status ReleaseServiceImpl::WatchRelease(grpc::ServerContext* context,
                                              const v1::WatchReleaseRequest* request,
                                              grpc::ServerWriter<v1::ReleaseEvent>* writer) {
  std::string id;
  if (grpc::Status s = ResolveId(request->id(), &id); !s.ok()) return s;
  long long after = request->after_event_id();
  while (!context->IsCancelled()) {
    if (db::Closed(feed_)) return db::FeedClosed();
    const uint64_t seen = db::Generation(feed_);
    v1::Release release;
    std::vector<v1::ReleaseEvent> events;
    bool more = false;
    if (grpc::Status s = tail_.Read(id, after, seen, 500, &release, &events, &more); !s.ok()) return s;
    for (const v1::ReleaseEvent& e : events) {
      if (!writer->Write(e)) return grpc::Status::OK;  // the client went away
      after = e.id();
    }
    if (events.empty() && IsTerminal(release.state())) return grpc::Status::OK;
    if (events.empty()) db::Await(feed_, seen);
  }
  return grpc::Status::OK;
}

std::string EncodePageToken(const ListCursor& cursor) {
  static const char kHex[] = "0123456789abcdef";
  std::string plain = std::to_string(cursor.created_at_us) + "/" + cursor.id;
  std::string out;
  for (unsigned char c : plain) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

bool DecodePageToken(const std::string& token, ListCursor* cursor) {
  if (token.empty() || token.size() % 2 != 0 || token.size() > 256) return false;
  std::string plain;
  for (size_t i = 0; i < token.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(token[i]);
    int lo = nibble(token[i + 1]);
    if (hi < 0 || lo < 0) return false;
    plain.push_back(static_cast<char>(hi * 16 + lo));
  }
  size_t slash = plain.find('/');
  if (slash == std::string::npos || slash == 0) return false;
  std::string micros = plain.substr(0, slash);
  for (char c : micros) {
    if (c < '0' || c > '9') return false;
  }
  if (micros.size() > 18) return false;
  cursor->created_at_us = std::stoll(micros);
  cursor->id = plain.substr(slash + 1);
  return IsUuid(cursor->id);
}

namespace {

grpc::Status NoWindows() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "maintenance windows are not configured");
}

}  // namespace

grpc::Status ReleaseServiceImpl::CreateWindow(grpc::ServerContext* context, const v1::Window* request,
                                              v1::Window* response) {
  if (windows_ == nullptr) return NoWindows();
  return windows_->Create(*request, ActorOf(*context).name, response);
}

grpc::Status ReleaseServiceImpl::GetWindow(grpc::ServerContext*, const v1::WindowNameRequest* request,
                                           v1::Window* response) {
  if (windows_ == nullptr) return NoWindows();
  return windows_->Get(request->name(), response);
}

grpc::Status ReleaseServiceImpl::ListWindows(grpc::ServerContext*, const v1::ListWindowsRequest* request,
                                             v1::ListWindowsResponse* response) {
  if (windows_ == nullptr) return NoWindows();
  std::vector<v1::Window> windows;
  if (grpc::Status s = windows_->List(request->service(), request->environment(), &windows); !s.ok()) {
    return s;
  }
  for (v1::Window& w : windows) *response->add_windows() = std::move(w);
  return grpc::Status::OK;
}

grpc::Status ReleaseServiceImpl::DeleteWindow(grpc::ServerContext*, const v1::WindowNameRequest* request,
                                              v1::Window* response) {
  if (windows_ == nullptr) return NoWindows();
  return windows_->Delete(request->name(), response);
}

grpc::Status ReleaseServiceImpl::GetNextWindow(grpc::ServerContext*, const v1::GetNextWindowRequest* request,
                                               v1::NextWindow* response) {
  if (windows_ == nullptr) return NoWindows();
  return windows_->Next(request->service(), request->environment(), response);
}

grpc::Status ReleaseServiceImpl::GetWindowChecklist(grpc::ServerContext*,
                                                    const v1::GetWindowChecklistRequest* request,
                                                    v1::Checklist* response) {
  if (windows_ == nullptr) return NoWindows();
  return windows_->Checklist(*request, response);
}

grpc::Status ReleaseServiceImpl::TickChecklistItem(grpc::ServerContext* context,
                                                   const v1::TickChecklistItemRequest* request,
                                                   v1::Checklist* response) {
  if (windows_ == nullptr) return NoWindows();
  return windows_->Tick(*request, ActorOf(*context).name, response);
}

}  // namespace flightdeck::releases
