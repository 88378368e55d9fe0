#pragma once

#include <memory>

#include "common/api/methods.h"
#include "common/http/router.h"

namespace flightdeck::gateway {

class Core;
class HttpCall;

// The REST front (DESIGN.md §4): JSON over HTTP under /v1, the REST projection of the method
// table. A request's path, query and JSON body become the method's request message
// (transcode.h); the answer is the response message in canonical JSON, or the one error shape.
// `GET /v1/releases/{id}/events?watch=true` streams the timeline as newline-delimited JSON
// (WatchRelease), one event per line, until the release ends or the client goes away.
class RestFront {
 public:
  explicit RestFront(Core& core);
  void Handle(const std::shared_ptr<HttpCall>& call);

 private:
  Core& core_;
  http::Router<const api::Method*> router_;
};

}  // namespace flightdeck::gateway
