#include "common/grpc/transport.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <mutex>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <grpcpp/security/auth_metadata_processor.h>

#include "common/config/config.h"
#include "common/grpc/metadata.h"
#include "common/log/log.h"

namespace flightdeck::rpc {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

File Open(const std::string& variable, const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw config::ConfigError(variable + ": cannot read \"" + path + "\"");
  return f;
}

Cert ReadCert(const std::string& variable, const std::string& path) {
  File f = Open(variable, path);
  Cert cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) throw config::ConfigError(variable + ": \"" + path + "\" holds no PEM certificate");
  return cert;
}

// Fails at start-up rather than at the first call, with the variable that is wrong: a key that
// does not match, or a certificate the CA did not sign, would otherwise show only as handshake
// failures on the peers.
void Check(const TransportSecurity& s) {
  Cert ca = ReadCert("FLIGHTDECK_TLS_CA_FILE", s.ca_file);
  Cert cert = ReadCert("FLIGHTDECK_TLS_CERT_FILE", s.cert_file);
  File key_file = Open("FLIGHTDECK_TLS_KEY_FILE", s.key_file);
  Key key(PEM_read_PrivateKey(key_file.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) throw config::ConfigError("FLIGHTDECK_TLS_KEY_FILE: \"" + s.key_file + "\" holds no PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    throw config::ConfigError("FLIGHTDECK_TLS_KEY_FILE: the key does not match FLIGHTDECK_TLS_CERT_FILE");
  }
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_add_cert(store.get(), ca.get());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  if (X509_verify_cert(ctx.get()) != 1) {
    throw config::ConfigError(std::string("FLIGHTDECK_TLS_CERT_FILE: not signed by FLIGHTDECK_TLS_CA_FILE (") +
                              X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())) + ")");
  }
}

std::mutex mutex;
TransportSecurity current;
// One provider per process: it re-reads the files every reload_interval, and every server and
// channel made from it sees the new certificate.
std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider;

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> Provider() {
  std::lock_guard lock(mutex);
  if (!provider) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        current.key_file, current.cert_file, current.ca_file,
        static_cast<unsigned>(current.reload_interval.count()));
  }
  return provider;
}

// gRPC hands each call's metadata (":path" among it) and the connection's verified certificate
// to this before the call reaches a handler; a status other than OK fails the call with it.
class Authorizer final : public grpc::AuthMetadataProcessor {
 public:
  using Decide = std::function<grpc::Status(std::string_view, std::string_view, std::optional<std::string_view>)>;
  explicit Authorizer(Decide decide) : decide_(std::move(decide)) {}
  bool IsBlocking() const override { return false; }  // a table look-up: decided inline
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    std::string_view identity;
    std::vector<grpc::string_ref> names = context->FindPropertyValues("x509_common_name");
    if (!names.empty()) identity = std::string_view(names.front().data(), names.front().size());
    std::string_view path;
    std::optional<std::string_view> role;
    for (const auto& [key, value] : metadata) {
      std::string_view k(key.data(), key.size());
      if (k == ":path") path = std::string_view(value.data(), value.size());
      if (k == kRoleKey) role = std::string_view(value.data(), value.size());
    }
    return decide_(identity, path, role);
  }

 private:
  Decide decide_;
};

}  // namespace

TransportSecurity TransportSecurity::FromEnv(const config::Env& env) {
  TransportSecurity s;
  s.insecure = env.Bool("FLIGHTDECK_GRPC_INSECURE", false);
  if (s.insecure) return s;
  auto required = [&env](const char* name) {
    std::optional<std::string> value = env.Raw(name);
    if (!value) {
      throw config::ConfigError(std::string(name) +
                                ": required: the gRPC ports speak mutual TLS (scripts/certs makes a CA and "
                                "the processes' certificates), or set FLIGHTDECK_GRPC_INSECURE=true for plaintext");
    }
    return *value;
  };
  s.ca_file = required("FLIGHTDECK_TLS_CA_FILE");
  s.cert_file = required("FLIGHTDECK_TLS_CERT_FILE");
  s.key_file = required("FLIGHTDECK_TLS_KEY_FILE");
  auto interval = env.Duration("FLIGHTDECK_TLS_RELOAD_INTERVAL", std::chrono::seconds(60));
  if (interval < std::chrono::seconds(1)) {
    throw config::ConfigError("FLIGHTDECK_TLS_RELOAD_INTERVAL: must be at least 1s");
  }
  s.reload_interval = std::chrono::duration_cast<std::chrono::seconds>(interval);
  Check(s);
  return s;
}

void SetTransportSecurity(TransportSecurity security) {
  if (security.insecure) {
    log::Warn("FLIGHTDECK_GRPC_INSECURE=true: the gRPC ports accept plaintext calls from anyone "
              "who can reach them, and trust the caller identity they send");
  }
  std::lock_guard lock(mutex);
  current = std::move(security);
  provider.reset();
}

const TransportSecurity& CurrentTransportSecurity() {
  std::lock_guard lock(mutex);
  return current;
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    std::function<grpc::Status(std::string_view, std::string_view, std::optional<std::string_view>)> authorize) {
  if (CurrentTransportSecurity().insecure) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(Provider());
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::experimental::TlsServerCredentials(options);
  if (authorize) credentials->SetAuthMetadataProcessor(std::make_shared<Authorizer>(std::move(authorize)));
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials() {
  if (CurrentTransportSecurity().insecure) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Provider());
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

std::string WorkloadId(const std::string& identity) { return "spiffe://flightdeck/" + identity; }

}  // namespace flightdeck::rpc
