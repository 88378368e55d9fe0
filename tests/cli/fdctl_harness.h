#pragma once

// Runs fdctl in-process the way a user runs it, with a private config directory, an
// injected environment and a sleep that returns at once (and counts its calls).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"

namespace flightdeck::cli::testing {

constexpr const char* kToken = "fd_tok_SuperSecret123";

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

class FdctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fdctl-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    env_["FDCTL_CONFIG"] = dir_ + "/fdctl.json";
    env_["HOME"] = dir_;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  Outcome Fdctl(const std::vector<std::string>& argv, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    const auto env = env_;
    RunOptions options;
    options.sleep = [this](std::chrono::milliseconds d) {
      sleeps_.push_back(d);
      if (on_sleep_) on_sleep_();
    };
    options.interactive = [this] { return interactive_; };
    options.stdout_is_terminal = [this] { return terminal_; };
    Outcome o;
    o.code = cli::Run(
        argv,
        [env](const std::string& name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end() || it->second.empty()) return std::nullopt;
          return it->second;
        },
        {in, out, err}, options);
    o.out = out.str();
    o.err = err.str();
    EXPECT_EQ(o.out.find(kToken), std::string::npos) << "token printed on stdout";
    EXPECT_EQ(o.err.find(kToken), std::string::npos) << "token printed on stderr";
    return o;
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
  std::vector<std::chrono::milliseconds> sleeps_;
  std::function<void()> on_sleep_;
  bool interactive_ = false;  // whether stdin is a person at a terminal
  bool terminal_ = false;     // whether stdout is a terminal (colour)
};

}  // namespace flightdeck::cli::testing
