#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <stdexcept>

#include "services/health/probe/probe.h"

namespace flightdeck::test {

// Runs one probe and waits for its outcome (well past its timeout, so a probe that never
// completes fails the test instead of hanging it).
inline health::ProbeOutcome RunProbe(health::Prober& prober, const health::ProbeSpec& spec) {
  auto promise = std::make_shared<std::promise<health::ProbeOutcome>>();
  auto future = promise->get_future();
  prober.Submit(spec, [promise](const health::ProbeOutcome& o) { promise->set_value(o); });
  if (future.wait_for(spec.timeout + std::chrono::seconds(10)) != std::future_status::ready) {
    throw std::runtime_error("probe did not complete 10 s after its timeout");
  }
  return future.get();
}

// A loopback port nobody listens on: bound by the kernel's choice, then released.
inline int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace flightdeck::test
