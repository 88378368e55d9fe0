#include "common/net/egress.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "common/config/url.h"

namespace flightdeck::net {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

IpAddress FromV4(const void* four) {
  IpAddress a;
  std::memcpy(a.bytes.data(), four, 4);
  return a;
}

IpAddress FromV6(const void* sixteen) {
  static const uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const auto* b = static_cast<const uint8_t*>(sixteen);
  if (std::memcmp(b, kMappedPrefix, 12) == 0) return FromV4(b + 12);
  IpAddress a;
  a.v6 = true;
  std::memcpy(a.bytes.data(), b, 16);
  return a;
}

bool IsMappedV6Text(std::string_view text) {
  // "::ffff:1.2.3.4" in any case, for prefixes written against the mapped form.
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.rfind("::ffff:", 0) == 0 && lower.find('.') != std::string::npos;
}

Cidr HostCidr(const IpAddress& a) { return Cidr{a, a.bits()}; }

Cidr MustCidr(const char* text) {
  std::string error;
  return *ParseCidr(text, &error);
}

std::optional<std::string> ReasonIfRefused(const std::vector<Cidr>& allow,
                                           const std::vector<DenyRule>& deny,
                                           const IpAddress& address, int port) {
  for (const DenyRule& rule : deny) {
    if (rule.port != 0 && rule.port != port) continue;
    if (!rule.range.Contains(address)) continue;
    bool allowed = false;
    for (const Cidr& a : allow) {
      if (a.network.v6 == rule.range.network.v6 && a.prefix >= rule.range.prefix &&
          a.Contains(address)) {
        allowed = true;
        break;
      }
    }
    if (allowed) continue;
    std::string where = address.v6 ? "[" + address.ToString() + "]:" + std::to_string(port)
                                   : address.ToString() + ":" + std::to_string(port);
    std::string message = "egress policy refuses " + where + ": " + rule.range.ToString();
    if (rule.port != 0) message += " port " + std::to_string(rule.port);
    message += " is " + rule.reason;
    message += rule.by_default
                   ? " (denied by default; FLIGHTDECK_EGRESS_ALLOW=" + rule.range.ToString() +
                         " allows it)"
                   : " (FLIGHTDECK_EGRESS_DENY)";
    return message;
  }
  return std::nullopt;
}

// Every address of this host's interfaces (a listener bound to 0.0.0.0 answers on each).
std::vector<IpAddress> LocalAddresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (auto ip = FromSockaddr(i->ifa_addr)) out.push_back(*ip);
  }
  freeifaddrs(list);
  return out;
}

std::vector<IpAddress> ResolveAll(const std::string& host) {
  std::vector<IpAddress> out;
  if (auto ip = ParseIp(host)) {
    out.push_back(*ip);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0) return out;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    if (auto ip = FromSockaddr(ai->ai_addr)) out.push_back(*ip);
  }
  freeaddrinfo(result);
  return out;
}

bool IsLoopbackOrUnspecified(const IpAddress& a) {
  static const Cidr kV4Loopback = MustCidr("127.0.0.0/8");
  static const Cidr kV4Any = MustCidr("0.0.0.0/32");
  static const Cidr kV6Loopback = MustCidr("::1/128");
  static const Cidr kV6Any = MustCidr("::/128");
  return kV4Loopback.Contains(a) || kV4Any.Contains(a) || kV6Loopback.Contains(a) ||
         kV6Any.Contains(a);
}

}  // namespace

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
  return text;
}

std::optional<IpAddress> ParseIp(std::string_view text) {
  std::string s(Trim(text));
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  uint8_t buffer[16];
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), buffer) == 1) return FromV4(buffer);
    return std::nullopt;
  }
  if (inet_pton(AF_INET6, s.c_str(), buffer) == 1) return FromV6(buffer);
  return std::nullopt;
}

std::optional<IpAddress> FromSockaddr(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  if (address->sa_family == AF_INET) {
    return FromV4(&reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
  }
  if (address->sa_family == AF_INET6) {
    return FromV6(&reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  }
  return std::nullopt;
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.v6 != network.v6) return false;
  int full = prefix / 8;
  if (std::memcmp(address.bytes.data(), network.bytes.data(), full) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == (network.bytes[full] & mask);
}

std::string Cidr::ToString() const { return network.ToString() + "/" + std::to_string(prefix); }

std::optional<Cidr> ParseCidr(std::string_view text, std::string* error) {
  std::string_view t = Trim(text);
  std::string_view address_text = t;
  std::optional<int> prefix;
  if (size_t slash = t.find('/'); slash != std::string_view::npos) {
    address_text = t.substr(0, slash);
    std::string_view digits = t.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      *error = "\"" + std::string(t) + "\": the prefix length after '/' must be a number";
      return std::nullopt;
    }
    prefix = std::stoi(std::string(digits));
  }
  auto address = ParseIp(address_text);
  if (!address) {
    *error = "\"" + std::string(t) + "\" is not an IPv4 or IPv6 address or CIDR range";
    return std::nullopt;
  }
  const bool written_mapped = IsMappedV6Text(address_text);
  const int written_bits = address->v6 || written_mapped ? 128 : 32;
  int p = prefix.value_or(written_bits);
  if (p > written_bits) {
    *error = "\"" + std::string(t) + "\": the prefix length is at most " +
             std::to_string(written_bits);
    return std::nullopt;
  }
  if (written_mapped) {
    if (p < 96) {
      *error = "\"" + std::string(t) + "\": an IPv4-mapped range needs a prefix of at least 96";
      return std::nullopt;
    }
    p -= 96;  // the IPv4 range it maps
  }
  Cidr cidr{*address, p};
  Cidr masked = cidr;
  for (int bit = p; bit < address->bits(); ++bit) {
    masked.network.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  if (!(masked.network == cidr.network)) {
    *error = "\"" + std::string(t) + "\" has host bits set (did you mean " + masked.ToString() +
             "?)";
    return std::nullopt;
  }
  return cidr;
}

std::optional<std::vector<Cidr>> ParseCidrList(std::string_view text, std::string* error) {
  std::vector<Cidr> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view entry =
        Trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                : comma - start));
    if (!entry.empty()) {
      auto cidr = ParseCidr(entry, error);
      if (!cidr) return std::nullopt;
      out.push_back(*cidr);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<DenyRule> DefaultDenyRules() {
  auto rule = [](const char* cidr, const char* reason) {
    return DenyRule{MustCidr(cidr), 0, reason, true};
  };
  return {
      rule("169.254.169.254/32", "a cloud metadata address"),  // AWS, GCP, Azure, OpenStack
      rule("fd00:ec2::254/128", "a cloud metadata address"),   // AWS over IPv6
      rule("100.100.100.200/32", "a cloud metadata address"),  // Alibaba Cloud
      rule("169.254.0.0/16", "link-local"),
      rule("fe80::/10", "link-local"),
      rule("0.0.0.0/8", "the unspecified address (it reaches this host)"),
      rule("::/128", "the unspecified address (it reaches this host)"),
  };
}

std::vector<DenyRule> DenyRulesForEndpoint(const OwnEndpoint& endpoint) {
  std::vector<DenyRule> out;
  if (endpoint.port <= 0) return out;
  const std::string reason = "Flightdeck's own " + endpoint.what;
  std::vector<IpAddress> addresses;
  if (endpoint.host.empty()) {
    addresses.push_back(*ParseIp("0.0.0.0"));
  } else {
    addresses = ResolveAll(endpoint.host);
  }
  bool local = false;
  for (const IpAddress& a : addresses) {
    if (IsLoopbackOrUnspecified(a)) {
      local = true;
    } else {
      out.push_back(DenyRule{HostCidr(a), endpoint.port, reason, true});
    }
  }
  if (local) {
    // A listener on loopback or on every address answers on each of this host's addresses.
    out.push_back(DenyRule{MustCidr("127.0.0.0/8"), endpoint.port, reason, true});
    out.push_back(DenyRule{MustCidr("::1/128"), endpoint.port, reason, true});
    for (const IpAddress& a : LocalAddresses()) {
      if (!IsLoopbackOrUnspecified(a)) out.push_back(DenyRule{HostCidr(a), endpoint.port, reason, true});
    }
  }
  return out;
}

std::vector<OwnEndpoint> OwnEndpointsFromEnv(const config::Env& env, int default_grpc_port,
                                             int default_admin_port) {
  std::vector<OwnEndpoint> out;
  const std::string bind = env.String("FLIGHTDECK_BIND_ADDRESS", "127.0.0.1");
  auto port_of = [&](const char* name, int fallback) {
    auto raw = env.Raw(name);
    if (!raw) return fallback;
    try {
      return std::stoi(*raw);
    } catch (...) {
      return 0;
    }
  };
  if (default_grpc_port > 0) {
    out.push_back({bind, port_of("FLIGHTDECK_GRPC_PORT", default_grpc_port),
                   "gRPC port (FLIGHTDECK_GRPC_PORT)"});
  }
  if (default_admin_port > 0) {
    out.push_back({bind, port_of("FLIGHTDECK_ADMIN_PORT", default_admin_port),
                   "admin port (FLIGHTDECK_ADMIN_PORT)"});
  }
  auto from_url = [&](const char* name, int default_port, const char* what) {
    auto raw = env.Raw(name);
    if (!raw) return;
    auto url = config::ParseUrl(*raw);
    if (!url || url->host.empty()) return;
    int port = default_port;
    if (url->port_text) {
      try {
        port = std::stoi(*url->port_text);
      } catch (...) {
        return;
      }
    }
    out.push_back({url->host, port, what});
  };
  from_url("DATABASE_URL", 5432, "PostgreSQL (DATABASE_URL)");
  from_url("REDIS_URL", 6379, "Redis (REDIS_URL)");
  for (const char* name : {"FLIGHTDECK_RELEASES_ADDR", "FLIGHTDECK_BACKUPS_ADDR",
                           "FLIGHTDECK_HEALTH_ADDR", "FLIGHTDECK_INCIDENTS_ADDR"}) {
    auto raw = env.Raw(name);
    if (!raw) continue;
    size_t colon = raw->rfind(':');
    if (colon == std::string::npos) continue;
    try {
      out.push_back({raw->substr(0, colon), std::stoi(raw->substr(colon + 1)),
                     std::string("gRPC service (") + name + ")"});
    } catch (...) {
    }
  }
  return out;
}

EgressPolicy::EgressPolicy(std::vector<Cidr> allow, std::vector<DenyRule> deny)
    : allow_(std::move(allow)), deny_(std::move(deny)) {}

EgressPolicy EgressPolicy::FromEnv(const config::Env& env, const std::vector<OwnEndpoint>& own) {
  std::string error;
  auto allow = ParseCidrList(env.Raw("FLIGHTDECK_EGRESS_ALLOW").value_or(""), &error);
  if (!allow) throw config::ConfigError("FLIGHTDECK_EGRESS_ALLOW: " + error);
  auto user_deny = ParseCidrList(env.Raw("FLIGHTDECK_EGRESS_DENY").value_or(""), &error);
  if (!user_deny) throw config::ConfigError("FLIGHTDECK_EGRESS_DENY: " + error);
  std::vector<DenyRule> deny;
  for (const Cidr& c : *user_deny) deny.push_back(DenyRule{c, 0, "denied", false});
  for (DenyRule& r : DefaultDenyRules()) deny.push_back(std::move(r));
  for (const OwnEndpoint& e : own) {
    for (DenyRule& r : DenyRulesForEndpoint(e)) deny.push_back(std::move(r));
  }
  return EgressPolicy(std::move(*allow), std::move(deny));
}

std::optional<std::string> EgressPolicy::Refusal(const IpAddress& address, int port) const {
  if (auto refusal = ReasonIfRefused(allow_, deny_, address, port)) return refusal;
  std::lock_guard<std::mutex> lock(late_->mu);
  return ReasonIfRefused(allow_, late_->rules, address, port);
}

void EgressPolicy::DenyOwnEndpoint(const OwnEndpoint& endpoint) {
  std::vector<DenyRule> rules = DenyRulesForEndpoint(endpoint);  // may resolve: outside the lock
  std::lock_guard<std::mutex> lock(late_->mu);
  for (DenyRule& r : rules) late_->rules.push_back(std::move(r));
}

std::vector<OwnEndpoint> OwnListeners(const std::string& bind, int grpc_port, int admin_port) {
  return {{bind, grpc_port, "gRPC port (FLIGHTDECK_GRPC_PORT)"},
          {bind, admin_port, "admin port (FLIGHTDECK_ADMIN_PORT)"}};
}

CheckedResolution ResolveChecked(const EgressPolicy& policy, const std::string& host, int port) {
  CheckedResolution out;
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &result);
  if (rc != 0) {
    out.error = "cannot resolve " + name + ": " + gai_strerror(rc);
    return out;
  }
  std::vector<ResolvedAddress> addresses;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    auto ip = FromSockaddr(ai->ai_addr);
    if (!ip) continue;
    ResolvedAddress r;
    std::memcpy(&r.storage, ai->ai_addr, ai->ai_addrlen);
    r.length = ai->ai_addrlen;
    r.ip = *ip;
    if (r.storage.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&r.storage)->sin_port = htons(static_cast<uint16_t>(port));
    } else {
      reinterpret_cast<sockaddr_in6*>(&r.storage)->sin6_port = htons(static_cast<uint16_t>(port));
    }
    addresses.push_back(r);
  }
  freeaddrinfo(result);
  if (addresses.empty()) {
    out.error = "cannot resolve " + name + ": no address";
    return out;
  }
  for (const ResolvedAddress& a : addresses) {
    if (auto refusal = policy.Refusal(a.ip, port)) {
      out.error = a.ip.ToString() == name ? *refusal : name + ": " + *refusal;
      out.refused = true;
      return out;
    }
  }
  out.addresses = std::move(addresses);
  return out;
}

bool HttpUrlHostPort(const std::string& url, std::string* host, int* port) {
  auto parts = config::ParseUrl(url);
  if (!parts || parts->host.empty()) return false;
  *host = parts->host;
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (parts->port_text) {
    const std::string& p = *parts->port_text;
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *port = std::stoi(p);
    return *port > 0 && *port <= 65535;
  }
  *port = parts->scheme == "https" ? 443 : 80;
  return true;
}

std::string HostPortRefusal(const EgressPolicy& policy, const std::string& host, int port) {
  CheckedResolution r = ResolveChecked(policy, host, port);
  return r.refused ? r.error : "";
}

std::string HttpUrlRefusal(const EgressPolicy& policy, const std::string& url) {
  std::string host;
  int port = 0;
  if (!HttpUrlHostPort(url, &host, &port)) return "";
  return HostPortRefusal(policy, host, port);
}

}  // namespace flightdeck::net
