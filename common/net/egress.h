#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.h"

// The egress policy: which addresses Flightdeck may connect to on a user's behalf (health
// probes, smoke runs, notification webhooks, the Prometheus canary source, backup targets).
// Decisions are made on resolved addresses, never on host names, and callers connect to the
// address that was checked (resolve once, check every address, connect to a checked one), so
// that a name that resolves differently the second time (DNS rebinding) cannot slip past.
namespace flightdeck::net {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are stored as the IPv4
// address they carry, so that one rule covers both spellings.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4: the first 4

  int bits() const { return v6 ? 128 : 32; }
  std::string ToString() const;  // "10.0.0.1", "fe80::1"
  bool operator==(const IpAddress& o) const { return v6 == o.v6 && bytes == o.bytes; }
};

// "10.0.0.1", "::1", "[::1]", "::ffff:10.0.0.1"; nullopt when not an address.
std::optional<IpAddress> ParseIp(std::string_view text);
// AF_INET / AF_INET6 socket addresses; nullopt for any other family.
std::optional<IpAddress> FromSockaddr(const sockaddr* address);

struct Cidr {
  IpAddress network;  // host bits zero
  int prefix = 0;

  bool Contains(const IpAddress& address) const;
  std::string ToString() const;  // "169.254.0.0/16"
};

// "10.0.0.0/8", "fe80::/10", a bare address (a /32 or /128), "::ffff:10.0.0.0/104" (read as
// 10.0.0.0/8). Host bits must be zero ("10.0.0.1/8" is refused: it reads like a mistake).
// nullopt with *error set when malformed.
std::optional<Cidr> ParseCidr(std::string_view text, std::string* error);
// Comma-separated, blanks around entries ignored; an empty text is an empty list.
std::optional<std::vector<Cidr>> ParseCidrList(std::string_view text, std::string* error);

// One thing that is denied: a range of addresses, optionally only one port of them.
struct DenyRule {
  Cidr range;
  int port = 0;        // 0: every port
  std::string reason;  // "link-local", "this process's admin port (FLIGHTDECK_ADMIN_PORT)"
  bool by_default = false;  // built in (not from FLIGHTDECK_EGRESS_DENY)
};

// A Flightdeck listener or store a process knows of from its configuration.
struct OwnEndpoint {
  std::string host;  // a name, an address, or "" / 0.0.0.0 / :: for every local address
  int port = 0;
  std::string what;  // "PostgreSQL (DATABASE_URL)"
};

class EgressPolicy {
 public:
  // Allows everything (tests of code that does not care about egress).
  EgressPolicy() = default;
  EgressPolicy(std::vector<Cidr> allow, std::vector<DenyRule> deny);

  // FLIGHTDECK_EGRESS_ALLOW and FLIGHTDECK_EGRESS_DENY over the built-in denies (link-local,
  // cloud metadata, the unspecified address) and the process's own listeners and stores.
  // Host names among `own` are resolved now. Throws config::ConfigError naming the variable.
  static EgressPolicy FromEnv(const config::Env& env, const std::vector<OwnEndpoint>& own);

  // Why connecting to address:port is refused, or nullopt when it is allowed. A destination is
  // refused when a deny rule covers it and no FLIGHTDECK_EGRESS_ALLOW range at least as narrow
  // as that rule's range does (so ALLOW=0.0.0.0/0 does not open the metadata address, but
  // ALLOW=169.254.169.254/32 does).
  std::optional<std::string> Refusal(const IpAddress& address, int port) const;

  // Adds the rules of an endpoint known only once the process runs (a listener on port 0 gets
  // its port when it binds). Thread-safe against Refusal; copies of the policy share them.
  void DenyOwnEndpoint(const OwnEndpoint& endpoint);

  const std::vector<DenyRule>& deny_rules() const { return deny_; }

 private:
  struct LateRules {
    std::mutex mu;
    std::vector<DenyRule> rules;
  };
  std::vector<Cidr> allow_;
  std::vector<DenyRule> deny_;
  std::shared_ptr<LateRules> late_ = std::make_shared<LateRules>();
};

// The built-in denies: link-local and cloud metadata addresses, and the unspecified address
// (connecting to 0.0.0.0 reaches the local host).
std::vector<DenyRule> DefaultDenyRules();

// The rules that deny one of Flightdeck's own endpoints: its port on the addresses the host
// resolves to, or, for a loopback or unspecified host, on every loopback and local address.
std::vector<DenyRule> DenyRulesForEndpoint(const OwnEndpoint& endpoint);

// The endpoints of a process's configuration: its gRPC and admin ports, DATABASE_URL's and
// REDIS_URL's host and port, and the other services' addresses it is configured with
// (FLIGHTDECK_*_ADDR). Unset or unparsable values are skipped (the process's own validation
// reports them).
std::vector<OwnEndpoint> OwnEndpointsFromEnv(const config::Env& env, int default_grpc_port,
                                             int default_admin_port);
// The process's own gRPC and admin listeners as bound (FLIGHTDECK_BIND_ADDRESS), for
// EgressPolicy::DenyOwnEndpoint once the ports are known.
std::vector<OwnEndpoint> OwnListeners(const std::string& bind_address, int grpc_port, int admin_port);

struct ResolvedAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  IpAddress ip;
};

struct CheckedResolution {
  std::vector<ResolvedAddress> addresses;  // every one allowed; empty when refused or failed
  std::string error;  // "egress policy refuses 169.254.169.254:80 (...)", "cannot resolve ..."
  bool refused = false;  // the error is the policy's (rather than DNS's)
};

// Resolves host (a name or a literal; brackets allowed) once, blocking, and checks every address
// it resolves to: one refused address refuses the destination. Callers connect only to the
// addresses answered.
CheckedResolution ResolveChecked(const EgressPolicy& policy, const std::string& host, int port);

// The host and port of an http(s):// URL (default ports 80 and 443), for ResolveChecked.
// False when the URL has no host or a bad port.
bool HttpUrlHostPort(const std::string& url, std::string* host, int* port);

// For registration: why the policy refuses where an http(s) URL leads, or "" when it does not.
// A host that does not resolve now is not refused here: the check when connecting decides.
std::string HttpUrlRefusal(const EgressPolicy& policy, const std::string& url);
// The same for a host and port.
std::string HostPortRefusal(const EgressPolicy& policy, const std::string& host, int port);

}  // namespace flightdeck::net
