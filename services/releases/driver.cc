#include "services/releases/driver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "common/process/process.h"
#include "common/text/utf8.h"

extern char** environ;

namespace flightdeck::releases {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A process that ignores SIGTERM gets this long before SIGKILL (driver.h).
constexpr std::chrono::seconds kKillGrace(5);
// After SIGKILL, a process that left the group (setsid) may still hold the output pipe open;
// stop waiting for its EOF after this long rather than hang the release.
constexpr std::chrono::seconds kAfterKillGrace(2);

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::toupper(static_cast<unsigned char>(a)) ==
                                 std::toupper(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

// The command is configured by the operator but runs scripts of other teams: it must not see
// the control plane's own credentials, nor anything that looks like one.
bool IsSecretName(std::string_view name) {
  if (name == "FLIGHTDECK_ACTION_ID") return false;
  if (name == "DATABASE_URL" || name == "REDIS_URL" || name == "FLIGHTDECK_ADMIN_TOKEN") return true;
  // The master key, under its current and older names, and the files holding it.
  if (name.rfind("FLIGHTDECK_", 0) == 0 && ContainsIgnoreCase(name, "_KEY")) return true;
  return ContainsIgnoreCase(name, "PASSWORD") || ContainsIgnoreCase(name, "SECRET") ||
         ContainsIgnoreCase(name, "TOKEN");
}

std::vector<std::pair<std::string, std::string>> ReleaseVariables(const DriverAction& action) {
  const v1::Release& r = action.release;
  return {
      {"FLIGHTDECK_SERVICE", r.service()},
      {"FLIGHTDECK_ENVIRONMENT", r.environment()},
      {"FLIGHTDECK_VERSION", r.version()},
      {"FLIGHTDECK_IMAGE", r.image()},
      {"FLIGHTDECK_COMMIT_SHA", r.commit_sha()},
      {"FLIGHTDECK_ACTION", action.action},
      {"FLIGHTDECK_WEIGHT", std::to_string(action.weight)},
      {"FLIGHTDECK_PREVIOUS_IMAGE", action.previous_image},
      {"FLIGHTDECK_ACTION_ID", action.action_id},
      {"FLIGHTDECK_RELEASE_ID", r.id()},
  };
}

std::vector<std::string> ChildEnvironment(const DriverAction& action) {
  auto ours = ReleaseVariables(action);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (IsSecretName(name)) continue;
    // The release's values win over whatever the service itself was started with.
    bool overridden =
        std::any_of(ours.begin(), ours.end(), [&](const auto& kv) { return kv.first == name; });
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [name, value] : ours) env.push_back(name + "=" + value);
  return env;
}

std::string PathVariable() {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  }
  return "/usr/local/bin:/usr/bin:/bin";
}

// execve does not search PATH; a bare name ("kubectl") is resolved here, before fork, so that
// the child only has to call execve.
std::string ResolveExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = PathVariable();
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return name;  // execve fails with ENOENT and the error names what was configured
}

// Only async-signal-safe calls from here to execve: another thread of the parent may have held
// a lock (malloc, the logger) at fork time and nobody will ever release it in the child.
[[noreturn]] void ExecChild(const char* path, char* const argv[], char* const envp[], int out_fd,
                            int err_fd, int max_fd, pid_t parent) {
  setpgid(0, 0);
  // The command dies with releases (kill -9, OOM): otherwise it runs on, orphaned, while the
  // step's retry on another replica runs the same action again, two deploys of one action at
  // once (tests/chaos/releases_kill_test.cc). The signal follows the forking thread, a worker
  // thread that lives as long as the process. A parent gone before prctl took effect is
  // caught by the getppid check. Survives execve; the command's own children are not covered
  // (a script should exec its long-running tool).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  // The services block SIGINT/SIGTERM before starting threads and sigwait for them; the mask
  // and ignored dispositions survive exec, and the command must be killable by the timeout.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);

  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) {
    int err = errno;
    (void)!write(err_fd, &err, sizeof err);
    _exit(127);
  }
  // err_fd is close-on-exec and must stay open until execve: it reports execve's errno.
  bool closed =
      (err_fd == 3 || syscall(SYS_close_range, 3u, static_cast<unsigned>(err_fd - 1), 0u) == 0) &&
      syscall(SYS_close_range, static_cast<unsigned>(err_fd + 1), ~0u, 0u) == 0;
  if (!closed) {
    for (int fd = 3; fd <= max_fd; ++fd) {
      if (fd != err_fd) close(fd);
    }
  }
  execve(path, argv, envp);
  int err = errno;
  (void)!write(err_fd, &err, sizeof err);
  _exit(127);
}

// Where a process stands once the output pipe is drained.
struct ChildOutcome {
  bool exited = false;
  int status = 0;
  bool timed_out = false;
};

class CommandRun {
 public:
  CommandRun(pid_t pid, int out_fd, std::chrono::milliseconds timeout, size_t max_output)
      : pid_(pid),
        out_fd_(out_fd),
        max_output_(max_output),
        deadline_(SteadyClock::now() + timeout) {}

  // Reads until EOF and exit, or until the timeout has killed the group.
  ChildOutcome Wait() {
    ChildOutcome outcome;
    bool eof = false;
    while (!eof || !outcome.exited) {
      if (!outcome.exited) ReapIfExited(outcome);
      if (eof && outcome.exited) break;
      auto now = SteadyClock::now();
      if (!EscalateIfDue(now, outcome)) {
        // The group was SIGKILLed and a straggler outside it still holds the pipe.
        if (!outcome.exited) ReapBlocking(outcome);
        break;
      }
      int wait_ms = MillisUntil(NextDeadline(), now);
      // Without the pipe there is nothing to poll; exit is checked every 20 ms.
      if (eof) wait_ms = std::min(wait_ms, 20);
      struct pollfd pfd = {eof ? -1 : out_fd_, POLLIN, 0};
      int rc = poll(&pfd, 1, wait_ms);
      if (rc < 0 && errno != EINTR) {
        eof = true;
        continue;
      }
      if (rc > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) eof = !Drain();
    }
    return outcome;
  }

  std::string Output() const {
    // Output goes into the timeline (a proto string and a jsonb column): bad bytes and NULs
    // become U+FFFD instead of failing the event.
    std::string out = text::ToStorableText(output_);
    if (total_ > max_output_) {
      if (!out.empty() && out.back() != '\n') out += '\n';
      out += "[truncated after " + std::to_string(max_output_) + " bytes]";
    }
    return out;
  }

 private:
  // Returns false at EOF. Bytes past max_output are read and discarded so that the command
  // never blocks on a full pipe. Bounded so that a command writing without pause (`yes`) still
  // lets Wait check the deadline.
  bool Drain() {
    char buf[16 * 1024];
    for (int reads = 0; reads < 64; ++reads) {
      ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n > 0) {
        size_t room = total_ < max_output_ ? max_output_ - total_ : 0;
        output_.append(buf, std::min(static_cast<size_t>(n), room));
        total_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return true;
      return false;
    }
    return true;
  }

  void ReapIfExited(ChildOutcome& outcome) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      outcome.exited = true;
      outcome.status = status;
    } else if (r < 0 && errno == ECHILD) {
      // Someone else reaped it (SIGCHLD set to SIG_IGN): the status is lost.
      outcome.exited = true;
      outcome.status = -1;
    }
  }

  void ReapBlocking(ChildOutcome& outcome) {
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    outcome.exited = true;
    outcome.status = r == pid_ ? status : -1;
  }

  // Sends SIGTERM at the deadline and SIGKILL kKillGrace later, both to the whole group so that
  // children of a script go too. Returns false when even the post-kill grace has passed.
  bool EscalateIfDue(SteadyClock::time_point now, ChildOutcome& outcome) {
    if (stage_ == Stage::kRunning && now >= deadline_) {
      outcome.timed_out = true;
      kill(-pid_, SIGTERM);
      stage_ = Stage::kTerminated;
      deadline_ = now + kKillGrace;
    } else if (stage_ == Stage::kTerminated && now >= deadline_) {
      kill(-pid_, SIGKILL);
      stage_ = Stage::kKilled;
      deadline_ = now + kAfterKillGrace;
    } else if (stage_ == Stage::kKilled && now >= deadline_) {
      return false;
    }
    return true;
  }

  SteadyClock::time_point NextDeadline() const { return deadline_; }

  static int MillisUntil(SteadyClock::time_point t, SteadyClock::time_point now) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count() + 1;
    return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
  }

  enum class Stage { kRunning, kTerminated, kKilled };

  pid_t pid_;
  int out_fd_;
  size_t max_output_;
  SteadyClock::time_point deadline_;
  Stage stage_ = Stage::kRunning;
  std::string output_;
  size_t total_ = 0;
};

std::string DescribeFailure(const ChildOutcome& outcome, std::chrono::milliseconds timeout) {
  if (outcome.timed_out) return "timed out after " + FormatDuration(timeout);
  if (outcome.status == -1) return "exit status unknown (child reaped elsewhere)";
  return process::DescribeWaitStatus(outcome.status);
}

}  // namespace

DriverResult ExternalDriver::Run(const DriverAction& action) {
  DriverResult result;
  result.ok = true;
  result.output =
      "recorded for the pipeline: " + action.action + " " + std::to_string(action.weight) + "%";
  return result;
}

CommandDriver::CommandDriver(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                             size_t max_output)
    : argv_(std::move(argv)), timeout_(timeout), max_output_(max_output) {}

DriverResult CommandDriver::Run(const DriverAction& action) {
  DriverResult result;
  result.exit_code = -1;
  if (argv_.empty() || argv_[0].empty()) {
    result.error = "no command configured";
    return result;
  }

  // Everything the child needs is built before fork: it may not allocate.
  std::string path = ResolveExecutable(argv_[0]);
  std::vector<std::string> env = ChildEnvironment(action);
  std::vector<char*> argv_ptrs;
  for (const auto& a : argv_) argv_ptrs.push_back(const_cast<char*>(a.c_str()));
  argv_ptrs.push_back(nullptr);
  std::vector<char*> env_ptrs;
  for (const auto& e : env) env_ptrs.push_back(const_cast<char*>(e.c_str()));
  env_ptrs.push_back(nullptr);
  struct rlimit nofile;
  int max_fd = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY
                   ? static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, 1 << 20))
                   : 65536;

  process::Fd out_read, out_write, err_read, err_write;
  if (!process::MakePipe(&out_read, &out_write) || !process::MakePipe(&err_read, &err_write)) {
    result.error = "cannot run " + argv_[0] + ": pipe: " + process::ErrnoText(errno);
    return result;
  }

  const pid_t self = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    result.error = "cannot run " + argv_[0] + ": fork: " + process::ErrnoText(errno);
    return result;
  }
  if (pid == 0) {
    ExecChild(path.c_str(), argv_ptrs.data(), env_ptrs.data(), out_write.get(), err_write.get(),
              max_fd, self);
  }
  // Also from the parent: a timeout may fire before the child has run setpgid itself.
  setpgid(pid, pid);
  // Non-blocking so that Drain can empty the pipe without guessing how much is there.
  fcntl(out_read.get(), F_SETFL, fcntl(out_read.get(), F_GETFL) | O_NONBLOCK);
  out_write.Reset();
  err_write.Reset();

  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.error = "cannot run " + argv_[0] + ": " + process::ErrnoText(child_errno);
    return result;
  }

  CommandRun run(pid, out_read.get(), timeout_, max_output_);
  ChildOutcome outcome = run.Wait();
  result.output = run.Output();
  if (outcome.status != -1) {
    if (WIFEXITED(outcome.status)) result.exit_code = WEXITSTATUS(outcome.status);
    if (WIFSIGNALED(outcome.status)) result.exit_code = 128 + WTERMSIG(outcome.status);
  }
  result.ok = !outcome.timed_out && outcome.status != -1 && WIFEXITED(outcome.status) &&
              WEXITSTATUS(outcome.status) == 0;
  if (!result.ok) result.error = DescribeFailure(outcome, timeout_);
  return result;
}

}  // namespace flightdeck::releases
