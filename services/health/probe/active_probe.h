#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "services/health/probe/event_loop.h"
#include "services/health/probe/probe.h"

// What the engine-thread probe kinds (HTTP, TCP, REDIS, POSTGRES) share: the spec, the
// callback, the deadline, and the single path to the outcome.
namespace flightdeck::health::internal {

class Resolver;
class CurlDriver;
class ActiveProbe;

// The engine as a probe sees it. Engine thread only.
class ProbeHost {
 public:
  virtual ~ProbeHost() = default;
  virtual EventLoop& loop() = 0;
  virtual Resolver& resolver() = 0;
  virtual CurlDriver& curl() = 0;
  // The egress policy probes are checked against; null: none.
  virtual const net::EgressPolicy* egress() const = 0;
  // The probe with this id while it is still running, else null (it finished or timed out).
  virtual ActiveProbe* Find(uint64_t id) = 0;
  // Completes the probe once: closes its resources, runs its callback, frees it later.
  virtual void Finish(ActiveProbe* probe, ProbeOutcome outcome) = 0;
};

class ActiveProbe : public FdHandler {
 public:
  ActiveProbe(ProbeHost& host, uint64_t id, ProbeSpec spec, Prober::Callback done)
      : host_(host), id_(id), spec_(std::move(spec)), done_(std::move(done)) {}

  // Starts the work; may Finish() at once (a refused connection, a bad URL).
  virtual void Begin() = 0;
  // Releases sockets and library handles; called exactly once, before the callback runs.
  virtual void Close() = 0;

  uint64_t id() const { return id_; }
  const ProbeSpec& spec() const { return spec_; }
  bool finished() const { return finished_; }
  std::chrono::steady_clock::time_point start() const { return start_; }

 protected:
  void Fail(std::string error) {
    ProbeOutcome outcome;
    outcome.error = std::move(error);
    host_.Finish(this, std::move(outcome));
  }
  void Pass(std::string detail = {}) {
    ProbeOutcome outcome;
    outcome.ok = true;
    outcome.detail = std::move(detail);
    host_.Finish(this, std::move(outcome));
  }

  ProbeHost& host_;

 private:
  friend class Engine;
  uint64_t id_;
  ProbeSpec spec_;
  Prober::Callback done_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::system_clock::time_point started_;
  EventLoop::TimerId timer_ = 0;
};

// Short, human error texts shared by the kinds.
std::string TimeoutText(std::chrono::milliseconds timeout);
std::string ErrnoText(int err);  // "connection refused", "network unreachable", ...
// Cuts a library's message to its first line and at most `max` characters.
std::string FirstLine(const std::string& text, size_t max = 160);

}  // namespace flightdeck::health::internal
