#pragma once

#include <memory>
#include <string>

namespace flightdeck::gateway {

class Core;
class HttpCall;

// PagerDuty Events API v2 compatibility: `POST /v2/enqueue`, so that anything that can page
// PagerDuty can open Flightdeck incidents. No bearer token is needed (the routing key in the
// event is the credential, checked by the incidents service; a token that is sent must be
// valid); an accepted event is 202 with PagerDuty's answer; an invalid one is 400 in
// PagerDuty's error shape; other failures keep the one error shape and their 5xx, which
// PagerDuty clients retry.
class PagerDutyFront {
 public:
  static constexpr const char* kPath = "/v2/enqueue";
  explicit PagerDutyFront(Core& core) : core_(core) {}
  void Handle(const std::shared_ptr<HttpCall>& call);

 private:
  Core& core_;
};

// {"status":"invalid event","message":"Event object is invalid","errors":[...]}, one error per
// line of `message` (the incidents service joins field errors with "\n").
std::string PagerDutyErrorJson(const std::string& message);

}  // namespace flightdeck::gateway
