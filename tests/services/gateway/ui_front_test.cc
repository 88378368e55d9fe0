// Integration: the dashboard's static files at /ui: the app for its own routes, cache headers
// by kind of file, ETags, the Content-Security-Policy, and a clear 404 when it is not built.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/services/gateway/test_gateway.h"

namespace flightdeck::gateway {
namespace {

namespace fs = std::filesystem;
using test::HttpResponse;

class UiFrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fd-ui-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "assets");
    std::ofstream(dir_ / "index.html") << "<!doctype html><title>Flightdeck</title><script src=\"assets/app-1a2b.js\"></script>";
    std::ofstream(dir_ / "assets" / "app-1a2b.js") << "console.log('flightdeck')";
    GatewayOptions options;
    options.ui_directory = dir_.string();
    gateway_ = std::make_unique<testing::TestGateway>(std::map<api::Service, grpc::Service*>{},
                                                      std::chrono::seconds(5), options);
  }
  void TearDown() override {
    gateway_.reset();
    fs::remove_all(dir_);
  }
  HttpResponse Get(const std::string& path, std::map<std::string, std::string> headers = {}) {
    return test::HttpRequest("GET", gateway_->base_url() + path, "", headers);
  }
  fs::path dir_;
  std::unique_ptr<testing::TestGateway> gateway_;
};

TEST_F(UiFrontTest, ServesTheAppWithAStrictPolicy) {
  HttpResponse root = Get("/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.headers["location"], "/ui/");

  HttpResponse index = Get("/ui/");
  ASSERT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("<title>Flightdeck</title>"), std::string::npos);
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");
  const std::string& csp = index.headers["content-security-policy"];
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(index.headers["x-content-type-options"], "nosniff");

  // The app's own routes get the app, so that a reload keeps the page.
  EXPECT_EQ(Get("/ui/releases/3f2a").body, index.body);

  HttpResponse js = Get("/ui/assets/app-1a2b.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(js.headers["cache-control"], "public, max-age=31536000, immutable");
  HttpResponse again = Get("/ui/assets/app-1a2b.js", {{"If-None-Match", js.headers["etag"]}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());

  EXPECT_EQ(Get("/ui/assets/missing.js").status, 404);
  EXPECT_EQ(Get("/ui/../../etc/passwd").status, 404);
  EXPECT_EQ(test::HttpRequest("POST", gateway_->base_url() + "/ui/", "x", {}).status, 405);
}

TEST(UiFrontNotBuilt, SaysHowToBuildIt) {
  GatewayOptions options;
  options.ui_directory = "/nonexistent/ui/dist";
  testing::TestGateway gateway({}, std::chrono::seconds(5), options);
  HttpResponse r = test::HttpRequest("GET", gateway.base_url() + "/ui/", "", {});
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("not built"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace flightdeck::gateway
