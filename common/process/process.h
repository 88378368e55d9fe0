#pragma once

// The low-level plumbing shared by the code that runs child processes directly (the releases
// command driver, the backups' pg_dump/pg_restore runner). Only the pieces both need; how a
// child is started, fed and stopped stays with its caller.

#include <string>

namespace flightdeck::process {

// Owns one file descriptor and closes it when destroyed. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  // Closes the descriptor held (if any) and takes `fd` (-1: holds none).
  void Reset(int fd = -1);
  // Gives the descriptor up without closing it.
  int Release();

 private:
  int fd_ = -1;
};

// Moves *fd to a descriptor above 2 (close-on-exec), closing the old one, so that a child's
// dup2 onto stdin/stdout/stderr cannot clobber it: a service started with a closed stdin
// would otherwise get fd 0 from pipe2 or open. False (errno set) when it cannot.
bool MoveAboveStdio(Fd* fd);

// A pipe whose ends are both close-on-exec and above stdio. False (errno set) on failure; an
// end already made is then still owned by its Fd.
bool MakePipe(Fd* read_end, Fd* write_end);

// strerror's text for an errno value ("No such file or directory"), thread-safe.
std::string ErrnoText(int err);

// What a waitpid status says: "exit status 3", "killed by signal 9 (SIGKILL)", or
// "wait status N" for anything else.
std::string DescribeWaitStatus(int status);

}  // namespace flightdeck::process
