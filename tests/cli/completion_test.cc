// fdctl completion bash|zsh: generated from the command table, so every command is in it; the
// bash script is run in a real bash to see what it completes.
#include "cli/completion.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using testing::FdctlTest;
using testing::Outcome;

class CompletionTest : public FdctlTest {
 protected:
  // What bash's completion of `line` (the cursor at its end) offers, one candidate a line.
  std::string BashCompletes(const std::string& line) {
    const std::string script = dir_ + "/fdctl.bash";
    std::ofstream(script) << BashCompletion(BuiltinCommands());
    const std::string command = "bash --norc --noprofile -c 'source \"$0\"; COMP_LINE=\"$1\"; "
                                "COMP_POINT=${#COMP_LINE}; _fdctl; printf \"%s\\n\" "
                                "\"${COMPREPLY[@]}\" | sort' '" +
                                script + "' '" + line + "' 2>&1";
    return Capture(command);
  }

  // The same for zsh, with compsys's two builtins stood in for by functions that print what
  // they are given; like compsys, only candidates that start with the word under the cursor.
  std::string ZshCompletes(const std::string& line) {
    const std::string script = dir_ + "/_fdctl";
    std::ofstream(script) << ZshCompletion(BuiltinCommands());
    const std::string driver = dir_ + "/driver.zsh";
    std::ofstream(driver)
        << "compdef() { :; }\n"
           "source \"$1\"\n"
           "_describe() { print -l -- ${${(P)4}%%:*}; }\n"
           "compadd() { shift; print -l -- \"$@\"; }\n"
           "words=(${=2}); [[ $2 == *' ' ]] && words+=('')\n"
           "CURRENT=${#words}\n"
           "_fdctl | grep -e \"^${words[CURRENT]}\" | sort\n";
    return Capture("zsh -f '" + driver + "' '" + script + "' '" + line + "' 2>&1");
  }

  static std::string Capture(const std::string& command) {
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return "popen failed";
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    pclose(pipe);
    return out;
  }
};

TEST_F(CompletionTest, BothScriptsNameEveryCommandWordAndFlag) {
  const CommandTable table = BuiltinCommands();
  for (const char* shell : {"bash", "zsh"}) {
    Outcome o = Fdctl({"completion", shell});
    ASSERT_EQ(o.code, kExitOk) << o.err;
    for (const Command& command : table.commands()) {
      // Each command's words appear as the case label that completes after them.
      EXPECT_NE(o.out.find("'" + command.Name() + "')"), std::string::npos)
          << shell << " misses " << command.Name();
      for (const FlagSpec& flag : command.flags) {
        EXPECT_NE(o.out.find("--" + flag.name), std::string::npos)
            << shell << " misses " << command.Name() << " --" << flag.name;
      }
    }
  }
  EXPECT_NE(Fdctl({"completion", "zsh"}).out.find("compdef _fdctl fdctl"), std::string::npos);
  EXPECT_NE(Fdctl({"completion", "bash"}).out.find("complete -F _fdctl fdctl"), std::string::npos);
}

TEST_F(CompletionTest, UnknownShellIsAUsageError) {
  Outcome o = Fdctl({"completion", "fish"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("no completion for shell 'fish': bash or zsh"), std::string::npos) << o.err;
}

TEST_F(CompletionTest, BashCompletesCommandsSubcommandsFlagsAndOperandValues) {
  if (access("/bin/bash", X_OK) != 0 && access("/usr/bin/bash", X_OK) != 0) {
    FAIL() << "bash is missing (scripts/deps installs it)";
  }
  EXPECT_EQ(BashCompletes("fdctl rel"), "release\n");
  EXPECT_EQ(BashCompletes("fdctl to"), "token\n");
  EXPECT_EQ(BashCompletes("fdctl token "), "create\nlist\nrevoke\n");
  EXPECT_EQ(BashCompletes("fdctl backup target c"), "create\n");
  EXPECT_EQ(BashCompletes("fdctl completion "), "bash\nzsh\n");
  // Flags anywhere: before the command, between its words, after its operands.
  EXPECT_EQ(BashCompletes("fdctl --url http://x:8080 release create --ser"), "--service\n");
  EXPECT_EQ(BashCompletes("fdctl release get r-42 --js"), "--json\n");
  EXPECT_EQ(BashCompletes("fdctl incident list --env"), "--env\n--environment\n");
  EXPECT_EQ(BashCompletes("fdctl release create --step 5:600s --env=staging --ser"), "--service\n");
  // A flag's value is not a command word.
  EXPECT_EQ(BashCompletes("fdctl release list --service "), "\n");
  EXPECT_EQ(BashCompletes("fdctl --url rel"), "\n");
}

TEST_F(CompletionTest, ZshCompletesCommandsSubcommandsFlagsAndOperandValues) {
  if (std::system("command -v zsh > /dev/null 2>&1") != 0) FAIL() << "zsh is missing (scripts/deps installs it)";
  const std::string script = dir_ + "/check.zsh";
  std::ofstream(script) << ZshCompletion(BuiltinCommands());
  EXPECT_EQ(Capture("zsh -n '" + script + "' 2>&1 && echo ok"), "ok\n");
  EXPECT_EQ(ZshCompletes("fdctl tok"), "token\n");
  EXPECT_EQ(ZshCompletes("fdctl token "), "create\nlist\nrevoke\n");
  EXPECT_EQ(ZshCompletes("fdctl completion "), "bash\nzsh\n");
  EXPECT_EQ(ZshCompletes("fdctl --url http://x:8080 release get r-42 --js"), "--json\n");
  EXPECT_EQ(ZshCompletes("fdctl incident list --env"), "--env\n--environment\n");
  EXPECT_EQ(ZshCompletes("fdctl release list --service "), "");
}

}  // namespace
}  // namespace flightdeck::cli
