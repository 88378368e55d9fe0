// Starts the whole control plane (tests/e2e/stack.h) and runs one of the dashboard's Node test
// programs against it (ui/test/*.ts, bundled by ui/build into <build dir>/ui/test). The program
// does the checking; this test fails with its output when it exits non-zero.
//   FD_NODE_SCRIPT   the bundled program
//   FD_UI_DIST       the dashboard the gateway serves
//   FD_OUTPUT_DIR    where the program may leave files (screenshots)
//   FD_NODE_PATH     node_modules of ui/ (packages kept outside the bundle: playwright-core)
// The program gets: <gateway url> <admin token> <output dir> <control url>. The control URL
// (127.0.0.1, a free port) takes `POST /restart/gateway`: kill -9 the gateway, start it again
// on the same port and answer once it is ready, so that a program can check what a client does
// when the gateway goes away and comes back. FD_DATABASE_URL is the stack's database (a
// database to back up).
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"

namespace flightdeck::test {
namespace {

class ControlHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(ControlHandler)
  explicit ControlHandler(Stack* stack) : stack_(stack) {}
  void onRequest(const Pistache::Http::Request& request, Pistache::Http::ResponseWriter response) override {
    if (request.method() != Pistache::Http::Method::Post || request.resource() != "/restart/gateway") {
      response.send(Pistache::Http::Code::Not_Found, "POST /restart/gateway only");
      return;
    }
    std::lock_guard<std::mutex> lock(*mu_);
    stack_->KillAndRestart("gateway");
    bool ready = false;
    for (int i = 0; i < 300 && !ready; ++i) {
      ready = HttpRequest("GET", stack_->gateway_url() + "/readyz", "", {}, 1000).status == 200;
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    response.send(ready ? Pistache::Http::Code::Ok : Pistache::Http::Code::Service_Unavailable,
                  ready ? "restarted" : "gateway not ready 30 s after its restart");
  }

 private:
  Stack* stack_;
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();  // handlers are copied
};

TEST(UiNode, ProgramPassesAgainstTheStack) {
  ASSERT_TRUE(std::filesystem::exists(FD_NODE_SCRIPT)) << FD_NODE_SCRIPT << " is not built (target ui)";
  ASSERT_TRUE(std::filesystem::exists(std::string(FD_UI_DIST) + "/index.html"))
      << "the dashboard is not built in " << FD_UI_DIST << " (target ui)";
  Stack stack(std::map<std::string, std::string>{{"FLIGHTDECK_UI_DIR", FD_UI_DIST}});
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();

  Pistache::Http::Endpoint control(Pistache::Address("127.0.0.1", Pistache::Port(0)));
  control.init(Pistache::Http::Endpoint::options().threads(1));
  control.setHandler(std::make_shared<ControlHandler>(&stack));
  control.serveThreaded();
  const std::string control_url =
      "http://127.0.0.1:" + std::to_string(static_cast<uint16_t>(control.getPort()));

  std::filesystem::create_directories(FD_OUTPUT_DIR);
  CommandResult result = RunCommand({"/usr/bin/env", "node", FD_NODE_SCRIPT, stack.gateway_url(),
                                     stack.admin_token(), FD_OUTPUT_DIR, control_url},
                                    {{"NODE_PATH", FD_NODE_PATH}, {"FD_DATABASE_URL", stack.database_url()}});
  control.shutdown();
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- stack logs ---\n" << stack.Logs();
  std::cout << result.output;
}

}  // namespace
}  // namespace flightdeck::test
