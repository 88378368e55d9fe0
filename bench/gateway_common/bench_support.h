#pragma once

// What the gateway's load tools (bench_gateway_streams, bench_gateway_idle) share: where the
// gateway is (--url), a plain TCP connection to it, and the figures /proc gives about it.
#include <string>

namespace flightdeck::bench {

// Splits "http://HOST:PORT[/...]" into host and port; false when it is not of that form.
bool ParseUrl(const std::string& url, std::string* host, int* port);

// A blocking TCP connection to host:port (IPv4), or -1 with errno set. A positive
// `io_timeout_s` bounds every read and write on it (SO_RCVTIMEO, SO_SNDTIMEO).
int Connect(const std::string& host, int port, int io_timeout_s = 0);

// A numeric field of /proc/PID/status ("VmRSS:" in kB, "Threads:"), -1 when it is absent.
long ProcStatus(int pid, const char* key);

}  // namespace flightdeck::bench
