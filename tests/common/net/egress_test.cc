#include "common/net/egress.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net/curl_egress.h"

namespace flightdeck::net {
namespace {

IpAddress Ip(const char* text) { return *ParseIp(text); }

Cidr C(const char* text) {
  std::string error;
  auto c = ParseCidr(text, &error);
  EXPECT_TRUE(c.has_value()) << text << ": " << error;
  return c.value_or(Cidr{});
}

std::string ParseError(const char* text) {
  std::string error;
  EXPECT_FALSE(ParseCidr(text, &error).has_value()) << text;
  return error;
}

EgressPolicy FromMap(std::map<std::string, std::string> env, std::vector<OwnEndpoint> own = {}) {
  return EgressPolicy::FromEnv(config::Env::FromMap(std::move(env)), own);
}

TEST(ParseCidr, ReadsV4V6AndBareAddresses) {
  EXPECT_EQ(C("10.0.0.0/8").ToString(), "10.0.0.0/8");
  EXPECT_EQ(C(" fe80::/10 ").ToString(), "fe80::/10");
  EXPECT_EQ(C("192.168.1.7").ToString(), "192.168.1.7/32");
  EXPECT_EQ(C("::1").ToString(), "::1/128");
  EXPECT_EQ(C("0.0.0.0/0").ToString(), "0.0.0.0/0");
  EXPECT_EQ(C("::/0").ToString(), "::/0");
}

TEST(ParseCidr, ReadsV4MappedRangesAsTheV4RangeTheyMap) {
  Cidr c = C("::ffff:10.0.0.0/104");
  EXPECT_FALSE(c.network.v6);
  EXPECT_EQ(c.ToString(), "10.0.0.0/8");
  EXPECT_EQ(C("::ffff:169.254.169.254").ToString(), "169.254.169.254/32");
}

TEST(ParseCidr, RefusesMalformedEntriesNamingThem) {
  EXPECT_NE(ParseError("10.0.0.0/33").find("at most 32"), std::string::npos);
  EXPECT_NE(ParseError("fe80::/129").find("at most 128"), std::string::npos);
  EXPECT_NE(ParseError("10.0.0.1/8").find("did you mean 10.0.0.0/8"), std::string::npos);
  EXPECT_NE(ParseError("example.com/8").find("\"example.com/8\" is not an IPv4 or IPv6"),
            std::string::npos);
  EXPECT_NE(ParseError("10.0.0.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(ParseError("10.0.0.0/x").find("prefix length"), std::string::npos);
  EXPECT_NE(ParseError("::ffff:10.0.0.0/8").find("at least 96"), std::string::npos);
  ParseError("256.0.0.1");
  ParseError("");
}

TEST(ParseCidrList, SplitsOnCommasAndSkipsBlanks) {
  std::string error;
  auto list = ParseCidrList(" 10.0.0.0/8, ,fd00::/8,", &error);
  ASSERT_TRUE(list.has_value()) << error;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].ToString(), "fd00::/8");
  EXPECT_TRUE(ParseCidrList("", &error)->empty());
  EXPECT_FALSE(ParseCidrList("10.0.0.0/8,bogus", &error).has_value());
  EXPECT_NE(error.find("bogus"), std::string::npos);
}

TEST(Cidr, ContainsAtTheEdgesOfItsRange) {
  Cidr c = C("169.254.0.0/16");
  EXPECT_TRUE(c.Contains(Ip("169.254.0.0")));
  EXPECT_TRUE(c.Contains(Ip("169.254.255.255")));
  EXPECT_FALSE(c.Contains(Ip("169.253.255.255")));
  EXPECT_FALSE(c.Contains(Ip("169.255.0.0")));
  Cidr odd = C("fe80::/10");
  EXPECT_TRUE(odd.Contains(Ip("febf:ffff::1")));
  EXPECT_FALSE(odd.Contains(Ip("fec0::1")));
  EXPECT_FALSE(C("0.0.0.0/0").Contains(Ip("::1")));  // families never mix
  EXPECT_TRUE(C("::/0").Contains(Ip("::1")));
}

TEST(ParseIp, NormalisesV4MappedV6) {
  IpAddress mapped = Ip("::ffff:169.254.169.254");
  EXPECT_FALSE(mapped.v6);
  EXPECT_EQ(mapped, Ip("169.254.169.254"));
  EXPECT_EQ(Ip("[::FFFF:a9fe:a9fe]"), Ip("169.254.169.254"));
  EXPECT_TRUE(Ip("::1").v6);
  EXPECT_FALSE(ParseIp("localhost").has_value());
}

TEST(EgressPolicy, DeniesLinkLocalAndMetadataByDefaultAndSaysWhy) {
  EgressPolicy policy = FromMap({});
  auto refusal = policy.Refusal(Ip("169.254.169.254"), 80);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->find("169.254.169.254:80"), std::string::npos) << *refusal;
  EXPECT_NE(refusal->find("cloud metadata"), std::string::npos) << *refusal;
  EXPECT_NE(refusal->find("FLIGHTDECK_EGRESS_ALLOW=169.254.169.254/32"), std::string::npos);
  EXPECT_TRUE(policy.Refusal(Ip("169.254.10.1"), 443).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("fe80::1"), 80).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("fd00:ec2::254"), 80).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("::ffff:169.254.169.254"), 80).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("0.0.0.0"), 80).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("::"), 80).has_value());
  // Everything else, loopback included, is allowed by default (tests probe 127.0.0.1).
  EXPECT_FALSE(policy.Refusal(Ip("127.0.0.1"), 8080).has_value());
  EXPECT_FALSE(policy.Refusal(Ip("::1"), 8080).has_value());
  EXPECT_FALSE(policy.Refusal(Ip("10.1.2.3"), 80).has_value());
  EXPECT_FALSE(policy.Refusal(Ip("2001:db8::1"), 80).has_value());
}

TEST(EgressPolicy, AllowOpensADefaultDenyOnlyWhenItNamesTheRange) {
  EXPECT_TRUE(FromMap({{"FLIGHTDECK_EGRESS_ALLOW", "0.0.0.0/0,::/0"}})
                  .Refusal(Ip("169.254.169.254"), 80)
                  .has_value());
  EXPECT_TRUE(FromMap({{"FLIGHTDECK_EGRESS_ALLOW", "169.0.0.0/8"}})
                  .Refusal(Ip("169.254.1.1"), 80)
                  .has_value());
  EgressPolicy link_local = FromMap({{"FLIGHTDECK_EGRESS_ALLOW", "169.254.0.0/16"}});
  EXPECT_FALSE(link_local.Refusal(Ip("169.254.1.1"), 80).has_value());
  // The metadata address is a narrower rule of its own: /16 does not name it.
  EXPECT_TRUE(link_local.Refusal(Ip("169.254.169.254"), 80).has_value());
  EgressPolicy metadata = FromMap({{"FLIGHTDECK_EGRESS_ALLOW", "169.254.169.254/32"}});
  EXPECT_FALSE(metadata.Refusal(Ip("169.254.169.254"), 80).has_value());
  EXPECT_TRUE(metadata.Refusal(Ip("169.254.169.253"), 80).has_value());
  EXPECT_FALSE(FromMap({{"FLIGHTDECK_EGRESS_ALLOW", "::ffff:169.254.169.254"}})
                   .Refusal(Ip("169.254.169.254"), 80)
                   .has_value());
}

TEST(EgressPolicy, DenyListAddsRangesAndTheNarrowerRuleWins) {
  EgressPolicy policy = FromMap({{"FLIGHTDECK_EGRESS_DENY", "10.0.0.0/8, 2001:db8::/32"},
                                 {"FLIGHTDECK_EGRESS_ALLOW", "10.1.0.0/16"}});
  auto refusal = policy.Refusal(Ip("10.2.0.1"), 5432);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->find("10.0.0.0/8"), std::string::npos);
  EXPECT_NE(refusal->find("FLIGHTDECK_EGRESS_DENY"), std::string::npos);
  EXPECT_FALSE(policy.Refusal(Ip("10.1.0.1"), 5432).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("2001:db8::5"), 443).has_value());
  EXPECT_NE(policy.Refusal(Ip("2001:db8::5"), 443)->find("[2001:db8::5]:443"), std::string::npos);
}

TEST(EgressPolicy, BadVariablesStopTheProcessNamingThem) {
  try {
    FromMap({{"FLIGHTDECK_EGRESS_DENY", "10.0.0.0/40"}});
    FAIL() << "accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("FLIGHTDECK_EGRESS_DENY"), std::string::npos);
  }
  EXPECT_THROW(FromMap({{"FLIGHTDECK_EGRESS_ALLOW", "nope"}}), config::ConfigError);
}

TEST(EgressPolicy, DeniesOwnListenersOnlyOnTheirPorts) {
  EgressPolicy policy = FromMap({}, {{"127.0.0.1", 9103, "admin port (FLIGHTDECK_ADMIN_PORT)"},
                                     {"localhost", 55432, "PostgreSQL (DATABASE_URL)"}});
  auto refusal = policy.Refusal(Ip("127.0.0.1"), 9103);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->find("Flightdeck's own admin port"), std::string::npos) << *refusal;
  // A loopback listener answers on every loopback address.
  EXPECT_TRUE(policy.Refusal(Ip("127.0.0.2"), 9103).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("::1"), 9103).has_value());
  EXPECT_TRUE(policy.Refusal(Ip("127.0.0.1"), 55432).has_value());
  EXPECT_FALSE(policy.Refusal(Ip("127.0.0.1"), 9104).has_value());
  EXPECT_FALSE(policy.Refusal(Ip("10.9.9.9"), 9103).has_value());
  // Naming the address opens it (a test that probes Flightdeck itself on purpose).
  EgressPolicy allowed = FromMap({{"FLIGHTDECK_EGRESS_ALLOW", "127.0.0.1/32"}},
                                 {{"127.0.0.1", 9103, "admin port"}});
  EXPECT_FALSE(allowed.Refusal(Ip("127.0.0.1"), 9103).has_value());
  EXPECT_TRUE(allowed.Refusal(Ip("127.0.0.2"), 9103).has_value());
}

TEST(EgressPolicy, ListenersBoundLaterAreDeniedOnceKnown) {
  EgressPolicy policy = FromMap({});
  EXPECT_FALSE(policy.Refusal(Ip("127.0.0.1"), 40001).has_value());
  for (const OwnEndpoint& e : OwnListeners("0.0.0.0", 40001, 40002)) policy.DenyOwnEndpoint(e);
  auto refusal = policy.Refusal(Ip("127.0.0.1"), 40001);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_NE(refusal->find("Flightdeck's own gRPC port"), std::string::npos) << *refusal;
  EXPECT_TRUE(policy.Refusal(Ip("::1"), 40002).has_value());
  EXPECT_FALSE(policy.Refusal(Ip("127.0.0.1"), 40003).has_value());
}

TEST(OwnEndpointsFromEnv, TakesPortsStoresAndPeersFromTheConfiguration) {
  auto own = OwnEndpointsFromEnv(
      config::Env::FromMap({{"FLIGHTDECK_ADMIN_PORT", "19103"},
                            {"DATABASE_URL", "postgres://fd:pw@127.0.0.1:55432/fd"},
                            {"REDIS_URL", "redis://localhost"},
                            {"FLIGHTDECK_INCIDENTS_ADDR", "127.0.0.1:50054"}}),
      50053, 9103);
  std::map<std::string, int> ports;
  for (const OwnEndpoint& e : own) ports[e.what] = e.port;
  EXPECT_EQ(ports["gRPC port (FLIGHTDECK_GRPC_PORT)"], 50053);
  EXPECT_EQ(ports["admin port (FLIGHTDECK_ADMIN_PORT)"], 19103);
  EXPECT_EQ(ports["PostgreSQL (DATABASE_URL)"], 55432);
  EXPECT_EQ(ports["Redis (REDIS_URL)"], 6379);
  EXPECT_EQ(ports["gRPC service (FLIGHTDECK_INCIDENTS_ADDR)"], 50054);
}

TEST(ResolveChecked, RefusesANameWhenAnyAddressIsRefused) {
  EgressPolicy policy = FromMap({{"FLIGHTDECK_EGRESS_DENY", "127.0.0.0/8"}});
  CheckedResolution r = ResolveChecked(policy, "localhost", 80);
  EXPECT_TRUE(r.refused);
  EXPECT_TRUE(r.addresses.empty());
  EXPECT_NE(r.error.find("localhost: egress policy refuses 127.0.0.1:80"), std::string::npos)
      << r.error;
  CheckedResolution ok = ResolveChecked(FromMap({}), "127.0.0.1", 8080);
  ASSERT_EQ(ok.addresses.size(), 1u);
  EXPECT_EQ(ok.addresses[0].ip, Ip("127.0.0.1"));
  EXPECT_FALSE(ResolveChecked(FromMap({}), "no-such-host.invalid", 80).error.empty());
}

TEST(HttpUrlHostPort, DefaultsPortsBySchemeAndUnbracketsV6) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(HttpUrlHostPort("https://example.com/x", &host, &port));
  EXPECT_EQ(host, "example.com");
  EXPECT_EQ(port, 443);
  ASSERT_TRUE(HttpUrlHostPort("http://[::1]:9090/api", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9090);
  EXPECT_FALSE(HttpUrlHostPort("http://h:99999/", &host, &port));
  EXPECT_FALSE(HttpUrlHostPort("not a url", &host, &port));
}

// libcurl's connection is checked on the address it actually connects to, whatever name the
// URL gave.
TEST(CheckEgressOnConnect, RefusesTheConnectionLibcurlOpens) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof a;
  getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  EgressPolicy policy = FromMap({}, {{"127.0.0.1", port, "admin port"}});

  CURL* easy = curl_easy_init();
  std::string url = "http://localhost:" + std::to_string(port) + "/metrics";
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 2000L);
  CurlEgressGuard guard{&policy, {}};
  CheckEgressOnConnect(easy, &guard);
  CURLcode code = curl_easy_perform(easy);
  curl_easy_cleanup(easy);
  close(listener);
  EXPECT_NE(code, CURLE_OK);
  // localhost may be tried as ::1 and 127.0.0.1: the reason names whichever came last.
  EXPECT_NE(guard.refusal.find("egress policy refuses "), std::string::npos) << guard.refusal;
  EXPECT_NE(guard.refusal.find(" port " + std::to_string(port) + " is"), std::string::npos);
  EXPECT_NE(guard.refusal.find("Flightdeck's own admin port"), std::string::npos);
}

}  // namespace
}  // namespace flightdeck::net
