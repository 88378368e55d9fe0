// Starts the whole control plane (tests/e2e/stack.h) and runs one of the dashboard's Node test
// programs against it (ui/test/*.ts, bundled by ui/build into <build dir>/ui/test). The program
// does the checking; this test fails with its output when it exits non-zero.
//   FD_NODE_SCRIPT   the bundled program
//   FD_UI_DIST       the dashboard the gateway serves
//   FD_OUTPUT_DIR    where the program may leave files (screenshots)
//   FD_NODE_PATH     node_modules of ui/ (packages kept outside the bundle: playwright-core)
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "tests/e2e/stack.h"

namespace flightdeck::test {
namespace {

TEST(UiNode, ProgramPassesAgainstTheStack) {
  ASSERT_TRUE(std::filesystem::exists(FD_NODE_SCRIPT)) << FD_NODE_SCRIPT << " is not built (target ui)";
  ASSERT_TRUE(std::filesystem::exists(std::string(FD_UI_DIST) + "/index.html"))
      << "the dashboard is not built in " << FD_UI_DIST << " (target ui)";
  Stack stack(std::map<std::string, std::string>{{"FLIGHTDECK_UI_DIR", FD_UI_DIST}});
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();

  std::filesystem::create_directories(FD_OUTPUT_DIR);
  CommandResult result = RunCommand(
      {"/usr/bin/env", "node", FD_NODE_SCRIPT, stack.gateway_url(), stack.admin_token(), FD_OUTPUT_DIR},
      {{"NODE_PATH", FD_NODE_PATH}});
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- stack logs ---\n" << stack.Logs();
  std::cout << result.output;
}

}  // namespace
}  // namespace flightdeck::test
