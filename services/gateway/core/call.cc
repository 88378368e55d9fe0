#include "services/gateway/core/call.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <set>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include "common/grpc/channel.h"
#include "common/grpc/metadata.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "services/gateway/core/audit.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/core/idempotency.h"
#include "services/gateway/core/local_methods.h"
#include "services/gateway/core/rate_limiter.h"
#include "services/gateway/core/storable.h"
#include "services/gateway/core/worker_pool.h"

namespace flightdeck::gateway {
namespace {

using google::protobuf::Message;

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool ToString(const grpc::ByteBuffer& buffer, std::string* out) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  out->clear();
  for (const grpc::Slice& s : slices) out->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return true;
}

// Deterministic, so that the same request always hashes the same (Idempotency-Key reuse).
std::string SerializeDeterministic(const Message& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

std::unique_ptr<Message> NewMessage(const google::protobuf::Descriptor* type) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

google::protobuf::ArenaOptions CallArenaOptions() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 1024;  // a small request fits its first block
  options.max_block_size = 64 * 1024;
  return options;
}

const google::protobuf::MethodDescriptor* Descriptor(const api::Method& method) {
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(method.rpc);
}

std::string GrpcPath(const google::protobuf::MethodDescriptor& method) {
  return "/" + method.service()->full_name() + "/" + method.name();
}

// The audit target names what a create made: the response's id when the request did not.
std::string AuditTarget(const std::string& target, const Message* response) {
  if (response == nullptr) return target;
  const auto* id_field = response->GetDescriptor()->FindFieldByName("id");
  if (id_field == nullptr || id_field->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
      id_field->is_repeated()) {
    return target;
  }
  std::string id = response->GetReflection()->GetString(*response, id_field);
  if (id.empty() || target.find(id) != std::string::npos) return target;
  std::string path = target.substr(0, target.find('?'));
  return path + "/" + id + target.substr(path.size());
}

// The audit row keeps what was asked for, a NUL of a refused path parameter included: text
// cannot hold one (the row's write would be refused), so it is written as the six characters
// \u0000, as the refusal names it.
std::string StorableTarget(std::string target) {
  for (size_t at = target.find('\0'); at != std::string::npos; at = target.find('\0', at + 6)) {
    target.replace(at, 1, "\\u0000");
  }
  return target;
}

// What an idempotency record keeps of an answer: all of it but a `secret` (a new token's), which
// is shown once and never stored; a replay answers without it.
std::string StorableAnswer(const Message& response) {
  const auto* secret = response.GetDescriptor()->FindFieldByName("secret");
  if (secret == nullptr || secret->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
      secret->is_repeated()) {
    return response.SerializeAsString();
  }
  std::unique_ptr<Message> copy(response.New());
  copy->CopyFrom(response);
  copy->GetReflection()->ClearField(copy.get(), secret);
  return copy->SerializeAsString();
}

struct Upstream {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
};

}  // namespace

void MessageDeleter::operator()(Message* message) const {
  if (arena != nullptr) {
    delete arena;  // the message with it
  } else {
    delete message;
  }
}

MessagePtr NewCallMessage(const google::protobuf::Descriptor* type) {
  static const google::protobuf::ArenaOptions options = CallArenaOptions();
  auto* arena = new google::protobuf::Arena(options);
  return MessagePtr(google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New(arena),
                    MessageDeleter(arena));
}

struct Core::Impl {
  Impl(CoreOptions o, TokenStore& t, AuditLog& a, IdempotencyStore& i, WorkerPool& w,
       metrics::Registry& m)
      : options(o), tokens(t), audit(a), idempotency(i), workers(w),
        audit_failures(m.AddCounter("flightdeck_gateway_audit_failures_total",
                                    "Audit entries that could not be written", {})),
        open_streams(m.AddGauge("flightdeck_gateway_open_streams",
                                "Server-streaming calls open through the gateway", {"method"})) {}

  CoreOptions options;
  TokenStore& tokens;
  AuditLog& audit;
  IdempotencyStore& idempotency;
  WorkerPool& workers;
  metrics::Family<metrics::Counter>& audit_failures;
  metrics::Family<metrics::Gauge>& open_streams;
  std::map<api::Service, std::shared_ptr<grpc::Channel>> channels;
  std::map<api::Service, Upstream> upstreams;
  LocalMethods* local = nullptr;
  RateLimiter* limiter = nullptr;
  // The streams open now (a Call is alive until its reactor's OnDone, which leaves this set
  // first), and whether EndStreams was called.
  std::mutex streams_mu;
  std::set<CallHandle*> streams;
  bool streams_ended = false;

  bool RunBlocking(const trace::SpanContext& context, std::function<void()> task) {
    return workers.Post([context, task = std::move(task)] {
      trace::ScopedContext scope(context);
      task();
    });
  }
};

namespace {

const grpc::Status kGatewayStopping(grpc::StatusCode::UNAVAILABLE,
                                    "the gateway is shutting down: watch again from the last event received");

// One call from authentication to answer. Shared by the callbacks that carry it across threads.
class Call final : public CallHandle, public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Core::Impl> core, CallRequest request, std::shared_ptr<Responder> responder)
      : core_(std::move(core)), request_(std::move(request)), responder_(std::move(responder)),
        descriptor_(Descriptor(*request_.method)) {}

  void Begin();
  void Cancel() override {
    cancelled_ = true;
    context_.TryCancel();
  }
  // Core::EndStreams: the gateway is stopping.
  void EndStream() {
    ended_by_gateway_ = true;
    context_.TryCancel();
  }

 private:
  class StreamReactor;

  // Whose bucket a call takes from: its token's, its client address's, or the credential its
  // front authenticated it by (PagerDuty's routing key).
  enum class Bucket { kPrincipal, kAddress, kFrontCredential };
  // Runs `next` when the caller's bucket allows the call and answers RESOURCE_EXHAUSTED
  // otherwise. A decision that needs Redis is taken on a worker, never on the caller's
  // (event-loop) thread; `on_worker`: the caller is a worker already.
  void Limit(Bucket bucket, std::function<void()> next, bool on_worker = false);
  void Admit(const RateKey& key, const RateDecision& decision, const std::function<void()>& next);
  void Unauthenticated(const std::string& message);
  void LookUpToken();
  void Authenticated();
  void Authorized();
  void Dispatch();
  void CallLocal();
  void CallUnary(Upstream& upstream);
  void CallStream(Upstream& upstream);
  // Unary answers: writes are recorded (idempotency, audit) before the caller hears them.
  void Complete(const grpc::Status& status, MessagePtr response);
  void Answer(const grpc::Status& status, const Message* response);
  bool Blocking(std::function<void()> task);
  bool IsWrite() const { return !api::IsRead(*request_.method); }

  std::shared_ptr<Core::Impl> core_;
  CallRequest request_;
  std::shared_ptr<Responder> responder_;
  const google::protobuf::MethodDescriptor* descriptor_;
  Principal principal_;
  bool authenticated_ = false;
  bool idempotency_claimed_ = false;
  std::string request_bytes_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> ended_by_gateway_{false};  // a stream EndStreams cut

  // gRPC keeps pointers to these for the duration of the call.
  grpc::ClientContext context_;
  grpc::ByteBuffer request_buffer_;
  grpc::ByteBuffer response_buffer_;
  std::unique_ptr<StreamReactor> stream_;
};

// A server-streaming upstream call over the generic stub: one request written, then every
// response message forwarded to the front as it arrives. No thread waits on it.
class Call::StreamReactor final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit StreamReactor(std::shared_ptr<Call> call) : call_(std::move(call)) {}

  void Start(Upstream& upstream) {
    Call& c = *call_;
    upstream.stub->PrepareBidiStreamingCall(&c.context_, GrpcPath(*c.descriptor_), grpc::StubOptions(), this);
    StartWriteLast(&c.request_buffer_, grpc::WriteOptions());
    StartRead(&read_);
    StartCall();
  }
  // gRPC may run this reaction and OnReadDone on two threads at once, in either order; the
  // responder is told one thing at a time, and that the stream opened before its first message.
  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;
    std::lock_guard<std::mutex> lock(answer_mu_);
    Open();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended: OnDone follows with its status
    auto message = NewMessage(call_->descriptor_->output_type());
    std::string bytes;
    if (ToString(read_, &bytes) && message->ParseFromString(bytes)) {
      std::lock_guard<std::mutex> lock(answer_mu_);
      Open();
      call_->responder_->StreamMessage(*message);
    }
    StartRead(&read_);
  }
  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<Call> call = std::move(call_);
    {
      std::lock_guard<std::mutex> lock(call->core_->streams_mu);
      call->core_->streams.erase(call.get());
    }
    call->core_->open_streams.With({call->request_.method->rpc}).Dec();
    std::lock_guard<std::mutex> lock(answer_mu_);
    if (status.error_code() == grpc::StatusCode::CANCELLED && call->ended_by_gateway_) {
      call->responder_->Finish(kGatewayStopping);
    } else {
      call->responder_->Finish(status);
    }
    // The reactor belongs to the call; it is destroyed with it, after this returns.
  }

 private:
  void Open() {  // under answer_mu_
    if (opened_) return;
    opened_ = true;
    call_->responder_->StreamOpened();
  }

  std::shared_ptr<Call> call_;
  grpc::ByteBuffer read_;
  std::mutex answer_mu_;  // held while the responder is told anything
  bool opened_ = false;
};

bool Call::Blocking(std::function<void()> task) {
  if (core_->RunBlocking(request_.trace, std::move(task))) return true;
  responder_->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                  "gateway overloaded: too many requests waiting, retry shortly"));
  return false;
}

void Call::Begin() {
  if (request_.method == nullptr || descriptor_ == nullptr || !request_.message) {
    return responder_->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such method"));
  }
  auto self = shared_from_this();
  if (request_.principal) {
    principal_ = *request_.principal;
    authenticated_ = true;
    return Limit(Bucket::kFrontCredential, [self] { self->Authenticated(); });
  }
  if (!request_.bearer_token) {
    return Limit(Bucket::kAddress, [self] {
      self->Unauthenticated("missing bearer token: send \"Authorization: Bearer <token>\"");
    });
  }
  if (auto cached = core_->tokens.LookupCached(*request_.bearer_token)) {
    if (!*cached) {
      return Limit(Bucket::kAddress, [self] { self->Unauthenticated("invalid or revoked token"); });
    }
    principal_ = **cached;
    authenticated_ = true;
    return Limit(Bucket::kPrincipal, [self] { self->Authenticated(); });
  }
  // A token this replica does not know yet costs a database look-up: that is charged to the
  // client address first, so that a flood of made-up tokens cannot reach PostgreSQL unlimited.
  Blocking([self] { self->Limit(Bucket::kAddress, [self] { self->LookUpToken(); }, /*on_worker=*/true); });
}

void Call::LookUpToken() {
  Principal p;
  grpc::Status s = core_->tokens.Lookup(*request_.bearer_token, &p);
  if (!s.ok()) return responder_->Finish(s);
  principal_ = p;
  authenticated_ = true;
  auto self = shared_from_this();
  Limit(Bucket::kPrincipal, [self] { self->Authenticated(); }, /*on_worker=*/true);
}

void Call::Unauthenticated(const std::string& message) {
  responder_->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, message));
}

void Call::Limit(Bucket bucket, std::function<void()> next, bool on_worker) {
  RateLimiter* limiter = core_->limiter;
  if (limiter == nullptr) return next();
  RateKey key;
  switch (bucket) {
    case Bucket::kPrincipal: key = limiter->ForPrincipal(principal_); break;
    case Bucket::kAddress: key = limiter->ForAddress(request_.client_address); break;
    case Bucket::kFrontCredential:
      key = request_.routing_key && !request_.routing_key->empty()
                ? limiter->ForRoutingKey(*request_.routing_key)
                : limiter->ForAddress(request_.client_address);
      break;
  }
  if (std::optional<RateDecision> known = limiter->DecideWithoutIo(key)) return Admit(key, *known, next);
  if (on_worker) return Admit(key, limiter->Decide(key), next);
  auto self = shared_from_this();
  Blocking([self, key, next = std::move(next)] {
    self->Admit(key, self->core_->limiter->Decide(key), next);
  });
}

void Call::Admit(const RateKey& key, const RateDecision& decision, const std::function<void()>& next) {
  if (decision.limit > 0) responder_->SetRateLimit(decision);
  if (decision.allowed) return next();
  // Not audited, even for writes: a flood of refusals must not become a flood of audit rows.
  // flightdeck_gateway_rate_limited_total counts them instead.
  const int64_t seconds = std::max<int64_t>(1, (decision.retry_after_ms + 999) / 1000);
  responder_->Finish(grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      "rate limit exceeded: " + std::to_string(decision.limit) + " requests per minute per " +
          (key.subject == RateSubject::kToken       ? std::string("token")
           : key.subject == RateSubject::kRoutingKey ? std::string("routing key")
                                                     : std::string("client address")) +
          "; retry in " + std::to_string(seconds) + " s"));
}

void Call::Authenticated() {
  if (!api::RoleAllows(principal_.role, request_.method->role)) {
    grpc::Status denied(grpc::StatusCode::PERMISSION_DENIED,
                        "role " + RoleName(principal_.role) + " may not " + request_.audit_action +
                            " (needs " + RoleName(request_.method->role) + " or above)");
    // A refused write is audited too: it is exactly what an auditor looks for.
    return Complete(denied, nullptr);
  }
  Authorized();
}

void Call::Authorized() {
  if (!request_.invalid.ok()) {
    return Complete(request_.invalid, nullptr);  // writes are audited, refused or not
  }
  // Deterministic (every map's entries sorted) only where the bytes are hashed.
  const bool hashed = IsWrite() && !request_.idempotency_key.empty();
  request_bytes_ = hashed ? SerializeDeterministic(*request_.message) : request_.message->SerializeAsString();
  if (std::string field = FieldWithNul(request_.message->GetDescriptor(), request_bytes_); !field.empty()) {
    return Complete(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 field + ": contains a NUL character (\\u0000), which cannot be stored"),
                    nullptr);
  }
  if (!IsWrite() || request_.idempotency_key.empty()) return Dispatch();
  // A retried write with the same Idempotency-Key gets the first answer, not a second effect.
  if (!IsValidIdempotencyKey(request_.idempotency_key)) {
    return responder_->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                           "Idempotency-Key: must be 1-255 printable characters"));
  }
  auto self = shared_from_this();
  Blocking([self] {
    IdempotencyStore::Outcome outcome;
    const std::string hash = Sha256Hex(std::string(self->request_.method->rpc) + "\n" + self->request_bytes_);
    grpc::Status s = self->core_->idempotency.Begin(self->principal_.name, self->request_.idempotency_key,
                                                    self->request_.method->rpc, self->request_.audit_target,
                                                    hash, &outcome);
    if (!s.ok()) return self->responder_->Finish(s);
    if (outcome.kind == IdempotencyStore::Outcome::kProceed) {
      self->idempotency_claimed_ = true;
      return self->Dispatch();
    }
    if (outcome.legacy_json) {
      return self->responder_->ReplayLegacyJson(outcome.legacy_http_status, outcome.response);
    }
    if (!outcome.status.ok()) return self->responder_->Finish(outcome.status);
    auto response = NewCallMessage(self->descriptor_->output_type());
    if (!response->ParseFromString(outcome.response)) {
      return self->responder_->Finish(
          grpc::Status(grpc::StatusCode::INTERNAL, "Idempotency-Key: the stored answer is unreadable"));
    }
    self->responder_->Reply(*response, /*replayed=*/true);
  });
}

void Call::Dispatch() {
  if (request_.method->service == api::Service::kGateway) return CallLocal();
  auto upstream = core_->upstreams.find(request_.method->service);
  if (upstream == core_->upstreams.end()) {
    return Complete(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 std::string("no upstream configured for ") +
                                     api::ServiceName(request_.method->service)),
                    nullptr);
  }
  request_buffer_ = ToByteBuffer(request_bytes_);
  context_.AddMetadata(rpc::kActorKey, principal_.name);
  context_.AddMetadata(rpc::kRoleKey, RoleName(principal_.role));
  context_.AddMetadata(rpc::kRequestIdKey, request_.request_id);
  if (cancelled_) context_.TryCancel();
  if (descriptor_->server_streaming()) return CallStream(upstream->second);
  CallUnary(upstream->second);
}

void Call::CallLocal() {
  if (core_->local == nullptr) {
    return Complete(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not served here"), nullptr);
  }
  auto self = shared_from_this();
  Blocking([self] {
    auto response = NewCallMessage(self->descriptor_->output_type());
    grpc::Status s = self->core_->local->Call(*self->request_.method, self->principal_,
                                              *self->request_.message, response.get());
    self->Complete(s, s.ok() ? std::move(response) : nullptr);
  });
}

void Call::CallUnary(Upstream& upstream) {
  std::chrono::milliseconds timeout = core_->options.upstream_timeout;
  if (request_.timeout.count() > 0 && request_.timeout < timeout) timeout = request_.timeout;
  context_.set_deadline(rpc::DeadlineAfter(timeout));
  // The client interceptor reads the current context when the call starts: make it the
  // front's server span so that the upstream call is its child.
  trace::ScopedContext scope(request_.trace);
  auto self = shared_from_this();
  upstream.stub->UnaryCall(&context_, GrpcPath(*descriptor_), grpc::StubOptions(), &request_buffer_,
                           &response_buffer_, [self](grpc::Status status) {
                             if (!status.ok()) {
                               // CANCELLED that the caller did not ask for comes from the
                               // service (a server shutting down cancels the calls it has not
                               // started): a 503 the caller may retry, not a 499 "client closed
                               // request" (tests/chaos/drain_test.cc).
                               if (status.error_code() == grpc::StatusCode::CANCELLED && !self->cancelled_) {
                                 status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                       "the service cancelled the call (shutting down?): " +
                                                           status.error_message());
                               }
                               if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                                   status.error_message().find("failed to connect") != std::string::npos) {
                                 status = grpc::Status(status.error_code(),
                                                       "the service behind this route is unavailable: " +
                                                           status.error_message());
                               }
                               return self->Complete(status, nullptr);
                             }
                             auto response = NewCallMessage(self->descriptor_->output_type());
                             std::string bytes;
                             if (!ToString(self->response_buffer_, &bytes) || !response->ParseFromString(bytes)) {
                               return self->Complete(grpc::Status(grpc::StatusCode::INTERNAL,
                                                                  "unreadable answer from upstream"),
                                                     nullptr);
                             }
                             self->Complete(grpc::Status::OK, std::move(response));
                           });
}

void Call::CallStream(Upstream& upstream) {
  {
    std::lock_guard<std::mutex> lock(core_->streams_mu);
    if (core_->streams_ended) return responder_->Finish(kGatewayStopping);
    core_->streams.insert(this);
  }
  if (request_.timeout.count() > 0) context_.set_deadline(rpc::DeadlineAfter(request_.timeout));
  trace::ScopedContext scope(request_.trace);
  core_->open_streams.With({request_.method->rpc}).Inc();
  stream_ = std::make_unique<StreamReactor>(shared_from_this());
  stream_->Start(upstream);
}

void Call::Complete(const grpc::Status& status, MessagePtr response) {
  if (!authenticated_ || !IsWrite()) return Answer(status, response.get());
  v1::AuditEntry entry;
  entry.set_actor(principal_.name);
  entry.set_role(RoleName(principal_.role));
  entry.set_action(request_.audit_action);
  entry.set_target(StorableTarget(AuditTarget(request_.audit_target, response.get())));
  entry.set_status(HttpStatusFor(status.error_code()));
  entry.set_request_id(request_.request_id);
  entry.set_trace_id(request_.trace.TraceIdHex());
  auto self = shared_from_this();
  std::shared_ptr<Message> shared_response(std::move(response));
  // One round trip before the answer: the stored answer and the audit row in one statement
  // (or the audit row alone), both durable when the caller hears the answer.
  auto record = [self, entry, status, shared_response] {
    grpc::Status audited(grpc::StatusCode::UNKNOWN, "not written");
    if (self->idempotency_claimed_) {
      std::string bytes = shared_response ? StorableAnswer(*shared_response) : std::string();
      audited = self->core_->idempotency.Finish(self->principal_.name, self->request_.idempotency_key,
                                                status, bytes, &entry);
      if (!audited.ok()) {
        log::Error("idempotent answer not stored", {{"request_id", self->request_.request_id},
                                                    {"error", audited.error_message()}});
      }
    }
    // Without a key, or when the stored answer failed: the audit row on its own.
    if (!audited.ok()) audited = self->core_->audit.Record(entry);
    if (!audited.ok()) {
      self->core_->audit_failures.With({}).Inc();
      log::Error("audit entry not written", {{"action", entry.action()},
                                             {"actor", entry.actor()},
                                             {"request_id", entry.request_id()},
                                             {"error", audited.error_message()}});
    }
    self->Answer(status, shared_response.get());
  };
  Blocking(std::move(record));
}

void Call::Answer(const grpc::Status& status, const Message* response) {
  if (status.ok() && response != nullptr) return responder_->Reply(*response, false);
  responder_->Finish(status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL, "empty answer") : status);
}

}  // namespace

Core::Core(CoreOptions options, TokenStore& tokens, AuditLog& audit, IdempotencyStore& idempotency,
           WorkerPool& workers, metrics::Registry& metrics,
           std::map<api::Service, std::shared_ptr<grpc::Channel>> upstreams)
    : impl_(std::make_shared<Impl>(options, tokens, audit, idempotency, workers, metrics)) {
  // Linking a message of each proto file registers its descriptors in the generated pool,
  // where the core finds request and response types by method name.
  (void)v1::Token::descriptor();
  for (auto& [which, channel] : upstreams) {
    Upstream& u = impl_->upstreams[which];
    u.channel = channel;
    u.stub = std::make_unique<grpc::GenericStub>(channel);
  }
  impl_->channels = std::move(upstreams);
}

Core::~Core() = default;

void Core::SetLocalMethods(LocalMethods* local) { impl_->local = local; }

void Core::SetRateLimiter(RateLimiter* limiter) { impl_->limiter = limiter; }

std::shared_ptr<CallHandle> Core::Start(CallRequest request, std::shared_ptr<Responder> responder) {
  auto call = std::make_shared<Call>(impl_, std::move(request), std::move(responder));
  call->Begin();
  return call;
}

void Core::EndStreams() {
  std::lock_guard<std::mutex> lock(impl_->streams_mu);
  impl_->streams_ended = true;
  // Each is alive while listed: its OnDone takes this lock to leave the set first.
  for (CallHandle* stream : impl_->streams) static_cast<Call*>(stream)->EndStream();
}

bool Core::RunBlocking(const trace::SpanContext& context, std::function<void()> task) {
  return impl_->RunBlocking(context, std::move(task));
}

const std::map<api::Service, std::shared_ptr<grpc::Channel>>& Core::upstreams() const {
  return impl_->channels;
}

const CoreOptions& Core::options() const { return impl_->options; }

}  // namespace flightdeck::gateway
