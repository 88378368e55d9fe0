#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include "common/api/methods.h"
#include "common/trace/trace.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/token_bucket.h"

namespace grpc {
class Channel;
}
namespace flightdeck::metrics {
class Registry;
}

namespace flightdeck::gateway {

class AuditLog;
class IdempotencyStore;
class LocalMethods;
class RateLimiter;
class TokenStore;
class WorkerPool;

// The seam between the call core and a front (REST, gRPC-web, PagerDuty, chat): the core
// answers through it, from any thread but one method at a time (each returns before the next
// begins, so a front needs no lock of its own), exactly once: Reply() for a unary success, or
// StreamOpened() and any number of StreamMessage() then Finish() for a stream; Finish() alone
// for a failure.
class Responder {
 public:
  virtual ~Responder() = default;
  // `replayed`: the first answer to an earlier request with the same Idempotency-Key.
  virtual void Reply(const google::protobuf::Message& response, bool replayed) = 0;
  virtual void StreamMessage(const google::protobuf::Message& message) = 0;
  // A stream's upstream has answered (its headers arrived): told once, before any message. A
  // front may start its answer now, so that a quiet stream shows as open.
  virtual void StreamOpened() {}
  virtual void Finish(const grpc::Status& status) = 0;
  // The caller's rate-limit state, told before the answer (RateLimitHeaders() gives the HTTP
  // fields); a denied call is then finished with RESOURCE_EXHAUSTED.
  virtual void SetRateLimit(const RateDecision& decision) {}
  // Only for answers stored before idempotent answers became protocol-neutral: the JSON body
  // and HTTP status as REST sent them. Fronts that cannot send them fail the call.
  virtual void ReplayLegacyJson(int http_status, const std::string& body) {
    Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "Idempotency-Key: the first answer cannot be replayed here; use a new key"));
  }
};

// Frees a call's message (its request, its answer): with its arena when it was made on one
// (NewCallMessage), else as a heap object (a std::unique_ptr<Message> converts, as plain
// unique_ptrs do). Never reset() an arena's MessagePtr to another message: the deleter keeps
// the arena, which would then be freed twice; make a new MessagePtr instead.
struct MessageDeleter {
  MessageDeleter() = default;
  explicit MessageDeleter(google::protobuf::Arena* owned) : arena(owned) {}
  template <typename T>
  MessageDeleter(std::default_delete<T>) {}  // NOLINT: implicit, like unique_ptr's own
  void operator()(google::protobuf::Message* message) const;

  google::protobuf::Arena* arena = nullptr;  // owned; null: the message is on the heap
};
using MessagePtr = std::unique_ptr<google::protobuf::Message, MessageDeleter>;

// An empty message of `type` on an arena of its own. A large request or answer (an Alertmanager
// batch of 100 alerts, a page of 100 health targets) is then allocated in a few blocks and freed
// at once, not node by node: a heap request's destructor was a tenth of the gateway's CPU on
// such batches.
MessagePtr NewCallMessage(const google::protobuf::Descriptor* type);

// What a front knows about one call, in protocol-neutral terms.
struct CallRequest {
  const api::Method* method = nullptr;
  MessagePtr message;  // the request, of the method's input type
  // Not OK when the front could not build the message from what the client sent: the core
  // answers it after authentication and authorisation (and audits it, for writes).
  grpc::Status invalid = grpc::Status::OK;
  std::optional<std::string> bearer_token;
  // Set by fronts that authenticate the caller themselves (PagerDuty's routing key).
  std::optional<Principal> principal;
  // Whose rate limit such a call counts against: the credential the front authenticated it by
  // (PagerDuty's routing key). Unset: the client address.
  std::optional<std::string> routing_key;
  // "10.1.2.3:5123": calls without a valid token are rate-limited by its host.
  std::string client_address;
  std::string idempotency_key;
  std::string request_id;
  // What the audit log says was done, and to what: "POST /v1/releases/{id}/approve" and
  // "/v1/releases/3f2a.../approve" for REST; the gRPC path for gRPC-web.
  std::string audit_action;
  std::string audit_target;
  // 0: the gateway's upstream timeout. Streams have none unless given.
  std::chrono::milliseconds timeout{0};
  trace::SpanContext trace;  // the front's server span: upstream calls are its children
};

// A call in progress: a front cancels it when its client goes away.
class CallHandle {
 public:
  virtual ~CallHandle() = default;
  virtual void Cancel() = 0;
};

struct CoreOptions {
  std::chrono::milliseconds upstream_timeout{10000};
};

// The call itself, whatever the protocol: authenticate, rate-limit, authorise against the method table,
// apply Idempotency-Key to writes, call the method (an upstream service over gRPC, unary or
// server-streaming, on the raw message; or the gateway's own methods), audit writes, answer.
// Never blocks its caller: database work goes to the worker pool, gRPC calls are callbacks.
class Core {
 public:
  Core(CoreOptions options, TokenStore& tokens, AuditLog& audit, IdempotencyStore& idempotency,
       WorkerPool& workers, metrics::Registry& metrics,
       std::map<api::Service, std::shared_ptr<grpc::Channel>> upstreams);
  ~Core();

  // The gateway's own methods (GatewayService); set once at wiring time.
  void SetLocalMethods(LocalMethods* local);
  // Rate limits; none when never set. Set once at wiring time.
  void SetRateLimiter(RateLimiter* limiter);

  std::shared_ptr<CallHandle> Start(CallRequest request, std::shared_ptr<Responder> responder);

  // SIGTERM: ends every open stream now with UNAVAILABLE ("watch again"), and every stream
  // started later at once, so that a drain does not wait its whole grace on watches that never
  // end by themselves, and their readers learn why they ended.
  void EndStreams();

  // Runs blocking work (PostgreSQL) off the caller's thread; false when the queue is full.
  bool RunBlocking(const trace::SpanContext& context, std::function<void()> task);

  const std::map<api::Service, std::shared_ptr<grpc::Channel>>& upstreams() const;
  const CoreOptions& options() const;

  struct Impl;  // defined in call.cc, shared with the calls in progress

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace flightdeck::gateway
