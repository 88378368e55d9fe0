#include "common/process/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include <gtest/gtest.h>

namespace flightdeck::process {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

bool IsCloseOnExec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  return flags != -1 && (flags & FD_CLOEXEC) != 0;
}

// Runs `child` in a forked process and returns its wait status.
template <typename Fn>
int StatusOf(Fn child) {
  pid_t pid = fork();
  if (pid == 0) {
    child();
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Makes fd 0 free for the duration of a test, then puts stdin back.
class StdinClosed {
 public:
  StdinClosed() : saved_(fcntl(0, F_DUPFD_CLOEXEC, 3)) { close(0); }
  ~StdinClosed() {
    dup2(saved_, 0);
    close(saved_);
  }

 private:
  int saved_;
};

TEST(FdTest, ClosesOnDestructionAndTransfersOnMove) {
  int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    Fd owner(raw);
    Fd moved(std::move(owner));
    EXPECT_FALSE(owner.is_open());
    EXPECT_EQ(moved.get(), raw);
    Fd assigned;
    assigned = std::move(moved);
    EXPECT_EQ(assigned.get(), raw);
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(FdTest, ResetClosesTheOldDescriptorAndReleaseKeepsItOpen) {
  Fd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int first = fd.get();
  fd.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(IsOpen(first));
  int second = fd.Release();
  EXPECT_FALSE(fd.is_open());
  EXPECT_TRUE(IsOpen(second));
  close(second);
}

TEST(MakePipeTest, BothEndsAreCloseOnExecAndCarryData) {
  Fd read_end, write_end;
  ASSERT_TRUE(MakePipe(&read_end, &write_end)) << ErrnoText(errno);
  EXPECT_TRUE(IsCloseOnExec(read_end.get()));
  EXPECT_TRUE(IsCloseOnExec(write_end.get()));
  ASSERT_EQ(write(write_end.get(), "hi", 2), 2);
  char buf[2];
  ASSERT_EQ(read(read_end.get(), buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
}

// If the write end leaked into an exec'ed child, the reader would see no end of file until the
// child exits; close-on-exec means it sees it as soon as the parent's copy is closed.
TEST(MakePipeTest, AnExecedChildDoesNotKeepTheWriteEndOpen) {
  Fd read_end, write_end;
  ASSERT_TRUE(MakePipe(&read_end, &write_end));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  write_end.Reset();
  auto started = std::chrono::steady_clock::now();
  pollfd pfd = {read_end.get(), POLLIN, 0};
  int ready = poll(&pfd, 1, 10'000);
  char byte;
  ssize_t n = ready == 1 ? read(read_end.get(), &byte, 1) : -1;
  auto waited = std::chrono::steady_clock::now() - started;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(ready, 1);
  EXPECT_EQ(n, 0) << "expected end of file while the child still runs";
  EXPECT_LT(waited, std::chrono::seconds(10));
}

TEST(MakePipeTest, EndsStayAboveStdioWhenStdinIsClosed) {
  Fd read_end, write_end;
  {
    StdinClosed no_stdin;
    ASSERT_TRUE(MakePipe(&read_end, &write_end)) << ErrnoText(errno);
  }
  EXPECT_GT(read_end.get(), 2);
  EXPECT_GT(write_end.get(), 2);
}

TEST(MoveAboveStdioTest, MovesALowDescriptorAndClosesTheOldOne) {
  StdinClosed no_stdin;
  Fd fd(open("/dev/null", O_RDONLY));
  ASSERT_EQ(fd.get(), 0);
  ASSERT_TRUE(MoveAboveStdio(&fd)) << ErrnoText(errno);
  EXPECT_GT(fd.get(), 2);
  EXPECT_TRUE(IsCloseOnExec(fd.get()));
  EXPECT_FALSE(IsOpen(0));
}

TEST(MoveAboveStdioTest, LeavesAHighDescriptorAlone) {
  Fd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int before = fd.get();
  ASSERT_GT(before, 2);
  ASSERT_TRUE(MoveAboveStdio(&fd));
  EXPECT_EQ(fd.get(), before);
}

TEST(MoveAboveStdioTest, FailsWithErrnoForAClosedDescriptor) {
  Fd fd;
  EXPECT_FALSE(MoveAboveStdio(&fd));
  EXPECT_EQ(errno, EBADF);
}

TEST(ErrnoTextTest, GivesTheSystemMessage) {
  EXPECT_EQ(ErrnoText(ENOENT), "No such file or directory");
  EXPECT_EQ(ErrnoText(EACCES), "Permission denied");
}

TEST(DescribeWaitStatusTest, ExitStatus) {
  EXPECT_EQ(DescribeWaitStatus(StatusOf([] { _exit(3); })), "exit status 3");
  EXPECT_EQ(DescribeWaitStatus(StatusOf([] { _exit(0); })), "exit status 0");
}

TEST(DescribeWaitStatusTest, KilledBySignal) {
  EXPECT_EQ(DescribeWaitStatus(StatusOf([] { raise(SIGKILL); })), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(DescribeWaitStatus(StatusOf([] {
              signal(SIGTERM, SIG_DFL);
              raise(SIGTERM);
            })),
            "killed by signal 15 (SIGTERM)");
}

TEST(DescribeWaitStatusTest, AnythingElseShowsTheRawStatus) {
  int stopped = 0x137f;  // what waitpid(WUNTRACED) reports for a SIGSTOP
  ASSERT_TRUE(WIFSTOPPED(stopped));
  EXPECT_EQ(DescribeWaitStatus(stopped), "wait status 4991");
}

}  // namespace
}  // namespace flightdeck::process
