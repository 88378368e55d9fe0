#include "services/health/target.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

#include "common/clock/timestamps.h"
#include "common/config/url.h"
#include "common/db/db.h"
#include "services/health/request_checks.h"

namespace flightdeck::health {
namespace {

using std::chrono::milliseconds;

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// "1s", "500ms", "1.5s": how durations are quoted back in messages.
std::string Show(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

bool IsPort(const std::string& text) {
  if (text.empty() || text.size() > 5) return false;
  if (!std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  int port = std::stoi(text);
  return port >= 1 && port <= 65535;
}

// host:port, [v6]:port.
bool IsHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = address.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') return false;
  if (host.find_first_of(" /@?#") != std::string::npos) return false;
  return IsPort(address.substr(colon + 1));
}

// "" when the target's url suits its kind, else why not (after "url: ").
std::string UrlProblem(const v1::HealthTarget& t) {
  if (t.url().empty()) return "required for kind " + t.kind();
  const std::string shown = db::RedactUrl(t.url());
  std::optional<config::UrlParts> parts = config::ParseUrl(t.url());
  if (!parts || parts->host.empty() || (parts->port_text && !IsPort(*parts->port_text)) ||
      t.url().find_first_of(" \t\r\n") != std::string::npos) {
    return "cannot parse \"" + shown + "\"";
  }
  const std::string& scheme = parts->scheme;
  if (t.kind() == "HTTP" && scheme != "http" && scheme != "https") {
    return "\"" + shown + "\" must be http:// or https:// for kind HTTP";
  }
  if (t.kind() == "POSTGRES" && scheme != "postgres" && scheme != "postgresql") {
    return "\"" + shown + "\" must be postgres:// or postgresql:// for kind POSTGRES";
  }
  if (t.kind() == "REDIS" && scheme != "redis") return "\"" + shown + "\" must be redis:// for kind REDIS";
  return "";
}

}  // namespace

grpc::Status ValidateTarget(v1::HealthTarget* t) {
  static const std::regex kName("[a-z0-9][a-z0-9._-]{0,62}");
  FieldErrors errors;
  if (t->name().empty()) {
    errors.Add("name", "required");
  } else if (!std::regex_match(t->name(), kName)) {
    errors.Add("name", "\"" + t->name() +
                           "\" must be 1-63 characters of a-z, 0-9, '.', '_', '-' starting with a letter "
                           "or digit");
  }
  if (t->service().empty()) errors.Add("service", "required");
  if (t->environment().empty()) errors.Add("environment", "required");

  if (std::optional<std::string> role = CanonicalEnum(t->role(), kTargetRoles)) {
    t->set_role(*role);
  } else {
    errors.Add("role", EnumProblem(t->role(), kTargetRoles));
  }
  std::optional<std::string> kind = CanonicalEnum(t->kind(), kProbeKinds);
  if (kind) {
    t->set_kind(*kind);
  } else {
    errors.Add("kind", EnumProblem(t->kind(), kProbeKinds));
  }

  // What the kind needs can only be checked once the kind is known.
  if (kind == "GRPC" || kind == "TCP") {
    if (t->address().empty()) {
      errors.Add("address", "required for kind " + *kind + " (host:port)");
    } else if (!IsHostPort(t->address())) {
      errors.Add("address", "\"" + t->address() + "\" is not host:port");
    }
  } else if (kind) {
    if (std::string problem = UrlProblem(*t); !problem.empty()) errors.Add("url", problem);
  }

  if (kind == "GRPC") {
    std::string mode = t->grpc_tls().empty() ? "PLAINTEXT" : Upper(t->grpc_tls());
    if (mode != "PLAINTEXT" && mode != "TLS" && mode != "FLIGHTDECK") {
      errors.Add("grpc_tls", UnknownEnumValue(t->grpc_tls(), {"PLAINTEXT", "TLS", "FLIGHTDECK"}));
    } else {
      t->set_grpc_tls(mode);
    }
    if (mode == "PLAINTEXT" && !t->grpc_tls_server_name().empty()) {
      errors.Add("grpc_tls_server_name", "needs grpc_tls TLS or FLIGHTDECK");
    }
  } else if (!t->grpc_tls().empty() || !t->grpc_tls_server_name().empty()) {
    errors.Add(t->grpc_tls().empty() ? "grpc_tls_server_name" : "grpc_tls", "only for kind GRPC");
  }

  if (kind == "HTTP") {
    std::string method = t->method().empty() ? "GET" : Upper(t->method());
    if (method != "GET" && method != "HEAD") {
      errors.Add("method", UnknownEnumValue(t->method(), {"GET", "HEAD"}));
    } else {
      t->set_method(method);
    }
    for (int code : t->expect_status()) {
      if (code < 100 || code > 599) {
        errors.Add("expect_status", std::to_string(code) + " is not an HTTP status (100..599)");
      }
    }
    if (t->has_max_latency() && MillisOf(t->max_latency()).count() < 0) {
      errors.Add("max_latency", "must not be negative");
    }
  } else if (kind && t->has_reuse_connections()) {
    // TCP, POSTGRES and REDIS probes open a new connection every time; GRPC keeps a channel.
    errors.Add("reuse_connections", "only for kind HTTP");
  }
  DefaultAddedFields(t);

  if (!t->has_initial_delay()) SetDuration(t->mutable_initial_delay(), std::chrono::seconds(0));
  if (!t->has_period()) SetDuration(t->mutable_period(), std::chrono::seconds(10));
  if (!t->has_timeout()) SetDuration(t->mutable_timeout(), std::chrono::seconds(1));
  if (t->success_threshold() == 0) t->set_success_threshold(1);
  if (t->failure_threshold() == 0) t->set_failure_threshold(3);

  milliseconds initial_delay = MillisOf(t->initial_delay());
  milliseconds period = MillisOf(t->period());
  milliseconds timeout = MillisOf(t->timeout());
  if (initial_delay.count() < 0) errors.Add("initial_delay", "must not be negative");
  if (period < std::chrono::seconds(1)) {
    errors.Add("period", Show(period) + " is below the minimum 1s");
  } else if (timeout > period) {
    errors.Add("period", Show(period) + " is below timeout " + Show(timeout));
  }
  if (timeout.count() <= 0) errors.Add("timeout", "must be above 0");
  if (t->success_threshold() < 1) {
    errors.Add("success_threshold", std::to_string(t->success_threshold()) + " must be at least 1");
  }
  if (t->failure_threshold() < 1) {
    errors.Add("failure_threshold", std::to_string(t->failure_threshold()) + " must be at least 1");
  }
  if (!errors.empty()) return errors.ToStatus();

  // Output-only fields are the service's to set.
  t->clear_status();
  t->clear_status_since();
  t->clear_consecutive_successes();
  t->clear_consecutive_failures();
  t->clear_last_result();
  t->clear_recent_results();
  t->clear_stats();
  t->clear_created_at();
  t->clear_created_by();
  return grpc::Status::OK;
}

void DefaultAddedFields(v1::HealthTarget* t) {
  if (t->kind() == "HTTP" && !t->has_reuse_connections()) t->set_reuse_connections(true);
}

uint64_t Fnv1a64(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

int ShardOf(const std::string& name) { return static_cast<int>(Fnv1a64(name) % kShardCount); }

ProbeSpec ToProbeSpec(const v1::HealthTarget& t) {
  ProbeSpec spec;
  if (t.kind() == "GRPC") {
    spec.kind = ProbeKind::kGrpc;
  } else if (t.kind() == "TCP") {
    spec.kind = ProbeKind::kTcp;
  } else if (t.kind() == "POSTGRES") {
    spec.kind = ProbeKind::kPostgres;
  } else if (t.kind() == "REDIS") {
    spec.kind = ProbeKind::kRedis;
  } else {
    spec.kind = ProbeKind::kHttp;
  }
  spec.url = t.url();
  spec.address = t.address();
  spec.head = t.method() == "HEAD";
  spec.expect_status.assign(t.expect_status().begin(), t.expect_status().end());
  spec.body_contains = t.body_contains();
  spec.max_latency = MillisOf(t.max_latency());
  spec.reuse_connections = !t.has_reuse_connections() || t.reuse_connections();
  spec.grpc_service = t.grpc_service();
  spec.grpc_tls = t.grpc_tls();
  spec.grpc_tls_server_name = t.grpc_tls_server_name();
  spec.timeout = MillisOf(t.timeout());
  return spec;
}

void RedactTarget(v1::HealthTarget* t) {
  if (!t->url().empty()) t->set_url(db::RedactUrl(t->url()));
}

}  // namespace flightdeck::health

namespace flightdeck::health {

std::string DestinationRefusal(const net::EgressPolicy& policy, const ProbeSpec& spec) {
  std::string host;
  int port = 0;
  std::string field = "url";
  switch (spec.kind) {
    case ProbeKind::kHttp:
      if (!net::HttpUrlHostPort(spec.url, &host, &port)) return "";
      break;
    case ProbeKind::kGrpc:
    case ProbeKind::kTcp: {
      field = "address";
      auto parts = config::ParseUrl("tcp://" + spec.address);
      if (!parts || parts->host.empty() || !parts->port_text) return "";
      host = parts->host;
      port = std::atoi(parts->port_text->c_str());
      break;
    }
    case ProbeKind::kPostgres:
    case ProbeKind::kRedis: {
      auto parts = config::ParseUrl(spec.url);
      if (!parts || parts->host.empty()) return "";  // a Unix socket: the probe refuses it
      host = parts->host;
      port = spec.kind == ProbeKind::kPostgres ? 5432 : 6379;
      if (parts->port_text) port = std::atoi(parts->port_text->c_str());
      break;
    }
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string refusal = net::HostPortRefusal(policy, host, port);
  return refusal.empty() ? "" : field + ": " + refusal;
}

}  // namespace flightdeck::health
