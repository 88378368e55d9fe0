#include "cli/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace flightdeck::cli {
namespace {

EnvLookup EnvOf(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

ParsedArgs Flags(std::map<std::string, std::string> flags) {
  ParsedArgs args;
  args.flags = std::move(flags);
  return args;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fdctl-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string dir_;
};

TEST(ConfigPathTest, FdctlConfigWinsOverHome) {
  EXPECT_EQ(ConfigPath(EnvOf({{"HOME", "/home/ops"}})), "/home/ops/.config/flightdeck/fdctl.json");
  EXPECT_EQ(ConfigPath(EnvOf({{"HOME", "/home/ops"}, {"FDCTL_CONFIG", "/etc/fdctl.json"}})),
            "/etc/fdctl.json");
  EXPECT_EQ(ConfigPath(EnvOf({})), std::nullopt);
}

TEST(ResolveSettingsTest, FileThenEnvThenFlags) {
  const StoredConfig file{"http://from-file:8080", "file-token"};
  Settings s = ResolveSettings(file, EnvOf({}), Flags({}));
  EXPECT_EQ(s.url, "http://from-file:8080");
  EXPECT_EQ(s.token, "file-token");
  EXPECT_EQ(s.url_source, Source::kFile);

  s = ResolveSettings(file, EnvOf({{"FLIGHTDECK_URL", "http://from-env"}}), Flags({}));
  EXPECT_EQ(s.url, "http://from-env");
  EXPECT_EQ(s.token, "file-token") << "each setting falls back on its own";
  EXPECT_EQ(s.url_source, Source::kEnv);

  s = ResolveSettings(
      file, EnvOf({{"FLIGHTDECK_URL", "http://from-env"}, {"FLIGHTDECK_TOKEN", "env-token"}}),
      Flags({{"url", "http://from-flag/"}, {"token", "flag-token"}}));
  EXPECT_EQ(s.url, "http://from-flag");
  EXPECT_EQ(s.token, "flag-token");
  EXPECT_EQ(s.token_source, Source::kFlag);

  s = ResolveSettings(file, EnvOf({{"FLIGHTDECK_TOKEN", ""}}), Flags({{"token", ""}}));
  EXPECT_EQ(s.token, "file-token") << "empty values do not override";
}

TEST_F(ConfigFileTest, WriteCreatesPrivateDirectoryAndFileThenReadsBack) {
  const std::string path = dir_ + "/home/.config/flightdeck/fdctl.json";
  std::string error;
  ASSERT_TRUE(WriteConfigFile(path, {"https://fd.example", "t0ken"}, &error)) << error;
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(Mode(dir_ + "/home/.config/flightdeck"), 0700u);

  StoredConfig read;
  std::string warning;
  ASSERT_TRUE(ReadConfigFile(path, &read, &error, &warning)) << error;
  EXPECT_EQ(read.url, "https://fd.example");
  EXPECT_EQ(read.token, "t0ken");
  EXPECT_TRUE(warning.empty()) << warning;
}

TEST_F(ConfigFileTest, RewritingALooseFileMakesIt0600AndKeepsUnknownKeys) {
  const std::string path = dir_ + "/fdctl.json";
  std::ofstream(path) << R"({"url":"http://old","token":"0ldSecretTok","default_env":"staging"})";
  chmod(path.c_str(), 0644);

  StoredConfig read;
  std::string error;
  std::string warning;
  ASSERT_TRUE(ReadConfigFile(path, &read, &error, &warning)) << error;
  EXPECT_NE(warning.find("chmod 600"), std::string::npos) << warning;
  EXPECT_EQ(warning.find("0ldSecretTok"), std::string::npos) << "never echo the token";

  ASSERT_TRUE(WriteConfigFile(path, {"http://new", "new"}, &error)) << error;
  EXPECT_EQ(Mode(path), 0600u);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_NE(text.str().find("\"default_env\": \"staging\""), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("\"token\": \"new\""), std::string::npos) << text.str();
}

TEST_F(ConfigFileTest, MissingFileIsEmptyMalformedFileIsAnError) {
  StoredConfig read{"x", "y"};
  std::string error;
  ASSERT_TRUE(ReadConfigFile(dir_ + "/absent.json", &read, &error)) << error;
  EXPECT_TRUE(read.url.empty());

  const std::string path = dir_ + "/bad.json";
  std::ofstream(path) << "url = http://x";
  EXPECT_FALSE(ReadConfigFile(path, &read, &error));
  EXPECT_NE(error.find(path), std::string::npos) << error;

  std::ofstream(path) << R"({"url": 42})";
  EXPECT_FALSE(ReadConfigFile(path, &read, &error));
  EXPECT_NE(error.find("\"url\""), std::string::npos) << error;
}

TEST(NormalizeGatewayUrlTest, NeedsHttpSchemeAndDropsTrailingSlash) {
  EXPECT_EQ(NormalizeGatewayUrl("https://fd.example/"), "https://fd.example");
  EXPECT_EQ(NormalizeGatewayUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  EXPECT_EQ(NormalizeGatewayUrl("fd.example:8080"), std::nullopt);
  EXPECT_EQ(NormalizeGatewayUrl("ftp://fd.example"), std::nullopt);
  EXPECT_EQ(NormalizeGatewayUrl("http://"), std::nullopt);
}

}  // namespace
}  // namespace flightdeck::cli
