#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

namespace flightdeck::config {
class Env;
}

namespace flightdeck::rpc {

// How the processes' gRPC ports talk to each other: mutual TLS with certificates from one CA
// (scripts/certs), or plaintext only when asked for explicitly.
struct TransportSecurity {
  bool insecure = true;  // what in-process tests get; a process reads FromEnv
  std::string ca_file;   // FLIGHTDECK_TLS_CA_FILE: the CA that signs every process's certificate
  std::string cert_file;  // FLIGHTDECK_TLS_CERT_FILE: this process's certificate (chain)
  std::string key_file;   // FLIGHTDECK_TLS_KEY_FILE: its private key
  // FLIGHTDECK_TLS_RELOAD_INTERVAL: how often the files are re-read, so that a rotated
  // certificate is picked up without a restart.
  std::chrono::seconds reload_interval{60};

  // TLS unless FLIGHTDECK_GRPC_INSECURE=true. Throws config::ConfigError naming the variable
  // when a file is missing or unreadable, or when the certificate and key do not match.
  static TransportSecurity FromEnv(const config::Env& env);
};

// Set once at start-up, before any server or channel is made. Plaintext until then.
void SetTransportSecurity(TransportSecurity security);
const TransportSecurity& CurrentTransportSecurity();

// Servers require a client certificate signed by the CA, and put every call to `authorize`
// (when set) before a handler sees it.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    std::function<grpc::Status(std::string_view, std::string_view, std::optional<std::string_view>)> authorize = {});
// Clients present their certificate and check the server's against the CA.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials();

// The workload id a certificate names for an identity: spiffe://flightdeck/<identity>.
std::string WorkloadId(const std::string& identity);

}  // namespace flightdeck::rpc
