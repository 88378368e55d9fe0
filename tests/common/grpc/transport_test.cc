// Unit: a process's TLS settings are checked at start-up, each failure naming the variable to
// fix; plaintext only when asked for. Certificates come from scripts/certs, as in production.
#include "common/grpc/transport.h"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "common/config/config.h"

namespace flightdeck::rpc {
namespace {

class TransportSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char a[] = "/tmp/fd-transport-a-XXXXXX";
    char b[] = "/tmp/fd-transport-b-XXXXXX";
    ASSERT_NE(mkdtemp(a), nullptr);
    ASSERT_NE(mkdtemp(b), nullptr);
    dir_ = new std::string(a);
    other_ = new std::string(b);
    ASSERT_EQ(std::system((std::string(FD_SOURCE_DIR "/scripts/certs ") + a + " >/dev/null").c_str()), 0);
    ASSERT_EQ(std::system((std::string(FD_SOURCE_DIR "/scripts/certs ") + b + " >/dev/null").c_str()), 0);
  }
  static void TearDownTestSuite() {
    (void)!std::system(("rm -rf " + *dir_ + " " + *other_).c_str());
    delete dir_;
    delete other_;
  }
  static std::string Error(std::map<std::string, std::string> vars) {
    try {
      TransportSecurity::FromEnv(config::Env::FromMap(std::move(vars)));
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "";
  }
  static std::map<std::string, std::string> Files(const std::string& ca_dir, const std::string& cert,
                                                  const std::string& key) {
    return {{"FLIGHTDECK_TLS_CA_FILE", ca_dir + "/ca.pem"},
            {"FLIGHTDECK_TLS_CERT_FILE", *dir_ + "/" + cert},
            {"FLIGHTDECK_TLS_KEY_FILE", *dir_ + "/" + key}};
  }
  static std::string* dir_;
  static std::string* other_;
};
std::string* TransportSecurityTest::dir_ = nullptr;
std::string* TransportSecurityTest::other_ = nullptr;

TEST_F(TransportSecurityTest, MutualTlsIsTheDefaultAndPlaintextMustBeAskedFor) {
  std::string missing = Error({});
  EXPECT_EQ(missing.rfind("FLIGHTDECK_TLS_CA_FILE: required", 0), 0u) << missing;
  EXPECT_NE(missing.find("FLIGHTDECK_GRPC_INSECURE=true"), std::string::npos) << missing;
  TransportSecurity plain = TransportSecurity::FromEnv(config::Env::FromMap({{"FLIGHTDECK_GRPC_INSECURE", "true"}}));
  EXPECT_TRUE(plain.insecure);
}

TEST_F(TransportSecurityTest, AGoodSetIsTaken) {
  auto vars = Files(*dir_, "releases.pem", "releases.key");
  vars["FLIGHTDECK_TLS_RELOAD_INTERVAL"] = "5s";
  TransportSecurity s = TransportSecurity::FromEnv(config::Env::FromMap(vars));
  EXPECT_FALSE(s.insecure);
  EXPECT_EQ(s.cert_file, *dir_ + "/releases.pem");
  EXPECT_EQ(s.reload_interval, std::chrono::seconds(5));
}

TEST_F(TransportSecurityTest, EachMistakeNamesItsVariable) {
  EXPECT_EQ(Error(Files(*dir_, "releases.pem", "gateway.key")),
            "FLIGHTDECK_TLS_KEY_FILE: the key does not match FLIGHTDECK_TLS_CERT_FILE");
  std::string foreign = Error(Files(*other_, "releases.pem", "releases.key"));
  EXPECT_EQ(foreign.rfind("FLIGHTDECK_TLS_CERT_FILE: not signed by FLIGHTDECK_TLS_CA_FILE", 0), 0u) << foreign;
  std::string absent = Error(Files(*dir_, "nobody.pem", "releases.key"));
  EXPECT_EQ(absent.rfind("FLIGHTDECK_TLS_CERT_FILE: cannot read", 0), 0u) << absent;
  std::string not_a_cert = Error(Files(*dir_, "releases.key", "releases.key"));
  EXPECT_EQ(not_a_cert.rfind("FLIGHTDECK_TLS_CERT_FILE:", 0), 0u) << not_a_cert;
  auto fast = Files(*dir_, "releases.pem", "releases.key");
  fast["FLIGHTDECK_TLS_RELOAD_INTERVAL"] = "10ms";
  EXPECT_EQ(Error(fast), "FLIGHTDECK_TLS_RELOAD_INTERVAL: must be at least 1s");
}

}  // namespace
}  // namespace flightdeck::rpc
