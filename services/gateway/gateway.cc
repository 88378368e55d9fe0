#include "services/gateway/gateway.h"

#include <random>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include "common/config/url.h"
#include "common/db/db.h"
#include "common/grpc/channel.h"
#include "common/grpc/metadata.h"
#include "common/http/router.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/trace/trace.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/audit.h"
#include "services/gateway/auth.h"
#include "services/gateway/errors.h"
#include "services/gateway/idempotency.h"
#include "services/gateway/routes.h"
#include "services/gateway/transcode.h"
#include "services/gateway/worker_pool.h"

namespace flightdeck::gateway {
namespace {

using Pistache::Http::ResponseWriter;

std::string RandomHex(size_t bytes) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

// A caller's X-Request-Id is echoed when it is a sane token; otherwise we make one.
bool IsSaneRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

std::string RawHeader(const Pistache::Http::Request& request, const char* name) {
  auto raw = request.headers().tryGetRaw(name);
  return raw ? raw->value() : std::string();
}

// Pistache 0.0.5 writes only typed headers into a response (raw ones are dropped), so every
// header we set goes through this one typed header with a name chosen at run time.
class NamedHeader final : public Pistache::Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void parse(const std::string& data) override { value_ = data; }
  void write(std::ostream& os) const override { os << value_; }
  // Pistache checks this before casting a header to a typed one; ours is never cast.
  uint64_t hash() const override { return std::hash<std::string>()(name_); }

 private:
  std::string name_;
  std::string value_;
};

constexpr char kPagerDutyActor[] = "pagerduty";

bool IsWrite(const std::string& method) { return method != "GET" && method != "HEAD"; }

grpc::ByteBuffer Serialize(const google::protobuf::Message& message) {
  std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool Parse(const grpc::ByteBuffer& buffer, google::protobuf::Message* message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return message->ParseFromString(bytes);
}

}  // namespace

// One HTTP request from arrival to answer. Shared by the callbacks that carry it across
// threads; the answer is sent exactly once (Finish).
struct Exchange {
  explicit Exchange(ResponseWriter w) : writer(std::move(w)) {}

  ResponseWriter writer;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string method;
  std::string path;
  std::string route = "unmatched";
  std::string request_id;
  std::string idempotency_key;
  bool idempotency_claimed = false;  // this request owns the key's record and must finish it
  std::string body;
  std::map<std::string, std::string> path_params;
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<trace::Span> span;
  const ProxyRoute* proxy = nullptr;  // the matched route when it is a proxied one
  Principal principal;
  bool authenticated = false;
  bool finished = false;

  // Set for proxied calls; must outlive the call (gRPC keeps pointers to all of them).
  std::string grpc_path;  // "/package.Service/Method"
  grpc::ClientContext client_context;
  grpc::ByteBuffer request_buffer;
  grpc::ByteBuffer response_buffer;
  std::unique_ptr<google::protobuf::Message> response_message;
};

struct RouteTarget {
  std::optional<Role> role;  // nullopt: public (/healthz, /readyz, /metrics)
  const ProxyRoute* proxy = nullptr;
  // Local handlers run on the worker pool (they may block on PostgreSQL).
  std::function<void(const std::shared_ptr<Exchange>&)> local;
  bool inline_ok = false;  // cheap local handler that may run on the event thread
};

struct UpstreamClient {
  std::string name;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

struct Gateway::Impl {
  GatewayOptions options;
  TokenStore& tokens;
  AuditLog& audit;
  IdempotencyStore& idempotency;
  db::Pool& db;
  WorkerPool& workers;
  metrics::Registry& registry;
  metrics::HttpMetrics http_metrics;
  metrics::Family<metrics::Counter>& audit_failures;
  std::map<Upstream, UpstreamClient> upstreams;
  http::Router<RouteTarget> router;

  Impl(GatewayOptions o, TokenStore& t, AuditLog& a, IdempotencyStore& i, db::Pool& d,
       WorkerPool& w, metrics::Registry& m)
      : options(o), tokens(t), audit(a), idempotency(i), db(d), workers(w), registry(m),
        http_metrics(m),
        audit_failures(m.AddCounter("flightdeck_gateway_audit_failures_total",
                                    "Audit entries that could not be written", {})) {}

  void AddRoutes();
  void Dispatch(const std::shared_ptr<Exchange>& ex, const RouteTarget& target);
  void Authorized(const std::shared_ptr<Exchange>& ex, const RouteTarget& target);
  void Proxy(const std::shared_ptr<Exchange>& ex, const ProxyRoute& route);
  void Complete(const std::shared_ptr<Exchange>& ex, int status, std::string body,
                std::string audit_target = {});
  void CompleteError(const std::shared_ptr<Exchange>& ex, const grpc::Status& status);
  void Finish(const std::shared_ptr<Exchange>& ex, int status, const std::string& body,
              std::vector<std::pair<std::string, std::string>> headers = {});
  bool RunBlocking(const std::shared_ptr<Exchange>& ex, std::function<void()> task);
  void Readiness(const std::shared_ptr<Exchange>& ex);
};

Gateway::Gateway(GatewayOptions options, TokenStore& tokens, AuditLog& audit,
                 IdempotencyStore& idempotency, db::Pool& db, WorkerPool& workers,
                 metrics::Registry& metrics,
                 std::map<Upstream, std::shared_ptr<grpc::Channel>> upstreams)
    : impl_(std::make_unique<Impl>(options, tokens, audit, idempotency, db, workers, metrics)) {
  for (auto& [which, channel] : upstreams) {
    UpstreamClient& c = impl_->upstreams[which];
    c.name = UpstreamName(which);
    c.channel = channel;
    c.stub = std::make_unique<grpc::GenericStub>(channel);
    c.health = grpc::health::v1::Health::NewStub(channel);
  }
  impl_->AddRoutes();
}

Gateway::~Gateway() = default;

void Gateway::Impl::AddRoutes() {
  for (const ProxyRoute& r : ProxyRoutes()) {
    RouteTarget t;
    t.role = r.role;
    t.proxy = &r;
    router.Add(r.http_method, r.pattern, t);
  }

  RouteTarget healthz;
  healthz.inline_ok = true;
  healthz.local = [this](const std::shared_ptr<Exchange>& ex) {
    Finish(ex, 200, "{\"status\":\"ok\"}");
  };
  router.Add("GET", "/healthz", healthz);

  RouteTarget metrics_route;
  metrics_route.inline_ok = true;
  metrics_route.local = [this](const std::shared_ptr<Exchange>& ex) {
    Finish(ex, 200, registry.Expose(), {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}});
  };
  router.Add("GET", "/metrics", metrics_route);

  RouteTarget readyz;
  readyz.local = [this](const std::shared_ptr<Exchange>& ex) { Readiness(ex); };
  router.Add("GET", "/readyz", readyz);

  RouteTarget create_token;
  create_token.role = v1::Token::ADMIN;
  create_token.local = [this](const std::shared_ptr<Exchange>& ex) {
    v1::CreateTokenRequest request;
    grpc::Status s = BuildRequest(ex->body, {}, ex->query, &request);
    v1::Token token;
    if (s.ok()) s = tokens.Create(request, ex->principal.name, &token);
    if (!s.ok()) return CompleteError(ex, s);
    Complete(ex, 200, ToJson(token), "/v1/tokens/" + token.name());
  };
  router.Add("POST", "/v1/tokens", create_token);

  RouteTarget list_tokens;
  list_tokens.role = v1::Token::ADMIN;
  list_tokens.local = [this](const std::shared_ptr<Exchange>& ex) {
    std::vector<v1::Token> list;
    if (grpc::Status s = tokens.List(&list); !s.ok()) return CompleteError(ex, s);
    std::string body = "{\"tokens\":[";
    for (size_t i = 0; i < list.size(); ++i) body += (i ? "," : "") + ToJson(list[i]);
    Complete(ex, 200, body + "]}");
  };
  router.Add("GET", "/v1/tokens", list_tokens);

  RouteTarget revoke_token;
  revoke_token.role = v1::Token::ADMIN;
  revoke_token.local = [this](const std::shared_ptr<Exchange>& ex) {
    if (grpc::Status s = tokens.Revoke(ex->path_params["name"]); !s.ok()) return CompleteError(ex, s);
    Complete(ex, 200, "{}");
  };
  router.Add("DELETE", "/v1/tokens/{name}", revoke_token);

  RouteTarget list_audit;
  list_audit.role = v1::Token::ADMIN;
  list_audit.local = [this](const std::shared_ptr<Exchange>& ex) {
    v1::ListAuditRequest request;
    v1::ListAuditResponse response;
    grpc::Status s = BuildRequest("", {}, ex->query, &request);
    if (s.ok()) s = audit.List(request, &response);
    if (!s.ok()) return CompleteError(ex, s);
    Complete(ex, 200, ToJson(response));
  };
  router.Add("GET", "/v1/audit", list_audit);
}

void Gateway::Handle(const Pistache::Http::Request& request, ResponseWriter response) {
  auto ex = std::make_shared<Exchange>(std::move(response));
  Impl& impl = *impl_;
  ex->method = Pistache::Http::methodString(request.method());
  ex->path = request.resource();
  std::string request_id = RawHeader(request, "X-Request-Id");
  ex->idempotency_key = RawHeader(request, "Idempotency-Key");
  ex->request_id = IsSaneRequestId(request_id) ? request_id : RandomHex(16);

  auto match = impl.router.Find(ex->method, ex->path);
  if (match.outcome == http::Router<RouteTarget>::Outcome::kFound) ex->route = match.pattern;

  // The caller's trace context is continued when valid and ignored otherwise (W3C).
  std::optional<trace::SpanContext> parent =
      trace::ParseTraceparent(RawHeader(request, "traceparent"), RawHeader(request, "tracestate"));
  ex->span.emplace(ex->method + " " + ex->route, trace::SpanKind::kServer,
                   parent ? *parent : trace::SpanContext(), trace::Span::Activation::kDetached);
  ex->span->SetAttribute("http.method", ex->method);
  ex->span->SetAttribute("http.route", ex->route);
  ex->span->SetAttribute("http.target", ex->path);
  ex->span->SetAttribute("http.request_id", ex->request_id);

  switch (match.outcome) {
    case http::Router<RouteTarget>::Outcome::kNotFound:
      return impl.Finish(ex, 404, ErrorJson(grpc::StatusCode::NOT_FOUND,
                                            "no route for " + ex->method + " " + ex->path));
    case http::Router<RouteTarget>::Outcome::kMethodNotAllowed: {
      std::string allowed;
      for (const std::string& m : match.allowed) allowed += (allowed.empty() ? "" : ", ") + m;
      return impl.Finish(ex, 405,
                         ErrorJson(grpc::StatusCode::UNIMPLEMENTED,
                                   "method " + ex->method + " is not allowed on " + ex->path +
                                       " (allowed: " + allowed + ")"),
                         {{"Allow", allowed}});
    }
    case http::Router<RouteTarget>::Outcome::kFound:
      break;
  }

  if (request.body().size() > impl.options.max_body_bytes) {
    return impl.Finish(ex, 413, ErrorJson(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                          "body: request body of " +
                                              std::to_string(request.body().size()) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(impl.options.max_body_bytes)));
  }
  ex->body = request.body();
  ex->path_params = match.params;
  for (auto& [k, v] : ex->path_params) v = config::PercentDecode(v);
  // Pistache splits the query but does not decode it; re-read it raw and decode here.
  ex->query = http::ParseQuery(request.query().as_str());

  const RouteTarget& target = *match.handler;
  ex->proxy = target.proxy;
  if (!target.role) return impl.Dispatch(ex, target);

  auto auth = request.headers().tryGet<Pistache::Http::Header::Authorization>();
  std::optional<std::string> token = auth ? BearerToken(auth->value()) : std::nullopt;
  if (!token && ex->proxy != nullptr && ex->proxy->pagerduty) {
    // PagerDuty senders have no bearer token: the routing key in the body is the credential
    // and the incidents service checks it. Audit and idempotency still apply, to this actor.
    ex->principal = Principal{kPagerDutyActor, v1::Token::INGEST};
    ex->authenticated = true;
    return impl.Authorized(ex, target);
  }
  if (!token) {
    return impl.Finish(ex, 401,
                       ErrorJson(grpc::StatusCode::UNAUTHENTICATED,
                                 "missing bearer token: send \"Authorization: Bearer <token>\""),
                       {{"WWW-Authenticate", "Bearer"}});
  }
  if (auto cached = impl.tokens.LookupCached(*token)) {
    if (!*cached) {
      return impl.Finish(ex, 401, ErrorJson(grpc::StatusCode::UNAUTHENTICATED, "invalid or revoked token"),
                         {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}});
    }
    ex->principal = **cached;
    ex->authenticated = true;
    return impl.Authorized(ex, target);
  }
  Impl* self = impl_.get();
  impl.RunBlocking(ex, [self, ex, secret = *token, &target] {
    Principal p;
    grpc::Status s = self->tokens.Lookup(secret, &p);
    if (!s.ok()) {
      if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        return self->Finish(ex, 401, ErrorJson(s.error_code(), s.error_message()),
                            {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}});
      }
      return self->CompleteError(ex, s);
    }
    ex->principal = p;
    ex->authenticated = true;
    self->Authorized(ex, target);
  });
}

void Gateway::Impl::Authorized(const std::shared_ptr<Exchange>& ex, const RouteTarget& target) {
  ex->span->SetAttribute("enduser.id", ex->principal.name);
  if (!RoleAllows(ex->principal.role, *target.role)) {
    grpc::Status denied(grpc::StatusCode::PERMISSION_DENIED,
                        "role " + RoleName(ex->principal.role) + " may not " + ex->method + " " +
                            ex->route + " (needs " + RoleName(*target.role) + " or above)");
    if (!IsWrite(ex->method)) return CompleteError(ex, denied);
    // A refused write is audited too: it is exactly what an auditor looks for.
    RunBlocking(ex, [this, ex, denied] { CompleteError(ex, denied); });
    return;
  }
  if (!IsWrite(ex->method) || ex->idempotency_key.empty()) return Dispatch(ex, target);
  // A retried write with the same Idempotency-Key gets the first answer, not a second effect.
  if (!IsValidIdempotencyKey(ex->idempotency_key)) {
    return CompleteError(ex, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "Idempotency-Key: must be 1-255 printable characters"));
  }
  RunBlocking(ex, [this, ex, &target] {
    IdempotencyStore::Outcome outcome;
    grpc::Status s = idempotency.Begin(ex->principal.name, ex->idempotency_key, ex->method,
                                       ex->path, ex->body, &outcome);
    if (!s.ok()) return CompleteError(ex, s);
    if (outcome.kind == IdempotencyStore::Outcome::kReplay) {
      return Finish(ex, outcome.status, outcome.body, {{"Idempotent-Replayed", "true"}});
    }
    ex->idempotency_claimed = true;
    Dispatch(ex, target);
  });
}

void Gateway::Impl::Dispatch(const std::shared_ptr<Exchange>& ex, const RouteTarget& target) {
  if (target.proxy) return Proxy(ex, *target.proxy);
  if (target.inline_ok) return target.local(ex);
  RunBlocking(ex, [ex, &target] { target.local(ex); });
}

bool Gateway::Impl::RunBlocking(const std::shared_ptr<Exchange>& ex, std::function<void()> task) {
  trace::SpanContext context = ex->span->context();
  bool posted = workers.Post([context, task = std::move(task)] {
    trace::ScopedContext scope(context);
    task();
  });
  if (!posted) {
    Finish(ex, 503, ErrorJson(grpc::StatusCode::UNAVAILABLE,
                              "gateway overloaded: too many requests waiting, retry shortly"),
           {{"Retry-After", "1"}});
  }
  return posted;
}

void Gateway::Impl::Proxy(const std::shared_ptr<Exchange>& ex, const ProxyRoute& route) {
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(route.grpc_method);
  auto upstream = upstreams.find(route.upstream);
  if (method == nullptr || upstream == upstreams.end()) {
    return CompleteError(ex, grpc::Status(grpc::StatusCode::INTERNAL,
                                          std::string("route misconfigured: ") + route.grpc_method));
  }
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  std::unique_ptr<google::protobuf::Message> request(factory->GetPrototype(method->input_type())->New());
  BuildOptions build;
  build.ignore_unknown_fields = route.ignore_unknown_fields;
  if (grpc::Status s = BuildRequest(route.has_body ? ex->body : std::string(), ex->path_params,
                                    ex->query, build, request.get());
      !s.ok()) {
    return CompleteError(ex, s);
  }
  ex->response_message.reset(factory->GetPrototype(method->output_type())->New());
  ex->request_buffer = Serialize(*request);
  ex->client_context.set_deadline(rpc::DeadlineAfter(options.upstream_timeout));
  ex->client_context.AddMetadata(rpc::kActorKey, ex->principal.name);
  ex->client_context.AddMetadata(rpc::kRoleKey, RoleName(ex->principal.role));
  ex->client_context.AddMetadata(rpc::kRequestIdKey, ex->request_id);

  ex->grpc_path = "/" + method->service()->full_name() + "/" + method->name();
  // The client interceptor reads the current context when the call starts: make it the
  // gateway's server span so the upstream call is its child.
  trace::ScopedContext scope(ex->span->context());
  upstream->second.stub->UnaryCall(
      &ex->client_context, ex->grpc_path, grpc::StubOptions(), &ex->request_buffer, &ex->response_buffer,
      [this, ex](grpc::Status status) {
        if (!status.ok()) return CompleteError(ex, status);
        if (!Parse(ex->response_buffer, ex->response_message.get())) {
          return CompleteError(ex, grpc::Status(grpc::StatusCode::INTERNAL,
                                                "unreadable answer from upstream"));
        }
        std::string audit_target;
        const auto* id_field = ex->response_message->GetDescriptor()->FindFieldByName("id");
        if (id_field && id_field->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
          std::string id = ex->response_message->GetReflection()->GetString(*ex->response_message, id_field);
          if (!id.empty() && ex->path.find(id) == std::string::npos) audit_target = ex->path + "/" + id;
        }
        // PagerDuty answers an accepted event with 202; its clients check for it.
        Complete(ex, ex->proxy != nullptr && ex->proxy->pagerduty ? 202 : 200,
                 ToJson(*ex->response_message), audit_target);
      });
}

void Gateway::Impl::CompleteError(const std::shared_ptr<Exchange>& ex, const grpc::Status& status) {
  grpc::StatusCode code = status.error_code();
  std::string message = status.error_message();
  if (code == grpc::StatusCode::UNAVAILABLE && message.find("failed to connect") != std::string::npos) {
    message = "the service behind this route is unavailable: " + message;
  }
  // Only invalid events get PagerDuty's shape; other failures keep ours and their 5xx, which
  // PagerDuty clients retry.
  if (code == grpc::StatusCode::INVALID_ARGUMENT && ex->proxy != nullptr && ex->proxy->pagerduty) {
    return Complete(ex, 400, PagerDutyErrorJson(message));
  }
  Complete(ex, HttpStatusFor(code), ErrorJson(code, message));
}

// Writes are audited (durably, before the answer) whatever their outcome; reads are not.
void Gateway::Impl::Complete(const std::shared_ptr<Exchange>& ex, int status, std::string body,
                             std::string audit_target) {
  if (!ex->authenticated || !IsWrite(ex->method)) return Finish(ex, status, body);
  v1::AuditEntry entry;
  entry.set_actor(ex->principal.name);
  entry.set_role(RoleName(ex->principal.role));
  entry.set_action(ex->method + " " + ex->route);
  entry.set_target(audit_target.empty() ? ex->path : audit_target);
  entry.set_status(status);
  entry.set_request_id(ex->request_id);
  entry.set_trace_id(ex->span->context().TraceIdHex());
  auto record = [this, ex, entry, status, body = std::move(body)] {
    if (ex->idempotency_claimed) {
      if (grpc::Status s = idempotency.Finish(ex->principal.name, ex->idempotency_key, status, body);
          !s.ok()) {
        log::Error("idempotent answer not stored", {{"request_id", ex->request_id},
                                                    {"error", s.error_message()}});
      }
    }
    if (grpc::Status s = audit.Record(entry); !s.ok()) {
      audit_failures.With({}).Inc();
      log::Error("audit entry not written", {{"action", entry.action()},
                                             {"actor", entry.actor()},
                                             {"request_id", entry.request_id()},
                                             {"error", s.error_message()}});
    }
    Finish(ex, status, body);
  };
  RunBlocking(ex, std::move(record));
}

void Gateway::Impl::Finish(const std::shared_ptr<Exchange>& ex, int status, const std::string& body,
                           std::vector<std::pair<std::string, std::string>> headers) {
  if (ex->finished) return;
  ex->finished = true;
  bool has_type = false;
  for (const auto& [name, value] : headers) {
    if (name == "Content-Type") {
      ex->writer.setMime(Pistache::Http::Mime::MediaType::fromString(value));
      has_type = true;
    } else {
      ex->writer.headers().add(std::make_shared<NamedHeader>(name, value));
    }
  }
  if (!has_type) ex->writer.setMime(Pistache::Http::Mime::MediaType::fromString("application/json"));
  ex->writer.headers().add(std::make_shared<NamedHeader>("X-Request-Id", ex->request_id));
  ex->writer.send(static_cast<Pistache::Http::Code>(status), body);

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ex->start).count();
  http_metrics.Record(ex->route, ex->method, status, seconds);
  ex->span->SetAttribute("http.status_code", static_cast<long long>(status));
  if (status >= 500) ex->span->SetStatus(trace::StatusCode::kError, "HTTP " + std::to_string(status));
  ex->span->End();
  if (status >= 500) {
    trace::ScopedContext scope(ex->span->context());
    log::Warn("request failed", {{"method", ex->method}, {"path", ex->path},
                                 {"status", status}, {"request_id", ex->request_id}});
  }
}

void Gateway::Impl::Readiness(const std::shared_ptr<Exchange>& ex) {
  bool ok = true;
  std::string checks;
  auto add = [&](const std::string& name, const std::string& result) {
    checks += (checks.empty() ? "" : ",") + ("\"" + name + "\":\"" + result + "\"");
  };
  grpc::Status db_status = db.Ping();
  ok = ok && db_status.ok();
  add("postgresql", db_status.ok() ? "ok" : "unavailable");
  for (auto& [which, client] : upstreams) {
    grpc::ClientContext context;
    context.set_deadline(rpc::DeadlineAfter(std::chrono::milliseconds(1000)));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status s = client.health->Check(&context, request, &response);
    bool serving = s.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    ok = ok && serving;
    add(client.name, serving ? "ok" : (s.ok() ? "not serving" : "unavailable"));
  }
  Finish(ex, ok ? 200 : 503,
         std::string("{\"status\":\"") + (ok ? "ok" : "unavailable") + "\",\"checks\":{" + checks + "}}");
}

}  // namespace flightdeck::gateway
