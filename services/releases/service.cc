#include "services/releases/service.h"

#include "common/cache/cache.h"
#include "common/grpc/metadata.h"
#include "common/log/log.h"
#include "common/trace/trace.h"
#include "services/releases/validation.h"

namespace flightdeck::releases {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

void SetNow(google::protobuf::Timestamp* ts, Clock::TimePoint now) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  ts->set_seconds(us / 1000000);
  ts->set_nanos(static_cast<int>((us % 1000000) * 1000));
}

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

}  // namespace

ReleaseServiceImpl::ReleaseServiceImpl(ReleaseStore& store, cache::Cache& cache,
                                       const Clock& clock, std::chrono::milliseconds cache_ttl)
    : store_(store), cache_(cache), clock_(clock), cache_ttl_(cache_ttl) {}

grpc::Status ReleaseServiceImpl::CreateRelease(grpc::ServerContext* context,
                                               const v1::CreateReleaseRequest* request,
                                               v1::Release* response) {
  v1::CreateReleaseRequest valid = *request;
  if (grpc::Status s = ValidateCreate(valid); !s.ok()) return s;

  response->set_service(valid.service());
  response->set_environment(valid.environment());
  response->set_version(valid.version());
  response->set_commit_sha(valid.commit_sha());
  response->set_image(valid.image());
  response->set_state(v1::Release::PENDING);
  response->set_created_by(rpc::ClientMetadata(*context, rpc::kActorKey, "anonymous"));
  trace::SpanContext span = trace::CurrentContext();
  if (span.IsValid()) response->set_trace_id(span.TraceIdHex());
  SetNow(response->mutable_created_at(), clock_.Now());
  *response->mutable_updated_at() = response->created_at();

  if (grpc::Status s = store_.Create(response); !s.ok()) return s;
  log::Info("release created", {{"release_id", response->id()},
                                {"service", response->service()},
                                {"environment", response->environment()},
                                {"version", response->version()},
                                {"actor", response->created_by()}});
  return grpc::Status::OK;
}

grpc::Status ReleaseServiceImpl::GetRelease(grpc::ServerContext*, const v1::GetReleaseRequest* request,
                                            v1::Release* response) {
  if (request->id().empty()) return Invalid("id: is required");
  if (!IsUuid(request->id())) return Invalid("id: \"" + request->id() + "\" is not a release id");
  const std::string key = CacheKey(request->id());
  if (std::optional<std::string> cached = cache_.Get(key)) {
    if (response->ParseFromString(*cached)) return grpc::Status::OK;
    cache_.Del(key);  // unreadable entry (older format): fall through to the database
  }
  if (grpc::Status s = store_.Get(request->id(), response); !s.ok()) return s;
  cache_.Set(key, response->SerializeAsString(), cache_ttl_);
  return grpc::Status::OK;
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
  query.service = request->service();
  query.environment = request->environment();
  query.limit = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  if (!request->page_token().empty()) {
    ListCursor cursor;
    if (!DecodePageToken(request->page_token(), &cursor)) {
      return Invalid("page_token: not a token returned by a previous list call");
    }
    query.after = cursor;
  }

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

}  // namespace flightdeck::releases
