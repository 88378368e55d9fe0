#pragma once

#include <exception>
#include <functional>
#include <memory>

#include <grpcpp/completion_queue.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/async_unary_call.h>

#include "common/trace/trace.h"

namespace flightdeck::rpc {

// The server context of a queued call. gRPC runs the interceptors' hooks of such a call on
// whichever thread took it from the queue first, and may hand the call to another thread of the
// queue for its handler; so the tracing interceptor does not make the call's span current on
// its own thread but leaves it here, and the handler's thread makes it current.
class QueuedServerContext final : public grpc::ServerContext {
 public:
  trace::SpanContext server_span;  // set by the tracing interceptor when the call arrives
};

// What the threads of a server's completion queue (Server::ServeOnQueue) find on it: each tag
// is a QueuedCall, told whether the operation it waited for succeeded.
class QueuedCall {
 public:
  virtual ~QueuedCall() = default;
  virtual void Proceed(bool ok) = 0;
};

// Serves one unary method of `Service` on a completion queue (gRPC's asynchronous API) with an
// ordinary handler, run on the queue's thread that took the call; the answer is sent from that
// thread too. A synchronous method costs two thread hand-offs more per call (gRPC's executor
// reads it and wakes a call thread): for a read answered from memory, most of its cost. The
// handler may block, but then holds one of the queue's few threads: fit for fast methods only.
//
// The service class must declare the method asynchronous (WithAsyncMethod_<Method>); `request`
// is its generated Request<Method>. The server's interceptors run as for any call.
template <typename Service, typename Request, typename Response>
class QueuedUnary {
 public:
  using RequestCall = void (Service::*)(grpc::ServerContext*, Request*,
                                        grpc::ServerAsyncResponseWriter<Response>*,
                                        grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);
  using Handler = std::function<grpc::Status(grpc::ServerContext*, const Request*, Response*)>;

  // Posts `waiting` requests for calls: as many calls can be taken from the network at once.
  static void Serve(Service* service, RequestCall request_call, Handler handler,
                    grpc::ServerCompletionQueue* cq, int waiting = 16) {
    auto method = std::make_shared<const Method>(Method{service, request_call, std::move(handler), cq});
    for (int i = 0; i < waiting; ++i) new Call(method);
  }

 private:
  struct Method {
    Service* service;
    RequestCall request_call;
    Handler handler;
    grpc::ServerCompletionQueue* cq;
  };

  // One call: first waiting for the network to bring it, then for its answer to be sent.
  class Call final : public QueuedCall {
   public:
    explicit Call(std::shared_ptr<const Method> method) : method_(std::move(method)) {
      (method_->service->*method_->request_call)(&context_, &request_, &responder_, method_->cq,
                                                 method_->cq, this);
    }

    void Proceed(bool ok) override {
      // Not ok while waiting: the server is shutting down (post no new request). Either way
      // once answered: the call is over.
      if (!ok || answered_) {
        delete this;
        return;
      }
      new Call(method_);  // the next call of this method may arrive meanwhile
      answered_ = true;
      grpc::Status status;
      trace::ScopedContext scope(context_.server_span);  // the handler's spans are its children
      try {
        status = method_->handler(&context_, &request_, &response_);
      } catch (const std::exception&) {  // as the synchronous server answers a throwing handler
        status = grpc::Status(grpc::StatusCode::UNKNOWN, "Unexpected error in RPC handling");
      }
      if (status.ok()) {
        responder_.Finish(response_, status, this);
      } else {
        responder_.FinishWithError(status, this);
      }
    }

   private:
    std::shared_ptr<const Method> method_;
    QueuedServerContext context_;
    Request request_;
    Response response_;
    grpc::ServerAsyncResponseWriter<Response> responder_{&context_};
    bool answered_ = false;
  };
};

}  // namespace flightdeck::rpc
